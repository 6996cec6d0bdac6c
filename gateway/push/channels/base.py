"""What a channel type implements, and the errors that sort a failed delivery.

The worker (gateway/push/worker.py) sorts every failure by class, as STYLE.md asks::

    DeliveryError
    ├── RetryLater     429, 5xx, connection errors: back off (Retry-After wins)
    │   ├── TimedOut     no answer within the channel's timeout (a hanging endpoint)
    │   └── AuthRefused  401/403, a wrong key: back off and log loudly; the item stays
    ├── Rejected       another 4xx, with the endpoint's reason: dead-letter, move on
    └── NotReady       the site's manifest has not arrived yet: wait, the item stays

:meth:`Channel.check` runs before a send: it returns a dead-letter reason for an item the
channel can never send (a missing regulator code), so one bad item does not block the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from gateway.errors import GatewayError
from gateway.push.items import ItemKind, PushItem
from gateway.push.manifests import CodeNeeds, ManifestBook, missing_codes
from gateway.push.settings import ChannelSettings

__all__ = [
    "AuthRefused",
    "Channel",
    "DeliveryError",
    "NotReady",
    "Rejected",
    "RetryLater",
    "TimedOut",
]


class DeliveryError(GatewayError):
    """A delivery did not succeed.

    ``done`` is set by channels that send a batch one item at a time (``sequential``):
    how many leading items the endpoint accepted before this failure.
    """

    done: int = 0


class RetryLater(DeliveryError):
    """A temporary failure; ``retry_after`` is the endpoint's wish (seconds), if it said."""

    what: ClassVar[str] = "retry"  # the failure class counted in metrics

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(reason)


class TimedOut(RetryLater):
    """No answer in time."""

    what = "timeout"


class AuthRefused(RetryLater):
    """The endpoint refused our credentials or signature (a wrong key): loud, kept."""

    what = "auth"


class Rejected(DeliveryError):
    """The endpoint refused the item itself, with a reason: dead-letter it."""


class NotReady(DeliveryError):
    """The channel needs the site's manifest, which has not arrived yet."""


class Channel(ABC):
    """One configured channel: formats items and sends them to its endpoint."""

    max_batch: ClassVar[int] = 1
    #: True when ``deliver`` sends items one request each, in order (sets ``done``)
    sequential: ClassVar[bool] = False

    def __init__(self, settings: ChannelSettings, needs: CodeNeeds | None = None) -> None:
        self.settings = settings
        self.needs = needs or CodeNeeds()

    @property
    def name(self) -> str:
        """The channel's configured name."""
        return self.settings.name

    def check(self, item: PushItem, book: ManifestBook) -> str | None:
        """A dead-letter reason when ``item`` lacks a code this channel needs, else None."""
        if not (self.needs.site or self.needs.device or self.needs.point):
            return None
        manifest = book.site(item.enterprise, item.site)
        if manifest is None:
            msg = f"no manifest yet for {item.enterprise}/{item.site}"
            raise NotReady(msg)
        ref = None
        if item.event is not None and item.kind in (ItemKind.ALARM, ItemKind.OVERDUE):
            event = item.event
            ref = book.point(item.enterprise, item.site, event.device, event.point)
            if ref is None:
                return f"point {event.device}/{event.point} is not in the site manifest"
        missing = missing_codes(manifest, ref, self.needs)
        if missing:
            return f"missing regulator code(s) in {item.enterprise}/{item.site}: " + ", ".join(
                missing
            )
        return None

    @abstractmethod
    async def deliver(self, items: Sequence[PushItem], book: ManifestBook) -> None:
        """Send ``items`` (checked, at most ``max_batch``); raise a DeliveryError on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
