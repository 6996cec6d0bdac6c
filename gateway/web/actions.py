"""Operator actions from the console, turned into signed commands for the edge.

The panel never changes an alarm itself: it signs a command (docs/mqtt.md, "Operator
commands") with the logged-in user's own key, so the edge checks who acted, and the
console shows the alarm as acknowledged only when the edge's event arrives. Which role
may ask for what is decided here, on the server, whatever the page shows or hides.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.contracts import AlarmKind, command_topic, sign_command
from gateway.modelbase import FrozenModel
from gateway.timeutil import rfc3339
from gateway.web.config import Role

__all__ = ["REQUIRED_ROLE", "ActionRequest", "build_command"]

Action = Literal[
    "ack", "reset", "shelve", "unshelve", "out_of_service", "return_to_service", "disposition"
]
REQUIRED_ROLE: dict[str, Role] = {
    "ack": Role.OPERATOR,
    "reset": Role.OPERATOR,
    "shelve": Role.OPERATOR,
    "unshelve": Role.OPERATOR,
    "disposition": Role.OPERATOR,
    "out_of_service": Role.ADMIN,
    "return_to_service": Role.ADMIN,
}
_Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")]
_Text = Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")]


class ActionRequest(FrozenModel):
    """What the console posts to ``/api/alarms/action``."""

    action: Action
    enterprise: _Name
    site: _Name
    device: _Name | None = None
    point: _Name | None = None
    kind: AlarmKind | None = None
    activation_id: Annotated[str, Field(max_length=64)] | None = None
    note: _Text = ""
    duration_s: Annotated[float, Field(gt=0, le=4 * 3600)] | None = None
    cause: _Text = ""
    remedy: _Text = ""

    def target(self) -> str:
        """Where the action points, for the log."""
        parts = (self.enterprise, self.site, self.device, self.point, self.kind)
        return "/".join(str(p) for p in parts if p is not None)


def build_command(
    request: ActionRequest, by: str, key: bytes, clock: Callable[[], float] = time.time
) -> tuple[str, str, dict[str, Any]]:
    """(topic, request_id, signed body) of the command for ``request`` by user ``by``."""
    request_id = f"web-{secrets.token_hex(12)}"
    body: dict[str, Any] = {"request_id": request_id, "by": by, "ts": rfc3339(clock())}
    if request.action == "disposition":
        body.update(activation_id=request.activation_id, cause=request.cause)
        body["action"] = request.remedy
    else:
        kind = request.kind.value if request.kind is not None else None
        body.update(device=request.device, point=request.point, kind=kind, note=request.note)
        if request.action == "ack" and request.activation_id:
            body["activation_id"] = request.activation_id
        if request.action == "shelve":
            body["duration_s"] = request.duration_s or 3600.0
    body = {k: v for k, v in body.items() if v is not None}
    body["sig"] = sign_command(body, key)
    return command_topic(request.enterprise, request.site, request.action), request_id, body
