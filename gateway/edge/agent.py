"""The edge agent of one site: pollers, detection, and the sinks that take the results.

One task per device polls on its own grid; devices sharing a serial port (or a TCP
gateway endpoint) share one link that runs one transaction at a time. Each poll
goes straight through the device's detector; alarm transitions become alarm events
at once and are handed to the sinks before any telemetry of the same poll.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence

from gateway.alarms.events import AlarmEvent, AlarmState
from gateway.config import Device, Site
from gateway.edge.detection import DeviceDetector, TelemetryWindow, Transition
from gateway.edge.link import ModbusLink, link_key, open_link
from gateway.edge.poller import DevicePoller
from gateway.edge.samples import PollSample

__all__ = ["EdgeAgent", "Sink"]

log = logging.getLogger(__name__)


class Sink:
    """Receives what the agent produces; override what you need (calls must not block)."""

    def on_sample(self, device: Device, sample: PollSample) -> None:
        """Every poll, raw."""

    def on_alarm(self, event: AlarmEvent) -> None:
        """Every alarm transition, in detection order."""

    def on_telemetry(self, window: TelemetryWindow) -> None:
        """Every closed telemetry window with points to report."""


class EdgeAgent:
    """Polls every enabled device of ``site`` and feeds detection and sinks."""

    def __init__(
        self,
        site: Site,
        sinks: Sequence[Sink] = (),
        *,
        link_factory: Callable[[Device], ModbusLink] = open_link,
    ) -> None:
        self.site = site
        self.sinks = list(sinks)
        self.links: dict[str, ModbusLink] = {}
        self.pollers: dict[str, DevicePoller] = {}
        self.detectors: dict[str, DeviceDetector] = {}
        self._seq = itertools.count(1)
        self._devices = {d.name: d for d in site.devices if d.config.enabled}
        for device in self._devices.values():
            key = link_key(device)
            link = self.links.get(key) or self.links.setdefault(key, link_factory(device))
            self.pollers[device.name] = DevicePoller(device, link, self._on_sample)
            self.detectors[device.name] = DeviceDetector(device)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; then close every link."""
        tasks = [
            asyncio.create_task(poller.run(stop), name=f"poll {name}")
            for name, poller in self.pollers.items()
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for link in self.links.values():
                link.close()

    def _on_sample(self, sample: PollSample) -> None:
        device = self._devices[sample.device]
        try:
            transitions, windows = self.detectors[sample.device].feed(sample)
        except Exception:  # a detector bug must not stop polling of the site
            log.exception("Detection failed for device %s", sample.device)
            return
        for transition in transitions:
            self._emit_alarm(device, transition)
        for sink in self.sinks:
            sink.on_sample(device, sample)
        for window in windows:
            for sink in self.sinks:
                sink.on_telemetry(window)

    def _emit_alarm(self, device: Device, transition: Transition) -> None:
        unit = next((p.unit for p in device.points if p.key == transition.point), "")
        event = AlarmEvent.create(
            seq=next(self._seq),
            enterprise=self.site.enterprise,
            site=self.site.site,
            device=transition.device,
            point=transition.point,
            kind=transition.kind,
            state=AlarmState.ACTIVE if transition.active else AlarmState.CLEARED,
            value=transition.value,
            limit=transition.limit,
            unit=unit,
            ts=transition.ts,
        )
        for sink in self.sinks:
            sink.on_alarm(event)
