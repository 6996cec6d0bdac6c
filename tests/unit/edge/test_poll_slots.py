"""Where polls sit in time: the wall clock's grid, a few phases, never on a window line."""

from __future__ import annotations

import math

import pytest

from gateway.edge.poller import (
    SLOT_MARGIN,
    SLOW_POLL_S,
    TICK_GROUP,
    TICK_GROUP_SLOW,
    TICK_SLACK,
    tick_group,
    tick_phases,
    until_next_slot,
)


def _tcp(n: int, interval: float) -> list[tuple[str, float]]:
    return [(f"tcp:{i}", interval) for i in range(n)]


@pytest.mark.parametrize("interval", [0.01, 0.1, 1.0, 5.0])
def test_devices_started_apart_land_on_the_same_slots(interval: float) -> None:
    # Started at different instants, two devices of one phase poll at the same wall times.
    for started in (1_800_000_000.0, 1_800_000_000.37 * interval, 1_800_000_123.9):
        slot = started + until_next_slot(started, interval)
        assert (slot % interval) / interval == pytest.approx(SLOT_MARGIN, abs=1e-4)
        assert -1e-6 <= slot - started < interval


def test_slots_keep_their_margin_from_window_boundaries() -> None:
    interval = 1.0
    for phase in tick_phases(_tcp(10 * TICK_GROUP_SLOW, interval)):
        slot = 1_800_000_000.5 + until_next_slot(1_800_000_000.5, interval, phase)
        within = slot % interval
        assert SLOT_MARGIN - 1e-6 <= within <= 1.0 - SLOT_MARGIN + 1e-6


@pytest.mark.parametrize("interval", [0.01, 0.1, 1.0, 5.0])
def test_phases_group_devices_and_spread_the_groups(interval: float) -> None:
    size = tick_group(interval)
    assert tick_phases([]) == []
    assert set(tick_phases(_tcp(size, interval))) == {0.0}  # one tick up to the group size
    phases = tick_phases(_tcp(3 * size + 1, interval))  # three groups, one a device more
    assert sorted(set(phases)) == [0.0, 1 / 3, 2 / 3]
    assert sorted(phases.count(p) for p in set(phases)) == [size, size, size + 1]
    limit = math.floor(size * (1 + TICK_SLACK))
    phases = tick_phases(_tcp(4 * limit + 1, interval))  # too many for 4 groups
    assert sorted(set(phases)) == [0.0, 0.2, 0.4, 0.6, 0.8]
    counts = [phases.count(p) for p in set(phases)]
    assert max(counts) - min(counts) <= 1  # filled evenly


def test_a_device_over_a_full_group_joins_one_instead_of_ticking_alone() -> None:
    # 50 devices at 1 s and a gas detector: two phases of 26 and 25, not 25 + 25 + 1
    phases = tick_phases(_tcp(2 * TICK_GROUP_SLOW + 1, 1.0))
    assert sorted(phases.count(p) for p in set(phases)) == [25, 26]
    limit = math.floor(TICK_GROUP_SLOW * (1 + TICK_SLACK))
    phases = tick_phases(_tcp(limit + 1, 1.0))  # over the slack: two phases
    assert len(set(phases)) == 2
    assert set(tick_phases(_tcp(limit, 1.0))) == {0.0}


def test_slow_pollers_share_bigger_ticks_than_fast_ones() -> None:
    assert tick_group(SLOW_POLL_S) == tick_group(5.0) == TICK_GROUP_SLOW > TICK_GROUP
    assert tick_group(0.01) == tick_group(SLOW_POLL_S / 2) == TICK_GROUP
    # each interval is grouped on its own: 21 devices at 10 ms over 2 phases, the 1 s ones
    # in groups of their own size whatever sits between them in the site file
    n = TICK_GROUP_SLOW
    fast, slow = _tcp(21, 0.01), [(f"tcp:s{i}", 1.0) for i in range(n)]
    phases = tick_phases([*slow[: n // 2], *fast, *slow[n // 2 :]])
    assert sorted(set(phases[n // 2 : n // 2 + 21])) == [0.0, 0.5]
    assert set(phases[: n // 2] + phases[n // 2 + 21 :]) == {0.0}


@pytest.mark.parametrize("interval", [0.1, 1.0])
def test_devices_sharing_a_link_never_share_a_phase(interval: float) -> None:
    # a 4-device RS-485 bus and 12 TCP devices: the bus spreads over 4 phases, the TCP
    # devices fill the groups up to the group size
    links = [("rtu:/dev/ttyUSB0", interval)] * 4 + _tcp(12, interval)
    phases = tick_phases(links)
    bus = phases[:4]
    assert len(set(bus)) == 4
    assert all(phases.count(p) <= tick_group(interval) for p in phases)
    long_bus = tick_phases([("rtu:/dev/ttyS1", interval)] * 30)
    assert sorted(long_bus) == [i / 30 for i in range(30)]  # one phase each, evenly apart
