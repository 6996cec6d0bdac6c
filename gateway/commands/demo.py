"""`hazard-gateway demo`: simulator + edge agent + MQTT broker + live panel, on one machine.

The main job on a fresh machine: it serves the demo site's devices from the
simulator running a hazard scenario, polls them with the real edge agent, raises
alarms with edge_core, publishes them over MQTT (an embedded broker unless --mqtt is
given) and reads them back from the broker, printing every alarm transition. The live
panel opens at the printed URL with a one-off demo login (--no-panel to skip it); with
--influxdb URL an ingest worker writes everything into that InfluxDB as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.commands.common import add_site_argument, load_site_arg, run_until_stopped
from gateway.commands.demo_central import DemoPanel, run_ingest_beside, validate_influx_url
from gateway.commands.edge import load_edge_runtime
from gateway.commands.simulate import SCENARIO_NAMES
from gateway.netutil import FreePorts, free_port, redact_url

if TYPE_CHECKING:
    from gateway.config import Site
    from gateway.console import ConsoleSink
    from gateway.site import EdgeSite

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the `demo` subcommand."""
    parser = commands.add_parser(
        "demo",
        help="run simulated devices, the edge agent and an MQTT broker, printing alarms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_site_argument(parser, required=False)
    parser.add_argument(
        "--scenario",
        default="gas-leak",
        choices=sorted(SCENARIO_NAMES),
        help="hazard scenario the simulator plays (default gas-leak)",
    )
    parser.add_argument("--seed", type=int, default=0, help="scenario noise seed (default 0)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--mqtt", metavar="URL", help="use this broker instead of the embedded one")
    parser.add_argument(
        "--status-every",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between console status lines (default 5)",
    )
    parser.add_argument(
        "--keep-ports", action="store_true", help="serve devices on the site file's own ports"
    )
    parser.add_argument(
        "--state-dir", type=Path, help="journal and outbox folder (default: a temporary one)"
    )
    parser.add_argument(
        "--panel-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="port of the live panel (a free one if taken; default 8080)",
    )
    parser.add_argument("--no-panel", action="store_true", help="do not start the live panel")
    parser.add_argument(
        "--influxdb",
        metavar="URL",
        help="also ingest into this InfluxDB (1.x /write API): http://host:8086[/database]",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C or --duration."""
    from gateway.config import with_tcp_ports  # noqa: PLC0415
    from gateway.console import ConsoleSink  # noqa: PLC0415

    site = load_site_arg(args.site)
    if not args.keep_ports:
        with FreePorts() as ports:  # distinct: one port per endpoint
            site = with_tcp_ports(site, lambda host, _port: ports.take(host))
    load_edge_runtime()
    console = ConsoleSink()
    received: dict[str, int] = {"alarms": 0, "telemetry": 0}
    run_until_stopped(lambda stop: _demo(args, site, console, received, stop), args.duration)
    print(
        f"demo stopped: {console.alarm_count} alarm events, {received['alarms']} received back "
        f"through the broker, {received['telemetry']} telemetry/status messages",
        file=sys.stderr,
    )
    return 0


async def _demo(
    args: argparse.Namespace,
    site: Site,
    console: ConsoleSink,
    received: dict[str, int],
    stop: asyncio.Event,
) -> None:
    from gateway.mqtt.publisher import MqttSettings  # noqa: PLC0415
    from gateway.simulator.server import Simulator  # noqa: PLC0415
    from gateway.site import EdgeSite  # noqa: PLC0415

    if args.influxdb:
        validate_influx_url(args.influxdb)  # a bad URL fails before anything starts
    with contextlib.ExitStack() as stack:
        state = args.state_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        async with Simulator(site, args.scenario, args.seed), _broker(args.mqtt) as url:
            # closed before the broker stops: the panel's client would warn of a lost broker
            with contextlib.ExitStack() as running:
                protocol = "auto" if args.mqtt else "3.1.1"  # the embedded broker speaks 3.1.1
                settings = MqttSettings.from_url(
                    url, client_id=f"edge-{site.site}", protocol=protocol
                )
                panel = None if args.no_panel else DemoPanel(url, state, args.panel_port)
                keys = panel.operator_keys() if panel else {}
                service = EdgeSite(site, state, settings, sinks=[console], operator_keys=keys)
                running.callback(service.close)
                if panel is not None:
                    await asyncio.to_thread(panel.start)
                    running.callback(panel.stop)
                _banner(site, args, url, panel)
                tasks = [
                    service.run(stop),
                    _watch_broker(settings, site, received, stop),
                    _status_loop(console, service, received, args.status_every, stop),
                ]
                if args.influxdb:
                    tasks.append(run_ingest_beside(args.influxdb, url, state, stop))
                await asyncio.gather(*tasks)


def _banner(site: Site, args: argparse.Namespace, url: str, panel: DemoPanel | None) -> None:
    from gateway.contracts.topics import ROOT  # noqa: PLC0415

    ports = sorted({d.config.tcp.port for d in site.devices if d.config.tcp})
    if panel is not None:
        login = panel.login
        print(
            f"live panel {panel.url}  (log in as {login.user!r}, password {login.password!r}; "
            "this demo login lives as long as the demo)",
            flush=True,
        )
    if args.influxdb:
        print(f"ingesting into InfluxDB {redact_url(args.influxdb)}", flush=True)
    print(
        f"hazard-gateway demo: site {site.enterprise}/{site.site}, scenario {args.scenario} "
        f"(seed {args.seed}), {len(site.devices)} simulated devices on ports {ports}\n"
        f"MQTT broker {redact_url(url)}; alarms on {ROOT}/{site.enterprise}/{site.site}/alarm/#\n"
        "Ctrl-C to stop.",
        flush=True,
    )


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[str]:
    if url is not None:
        yield url
        return
    from gateway.mqtt.embedded import EmbeddedBroker  # noqa: PLC0415

    async with EmbeddedBroker(free_port()) as broker:
        yield broker.url


async def _watch_broker(
    settings: Any, site: Site, received: dict[str, int], stop: asyncio.Event
) -> None:
    """Subscribe like a panel would, proving alarms arrive through the broker."""
    from gateway.contracts import AlarmEvent, TopicKind, parse_topic  # noqa: PLC0415
    from gateway.mqtt.subscriber import watch  # noqa: PLC0415

    def count(topic: str, payload: bytes) -> None:
        if parse_topic(topic).kind is TopicKind.ALARM:
            AlarmEvent.from_payload(payload)  # what comes back must parse by the contract
            received["alarms"] += 1
        else:
            received["telemetry"] += 1

    topic = f"hazard/v1/{site.enterprise}/{site.site}/#"
    await watch(settings, topic, count, stop, client_id=f"demo-watch-{site.site}")


async def _status_loop(
    console: ConsoleSink,
    service: EdgeSite,
    received: dict[str, int],
    every: float,
    stop: asyncio.Event,
) -> None:
    def line() -> str:
        return f"{service.stats().summary()} | received back {received['alarms']} alarms"

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        console.status(line)
