"""``hazard-gateway push status``: each channel's queue, read from its SQLite file.

Works whether or not the service runs (the queue files are opened read-only), so an
operator sees the backlog of a stopped or crashed push too. /metrics shows the same figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.push.config import PushConfig
from gateway.push.queue import QueueStats, open_read_only, read_stats
from gateway.timeutil import rfc3339

__all__ = ["channel_status", "format_status"]

_COLUMNS = (
    "channel",
    "type",
    "backlog",
    "oldest queued",
    "last success",
    "retries",
    "dead",
    "last error",
)


def channel_status(config: PushConfig) -> list[tuple[str, str, QueueStats | None]]:
    """(name, type, figures) per channel; None when its queue file does not exist yet."""
    out: list[tuple[str, str, QueueStats | None]] = []
    for channel in config.channels:
        path = Path(config.state_dir) / f"{channel.name}.sqlite"
        stats = None
        if path.exists():
            db = open_read_only(path)
            try:
                stats = read_stats(db)
            finally:
                db.close()
        out.append((channel.name, channel.type, stats))
    return out


def _when(ts: float | None) -> str:
    return "-" if ts is None else rfc3339(ts)


def format_status(rows: list[tuple[str, str, QueueStats | None]], as_json: bool = False) -> str:
    """A table (or JSON lines) for the terminal."""
    if as_json:
        lines = []
        for name, kind, s in rows:
            body: dict[str, Any] = {"channel": name, "type": kind}
            if s is not None:
                body |= s.__dict__
            lines.append(json.dumps(body))
        return "\n".join(lines)
    table = [_COLUMNS]
    for name, kind, s in rows:
        if s is None:
            table.append((name, kind, "0", "-", "-", "0", "0", "(not started yet)"))
            continue
        error = (s.last_error or "-")[:60]
        table.append(
            (
                name,
                kind,
                str(s.backlog),
                _when(s.oldest),
                _when(s.last_success),
                str(s.retries),
                str(s.dead),
                error,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )
