"""One bounded memo rule for the hot-path caches fed by network input.

Ingest remembers topic shapes, window timestamps and line heads, all keyed by what a broker
delivers. A hostile or merely huge variety of keys must not grow them without end, and an
LRU would cost more than the work it saves, so a full cache is simply emptied.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["remember"]

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key`` (emptying ``cache`` first when it holds ``limit``)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
