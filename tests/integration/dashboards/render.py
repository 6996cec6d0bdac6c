"""Draw what each panel's queries returned: one PNG per dashboard, one plot per panel.

No Grafana server can be installed here, so this is a sanity picture, not a screenshot:
time series as lines (limits dashed), single values as bars, tables as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["PanelResult", "render_dashboard"]

#: (panel title, panel type, [(alias or refId, series list, table?)])
PanelResult = tuple[str, str, Sequence[tuple[str, Sequence[Mapping[str, Any]], bool]]]


def _label(alias: str, series: Mapping[str, Any], column: str) -> str:
    tags = series.get("tags") or {}
    if alias:
        text = alias
        for key, value in tags.items():
            text = text.replace(f"$tag_{key}", str(value))
        return text
    return " ".join([*map(str, tags.values()), column]) or column


def _times(series: Mapping[str, Any]) -> list[float]:
    """Matplotlib date numbers (days since 1970, its default epoch) of epoch-ms times."""
    return [row[0] / 86_400_000 for row in series["values"]]


def _plot_lines(ax: Axes, targets: PanelResult) -> None:
    for alias, series_list, _ in targets[2]:
        for series in series_list:
            ys = [math.nan if row[1] is None else float(row[1]) for row in series["values"]]
            label = _label(alias, series, series["columns"][1])
            style = "--" if label.endswith("limit") else "-"
            marker = "o" if len(ys) <= 3 else ""  # one bucket (per hour) is a dot, not a line
            ax.plot(_times(series), ys, style, marker=marker, label=label, linewidth=1.2)
    ax.xaxis_date()
    ax.legend(fontsize=5, loc="upper left")
    ax.tick_params(labelsize=6)


def _plot_values(ax: Axes, targets: PanelResult) -> None:
    labels, values = [], []
    for alias, series_list, _ in targets[2]:
        for series in series_list:
            for column_index, column in enumerate(series["columns"][1:], start=1):
                row = series["values"][-1]
                value = row[column_index]
                if isinstance(value, int | float) and not isinstance(value, bool):
                    labels.append(_label(alias, series, column))
                    values.append(float(value))
    ax.barh(labels, values)
    ax.tick_params(labelsize=6)


def _plot_table(ax: Axes, targets: PanelResult) -> None:
    rows: list[list[str]] = []
    header: list[str] = []
    for _, series_list, _ in targets[2]:
        for series in series_list:
            tags = series.get("tags") or {}
            header = [*tags, *series["columns"][1:]]
            for row in series["values"][:12]:
                rows.append([*map(str, tags.values()), *(_cell(v) for v in row[1:])])
    ax.axis("off")
    if rows:
        table = ax.table(cellText=rows[:12], colLabels=header, loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(5)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def render_dashboard(title: str, panels: Sequence[PanelResult], path: Path) -> Path:
    """Write ``path`` (PNG): one subplot per panel, two columns."""
    rows = math.ceil(len(panels) / 2)
    figure = Figure(figsize=(14, 3.2 * rows), dpi=90)
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    for index, panel in enumerate(panels, start=1):
        ax = figure.add_subplot(rows, 2, index)
        name, kind, targets = panel
        ax.set_title(name, fontsize=9)
        if any(table for _, _, table in targets):
            _plot_table(ax, panel)
        elif kind == "timeseries" or kind == "state-timeline":
            _plot_lines(ax, panel)
        else:
            _plot_values(ax, panel)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
