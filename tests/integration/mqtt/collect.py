"""Helpers for MQTT integration tests: what a subscriber received, de-duplicated; a site run."""

from __future__ import annotations

import json
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness.cli_process import CliProcess
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for


@dataclass
class Received:
    """Messages by kind, in arrival order; alarm duplicates (same event_id) counted."""

    alarms: list[dict[str, Any]] = field(default_factory=list)
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    _seen: set[str] = field(default_factory=set)

    def drain(self, probe: MqttProbe) -> None:
        """Move everything the probe has received so far into the lists."""
        while True:
            try:
                message = probe.messages.get_nowait()
            except queue.Empty:
                return
            body = json.loads(message.payload)
            if "/alarm/" in message.topic:
                if body["event_id"] in self._seen:
                    self.duplicates += 1
                    continue
                self._seen.add(body["event_id"])
                self.alarms.append(body)
            elif message.topic.endswith("/telemetry"):
                self.telemetry.append(body)
            elif message.topic.endswith("/status"):
                self.status.append(body)
            elif "/reply/" in message.topic:
                self.replies.append(body)

    def transitions(self, device: str, point: str) -> list[tuple[str, str]]:
        """(kind, state) of one point's alarm events in arrival order."""
        return [
            (a["kind"], a["state"])
            for a in self.alarms
            if a["device"] == device and a["point"] == point
        ]

    def seqs_in_order_per_point(self) -> bool:
        """True when every point's events arrived in increasing seq order."""
        last: dict[tuple[str, str], int] = {}
        for alarm in self.alarms:
            key = (alarm["device"], alarm["point"])
            if alarm["seq"] <= last.get(key, 0):
                return False
            last[key] = alarm["seq"]
        return True


def start_site(
    procs: list[CliProcess], site: Path, broker_url: str, state: Path, *simulate: str
) -> tuple[tuple[str, ...], CliProcess]:
    """Start the site's simulator (``simulate``: its options) and then its edge agent.

    Returns the edge's arguments (to start it again on the same state) and its process.
    """
    simulator = CliProcess("simulate", "--site", str(site), *simulate)
    procs.append(simulator)
    wait_for(lambda: any("READY" in line for line in simulator.lines), 20, "simulator READY")
    edge_args = ("edge", "--site", str(site), "--mqtt", broker_url, "--state-dir", str(state))
    edge = CliProcess(*edge_args)
    procs.append(edge)
    return edge_args, edge
