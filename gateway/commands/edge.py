"""`hazard-gateway edge`: poll a site's devices, detect alarms, publish over MQTT.

Secrets never go in the site file or on the command line: the MQTT password comes
from $HAZARD_MQTT_PASSWORD or --mqtt-password-file, operator command keys from
--operator-keys or $HAZARD_OPERATOR_KEYS_FILE (lines "operator:secret"). Alarm journal
and outbox live in --state-dir (SQLite); keep it on persistent storage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from gateway.alarms.commands import load_operator_keys
from gateway.commands.common import (
    add_site_argument,
    add_state_dir_argument,
    load_site_arg,
    run_until_stopped,
)
from gateway.config import Site
from gateway.console import ConsoleSink
from gateway.edge.service import EdgeService
from gateway.mqtt.publisher import MqttSettings
from gateway.netutil import redact_url

__all__ = ["mqtt_settings", "register"]


def register(commands: Any) -> None:
    """Add the `edge` subcommand."""
    parser = commands.add_parser(
        "edge",
        help="run the edge agent of a site: poll, detect, journal, publish",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_site_argument(parser, required=True)
    parser.add_argument("--mqtt", metavar="URL", help="broker, e.g. mqtt://user@broker:1883")
    parser.add_argument("--mqtt-password-file", type=Path, metavar="FILE")
    parser.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate: enables TLS")
    parser.add_argument("--mqtt-cert", metavar="FILE", help="client certificate (mutual TLS)")
    parser.add_argument("--mqtt-key", metavar="FILE", help="client private key")
    parser.add_argument("--mqtt-protocol", choices=("auto", "5", "3.1.1"), default="auto")
    parser.add_argument("--telemetry-qos", type=int, choices=(0, 1), default=0)
    parser.add_argument("--operator-keys", type=Path, metavar="FILE")
    add_state_dir_argument(parser)
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--status-every", type=float, default=10.0, metavar="S")
    parser.set_defaults(run=run)


def mqtt_settings(args: argparse.Namespace, client_id: str) -> MqttSettings:
    """Broker settings from the options, the password from a file or the environment."""
    settings = MqttSettings.from_url(
        args.mqtt,
        client_id=client_id,
        telemetry_qos=args.telemetry_qos,
        ca_file=args.mqtt_ca,
        cert_file=args.mqtt_cert,
        key_file=args.mqtt_key,
        protocol=args.mqtt_protocol,
    )
    password = os.environ.get("HAZARD_MQTT_PASSWORD")
    if args.mqtt_password_file is not None:
        password = args.mqtt_password_file.read_text(encoding="utf-8").strip()
    return replace(settings, password=password) if password is not None else settings


def run(args: argparse.Namespace) -> int:
    """Run the agent until Ctrl-C or --duration."""
    site = load_site_arg(args.site)
    run_until_stopped(lambda stop: _edge(args, site, stop), args.duration)
    return 0


async def _edge(args: argparse.Namespace, site: Site, stop: asyncio.Event) -> None:
    console = ConsoleSink()
    mqtt = mqtt_settings(args, f"edge-{site.enterprise}-{site.site}") if args.mqtt else None
    service = EdgeService(
        site,
        args.state_dir,
        mqtt,
        operator_keys=load_operator_keys(args.operator_keys),
        sinks=[console],
    )
    print(
        f"edge agent: {site.enterprise}/{site.site}, {len(service.agent.pollers)} devices, "
        f"state in {args.state_dir}, mqtt {redact_url(args.mqtt) if args.mqtt else 'off'}",
        flush=True,
    )

    async def status() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=args.status_every)
            except TimeoutError:
                console.status(lambda: _summary(service))

    try:
        await asyncio.gather(service.run(stop), status())
    finally:
        service.close()


def _summary(service: EdgeService) -> str:
    stats = [p.stats for p in service.agent.pollers.values()]
    text = (
        f"polls {sum(s.polls for s in stats)} failed {sum(s.failures for s in stats)} "
        f"overruns {sum(s.overruns for s in stats)}"
    )
    outbox = service.outbox.stats()
    text += f" | outbox {outbox.queued_alarms} alarms {outbox.queued_telemetry} telemetry queued"
    if service.publisher is not None:
        s = service.publisher.stats
        text += (
            f" | mqtt {'up' if s.connected else 'DOWN'} sent {s.alarms_sent} alarms "
            f"{s.telemetry_sent} telemetry, replayed {s.replayed}, reconnects {s.reconnects}"
        )
    return text
