"""The monthly report as one standalone, printable HTML file (a download to archive or mail).

Rendered on the server with every text escaped, in the language asked for, with its own
small print stylesheet and no script, so it opens and prints anywhere, offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

__all__ = ["report_html"]

_STYLE = (
    "body{font:13px/1.5 'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;"
    "margin:2em;color:#000}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #999;padding:.25em .6em;text-align:left}th{background:#eee}"
    "h1{font-size:18px}h2{font-size:15px;margin-top:1.5em}.flood{color:#c00;font-weight:700}"
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _table(heads: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(report: Mapping[str, Any], labels: Mapping[str, str], language: str) -> str:
    """The whole HTML document of ``report`` with ``labels`` of ``language``."""

    def t(key: str) -> str:
        return labels.get(key, key)

    flood = ' class="flood"' if report["flood"] else ""
    figures = [
        [t("report.total"), report["total"]],
        [t("report.per_hour"), f"{report['per_hour']:.2f}"],
        [t("report.peak_10min"), report["peak_10min"]],
        [t("report.ack_s.median"), _duration(report["ack_s"]["median"])],
        [t("report.ack_s.p90"), _duration(report["ack_s"]["p90"])],
        [t("report.dispose_s.median"), _duration(report["dispose_s"]["median"])],
        [t("report.dispose_s.p90"), _duration(report["dispose_s"]["p90"])],
        [t("report.overdue"), report["overdue"]],
        [t("report.offline_hours"), f"{report['offline_hours']:.2f}"],
    ]
    kinds = [[t(f"kind.{k}"), v.get("1", 0), v.get("2", 0)] for k, v in report["by_kind"].items()]
    top = [
        [f"{x['device']}/{x['point']}", t(f"kind.{x['kind']}"), x["count"]] for x in report["top"]
    ]
    days = [[i + 1, n] for i, n in enumerate(report["by_day"]) if n]
    title = f"{t('report.title')} · {report['site']} · {report['enterprise']} · {report['month']}"
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p{flood}>{escape(t('report.peak_10min'))}: {report['peak_10min']}</p>"
        + _table([t("report.title"), ""], figures)
        + f"<h2>{escape(t('report.by_kind'))}</h2>"
        + _table([t("col.kind"), t("level.1"), t("level.2")], kinds)
        + f"<h2>{escape(t('report.by_day'))}</h2>"
        + _table([t("col.time"), t("report.count")], days)
        + f"<h2>{escape(t('report.top'))}</h2>"
        + _table([t("col.point"), t("col.kind"), t("report.count")], top)
        + "</body></html>"
    )
