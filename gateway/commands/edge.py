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
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.commands.common import (
    add_site_argument,
    add_state_dir_argument,
    fast_loop_factory,
    load_site_arg,
    run_until_stopped,
)
from gateway.netutil import redact_url

if TYPE_CHECKING:
    from gateway.config import Site
    from gateway.mqtt.publisher import MqttSettings
    from gateway.site import EdgeSite

__all__ = ["load_edge_runtime", "mqtt_settings", "register"]


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
    parser.add_argument(
        "--mqtt-password-file",
        type=Path,
        metavar="FILE",
        help="file holding the broker password (else $HAZARD_MQTT_PASSWORD)",
    )
    parser.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate: enables TLS")
    parser.add_argument("--mqtt-cert", metavar="FILE", help="client certificate (mutual TLS)")
    parser.add_argument("--mqtt-key", metavar="FILE", help="client private key")
    parser.add_argument(
        "--mqtt-protocol",
        choices=("auto", "5", "3.1.1"),
        default="auto",
        help="MQTT version; auto tries 5, then 3.1.1 (default auto)",
    )
    parser.add_argument(
        "--telemetry-qos",
        type=int,
        choices=(0, 1),
        default=0,
        help="QoS of telemetry windows (alarms are always QoS 1; default 0)",
    )
    parser.add_argument(
        "--operator-keys",
        type=Path,
        metavar="FILE",
        help="operator:secret lines for signed commands (else $HAZARD_OPERATOR_KEYS_FILE)",
    )
    add_state_dir_argument(parser)
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--status-every",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between console status lines (default 10)",
    )
    parser.set_defaults(run=run)


def load_edge_runtime() -> None:
    """Start loading the detection kernels; on a fresh machine, say that they compile.

    Polling does not wait: detection runs on the reference detector until the kernels
    are ready (gateway.edge.warmup), so the first start after an install polls at once.
    """
    from edge_core._cache_guard import kernels_cached  # noqa: PLC0415 (light, no kernels)
    from gateway.edge.warmup import kernel_loader  # noqa: PLC0415

    if not kernels_cached():
        print(
            "compiling the detection kernels in the background (first start on this machine, "
            "15-30 s); detection runs on the reference detector meanwhile",
            flush=True,
        )
    kernel_loader.start()


def mqtt_settings(args: argparse.Namespace, client_id: str) -> MqttSettings:
    """Broker settings from the options, the password from a file or the environment."""
    from gateway.mqtt.publisher import MqttSettings  # noqa: PLC0415

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
    load_edge_runtime()
    run_until_stopped(
        lambda stop: _edge(args, site, stop), args.duration, loop_factory=fast_loop_factory()
    )
    return 0


async def _edge(args: argparse.Namespace, site: Site, stop: asyncio.Event) -> None:
    from gateway.alarms.commands import load_operator_keys  # noqa: PLC0415
    from gateway.console import ConsoleSink  # noqa: PLC0415
    from gateway.site import EdgeSite  # noqa: PLC0415

    console = ConsoleSink(values=args.verbose > 0)  # -v: a line of values too
    mqtt = mqtt_settings(args, f"edge-{site.enterprise}-{site.site}") if args.mqtt else None
    service = EdgeSite(
        site,
        args.state_dir,
        mqtt,
        operator_keys=load_operator_keys(args.operator_keys),
        sinks=[console],
    )
    print(
        f"edge agent: {site.enterprise}/{site.site}, {len(service.agent.pollers)} devices, "
        f"state in {args.state_dir}, mqtt {redact_url(args.mqtt) if args.mqtt else 'off'}, "
        f"event loop {type(asyncio.get_running_loop()).__module__.split('.')[0]}",
        flush=True,
    )

    async def status() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=args.status_every)
            except TimeoutError:
                console.status(lambda: service.stats().summary())

    try:
        await asyncio.gather(service.run(stop), status())
    finally:
        _goodbye(service)
        service.close()


def _goodbye(service: EdgeSite) -> None:
    """One line when the agent stops, and a warning if alarms are still queued."""
    stats = service.stats()
    print(f"edge agent stopped: {stats.summary()}", flush=True)
    waiting = stats.outbox.queued_alarms + stats.alarms_waiting
    if waiting:
        print(
            f"warning: {waiting} alarm event(s) not yet delivered; they are kept in "
            "the state dir and sent at the next start",
            file=sys.stderr,
            flush=True,
        )
