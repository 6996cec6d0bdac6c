"""What the demo and the edge agent print: alarm transitions at once, a status line often.

A safety officer reading a terminal needs the alarm first and plainly: time, state,
level, kind, where, value with unit and the limit. Status lines show that polling
is alive and what is queued, so a silent terminal never hides a dead agent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import numpy as np

from gateway.config import Device
from gateway.contracts.alarm import AlarmEvent
from gateway.edge.agent import Sink
from gateway.edge.samples import PollSample

__all__ = ["ConsoleSink"]

_COLOURS = {"active": "\033[1;31m", "cleared": "\033[32m", "acknowledged": "\033[33m"}
_RESET = "\033[0m"
WIDTH = 120


class ConsoleSink(Sink):
    """Prints alarm events immediately and keeps the last values for status lines."""

    def __init__(
        self, out: TextIO | None = None, colour: bool | None = None, *, values: bool = True
    ) -> None:
        self.out = out or sys.stdout
        self.values = values  # a line of current values before each status line
        self.colour = self.out.isatty() if colour is None else colour
        self.latest: dict[str, tuple[Device, PollSample]] = {}
        self.alarm_count = 0

    def on_alarm(self, event: AlarmEvent) -> None:
        """One line per transition."""
        self.alarm_count += 1
        state = f"{event.state.value.upper():<8}"
        if self.colour:
            state = _COLOURS.get(event.state.value, "") + state + _RESET
        value = "n/a" if event.value is None else f"{event.value:.2f}"
        limit = "" if event.limit is None else f"  (limit {event.limit:g})"
        if event.kind.value in ("FAULT", "COMM"):
            limit = ""
        where = f"{event.device}/{event.point}"
        self._print(
            f"{event.ts[11:23]}  ALARM {state} L{event.level} {event.kind.value:<5} "
            f"{where:<24} {value} {event.unit}{limit}"
        )

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Remember the latest poll of each device for the status line."""
        self.latest[device.name] = (device, sample)

    def status(self, extra: Callable[[], str] | None = None) -> None:
        """Print the status line (fits 120 columns); with ``values``, a line of values first."""
        head = time.strftime("%H:%M:%S")
        if self.values:
            self._print(_fit(f"{head}  values {self._values()}"))
        if extra is not None:
            self._print(_fit(f"{head}  {extra()}"))

    def _values(self) -> str:
        parts = []
        for name, (device, sample) in sorted(self.latest.items()):
            shown = []
            for point, value, quality in zip(
                device.points, sample.values, sample.quality, strict=True
            ):
                if point.kind.value == "status":
                    continue
                text = "COMM" if quality else ("NaN" if np.isnan(value) else f"{value:.1f}")
                shown.append(f"{point.key}={text}")
                if len(shown) == 2:
                    break
            parts.append(f"{name}[{' '.join(shown)}]")
        return " ".join(parts)

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _fit(line: str, width: int = WIDTH) -> str:
    """One terminal line: cut at ``width`` columns with an ellipsis (details: -v, status)."""
    return line if len(line) <= width else line[: width - 1] + "…"
