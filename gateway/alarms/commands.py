"""Operator commands over MQTT: acknowledge, shelve, out-of-service, disposition.

Two locks guard a command. The broker's ACL decides who may publish on
``hazard/v1/{enterprise}/{site}/cmd/#`` at all; then every command carries the
operator's name and an HMAC-SHA256 signature made with that operator's key (keys come
from a file or the environment, never from the site file), a timestamp within five
minutes and a request id never seen before. A command that fails any check, or that
the alarm state refuses, changes nothing and gets a reply saying exactly why.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from gateway.alarms.events import AlarmKind
from gateway.alarms.lifecycle import AlarmKey, AlarmManager, CommandError
from gateway.modelbase import FrozenModel
from gateway.timeutil import parse_ts

__all__ = [
    "ACTIONS",
    "CommandProcessor",
    "CommandRequest",
    "load_operator_keys",
    "sign_command",
]

ACTIONS = ("ack", "shelve", "unshelve", "out_of_service", "return_to_service", "disposition")
MAX_CLOCK_SKEW_S = 300.0
SEEN_REQUESTS = 10_000


class CommandRequest(FrozenModel):
    """The JSON body of a command (docs/mqtt.md)."""

    # one topic level: the reply goes to .../reply/{request_id}
    request_id: str = Field(min_length=8, max_length=64, pattern=r"^[^/+#\x00]+$")
    by: str = Field(min_length=1, max_length=64)
    ts: str
    sig: str = Field(min_length=64, max_length=64)
    device: str | None = None
    point: str | None = None
    kind: AlarmKind | None = None
    activation_id: str | None = None
    note: str = Field("", max_length=500)
    duration_s: float | None = None
    cause: str = Field("", max_length=500)
    action: str = Field("", max_length=500)


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: the body without ``sig``, sorted keys, no spaces."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_command(body: Mapping[str, Any], key: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` (what a panel or a script sends as ``sig``)."""
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


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
            return {
                "request_id": request_id,
                "ok": False,
                "error": {"code": exc.code, "message": str(exc)},
            }
        self.accepted += 1
        return {"request_id": request_id, "ok": True, "event": event}

    def _authenticate(self, action: str, payload: bytes) -> CommandRequest:
        if action not in ACTIONS:
            raise CommandError(
                "unknown_action", f"unknown command {action!r}; known: {', '.join(ACTIONS)}"
            )
        try:
            body = json.loads(payload)
            request = CommandRequest.model_validate(body)
        except (ValueError, ValidationError, RecursionError) as exc:  # deep nesting recurses
            raise CommandError("malformed", f"malformed command: {_first_line(exc)}") from None
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
    try:
        value = json.loads(payload).get("request_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        return f"{where}: {err['msg']}"
    return str(exc).splitlines()[0]
