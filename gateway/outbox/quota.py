"""How big the outbox may grow, and which telemetry goes first when it is full.

Size is *accounted*, not measured: every row counts :func:`row_bytes` - its share of the
4 KiB pages it fills, record and index overhead included - stored with the row and kept as
a running sum in the database beside the rows. That makes the
quota check free on every put and exact after a restart. Measuring the file instead does
not work with thinning: deleting every second row leaves B-tree pages half full rather than
freeing them, so the page count barely drops and a page-based check would thin on and on.

Thinning keeps a coarser history instead of cutting a hole: one step takes the oldest
telemetry rows (a window of 10 % of the telemetry, between 64 and 2,048 rows) and deletes
every second row *of each topic* among them, so every device keeps half its windows there.
Repeated steps land on the same oldest stretch again, so older data grows coarser
(1/2, 1/4, ...) while the newest stays complete. The first row of each topic in a window
is kept; if that leaves nothing to delete, the single oldest row goes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "ENVELOPE_BYTES",
    "PAGE_SIZE",
    "PER_POINT_BYTES",
    "THIN_TARGET",
    "default_quota",
    "row_bytes",
    "thin_victims",
    "thin_window",
]

#: The database page size (set when the file is created; SQLite's default).
PAGE_SIZE = 4096
_CELL_OVERHEAD = 28  # cell pointer, sizes, rowid, record header, lane/qos/created/attempts/size
_INDEX_ENTRY = 12  # one (lane, id) entry in the index
_LEAF_USABLE = PAGE_SIZE - 8  # minus the leaf page header
_MAX_LOCAL = PAGE_SIZE - 35  # larger cells spill into overflow pages
_MIN_LOCAL = (PAGE_SIZE - 12) * 32 // 255 - 23
_OVERFLOW_USABLE = PAGE_SIZE - 4
#: Topic plus the fixed part of a telemetry payload (device, ts, window_s, braces): a 55-byte
#: topic and a 90-byte envelope were measured on the demo site; rounded up.
ENVELOPE_BYTES = 180
#: One point's ``"key": {"min": .., "max": .., "mean": .., "last": .., "count": ..}`` with
#: float32 values printed as Python floats (up to 18 characters each): 130 bytes measured
#: for 11-character keys; rounded up for longer ones.
PER_POINT_BYTES = 140
#: Thinning stops once the accounted size is under this share of the quota, so it runs in
#: bursts, not on every put.
THIN_TARGET = 0.9
_MIN_QUOTA = 1 << 20
_WINDOW_MIN, _WINDOW_MAX = 64, 2048


def default_quota(devices_points: list[int], window_s: list[float], days: float = 7.0) -> int:
    """Bytes for ``days`` of a site's telemetry: one message per device per window.

    ``devices_points[i]`` is how many points device ``i`` reports, ``window_s[i]`` its
    telemetry window. Divided by :data:`THIN_TARGET`, so the whole period still fits after
    a thinning burst has brought the outbox down to its target; never below 1 MiB.
    """
    if len(devices_points) != len(window_s):
        msg = f"devices_points has {len(devices_points)} entries, window_s {len(window_s)}"
        raise ValueError(msg)
    total = 0
    for points, window in zip(devices_points, window_s, strict=True):
        if window <= 0 or points < 0:
            msg = f"telemetry window {window!r} s and points {points!r} must be positive"
            raise ValueError(msg)
        messages = math.ceil(days * 86_400 / window)
        total += messages * row_bytes(ENVELOPE_BYTES + PER_POINT_BYTES * points)
    return max(_MIN_QUOTA, math.ceil(total / THIN_TARGET))


def row_bytes(content: int) -> int:
    """Disk bytes one row takes whose topic and payload together are ``content`` bytes.

    Rows are appended in id order, so leaf pages fill up completely with whole cells: a
    row costs a page divided by how many such rows fit in one. That matters - a 2.2 kB
    row fits once in a 4 KiB page and really costs 4 KiB. Within 10 % of SQLite's own page
    count for real telemetry of 0 to 32 points (tests/unit/test_outbox.py).
    """
    cell = content + _CELL_OVERHEAD
    if cell <= _MAX_LOCAL:
        return math.ceil(PAGE_SIZE / (_LEAF_USABLE // cell)) + _INDEX_ENTRY
    # SQLite keeps a small part in the leaf and fills whole overflow pages with the rest
    local = _MIN_LOCAL + (cell - _MIN_LOCAL) % _OVERFLOW_USABLE
    if local > _MAX_LOCAL:
        local = _MIN_LOCAL
    overflow_pages = math.ceil((cell - local) / _OVERFLOW_USABLE)
    return overflow_pages * PAGE_SIZE + local + _INDEX_ENTRY


def thin_window(queued_telemetry: int) -> int:
    """How many of the oldest telemetry rows one thinning step looks at."""
    return max(_WINDOW_MIN, min(_WINDOW_MAX, queued_telemetry // 10))


def thin_victims(rows: Sequence[tuple[int, str]]) -> list[int]:
    """Ids to delete from ``rows`` (``(id, topic)``, oldest first): every second per topic."""
    seen: dict[str, int] = {}
    victims = []
    for row_id, topic in rows:
        nth = seen.get(topic, 0)
        seen[topic] = nth + 1
        if nth % 2:
            victims.append(row_id)
    if not victims and rows:
        victims.append(rows[0][0])
    return victims
