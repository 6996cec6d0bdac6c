"""The monthly alarm report of one site (page, printable HTML and CSV).

Figures and why they are there:
- alarms by kind and level: what the site's hazards were;
- alarms per hour and the peak 10-minute count: EEMUA 191's flood measure (more than 10
  alarms in 10 minutes is a flood an operator cannot handle);
- the top 10 most frequent alarms: chattering or badly tuned points to fix first;
- time to acknowledge and to dispose (median, p90): how the shift responds;
- dispositions overdue: activations older than the due time with no cause and action;
- offline hours: how long the site was not watched at all.
Months are calendar months in UTC.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.web.store import AlarmStore

__all__ = ["month_range", "monthly_report", "peak_window", "percentile", "report_csv_rows"]

FLOOD_WINDOW_S = 600.0


def month_range(month: str) -> tuple[float, float]:
    """[start, end) epoch seconds of ``YYYY-MM`` (ValueError when malformed)."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.timestamp(), end.timestamp()


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_window(times: Sequence[float], window_s: float = FLOOD_WINDOW_S) -> int:
    """The most events inside any ``window_s`` window (two-pointer sweep, sorted input)."""
    best, left = 0, 0
    for right, t in enumerate(times):
        while t - times[left] >= window_s:
            left += 1
        best = max(best, right - left + 1)
    return best


def offline_hours(changes: Sequence[tuple[float, str]], since: float, until: float) -> float:
    """Hours offline inside [since, until) from (epoch, state) changes, oldest first."""
    total, state, at = 0.0, "online", since
    for epoch, new in changes:
        if epoch >= until:
            break
        if epoch > at and state == "offline":
            total += epoch - max(at, since)
        at = max(at, epoch)
        state = new
    if state == "offline" and until > at:
        total += until - max(at, since)
    return total / 3600.0


def _stats(values: list[float]) -> dict[str, float | None]:
    return {"n": len(values), "median": percentile(values, 50), "p90": percentile(values, 90)}


def monthly_report(
    store: AlarmStore, enterprise: str, site: str, month: str, now: float, due_s: float
) -> dict[str, Any]:
    """Every figure of the report as JSON-ready values."""
    since, until = month_range(month)
    end = max(since, min(until, now))
    rows = store.activations(enterprise, site, since, until)
    times = [float(r["raised"]) for r in rows]
    by_kind: dict[str, dict[str, int]] = {}
    for r in rows:
        cell = by_kind.setdefault(str(r["kind"]), {"1": 0, "2": 0})
        cell[str(r["level"])] = cell.get(str(r["level"]), 0) + 1
    top = Counter((r["device"], r["point"], r["kind"]) for r in rows).most_common(10)
    ack = [float(r["acked"]) - float(r["raised"]) for r in rows if r["acked"] is not None]
    dispose = [float(r["disposed"]) - float(r["raised"]) for r in rows if r["disposed"] is not None]
    overdue = [r for r in rows if r["disposed"] is None and float(r["raised"]) < now - due_s]
    hours = (end - since) / 3600.0
    days = [0] * round((until - since) / 86400)
    for t in times:
        days[int((t - since) // 86400)] += 1
    return {
        "enterprise": enterprise, "site": site, "month": month, "total": len(rows),
        "by_kind": by_kind, "per_hour": len(rows) / hours if hours > 0 else 0.0,
        "peak_10min": peak_window(times), "flood": peak_window(times) > 10, "by_day": days,
        "top": [{"device": d, "point": p, "kind": k, "count": n} for (d, p, k), n in top],
        "ack_s": _stats(ack), "dispose_s": _stats(dispose), "overdue": len(overdue),
        "offline_hours": offline_hours(store.status_changes(enterprise, site), since, end),
    }  # fmt: skip


def report_csv_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The report as (label key, value) pairs for the CSV download."""
    out = [
        ("report.total", str(report["total"])),
        ("report.per_hour", f"{report['per_hour']:.3f}"),
        ("report.peak_10min", str(report["peak_10min"])),
        ("report.overdue", str(report["overdue"])),
        ("report.offline_hours", f"{report['offline_hours']:.2f}"),
    ]
    for name in ("ack_s", "dispose_s"):
        for stat in ("median", "p90"):
            value = report[name][stat]
            out.append((f"report.{name}.{stat}", "" if value is None else f"{value:.1f}"))
    for kind, levels in sorted(report["by_kind"].items()):
        for level, count in sorted(levels.items()):
            out.append((f"kind.{kind}|L{level}", str(count)))
    for item in report["top"]:
        out.append((f"top|{item['device']}/{item['point']} {item['kind']}", str(item["count"])))
    return out
