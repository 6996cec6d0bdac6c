"""Where polls sit in time: the wall clock's grid, a few phases, never on a window line."""

from __future__ import annotations

import pytest

from gateway.edge.poller import SLOT_MARGIN, TICK_GROUP, tick_phases, until_next_slot


@pytest.mark.parametrize("interval", [0.01, 0.1, 1.0, 5.0])
def test_devices_started_apart_land_on_the_same_slots(interval: float) -> None:
    # Started at different instants, two devices of one phase poll at the same wall times.
    for started in (1_800_000_000.0, 1_800_000_000.37 * interval, 1_800_000_123.9):
        slot = started + until_next_slot(started, interval)
        assert (slot % interval) / interval == pytest.approx(SLOT_MARGIN, abs=1e-4)
        assert -1e-6 <= slot - started < interval


def test_slots_keep_their_margin_from_window_boundaries() -> None:
    interval = 1.0
    for phase in tick_phases([f"tcp:{i}" for i in range(10 * TICK_GROUP)]):
        slot = 1_800_000_000.5 + until_next_slot(1_800_000_000.5, interval, phase)
        within = slot % interval
        assert SLOT_MARGIN - 1e-6 <= within <= 1.0 - SLOT_MARGIN + 1e-6


def test_phases_group_devices_and_spread_the_groups() -> None:
    assert tick_phases([]) == []
    own_links = [f"tcp:{i}" for i in range(TICK_GROUP)]
    assert set(tick_phases(own_links)) == {0.0}  # one tick for a site up to the group size
    phases = tick_phases([f"tcp:{i}" for i in range(3 * TICK_GROUP + 1)])
    assert sorted(set(phases)) == [0.0, 0.25, 0.5, 0.75]
    assert max(phases.count(p) for p in set(phases)) == TICK_GROUP


def test_devices_sharing_a_link_never_share_a_phase() -> None:
    # a 4-device RS-485 bus and 12 TCP devices: the bus spreads over 4 phases, the TCP
    # devices fill the groups up to TICK_GROUP
    links = ["rtu:/dev/ttyUSB0"] * 4 + [f"tcp:{i}" for i in range(12)]
    phases = tick_phases(links)
    bus = phases[:4]
    assert len(set(bus)) == 4
    assert all(phases.count(p) <= TICK_GROUP for p in phases)
    long_bus = tick_phases(["rtu:/dev/ttyS1"] * 30)
    assert sorted(long_bus) == [i / 30 for i in range(30)]  # one phase each, evenly apart
