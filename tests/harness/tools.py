"""Where the system tools the harness starts live, and what to do when one is missing.

Each tool is looked for at the path Debian's package installs it to (``/usr/sbin`` is not on a
normal user's PATH), then on PATH. A missing tool raises ``MissingToolError``, whose message carries
the apt command; the pytest layer turns it into a skip on a developer machine and into a
failure under ``CI=true`` so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TOOLS", "MissingToolError", "Tool", "in_ci", "require"]


@dataclass(frozen=True)
class Tool:
    """A binary (or header) the tests need, and the Debian package that provides it."""

    name: str
    debian_path: str
    apt_package: str

    @property
    def install_command(self) -> str:
        """The command a user runs to get this tool (``scripts/install-deps`` runs it as root)."""
        return f"sudo apt-get install -y --no-install-recommends {self.apt_package}"

    def find(self) -> Path | None:
        """Return the tool's path, or None when it is not installed."""
        path = Path(self.debian_path)
        if path.exists():
            return path
        found = shutil.which(self.name)
        return Path(found) if found else None


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("mosquitto", "/usr/sbin/mosquitto", "mosquitto"),
        Tool("mosquitto_passwd", "/usr/bin/mosquitto_passwd", "mosquitto"),
        Tool("influxd", "/usr/bin/influxd", "influxdb"),
        Tool("victoria-metrics", "/usr/bin/victoria-metrics", "victoria-metrics"),
        Tool("socat", "/usr/bin/socat", "socat"),
        Tool("mbpoll", "/usr/bin/mbpoll", "mbpoll"),
        Tool("openssl", "/usr/bin/openssl", "openssl"),
        Tool("gcc", "/usr/bin/gcc", "gcc"),
        Tool("modbus.h", "/usr/include/modbus/modbus.h", "libmodbus-dev"),
        Tool("chromium", "/usr/bin/chromium", "chromium"),
    )
}


class MissingToolError(RuntimeError):
    """A system tool needed by a test is not installed."""

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        super().__init__(
            f"{tool.name} is not installed (looked at {tool.debian_path} and on PATH); "
            f"install it with: {tool.install_command}  (or run scripts/install-deps as root)"
        )


def require(name: str) -> Path:
    """Return the path of the tool called ``name`` or raise ``MissingToolError``."""
    tool = TOOLS[name]
    path = tool.find()
    if path is None:
        raise MissingToolError(tool)
    return path


def in_ci() -> bool:
    """Tell whether we run under CI (``CI=true``), where nothing may be skipped."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
