"""The edge agent of one site: pollers, detection, and the sinks that take the results.

One task per device polls on its own grid; devices sharing a serial port (or a TCP
gateway endpoint) share one link that runs one transaction at a time. Each poll
goes straight through the device's detector; its alarm transitions go to the alarm
handler (the lifecycle) at once, before any telemetry of the same poll is handed on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from gateway.alarms.model import Transition
from gateway.config import Device, Site
from gateway.contracts.alarm import AlarmEvent
from gateway.contracts.telemetry import TelemetryWindow
from gateway.edge.detection import DeviceDetector
from gateway.edge.link import ModbusLink, open_link
from gateway.edge.poller import DevicePoller, tick_phases
from gateway.edge.samples import PollSample

__all__ = ["EdgeAgent", "Sink", "TransitionHandler"]

TransitionHandler = Callable[[Sequence[Transition]], None]

log = logging.getLogger(__name__)


class Sink:
    """Receives what the agent produces; override what you need (calls must not block)."""

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Every poll, raw."""

    def on_alarm(self, event: AlarmEvent) -> None:
        """Every alarm event the lifecycle publishes, in order."""

    def on_telemetry(self, window: TelemetryWindow) -> None:
        """Every closed telemetry window with points to report."""


class EdgeAgent:
    """Polls every enabled device of ``site`` and feeds detection and sinks."""

    def __init__(
        self,
        site: Site,
        sinks: Sequence[Sink] = (),
        *,
        on_transitions: TransitionHandler,
        link_factory: Callable[[Device], ModbusLink] = open_link,
    ) -> None:
        self.site = site
        self.sinks = list(sinks)
        self.on_transitions = on_transitions
        self.links: dict[str, ModbusLink] = {}
        self.pollers: dict[str, DevicePoller] = {}
        self.detectors: dict[str, DeviceDetector] = {}
        self._devices = {d.name: d for d in site.devices if d.config.enabled}
        for device in self._devices.values():
            key = device.config.link_key
            link = self.links.get(key) or self.links.setdefault(key, link_factory(device))
            self.pollers[device.name] = DevicePoller(device, link, self._on_sample)
            self.detectors[device.name] = DeviceDetector(device)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; then close every link."""
        phases = tick_phases(
            [
                (p.device.config.link_key, p.device.config.poll_interval_s)
                for p in self.pollers.values()
            ]
        )
        tasks = [
            asyncio.create_task(poller.run(stop, phase), name=f"poll {name}")
            for (name, poller), phase in zip(self.pollers.items(), phases, strict=True)
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for link in self.links.values():
                link.close()

    def reset_latch(self, device: str, point: str) -> bool:
        """Reset latched alarms of a point that are back to normal; False when refused."""
        keys = [p.key for p in self._devices[device].points]
        return self.detectors[device].reset(keys.index(point))

    def _on_sample(self, sample: PollSample) -> None:
        device = self._devices[sample.device]
        try:
            transitions, windows = self.detectors[sample.device].feed(sample)
        except Exception:  # a detector bug must not stop polling of the site
            log.exception("Detection failed for device %s", sample.device)
            return
        if transitions:
            self.on_transitions(transitions)
        for sink in self.sinks:
            sink.on_sample(device, sample)
        for window in windows:
            for sink in self.sinks:
                sink.on_telemetry(window)
