"""Operator commands over MQTT: acknowledge, shelve, out-of-service, disposition.

Two locks guard a command. The broker's ACL decides who may publish on
``hazard/v1/{enterprise}/{site}/cmd/#`` at all; then every command carries the
operator's name and an HMAC-SHA256 signature made with that operator's key (keys come
from a file or the environment, never from the site file), a timestamp within five
minutes and a request id never seen before. A command that fails any check, or that
the alarm state refuses, changes nothing and gets a reply saying exactly why.

Anyone the ACL lets publish on ``cmd/#`` can flood it, so a command is refused as
cheaply as possible (size, then JSON, then shape, and only then the HMAC), and the
*replies* to refusals are rate-limited: per claimed sender (the ``by`` field, since MQTT
does not say who published) and overall. A refusal over the limit is counted in
``suppressed`` and not answered; the first one over a sender's limit is answered with
``rate_limited`` so a confused script learns why it hears nothing. Checking is never
limited: a flood that claims a real operator's name cannot stop that operator's
signed commands, which are applied and answered at once.
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
    UNTRUSTED_CODES,
    CommandRequest,
    reply_body,
    sign_command,
)
from gateway.errors import ConfigError, ContractError, Problem
from gateway.timeutil import parse_ts

__all__ = [
    "ACTIONS",
    "CommandProcessor",
    "CommandRequest",
    "RefusalLimiter",
    "load_operator_keys",
    "sign_command",
]

MAX_CLOCK_SKEW_S = 300.0
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
SEEN_REQUESTS = 10_000
#: Refusal replies per claimed sender: a burst, then one per ``1 / rate`` seconds.
SENDER_BURST, SENDER_RATE = 10, 2.0
#: Refusal replies from everyone together (an attacker can claim many names).
TOTAL_BURST, TOTAL_RATE = 50, 20.0
_SENDERS = 1024  # buckets kept; the least recently used is forgotten


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
            msg = "expected 'operator:secret' with a secret of 16+ characters"
            raise ConfigError([Problem(str(source), number, "", msg)])
        keys[name.strip()] = secret.strip().encode()
    return keys


class _Bucket:
    """A token bucket: ``take`` succeeds at most ``burst`` times, refilled at ``rate``/s."""

    __slots__ = ("burst", "rate", "stamp", "tokens", "warned")

    def __init__(self, burst: int, rate: float, now: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens, self.stamp, self.warned = float(burst), now, False

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.warned = False
            return True
        return False


class RefusalLimiter:
    """Decides whether a refusal gets a reply: per-sender and overall token buckets."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._total = _Bucket(TOTAL_BURST, TOTAL_RATE, clock())
        self._senders: OrderedDict[str, _Bucket] = OrderedDict()

    def verdict(self, sender: str) -> str:
        """``reply``, ``warn`` (reply ``rate_limited`` once) or ``drop``."""
        now = self._clock()
        bucket = self._senders.get(sender)
        if bucket is None:
            bucket = self._senders[sender] = _Bucket(SENDER_BURST, SENDER_RATE, now)
            while len(self._senders) > _SENDERS:
                self._senders.popitem(last=False)
        self._senders.move_to_end(sender)
        if not bucket.take(now):
            if bucket.warned:
                return "drop"
            bucket.warned = True
            return "warn" if self._total.take(now) else "drop"
        return "reply" if self._total.take(now) else "drop"


class CommandProcessor:
    """Checks and applies commands; ``handle`` and ``answer`` never raise."""

    def __init__(
        self,
        manager: AlarmManager,
        keys: Mapping[str, bytes],
        *,
        clock: Callable[[], float] = time.time,
        release_latch: Callable[[AlarmKey], object] = lambda key: None,
    ) -> None:
        """``release_latch(key)`` hands an acknowledged latch to the detector to reset."""
        self.manager = manager
        self._release_latch = release_latch
        self.keys = dict(keys)
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.accepted = 0
        self.refused = 0
        self.suppressed = 0
        self._limiter = RefusalLimiter(clock)

    def handle(self, action: str, payload: bytes) -> dict[str, Any]:
        """Apply one command; the reply says ok or which rule refused it."""
        reply, _ = self._process(action, payload)
        return reply

    def answer(self, action: str, payload: bytes) -> dict[str, Any] | None:
        """Like :meth:`handle`, but None for a refusal the rate limit leaves unanswered.

        This is what the MQTT command reader calls (see the module docstring).
        """
        reply, sender = self._process(action, payload)
        if sender is None:  # applied, or refused by the alarm state: always answered
            return reply
        verdict = self._limiter.verdict(sender)
        if verdict == "drop":
            self.suppressed += 1
            return None
        if verdict == "warn":
            message = "too many refused commands from this sender; further ones go unanswered"
            return reply_body(reply["request_id"], code="rate_limited", message=message)
        return reply

    def _process(self, action: str, payload: bytes) -> tuple[dict[str, Any], str | None]:
        """The reply, and the claimed sender if it is an untrusted refusal (else None)."""
        body = _json_object(payload)
        request_id = _request_id_of(body)
        try:
            request = self._authenticate(action, payload, body)
            event = self._apply(action, request)
        except CommandError as exc:
            self.refused += 1
            reply = reply_body(request_id, code=exc.code, message=str(exc))
            return reply, _sender_of(body) if exc.code in UNTRUSTED_CODES else None
        self.accepted += 1
        return reply_body(request_id, event=event), None

    def _authenticate(
        self, action: str, payload: bytes, body: dict[str, Any] | None
    ) -> CommandRequest:
        if action not in ACTIONS:
            shown = action if len(action) <= 40 else action[:37] + "..."
            raise CommandError(
                "unknown_action", f"unknown command {shown!r}; known: {', '.join(ACTIONS)}"
            )
        try:
            request = CommandRequest.from_payload(payload)
        except ContractError as exc:
            raise CommandError("malformed", f"malformed {exc}") from None
        if body is None:  # valid for pydantic yet not for json (cannot happen; be safe)
            raise CommandError("malformed", "malformed command: not a JSON object")
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
        if action == "reset":  # accepted now; the clear event follows at the next good sample
            manager.reset(key, by, note)
            return {}
        if action == "ack":
            acknowledged = manager.acknowledge(key, by, note, request.activation_id)
            if acknowledged.release is not None:
                self._release_latch(acknowledged.release)
            return acknowledged.event.to_dict()
        handlers: dict[str, Callable[[], Any]] = {
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


def _json_object(payload: bytes) -> dict[str, Any] | None:
    """The payload as a JSON object, or None; the size is checked before any parsing."""
    if len(payload) > MAX_COMMAND_PAYLOAD:
        return None
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # not UTF-8 or not JSON; too deeply nested
        return None
    return body if isinstance(body, dict) else None


def _request_id_of(body: dict[str, Any] | None) -> str | None:
    """The command's ``request_id`` if it is a valid one, else None (reply on ``unknown``).

    It becomes a topic level of the reply: an id that is too long, holds a control
    character or a lone surrogate would make the publish fail or the broker disconnect us.
    """
    value = body.get("request_id") if body is not None else None
    if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
        return value
    return None


def _sender_of(body: dict[str, Any] | None) -> str:
    """The operator a command claims to come from, as a rate-limit key ("" if none)."""
    value = body.get("by") if body is not None else None
    return value[:64] if isinstance(value, str) else ""
