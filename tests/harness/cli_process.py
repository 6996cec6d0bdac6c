"""A `python -m gateway.cli ...` subprocess whose output lines a thread collects.

Tests that run the gateway the way users do (edge, ingest, push, web as processes) share
this one class: start, read what it printed, signal it, wait for it, close its pipe.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

__all__ = ["ALARM_LINE", "CliProcess"]

ALARM_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3})\s+ALARM (\w+)\s+L\d (\w+)")


class CliProcess:
    """One gateway CLI subprocess; ``lines`` fills as it prints."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        """True once a line containing ``text`` was printed."""
        return any(text in line for line in list(self.lines))

    def alarms(self) -> list[tuple[str, str, str]]:
        """(time of day, state, kind) of every console alarm line printed so far."""
        found = []
        for line in list(self.lines):
            match = ALARM_LINE.match(line)
            if match:
                found.append((match[1], match[2].lower(), match[3]))
        return found

    def tail(self, n: int = 20) -> str:
        """The last ``n`` output lines (for failure messages)."""
        return "\n".join(self.lines[-n:])

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` if still running, wait (SIGKILL after 20 s), close the pipe."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
