"""A pair of linked pseudo-terminals made by ``socat``: a serial cable without hardware.

Modbus RTU tests run the simulator on one end and the client on the other. ``socat -d -d``
logs the pty names it allocated; the harness asks for stable symlinks instead, so the paths
are known before the process starts.
"""

from __future__ import annotations

from pathlib import Path

from .process import ServerProcess
from .tools import require

__all__ = ["SocatPtyPair"]


class SocatPtyPair(ServerProcess):
    """Two raw ptys wired together; bytes written to ``a`` are read from ``b`` and back."""

    name = "socat"

    def __init__(self, workdir: Path | str | None = None, *, start_timeout: float = 10.0) -> None:
        self.binary = require("socat")
        super().__init__(workdir, start_timeout=start_timeout)
        self.a = self.workdir / "ttyA"
        self.b = self.workdir / "ttyB"

    @property
    def paths(self) -> tuple[Path, Path]:
        """Both ends: (server side, client side) by convention."""
        return self.a, self.b

    def _command(self) -> list[str]:
        return [
            str(self.binary),
            "-d",
            "-d",
            f"pty,raw,echo=0,link={self.a}",
            f"pty,raw,echo=0,link={self.b}",
        ]

    def _is_ready(self) -> bool:
        return self.a.exists() and self.b.exists()

    def _after_stop(self) -> None:
        """socat removes its links on SIGTERM, but not when killed; never leave stale ones."""
        for link in self.paths:
            link.unlink(missing_ok=True)
