"""One snapshot of an edge site's counters, read by the console, the status topic and the CLI.

Built by :meth:`gateway.site.EdgeSite.stats`; frozen, so a reader never sees half an
update. :meth:`SiteStats.status_fields` is what the retained status topic carries
(docs/schemas/status.json) and :meth:`SiteStats.summary` the console's one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.mqtt.publisher import PublisherStats
from gateway.outbox import OutboxStats

__all__ = ["DeviceSnapshot", "SiteStats"]


@dataclass(frozen=True)
class DeviceSnapshot:
    """Poll counters of one device."""

    ok: bool
    polls: int
    failures: int
    overruns: int
    late: int  # polls started after their slot, by at most half a period


@dataclass(frozen=True)
class SiteStats:
    """Counters of one edge site at one instant."""

    devices: dict[str, DeviceSnapshot]
    alarms_annunciated: int
    alarms_waiting: int
    commands_accepted: int
    commands_refused: int
    dispositions_open: int
    journal_degraded: str
    dispositions_overdue: int
    outbox: OutboxStats
    mqtt: PublisherStats | None

    @property
    def polls(self) -> int:
        """Polls of all devices."""
        return sum(d.polls for d in self.devices.values())

    @property
    def failures(self) -> int:
        """Failed polls of all devices."""
        return sum(d.failures for d in self.devices.values())

    @property
    def overruns(self) -> int:
        """Poll slots skipped: the poll before ended more than half a period after them."""
        return sum(d.overruns for d in self.devices.values())

    def degraded(self) -> list[str]:
        """What runs degraded right now (empty when everything is on disk)."""
        out = [f"outbox: {self.outbox.degraded}"] if self.outbox.degraded else []
        return out + ([self.journal_degraded] if self.journal_degraded else [])

    def status_fields(self) -> dict[str, Any]:
        """The site's part of the status payload (the publisher adds state, outbox, mqtt)."""
        return {
            # vars(), not asdict(): the snapshots are flat, and asdict's deep copy of
            # every field cost a 200-device site a few ms per status message.
            "devices": {name: dict(vars(d)) for name, d in self.devices.items()},
            "polls": self.polls,
            "alarms_annunciated": self.alarms_annunciated,
            "alarms_waiting": self.alarms_waiting,
            "degraded": self.degraded(),
            "commands": {"accepted": self.commands_accepted, "refused": self.commands_refused},
            "dispositions": {
                "open": self.dispositions_open,
                "overdue": self.dispositions_overdue,
            },
        }

    def summary(self) -> str:
        """One short console line: polling, queue and MQTT, most important first."""
        down = sum(1 for d in self.devices.values() if not d.ok)
        text = f"polls {self.polls} failed {self.failures} overruns {self.overruns}"
        if down:
            text += f" ({down} device(s) down)"
        text += f" | queued {self.outbox.queued_alarms} alarms {self.outbox.queued_telemetry} tel"
        if self.dispositions_overdue:
            text += f" | {self.dispositions_overdue} disposition(s) OVERDUE"
        in_memory = self.alarms_waiting + self.outbox.memory_alarms
        if in_memory:
            text += f" (+{in_memory} alarms in memory)"
        if self.degraded():
            text += " | DEGRADED: " + "; ".join(self.degraded())
        if self.mqtt is not None:
            m = self.mqtt
            text += (
                f" | mqtt {'up' if m.connected else 'DOWN'} sent {m.alarms_sent} alarms "
                f"{m.telemetry_sent} tel"
            )
            if m.reconnects:
                text += f", {m.reconnects} reconnects"
        return text
