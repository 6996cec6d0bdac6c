"""History filters from a query string, and the CSV export.

Filters arrive as untrusted query parameters; each is checked here (bad values are a
400 naming the parameter, never a crash). The CSV is UTF-8 with a byte-order mark so
that Excel opens Chinese text correctly, with column titles in the page's language.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gateway.timeutil import parse_ts, rfc3339
from gateway.web.store import HistoryQuery

__all__ = ["CSV_COLUMNS", "csv_text", "parse_history_query"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
_KINDS = ("HH", "H", "L", "LL", "ROC", "FAULT", "COMM")
MAX_PAGE = 500
CSV_COLUMNS = (
    "enterprise", "site", "device", "point", "kind", "level", "first_out", "raised", "value",
    "limit_value", "unit", "acked", "acked_by", "cleared", "disposed", "disposed_by", "cause",
    "action", "last_state",
)  # fmt: skip
_TIMES = ("raised", "acked", "cleared", "disposed")


class BadParameter(ValueError):
    """A query parameter with a value the history does not accept."""


def _name(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key) or None
    if value is not None and not _NAME.match(value):
        msg = f"{key}: not a valid name: {value[:40]!r}"
        raise BadParameter(msg)
    return value


def _time(params: Mapping[str, str], key: str) -> float | None:
    value = params.get(key) or None
    if value is None:
        return None
    try:
        return parse_ts(value)
    except ValueError:
        msg = f"{key}: not a time (RFC 3339 or epoch seconds): {value[:40]!r}"
        raise BadParameter(msg) from None


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    value = params.get(key) or None
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        msg = f"{key}: expected a whole number {low}..{high}, got {value[:20]!r}"
        raise BadParameter(msg)
    return int(value)


def parse_history_query(
    params: Mapping[str, str], due_s: float, clock: Callable[[], float] = time.time
) -> HistoryQuery:
    """The HistoryQuery of a query string (BadParameter names a bad one)."""
    kind = params.get("kind") or None
    if kind is not None and kind not in _KINDS:
        msg = f"kind: one of {', '.join(_KINDS)}, got {kind[:20]!r}"
        raise BadParameter(msg)
    level = _int(params, "level", 0, 0, 2) or None
    size = _int(params, "size", 50, 1, MAX_PAGE)
    page = _int(params, "page", 1, 1, 1_000_000)
    overdue = params.get("overdue") in ("1", "true")
    return HistoryQuery(
        enterprise=_name(params, "enterprise"),
        site=_name(params, "site"),
        device=_name(params, "device"),
        point=_name(params, "point"),
        kind=kind,
        level=level,
        since=_time(params, "since"),
        until=_time(params, "until"),
        no_disposition=params.get("no_disposition") in ("1", "true"),
        overdue_before=clock() - due_s if overdue else None,
        limit=size,
        offset=(page - 1) * size,
    )


def display_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored activation with its times as RFC 3339 text (for CSV)."""
    out = dict(row)
    for key in _TIMES:
        if out.get(key) is not None:
            out[key] = rfc3339(float(out[key]))
    out["first_out"] = "1" if out.get("first_out") else ""
    return out


def csv_text(rows: Iterable[Mapping[str, Any]], titles: Mapping[str, str]) -> str:
    """UTF-8-with-BOM CSV text of ``rows`` with column ``titles`` (key -> label)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([titles.get(f"col.{c}", c) for c in CSV_COLUMNS])
    for row in rows:
        shown = display_row(row)
        writer.writerow(["" if shown.get(c) is None else shown[c] for c in CSV_COLUMNS])
    return buffer.getvalue()
