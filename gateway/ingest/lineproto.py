"""InfluxDB line protocol, written in bulk as bytes (no per-point objects).

influxdb-client's ``Point`` path costs several microseconds per field and reaches about
0.12 x the server's limit here (DESIGN.md); these helpers build one line with a few
string joins. Rules (docs.influxdata.com, "line protocol"):

- measurement: escape ``,`` and space; tag keys and values: ``,`` ``=`` and space;
- string fields: double-quoted, ``\\`` and ``"`` escaped; newlines are not allowed;
- integers end in ``i``; floats use ``repr`` (shortest round-trip form); NaN and
  infinity have no line-protocol form, so the caller leaves such fields out;
- timestamps are integers in the precision the write names (ns here).

Contract names (enterprise, site, device, point) are restricted to ``[A-Za-z0-9_.-]``
(gateway.contracts.parsing.NAME_PATTERN), so escaping them is a guard, not the fast path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

__all__ = [
    "FieldValue",
    "escape_tag",
    "field_text",
    "format_fields",
    "line",
    "series_prefix",
]

FieldValue = float | int | bool | str
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": " "})
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def escape_tag(text: str) -> str:
    """A tag key or value escaped for line protocol (names are usually already safe)."""
    if _SAFE.issuperset(text):
        return text
    return text.translate(_TAG_ESCAPES)


def series_prefix(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """``measurement,k=v,...`` with tags sorted by key (InfluxDB's preferred order)."""
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    parts += [f"{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags) if v != ""]
    return ",".join(parts)


def field_text(value: FieldValue) -> str | None:
    """One field value in line protocol, or None when it has no form (NaN, inf)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def format_fields(fields: Mapping[str, FieldValue | None]) -> str:
    """``k=v,...`` for the fields that have a value (None and non-finite left out)."""
    out = []
    for key, value in fields.items():
        if value is None:
            continue
        text = field_text(value)
        if text is not None:
            out.append(f"{escape_tag(key)}={text}")
    return ",".join(out)


def line(prefix: str, fields: Mapping[str, FieldValue | None], ts_ns: int) -> str | None:
    """One line, or None when no field has a value (a line needs at least one field)."""
    text = format_fields(fields)
    return f"{prefix} {text} {ts_ns}" if text else None
