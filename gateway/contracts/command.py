"""Operator commands and their replies (docs/mqtt.md, command.json and reply.json).

A command is untrusted input from the network until its signature checks out, and even
then its fields are built into topics and journal rows: :meth:`CommandRequest.from_payload`
checks size and shape before anything else (a ``request_id`` is one short topic level of
a strict character set), and :func:`sign_command` is what a panel or a script uses to
sign one. Replies are built with :func:`reply_body` and parsed with
:meth:`CommandReply.from_payload`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from gateway.contracts.alarm import AlarmKind
from gateway.contracts.parsing import parse_json
from gateway.modelbase import FrozenModel

__all__ = [
    "ACTIONS",
    "ERROR_CODES",
    "MAX_COMMAND_PAYLOAD",
    "REQUEST_ID_PATTERN",
    "UNTRUSTED_CODES",
    "CommandReply",
    "CommandRequest",
    "ReplyError",
    "canonical",
    "is_trusted_reply",
    "reply_body",
    "sign_command",
]

ACTIONS = (
    "ack",
    "reset",
    "shelve",
    "unshelve",
    "out_of_service",
    "return_to_service",
    "disposition",
)
ERROR_CODES = (
    "malformed",
    "unknown_action",
    "unauthorised",
    "expired",
    "replayed",
    "not_found",
    "invalid_state",
    "invalid_argument",
    "stale_activation",
    "duplicate",
    "rate_limited",
    "internal_error",
)
#: Refusals that anyone who can publish on ``cmd/#`` can provoke without a fresh signed
#: command: a flood of these is rate-limited and answered after every trusted reply.
UNTRUSTED_CODES = frozenset(
    {"malformed", "unknown_action", "unauthorised", "expired", "replayed", "rate_limited"}
)
MAX_COMMAND_PAYLOAD = 4096
# One MQTT topic level of printable ASCII: the reply goes to .../reply/{request_id}.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_.:-]{8,64}$"
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_Short = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")]
_Text = Annotated[str, Field(max_length=500, pattern=_PRINTABLE)]


class CommandRequest(FrozenModel):
    """The JSON body of a command (docs/mqtt.md)."""

    request_id: Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]
    by: Annotated[str, Field(min_length=1, max_length=64, pattern=_PRINTABLE)]
    ts: Annotated[str, Field(max_length=40)]
    sig: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    device: _Short | None = None
    point: _Short | None = None
    kind: AlarmKind | None = None
    activation_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    note: _Text = ""
    duration_s: float | None = None
    cause: _Text = ""
    action: _Text = ""

    @classmethod
    def from_payload(cls, payload: bytes | str) -> CommandRequest:
        """Parse a command body; ContractError (size, JSON, field) before any crypto."""
        return parse_json(_REQUEST, payload, "command", MAX_COMMAND_PAYLOAD)


class ReplyError(FrozenModel):
    """Why a command was refused."""

    code: str
    message: Annotated[str, Field(max_length=2000)]


class CommandReply(FrozenModel):
    """The edge's answer on ``.../reply/{request_id}``."""

    request_id: str | None
    ok: bool
    event: dict[str, Any] | None = None
    error: ReplyError | None = None

    @classmethod
    def from_payload(cls, payload: bytes | str) -> CommandReply:
        """Parse a reply (the panel waits for it before showing an action as done)."""
        return parse_json(_REPLY, payload, "command reply", 64 * 1024)


def reply_body(
    request_id: str | None,
    *,
    event: Mapping[str, Any] | None = None,
    code: str | None = None,
    message: str = "",
) -> dict[str, Any]:
    """A reply: ``ok`` with the event the command produced, or the refusal's code."""
    if code is None:
        return {"request_id": request_id, "ok": True, "event": dict(event or {})}
    return {"request_id": request_id, "ok": False, "error": {"code": code, "message": message}}


def is_trusted_reply(reply: Mapping[str, Any]) -> bool:
    """True for the answer to a fresh, signed command (applied, or refused by alarm state).

    The edge answers these before any refusal in :data:`UNTRUSTED_CODES`, so a flood of
    garbage never delays an operator's acknowledgement.
    """
    if reply.get("ok") is True:
        return True
    error = reply.get("error")
    return isinstance(error, Mapping) and error.get("code") not in UNTRUSTED_CODES


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: the body without ``sig``, sorted keys, no spaces."""
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_command(body: Mapping[str, Any], key: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` (what a panel or a script sends as ``sig``)."""
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


_REQUEST: TypeAdapter[CommandRequest] = TypeAdapter(CommandRequest)
_REPLY: TypeAdapter[CommandReply] = TypeAdapter(CommandReply)
