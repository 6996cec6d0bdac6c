"""Which messages one worker owns, and what it subscribes to, per scale-out mode.

``single``     one worker, subscriptions ``hazard/v1/#`` (persistent session).
``partition``  N workers, each with its own persistent session and the same
               subscriptions; worker K writes the sites whose ``crc32(enterprise/site)
               % N == K`` and acknowledges the rest unwritten (another worker owns
               them). Each worker's session keeps its own copy of every message while it
               is down, so a killed worker loses nothing: the safe mode on Mosquitto.
``shared``     ``$share/{group}/hazard/v1/#``: the broker deals messages out. Safe on
               brokers that redeliver a vanished member's in-flight messages (EMQX);
               Mosquitto 2.0 can lose them (eclipse-mosquitto issue 2662).

Topics whose shape is unknown are dead-lettered by worker 0 only, so N workers do not
store N copies of the same bad message.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from gateway.contracts import ROOT
from gateway.ingest.config import ScaleConfig

__all__ = ["Partition", "subscriptions"]


@dataclass(frozen=True)
class Partition:
    """Worker ``index`` of ``count``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Partition:
        """``"K/N"`` -> Partition(K, N); ValueError unless 0 <= K < N."""
        k, _, n = text.partition("/")
        part = cls(int(k), int(n))
        if not 0 <= part.index < part.count:
            msg = f"partition {text!r}: need K/N with 0 <= K < N"
            raise ValueError(msg)
        return part

    @classmethod
    def of(cls, scale: ScaleConfig) -> Partition:
        """The partition a scale config asks for (the whole stream unless partitioned)."""
        if scale.mode == "partition" and scale.partition:
            return cls.parse(scale.partition)
        return cls()

    def owns(self, enterprise: str, site: str) -> bool:
        """True when this worker writes the messages of ``enterprise/site``."""
        if self.count == 1:
            return True
        return zlib.crc32(f"{enterprise}/{site}".encode()) % self.count == self.index

    @property
    def owns_strays(self) -> bool:
        """True for the worker that dead-letters messages of unknown topics."""
        return self.index == 0


def subscriptions(scale: ScaleConfig) -> list[str]:
    """Topic filters to subscribe to (QoS 1 each)."""
    topic = f"{ROOT}/#"
    if scale.mode == "shared":
        return [f"$share/{scale.group}/{topic}"]
    return [topic]
