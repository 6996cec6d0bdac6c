"""`hazard-gateway edge`: poll a site's devices, detect alarms, publish over MQTT.

The MQTT password is read from the environment variable HAZARD_MQTT_PASSWORD or
from --mqtt-password-file, never from the site file or the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from gateway.commands.common import add_site_argument, load_site_arg, run_until_stopped
from gateway.config import Site
from gateway.console import ConsoleSink
from gateway.edge.agent import EdgeAgent, Sink
from gateway.mqtt.publisher import MqttPublisher, MqttSettings

__all__ = ["mqtt_settings", "register"]


def register(commands: Any) -> None:
    """Add the `edge` subcommand."""
    parser = commands.add_parser(
        "edge",
        help="run the edge agent of a site: poll, detect, publish",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_site_argument(parser, required=True)
    parser.add_argument("--mqtt", metavar="URL", help="broker, e.g. mqtt://user@broker:1883")
    parser.add_argument("--mqtt-password-file", type=Path, metavar="FILE")
    parser.add_argument("--telemetry-qos", type=int, choices=(0, 1), default=0)
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--status-every", type=float, default=10.0, metavar="S")
    parser.set_defaults(run=run)


def mqtt_settings(args: argparse.Namespace, client_id: str) -> MqttSettings:
    """Broker settings from --mqtt plus the password from a file or the environment."""
    settings = MqttSettings.from_url(
        args.mqtt, client_id=client_id, telemetry_qos=args.telemetry_qos
    )
    password = os.environ.get("HAZARD_MQTT_PASSWORD")
    if args.mqtt_password_file is not None:
        password = args.mqtt_password_file.read_text(encoding="utf-8").strip()
    if password is not None:
        settings = MqttSettings(**{**settings.__dict__, "password": password})
    return settings


def run(args: argparse.Namespace) -> int:
    """Run the agent until Ctrl-C or --duration."""
    site = load_site_arg(args.site)
    run_until_stopped(lambda stop: _edge(args, site, stop), args.duration)
    return 0


async def _edge(args: argparse.Namespace, site: Site, stop: asyncio.Event) -> None:
    console = ConsoleSink()
    sinks: list[Sink] = [console]
    tasks = []
    publisher = None
    if args.mqtt:
        publisher = MqttPublisher(site, mqtt_settings(args, f"edge-{site.enterprise}-{site.site}"))
        sinks.append(publisher)
        tasks.append(publisher.run(stop))
    agent = EdgeAgent(site, sinks)
    print(f"edge agent: {site.enterprise}/{site.site}, {len(agent.pollers)} devices", flush=True)

    async def status() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=args.status_every)
            except TimeoutError:
                console.status(lambda: _summary(agent, publisher))

    await asyncio.gather(agent.run(stop), status(), *tasks)


def _summary(agent: EdgeAgent, publisher: MqttPublisher | None) -> str:
    stats = [p.stats for p in agent.pollers.values()]
    text = (
        f"polls {sum(s.polls for s in stats)} failed {sum(s.failures for s in stats)} "
        f"overruns {sum(s.overruns for s in stats)}"
    )
    if publisher is not None:
        s = publisher.stats
        text += f" | mqtt {'up' if s.connected else 'DOWN'} sent {s.alarms_sent} alarms"
    return text
