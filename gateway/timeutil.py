"""Timestamps on the wire: RFC 3339 UTC with milliseconds, parsed leniently."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_ts", "rfc3339"]


def rfc3339(ts: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2026-11-23T17:40:29.123Z."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> float:
    """RFC 3339 (``Z`` or an offset) or epoch seconds -> epoch seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        msg = f"timestamp {text!r} has no time zone (use Z or +08:00)"
        raise ValueError(msg)
    return moment.timestamp()
