"""`hazard-gateway ack`: acknowledge an alarm as an operator, from a terminal.

How an operator acknowledges before a panel exists (and how a script does it):
the command is signed with the operator's own key (HMAC-SHA256, the same
``name:secret`` line the edge agent reads with --operator-keys), published on
``hazard/v1/{enterprise}/{site}/cmd/ack`` and answered by the edge agent on
``.../reply/{request_id}``. The reply is printed as it came: the acknowledgement
with its event, or the refusal's code and reason (unauthorised, expired,
stale_activation, ...). The journal then shows who acknowledged (`history`).

Exit status 0 when the edge agent accepted it, 1 when it refused or did not reply
within --timeout, 2 for a mistake on the command line or in a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.commands.common import load_site_arg, positive_seconds

if TYPE_CHECKING:
    from gateway.contracts.command import CommandReply
    from gateway.mqtt.publisher import MqttSettings

__all__ = ["build_command", "register"]

KINDS = ("HH", "H", "L", "LL", "ROC", "FAULT", "COMM")


def register(commands: Any) -> None:
    """Add the `ack` subcommand."""
    parser = commands.add_parser(
        "ack",
        help="acknowledge an alarm: a signed command to the edge agent over MQTT",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--site", type=Path, required=True, help="the site file (for its enterprise and site ids)"
    )
    parser.add_argument(
        "--mqtt", metavar="URL", required=True, help="broker, e.g. mqtt://operator@broker:1883"
    )
    parser.add_argument(
        "--mqtt-password-file",
        type=Path,
        metavar="FILE",
        help="broker password (default: $HAZARD_MQTT_PASSWORD)",
    )
    parser.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate: enables TLS")
    parser.add_argument(
        "--operator", required=True, help="your operator name, as in the operator keys file"
    )
    parser.add_argument(
        "--operator-keys",
        type=Path,
        metavar="FILE",
        help="file of 'operator:secret' lines (default: $HAZARD_OPERATOR_KEYS_FILE)",
    )
    parser.add_argument("--device", required=True, help="device name in the site file")
    parser.add_argument("--point", required=True, help="point key of the device")
    parser.add_argument(
        "--kind", required=True, choices=KINDS, help="the alarm kind to acknowledge"
    )
    parser.add_argument(
        "--activation-id",
        metavar="ID",
        help="acknowledge only this activation (refused if a newer one is active)",
    )
    parser.add_argument("--note", default="", help="free text kept in the journal with the ack")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds to wait for the edge agent's reply (default 10)",
    )
    parser.set_defaults(run=run)


def build_command(args: argparse.Namespace, key: bytes, now: float) -> dict[str, Any]:
    """The signed command body (docs/mqtt.md, command.json) for ``args`` at time ``now``."""
    from gateway.contracts.command import sign_command  # noqa: PLC0415 - pydantic models
    from gateway.timeutil import rfc3339  # noqa: PLC0415

    body: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "by": args.operator,
        "ts": rfc3339(now),
        "device": args.device,
        "point": args.point,
        "kind": args.kind,
        "note": args.note,
    }
    if args.activation_id:
        body["activation_id"] = args.activation_id
    body["sig"] = sign_command(body, key)
    return body


def run(args: argparse.Namespace) -> int:
    """Send the command and print the reply; exit 1 when refused or unanswered."""
    from gateway.alarms.commands import load_operator_keys  # noqa: PLC0415 - alarm lifecycle

    site = load_site_arg(args.site)
    keys = load_operator_keys(args.operator_keys)
    if not keys:
        msg = "no operator keys: give --operator-keys FILE or set $HAZARD_OPERATOR_KEYS_FILE"
        raise ValueError(msg)
    key = keys.get(args.operator)
    if key is None:
        msg = f"no key for operator {args.operator!r} in the operator keys file"
        raise ValueError(msg)
    body = build_command(args, key, time.time())
    reply = asyncio.run(_send(_settings(args), site.enterprise, site.site, body, args.timeout))
    if reply is None:
        print(
            f"no reply within {args.timeout:g} s to request {body['request_id']} "
            "(is the edge agent running with --mqtt and --operator-keys?)"
        )
        return 1
    if reply.ok:
        event = reply.event or {}
        print(
            f"acknowledged {args.device}/{args.point} {args.kind} by {args.operator}: "
            f"event #{event.get('seq', '?')} state {event.get('state', '?')}"
        )
        return 0
    error = reply.error
    print(f"refused: {error.code}: {error.message}" if error else "refused (no reason given)")
    return 1


def _settings(args: argparse.Namespace) -> MqttSettings:
    from gateway.mqtt.publisher import MqttSettings  # noqa: PLC0415 - aiomqtt

    client_id = f"ack-{args.operator}-{uuid.uuid4().hex[:8]}"
    settings = MqttSettings.from_url(args.mqtt, client_id=client_id, ca_file=args.mqtt_ca)
    password = os.environ.get("HAZARD_MQTT_PASSWORD")
    if args.mqtt_password_file is not None:
        password = args.mqtt_password_file.read_text(encoding="utf-8").strip()
    if password is None:
        return settings
    from dataclasses import replace  # noqa: PLC0415

    return replace(settings, password=password)


async def _send(
    settings: MqttSettings, enterprise: str, site: str, body: dict[str, Any], timeout: float
) -> CommandReply | None:
    """Subscribe to the reply topic first, then publish (QoS 1); None after ``timeout``."""
    import aiomqtt  # noqa: PLC0415 - not for --help

    from gateway.contracts.command import CommandReply  # noqa: PLC0415
    from gateway.contracts.topics import command_topic, reply_topic  # noqa: PLC0415

    replies = reply_topic(enterprise, site, body["request_id"])
    client = aiomqtt.Client(
        settings.host,
        settings.port,
        identifier=settings.client_id or None,
        username=settings.username,
        password=settings.password,
        tls_context=settings.tls_context(),
        timeout=5.0,
    )
    try:
        async with client:
            await client.subscribe(replies, qos=1)
            payload = json.dumps(body, ensure_ascii=False).encode()
            await client.publish(command_topic(enterprise, site, "ack"), payload, qos=1)
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    if str(message.topic) == replies:
                        raw = message.payload
                        text = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw)
                        return CommandReply.from_payload(text)
    except TimeoutError:
        return None
    except aiomqtt.MqttError as exc:
        msg = f"MQTT broker {settings.host}:{settings.port}: {exc}"
        raise OSError(msg) from None
    return None
