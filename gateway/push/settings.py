"""Settings every channel shares: what it sends (filters) and how it retries.

Each channel type adds its own fields on top of :class:`ChannelSettings` in its own
module (gateway/push/channels/). Periods that differ by province (upload, heartbeat,
offline threshold, disposition limit) are configuration with documented defaults in
:class:`Periods`, never constants in code (docs/push.md, DOMAIN.md §3.3).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gateway.contracts import AlarmKind
from gateway.contracts.parsing import NAME
from gateway.modelbase import FrozenModel

__all__ = ["ChannelSettings", "Delivery", "Filters", "Periods", "Sends"]

_Seconds = Annotated[float, Field(gt=0, le=86400 * 7)]


class Filters(FrozenModel):
    """Which sites and alarms a channel takes (empty list: all)."""

    enterprises: tuple[NAME, ...] = ()
    sites: tuple[NAME, ...] = ()
    min_level: Annotated[int, Field(ge=1, le=2)] = 1
    kinds: tuple[AlarmKind, ...] = ()

    def site_ok(self, enterprise: str, site: str) -> bool:
        """True when items of this site go to the channel."""
        return (not self.enterprises or enterprise in self.enterprises) and (
            not self.sites or site in self.sites
        )

    def alarm_ok(self, kind: AlarmKind, level: int) -> bool:
        """True when an alarm of this kind and level goes to the channel."""
        return level >= self.min_level and (not self.kinds or kind in self.kinds)


class Sends(FrozenModel):
    """What kinds of item a channel carries."""

    alarms: bool = True
    status: bool = True
    realtime: bool = True
    heartbeat: bool = True
    overdue: bool = True


class Delivery(FrozenModel):
    """Timeouts and capped exponential backoff of one channel."""

    timeout_s: _Seconds = 10.0
    backoff_initial_s: _Seconds = 1.0
    backoff_max_s: _Seconds = 300.0
    retry_after_max_s: _Seconds = 3600.0
    batch: Annotated[int, Field(ge=1, le=1000)] = 50

    @model_validator(mode="after")
    def _ordered(self) -> Delivery:
        if self.backoff_initial_s > self.backoff_max_s:
            msg = "backoff_initial_s must not exceed backoff_max_s"
            raise ValueError(msg)
        return self

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (Retry-After wins)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max_s)
        return min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** max(failures - 1, 0))


class Periods(FrozenModel):
    """Province-dependent periods (seconds); defaults are conservative, not normative."""

    realtime_s: _Seconds = 60.0
    heartbeat_s: _Seconds = 60.0
    offline_threshold_s: _Seconds = 60.0
    disposition_limit_s: _Seconds = 1800.0


class ChannelSettings(FrozenModel):
    """The fields every channel type has."""

    name: NAME
    filters: Filters = Filters()
    sends: Sends = Sends()
    delivery: Delivery = Delivery()
