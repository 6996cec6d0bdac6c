"""The real pipeline that fills InfluxDB for the dashboard queries.

Three sites, each its own simulator (one scenario) and edge agent, publish to one
Mosquitto; ingest (``hazard-gateway ingest``, or the fallback in ``bridge.py``) writes
into InfluxDB 1.6.7. Along the way an operator acknowledges and disposes of the
gas-leak alarm (signed commands over MQTT), and the dust site's edge is SIGKILLed while
its alarms stand, so the broker publishes its last will.

Points that none of the three scenarios drives get limits just above their normal value
in these site files: they chatter, so every limit line of every panel has alarm rows,
and the alarm counts reach the EEMUA flood level.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.contracts import AlarmEvent, command_topic, sign_command
from gateway.netutil import free_port
from gateway.timeutil import rfc3339
from tests.harness import MqttProbe
from tests.harness.cli_process import CliProcess
from tests.harness.waiting import wait_for

__all__ = ["OPERATOR", "SITES", "CliProcess", "Pipeline", "SiteRun", "write_site"]

OPERATOR = ("tester", "dashboard-test-secret-0123456789")

#: scenario -> (enterprise, site, devices as YAML lines with {port} placeholders).
SITES: dict[str, tuple[str, str, str]] = {
    "tank-overfill": (
        "demo-chem",
        "tank-farm",
        """
  - name: tank-01-level
    profile: generic-radar-level
    tcp: {{host: 127.0.0.1, port: {p0}}}
    points:
      level: {{alarms: {{H: 8.5, HH: 9.0}}}}
  - name: tank-01-tp
    profile: generic-tank-temp-pressure
    tcp: {{host: 127.0.0.1, port: {p1}}}
    points:
      temperature: {{alarms: {{H: 28.05, deadband: 0.01, on_delay_s: 0}}}}
      pressure: {{alarms: {{LL: 1.6, H: 2.0, deadband: 0.01}}}}
  - name: o2-01
    profile: generic-oxygen
    tcp: {{host: 127.0.0.1, port: {p2}}}
    points:
      o2: {{alarms: {{L: 20.89, deadband: 0.005}}}}
""",
    ),
    "gas-leak": (
        "demo-chem",
        "loading-bay",
        """
  - name: gas-01
    profile: generic-combustible-gas
    tcp: {{host: 127.0.0.1, port: {p0}}}
  - name: h2s-01
    profile: generic-toxic-gas-h2s
    tcp: {{host: 127.0.0.1, port: {p1}}}
    points:
      h2s: {{alarms: {{H: 0.55, deadband: 0.01}}}}
""",
    ),
    "dust-clog": (
        "dust-works",
        "polishing",
        """
  - name: dust-col-01
    profile: generic-dust-collector
    tcp: {{host: 127.0.0.1, port: {p0}}}
    points:
      diff_pressure: {{alarms: {{on_delay_s: 0, off_delay_s: 0}}}}
  - name: dust-01
    profile: generic-dust-concentration
    tcp: {{host: 127.0.0.1, port: {p1}}}
    points:
      dust: {{alarms: {{H: 2.05, deadband: 0.01}}}}
""",
    ),
}


def write_site(path: Path, scenario: str) -> tuple[str, str]:
    """Write the site file of ``scenario`` (fast polls, 1 s windows); (enterprise, site)."""
    enterprise, site, devices = SITES[scenario]
    body = devices.format(p0=free_port(), p1=free_port(), p2=free_port())
    defaults = "    poll_interval_s: 0.25\n    telemetry_window_s: 1\n"
    body = body.replace("    profile:", defaults + "    profile:")
    path.write_text(f"enterprise: {enterprise}\nsite: {site}\ndevices:{body}", encoding="utf-8")
    return enterprise, site


@dataclass
class SiteRun:
    """One site's simulator and edge agent."""

    scenario: str
    enterprise: str
    site: str
    simulator: CliProcess
    edge: CliProcess | None = None
    ready_at: float = 0.0

    def elapsed(self) -> float:
        """Seconds of the scenario's clock (it starts when the simulator is READY)."""
        return time.monotonic() - self.ready_at


def _wait_ready(run: SiteRun) -> None:
    def ready() -> bool:
        if run.simulator.proc.poll() is not None:
            msg = f"simulator {run.scenario} exited:\n{run.simulator.tail()}"
            raise RuntimeError(msg)
        return run.simulator.said("READY")

    wait_for(ready, 30, f"{run.scenario} simulator READY")
    run.ready_at = time.monotonic()


@dataclass
class Pipeline:
    """Starts and stops every site; watches alarm events through ``alarms()``."""

    workdir: Path
    broker_url: str
    alarms: Callable[[], list[AlarmEvent]]
    runs: dict[str, SiteRun] = field(default_factory=dict)

    def start(self) -> None:
        """Start the three simulators, then their edge agents."""
        keys = self.workdir / "operator_keys"
        keys.write_text(f"{OPERATOR[0]}:{OPERATOR[1]}\n", encoding="utf-8")
        for scenario in SITES:
            site_file = self.workdir / f"{scenario}.yaml"
            enterprise, site = write_site(site_file, scenario)
            sim = CliProcess("simulate", "--site", str(site_file), "--scenario", scenario)
            self.runs[scenario] = SiteRun(scenario, enterprise, site, sim)
        for run in self.runs.values():
            _wait_ready(run)
        for scenario, run in self.runs.items():
            run.edge = CliProcess(
                "edge",
                "--site",
                str(self.workdir / f"{scenario}.yaml"),
                "--mqtt",
                self.broker_url,
                "--state-dir",
                str(self.workdir / f"state-{scenario}"),
                "--operator-keys",
                str(self.workdir / "operator_keys"),
            )

    def find(self, scenario: str, point: str, kind: str, state: str) -> AlarmEvent | None:
        """The first event of ``scenario``'s site matching point, kind and state."""
        run = self.runs[scenario]
        for event in self.alarms():
            if (event.site, event.point, event.kind.value, event.state.value) == (
                run.site,
                point,
                kind,
                state,
            ):
                return event
        return None

    def command(self, probe: MqttProbe, event: AlarmEvent, verb: str, **extra: str) -> None:
        """Publish a signed operator command about ``event``'s point."""
        body: dict[str, str] = {
            "request_id": uuid.uuid4().hex,
            "by": OPERATOR[0],
            "ts": rfc3339(time.time()),
            "device": event.device,
            "point": event.point,
            "kind": event.kind.value,
            **extra,
        }
        body["sig"] = sign_command(body, OPERATOR[1].encode())
        topic = command_topic(event.enterprise, event.site, verb)
        probe.publish(topic, json.dumps(body))

    def stop(self) -> None:
        """Stop every process still running."""
        for run in self.runs.values():
            if run.edge is not None:
                run.edge.stop()
            run.simulator.stop()

    def logs(self) -> str:
        """The output tails of every process (for failure messages)."""
        parts = []
        for run in self.runs.values():
            parts.append(f"--- simulator {run.scenario}\n{run.simulator.tail()}")
            if run.edge is not None:
                parts.append(f"--- edge {run.scenario}\n{run.edge.tail()}")
        return "\n".join(parts)
