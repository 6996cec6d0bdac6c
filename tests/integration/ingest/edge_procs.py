"""The real edge side as processes (simulator + `hazard-gateway edge`) for round trips."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from gateway.netutil import free_port

__all__ = ["CliProcess", "write_site"]


def write_site(path: Path, enterprise: str, site: str, profile: str, devices: int = 1) -> Path:
    """A site file of ``devices`` devices of ``profile`` polled every 0.25 s, 1 s windows."""
    lines = [f"enterprise: {enterprise}", f"site: {site}", "devices:"]
    for i in range(devices):
        lines += [
            f"  - name: dev-{i:02d}",
            f"    profile: {profile}",
            f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}",
            "    poll_interval_s: 0.25",
            "    telemetry_window_s: 1",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CliProcess:
    """A `python -m gateway.cli ...` subprocess whose output lines are collected."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process and wait for it (SIGKILL after 20 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
