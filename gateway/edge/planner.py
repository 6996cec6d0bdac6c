"""Plan the block reads of a device from its profile.

Peers read one tag per request (ThingsBoard gateway #406, #1821: 100 registers give
100 requests). We coalesce adjacent points into reads of at most
``max_registers_per_read`` registers, bridging a hole when reading it is cheaper
than a second request (at most ``max_gap`` registers of hole).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.datatypes import Table
from gateway.edge.blockdecode import BlockDecoder
from gateway.edge.codec import PointCodec, codec_for
from gateway.profiles import DeviceProfile, Point

__all__ = ["PlannedPoint", "ReadRequest", "plan_reads"]


@dataclass(frozen=True)
class PlannedPoint:
    """A point inside a read: its index in the device's point list and its offset."""

    index: int
    offset: int
    codec: PointCodec


@dataclass(frozen=True)
class ReadRequest:
    """One Modbus read: table, first address, count, and the points it feeds.

    ``decoder`` is the read compiled for vectorised decoding (built once, here).
    """

    table: Table
    address: int
    count: int
    points: tuple[PlannedPoint, ...]
    decoder: BlockDecoder = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        decoder = BlockDecoder(self.points, bit_table=self.table.is_bit_table)
        object.__setattr__(self, "decoder", decoder)

    @property
    def bridges_gap(self) -> bool:
        """True when the read covers registers no point uses."""
        used = {pp.offset + i for pp in self.points for i in range(pp.codec.width)}
        return len(used) < self.count


def plan_reads(
    profile: DeviceProfile,
    points: Sequence[Point] | None = None,
    *,
    max_gap: int | None = None,
) -> list[ReadRequest]:
    """Coalesce ``points`` (default: the profile's) into as few reads as the limits allow."""
    chosen = list(points if points is not None else profile.points)
    gap = profile.max_gap if max_gap is None else max_gap
    requests: list[ReadRequest] = []
    for table in Table:
        members = sorted(
            ((i, p) for i, p in enumerate(chosen) if p.table is table),
            key=lambda item: (item[1].address, item[0]),
        )
        if not members:
            continue
        limit = profile.max_bits_per_read if table.is_bit_table else profile.max_registers_per_read
        requests += _coalesce(profile, table, members, limit, gap)
    return requests


def _coalesce(
    profile: DeviceProfile,
    table: Table,
    members: list[tuple[int, Point]],
    limit: int,
    gap: int,
) -> list[ReadRequest]:
    groups: list[list[tuple[int, Point]]] = []
    start = end = -1
    for index, point in members:
        point_end = point.address + point.width - 1
        fits = groups and point.address - end - 1 <= gap and max(end, point_end) - start < limit
        if fits:
            groups[-1].append((index, point))
            end = max(end, point_end)
        else:
            groups.append([(index, point)])
            start, end = point.address, point_end
    return [_request(profile, table, group) for group in groups]


def _request(profile: DeviceProfile, table: Table, group: list[tuple[int, Point]]) -> ReadRequest:
    first = group[0][1].address
    last = max(p.address + p.width - 1 for _, p in group)
    planned = tuple(PlannedPoint(i, p.address - first, codec_for(profile, p)) for i, p in group)
    return ReadRequest(table, first, last - first + 1, planned)
