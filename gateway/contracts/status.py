"""The retained site status (``.../status``) and its last will.

The edge publishes ``online`` with counters every few seconds and at connect, and the
broker publishes the last will ``offline`` when the edge vanishes. Central services parse
it with :meth:`SiteStatus.from_payload`; fields they do not know are kept in ``extra``
so an older central service accepts a newer edge's status.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gateway.contracts.parsing import NAME, parse_json
from gateway.timeutil import parse_ts

__all__ = ["DeviceStatus", "SiteStatus"]

MAX_STATUS_PAYLOAD = 256 * 1024


class DeviceStatus(BaseModel):
    """Poll counters of one device."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ok: bool
    polls: Annotated[int, Field(ge=0)] = 0
    failures: Annotated[int, Field(ge=0)] = 0
    overruns: Annotated[int, Field(ge=0)] = 0
    late: Annotated[int, Field(ge=0)] = 0


class SiteStatus(BaseModel):
    """One status message of one site (docs/schemas/status.json)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    state: Literal["online", "offline"]
    ts: Annotated[str, Field(max_length=40)]
    site: NAME
    devices: dict[NAME, DeviceStatus] = Field(default_factory=dict)
    polls: Annotated[int, Field(ge=0)] | None = None
    alarms_annunciated: Annotated[int, Field(ge=0)] | None = None
    outbox: dict[str, Any] | None = None
    mqtt: dict[str, Any] | None = None
    commands: dict[str, Any] | None = None
    degraded: list[str] | None = None

    @classmethod
    def from_payload(cls, payload: bytes | str) -> SiteStatus:
        """Parse and validate a status payload; ContractError names the field."""
        return parse_json(_ADAPTER, payload, "site status", MAX_STATUS_PAYLOAD)

    @property
    def online(self) -> bool:
        """True unless the site said, or its last will says, offline."""
        return self.state == "online"

    @property
    def epoch(self) -> float:
        """``ts`` as epoch seconds."""
        return parse_ts(self.ts)


_ADAPTER: TypeAdapter[SiteStatus] = TypeAdapter(SiteStatus)
