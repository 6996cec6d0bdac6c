"""Operator commands over MQTT: acknowledge, shelve, out-of-service, disposition.

Two locks guard a command. The broker's ACL decides who may publish on
``hazard/v1/{enterprise}/{site}/cmd/#`` at all; then every command carries the
operator's name and an HMAC-SHA256 signature made with that operator's key (keys come
from a file or the environment, never from the site file), a timestamp within five
minutes and a request id never seen before. A command that fails any check, or that
the alarm state refuses, changes nothing and gets a reply saying exactly why.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gateway.alarms.lifecycle import AlarmKey, AlarmManager, CommandError
from gateway.contracts.command import (
    ACTIONS,
    MAX_COMMAND_PAYLOAD,
    REQUEST_ID_PATTERN,
    CommandRequest,
    reply_body,
    sign_command,
)
from gateway.errors import ContractError
from gateway.timeutil import parse_ts

__all__ = [
    "ACTIONS",
    "CommandProcessor",
    "CommandRequest",
    "load_operator_keys",
    "sign_command",
]

MAX_CLOCK_SKEW_S = 300.0
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
SEEN_REQUESTS = 10_000


def load_operator_keys(path: Path | None = None) -> dict[str, bytes]:
    """Operator keys from ``path`` or $HAZARD_OPERATOR_KEYS_FILE: ``name:secret`` per line."""
    env = os.environ.get("HAZARD_OPERATOR_KEYS_FILE")
    source = path or (Path(env) if env else None)
    if source is None:
        return {}
    keys: dict[str, bytes] = {}
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, secret = text.partition(":")
        if not sep or not name.strip() or len(secret.strip()) < 16:
            msg = f"{source}:{number}: expected 'operator:secret' with a secret of 16+ characters"
            raise ValueError(msg)
        keys[name.strip()] = secret.strip().encode()
    return keys


class CommandProcessor:
    """Checks and applies commands; ``handle`` never raises, it returns the reply."""

    def __init__(
        self,
        manager: AlarmManager,
        keys: Mapping[str, bytes],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.manager = manager
        self.keys = dict(keys)
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.accepted = 0
        self.refused = 0

    def handle(self, action: str, payload: bytes) -> dict[str, Any]:
        """Apply one command; the reply says ok or which rule refused it."""
        request_id = _request_id_of(payload)
        try:
            request = self._authenticate(action, payload)
            event = self._apply(action, request)
        except CommandError as exc:
            self.refused += 1
            return reply_body(request_id, code=exc.code, message=str(exc))
        self.accepted += 1
        return reply_body(request_id, event=event)

    def _authenticate(self, action: str, payload: bytes) -> CommandRequest:
        if action not in ACTIONS:
            raise CommandError(
                "unknown_action", f"unknown command {action!r}; known: {', '.join(ACTIONS)}"
            )
        try:
            request = CommandRequest.from_payload(payload)
        except ContractError as exc:
            raise CommandError("malformed", f"malformed {exc}") from None
        body = json.loads(payload)
        if not self.keys:
            raise CommandError(
                "unauthorised", "commands are disabled: no operator keys are configured"
            )
        key = self.keys.get(request.by)
        if key is None or not hmac.compare_digest(sign_command(body, key), request.sig):
            raise CommandError("unauthorised", f"bad signature for operator {request.by!r}")
        self._check_fresh(request)
        return request

    def _check_fresh(self, request: CommandRequest) -> None:
        try:
            skew = abs(self._clock() - parse_ts(request.ts))
        except (ValueError, OverflowError) as exc:
            raise CommandError("malformed", f"bad ts: {exc}") from None
        if not math.isfinite(skew):  # "NaN" parses, and NaN > limit is False: never expires
            raise CommandError("malformed", f"bad ts: {request.ts!r} is not a time")
        if skew > MAX_CLOCK_SKEW_S:
            raise CommandError(
                "expired",
                f"command ts is {skew:.0f} s from the gateway clock (max {MAX_CLOCK_SKEW_S:.0f})",
            )
        if request.request_id in self._seen:
            raise CommandError("replayed", f"request {request.request_id} was already handled")
        self._seen[request.request_id] = None
        while len(self._seen) > SEEN_REQUESTS:
            self._seen.popitem(last=False)

    def _apply(self, action: str, request: CommandRequest) -> dict[str, Any]:
        manager = self.manager
        if action == "disposition":
            if request.activation_id is None:
                raise CommandError("malformed", "disposition needs activation_id")
            event = manager.record_disposition(
                request.activation_id, request.cause, request.action, request.by
            )
            return event.to_dict()
        key = _key_of(request)
        by, note = request.by, request.note
        handlers: dict[str, Callable[[], Any]] = {
            "ack": lambda: manager.acknowledge(key, by, note, request.activation_id),
            "shelve": lambda: manager.shelve(key, by, note, _duration(request)),
            "unshelve": lambda: manager.unshelve(key, by, note),
            "out_of_service": lambda: manager.remove_from_service(key, by, note),
            "return_to_service": lambda: manager.return_to_service(key, by, note),
        }
        return dict(handlers[action]().to_dict())


def _key_of(request: CommandRequest) -> AlarmKey:
    if request.device is None or request.point is None or request.kind is None:
        raise CommandError("malformed", "command needs device, point and kind")
    return AlarmKey(request.device, request.point, request.kind)


def _duration(request: CommandRequest) -> float:
    if request.duration_s is None:
        raise CommandError("malformed", "shelve needs duration_s")
    return request.duration_s


def _request_id_of(payload: bytes) -> str | None:
    """The command's ``request_id`` if it is a valid one, else None (reply on ``unknown``).

    It becomes a topic level of the reply: an id that is too long, holds a control
    character or a lone surrogate would make the publish fail or the broker disconnect us.
    """
    if len(payload) > MAX_COMMAND_PAYLOAD:
        return None
    try:
        value = json.loads(payload).get("request_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
        return value
    return None
