"""The life cycle shared by every server the harness runs: start, wait until ready, stop.

A server is a subprocess writing its output to a log file in its own work folder. ``start``
polls the subclass' readiness check with a deadline and fails with the tail of that log, so a
broken config shows *why* in the test report instead of a bare timeout. Ports are chosen once
at construction, which lets ``restart`` bring a server back on the same port (clients under
test reconnect to the address they were given, as they would after a real outage).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from .waiting import wait_for

__all__ = ["ServerProcess", "ServerStartError"]

_LIVE: set[ServerProcess] = set()


class ServerStartError(RuntimeError):
    """A server did not become ready; the message holds its command and its log tail."""


class ServerProcess(ABC):
    """Base class: a subprocess with a work folder, a log file and a readiness check.

    Subclasses set ``name``, build the command line in ``_command`` (writing any config files
    they need into ``workdir`` in ``_prepare``) and say in ``_is_ready`` when clients may
    connect. Usable as a context manager: entering starts, leaving stops and removes the work
    folder when the harness created it.
    """

    name: ClassVar[str] = "server"

    def __init__(self, workdir: Path | str | None = None, *, start_timeout: float = 30.0) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"harness-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._prepared = False

    @abstractmethod
    def _command(self) -> list[str]:
        """Return the command line that runs the server in the foreground."""

    @abstractmethod
    def _is_ready(self) -> bool:
        """Tell whether the server accepts clients now."""

    def _prepare(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Write config files; called once, before the first start."""

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self.running and self._proc else None

    def start(self) -> Self:
        """Start the server (no-op when running) and return once it is ready."""
        if self.running:
            return self
        if not self._prepared:
            self._prepare()
            self._prepared = True
        command = self._command()
        with self.log_path.open("ab") as log:
            log.write(f"\n--- harness: starting {' '.join(command)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _LIVE.add(self)
        self._wait_ready(command)
        return self

    def _wait_ready(self, command: list[str]) -> None:
        """Poll readiness; on timeout or early exit stop the process and raise with the log."""
        try:
            wait_for(self._alive_and_ready, self.start_timeout, f"{self.name} to be ready")
        except (TimeoutError, ServerStartError) as exc:
            self.stop()
            msg = (
                f"{self.name} did not start: {exc}\ncommand: {' '.join(command)}\n"
                f"log {self.log_path} (last lines):\n{self.log_tail()}"
            )
            raise ServerStartError(msg) from None

    def _alive_and_ready(self) -> bool:
        """Readiness check that fails fast when the process has exited."""
        if self._proc is None or self._proc.poll() is not None:
            code = None if self._proc is None else self._proc.returncode
            msg = f"process exited with code {code}"
            raise ServerStartError(msg)
        return self._is_ready()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._after_stop()

    def _after_stop(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Clean up after the process exited (e.g. leftover sockets or links)."""

    def restart(self, downtime: float = 0.0) -> Self:
        """Stop, stay down for ``downtime`` seconds, start again with the same config and ports."""
        self.stop()
        if downtime > 0:
            time.sleep(downtime)
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop the server and remove the work folder if the harness created it."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {state} workdir={self.workdir}>"


@atexit.register
def _stop_leftovers() -> None:
    """Stop servers still running when the interpreter exits (a crashed test or bench)."""
    for server in list(_LIVE):
        server.stop(timeout=2.0)
