"""Alarm lifecycle: ISA-18.2 states, GB/T 50493 ordering, journal and restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmKey, AlarmManager, CommandError, IsaState
from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.config import Site
from gateway.contracts.alarm import AlarmEvent, AlarmKind, AlarmState


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="site")
def fixture_site() -> Site:
    return load_site_arg(None)  # the demo site: gas-01, gas-02, h2s-01, o2-01, ...


@pytest.fixture(name="journal")
def fixture_journal(tmp_path: Path) -> Iterator[AlarmJournal]:
    journal = AlarmJournal(tmp_path / "journal.sqlite")
    yield journal
    journal.close()


class Harness:
    def __init__(self, site: Site, journal: AlarmJournal) -> None:
        self.clock = Clock()
        self.events: list[AlarmEvent] = []
        self.manager = AlarmManager(site, journal, self.events.append, clock=self.clock)

    def raise_(self, device: str, point: str, kind: AlarmKind, value: float = 50.0) -> None:
        self.manager.on_transitions(
            [Transition(device, point, kind, True, value, 40.0, self.clock.now)]
        )

    def clear(self, device: str, point: str, kind: AlarmKind) -> None:
        self.manager.on_transitions(
            [Transition(device, point, kind, False, 1.0, 40.0, self.clock.now)]
        )

    def states(self) -> list[str]:
        return [e.state.value for e in self.events]


@pytest.fixture(name="h")
def fixture_h(site: Site, journal: AlarmJournal) -> Harness:
    return Harness(site, journal)


GAS = AlarmKey("gas-01", "gas", AlarmKind.HH)


def test_active_ack_clear_normal(h: Harness) -> None:
    h.raise_("gas-01", "gas", AlarmKind.HH)
    acknowledged = h.manager.acknowledge(GAS, "li.wei", "going to check")
    assert acknowledged.release is None  # the gas HH does not latch: nothing to release
    h.clear("gas-01", "gas", AlarmKind.HH)
    assert h.states() == ["active", "acknowledged", "cleared"]
    assert h.manager.alarms[GAS].state is IsaState.NORMAL
    assert [e.seq for e in h.events] == [1, 2, 3]
    ack = h.events[1]
    assert ack.by == "li.wei" and ack.note == "going to check"
    assert acknowledged.event == ack
    assert ack.activation_id == h.events[0].event_id == h.events[2].activation_id


def test_returned_unacknowledged_then_ack_goes_normal(h: Harness) -> None:
    h.raise_("gas-01", "gas", AlarmKind.HH)
    h.clear("gas-01", "gas", AlarmKind.HH)
    assert h.manager.alarms[GAS].state is IsaState.RTN_UNACK
    h.manager.acknowledge(GAS, "op")
    assert h.manager.alarms[GAS].state is IsaState.NORMAL


def test_ack_of_an_old_activation_never_masks_a_new_one(h: Harness) -> None:
    h.raise_("gas-01", "gas", AlarmKind.HH)
    first = h.events[-1].event_id
    h.clear("gas-01", "gas", AlarmKind.HH)
    h.clock.now += 5
    h.raise_("gas-01", "gas", AlarmKind.HH)  # re-activated before anyone acknowledged
    with pytest.raises(CommandError) as caught:
        h.manager.acknowledge(GAS, "op", activation_id=first)
    assert caught.value.code == "stale_activation"
    assert h.manager.alarms[GAS].state is IsaState.UNACK
    h.manager.acknowledge(GAS, "op", activation_id=h.events[-1].event_id)
    assert h.manager.alarms[GAS].state is IsaState.ACKED


def test_nothing_to_acknowledge_and_unknown_point_are_refused(h: Harness) -> None:
    with pytest.raises(CommandError, match="nothing to acknowledge"):
        h.manager.acknowledge(GAS, "op")
    with pytest.raises(CommandError, match="no point"):
        h.manager.acknowledge(AlarmKey("gas-01", "nope", AlarmKind.H), "op")
    assert h.events == []


def test_second_level_first_toxic_before_combustible_and_first_out(h: Harness) -> None:
    ts = h.clock.now
    h.manager.on_transitions(
        [
            Transition("gas-01", "gas", AlarmKind.H, True, 30.0, 20.0, ts),
            Transition("h2s-01", "h2s", AlarmKind.H, True, 8.0, 7.0, ts),
            Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, ts),
        ]
    )
    order = [(e.device, e.kind.value) for e in h.events]
    assert order == [("gas-01", "HH"), ("h2s-01", "H"), ("gas-01", "H")]
    assert [e.first_out for e in h.events] == [True, False, False]
    h.raise_("gas-02", "gas", AlarmKind.H)
    assert h.events[-1].first_out is False  # others still active: not first-out


def test_fault_alarms_keep_their_own_kind(h: Harness) -> None:
    h.raise_("gas-01", "gas", AlarmKind.FAULT, value=-10.0)
    event = h.events[-1]
    assert event.kind is AlarmKind.FAULT and event.level == 1


def test_shelve_suppresses_then_expiry_annunciates_a_standing_condition(h: Harness) -> None:
    key = AlarmKey("gas-01", "gas", AlarmKind.H)
    h.manager.shelve(key, "op", "detector being recalibrated", 600)
    h.raise_("gas-01", "gas", AlarmKind.H)
    assert h.states() == ["shelved"]  # recorded, not annunciated
    h.clock.now += 601
    h.manager.expire_shelves()
    assert h.states() == ["shelved", "unshelved", "active"]
    assert h.manager.alarms[key].state is IsaState.UNACK


@pytest.mark.parametrize(
    ("duration", "note", "message"),
    [(0, "x", "duration"), (4 * 3600 + 1, "x", "duration"), (60, " ", "note")],
)
def test_shelve_limits(h: Harness, duration: float, note: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        h.manager.shelve(AlarmKey("gas-01", "gas", AlarmKind.H), "op", note, duration)


def test_out_of_service_and_back(h: Harness) -> None:
    key = AlarmKey("o2-01", "o2", AlarmKind.L)
    h.manager.remove_from_service(key, "tech", "sensor replacement")
    h.raise_("o2-01", "o2", AlarmKind.L, value=18.0)
    h.manager.return_to_service(key, "tech")
    assert h.states() == ["out_of_service", "in_service", "active"]


def test_disposition_closes_the_loop(h: Harness, journal: AlarmJournal) -> None:
    h.raise_("gas-01", "gas", AlarmKind.HH)
    h.raise_("gas-02", "gas", AlarmKind.H)
    first = h.events[0].event_id
    assert len(journal.without_disposition()) == 2
    h.manager.acknowledge(GAS, "li.wei")
    event = h.manager.record_disposition(first, "valve packing leak", "packing replaced", "zhang")
    assert event.state is AlarmState.DISPOSITION and event.activation_id == first
    assert event.cause == "valve packing leak"
    assert [e["event_id"] for e in journal.without_disposition()] == [h.events[1].event_id]
    with pytest.raises(CommandError, match="already has"):
        h.manager.record_disposition(first, "a", "b", "zhang")
    with pytest.raises(CommandError, match="no alarm activation"):
        h.manager.record_disposition("nope", "a", "b", "zhang")


def test_restart_restores_state_and_does_not_raise_twice(site: Site, tmp_path: Path) -> None:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    h = Harness(site, journal)
    h.raise_("gas-01", "gas", AlarmKind.HH)
    h.raise_("gas-02", "gas", AlarmKind.H)
    journal.close()

    journal = AlarmJournal(tmp_path / "j.sqlite")
    again = Harness(site, journal)
    assert again.manager.alarms[GAS].state is IsaState.UNACK
    again.raise_("gas-01", "gas", AlarmKind.HH)  # the detector sees it again: same alarm
    assert again.events == []
    for _ in range(3):  # gas-02 reads normal after restart: cleared after a few good samples
        again.manager.observe("gas-02", ["gas"], again.clock.now)
    assert again.states() == ["cleared"]
    assert again.events[0].seq == 3  # seq continues across restarts
    assert again.events[0].note == "condition not present after restart"
    journal.close()


def test_restart_keeps_the_standing_condition_of_a_shelved_alarm(
    site: Site, tmp_path: Path
) -> None:
    # Shelved with the gas still high, restarted: the detector sees the condition again.
    # After a few good samples the restored condition must not be "not present after
    # restart", or unshelving would leave the standing alarm silent for good.
    journal = AlarmJournal(tmp_path / "j.sqlite")
    h = Harness(site, journal)
    key = AlarmKey("gas-01", "gas", AlarmKind.H)
    h.raise_("gas-01", "gas", AlarmKind.H)
    h.manager.shelve(key, "op", "detector being recalibrated", 600)
    journal.close()

    journal = AlarmJournal(tmp_path / "j.sqlite")
    again = Harness(site, journal)
    again.raise_("gas-01", "gas", AlarmKind.H)  # still beyond its limit
    for _ in range(5):
        again.manager.observe("gas-01", ["gas"], again.clock.now)
    assert again.manager.alarms[key].condition
    again.manager.unshelve(key, "op")
    assert again.states() == ["unshelved", "active"]
    assert again.manager.alarms[key].state is IsaState.UNACK
    journal.close()


def test_two_shelves_by_one_operator_in_one_millisecond_get_distinct_event_ids(
    h: Harness, journal: AlarmJournal
) -> None:
    # A panel that re-sends a shelve (new request id) lands in the same millisecond: the
    # second event must not share the first one's id, or the journal ignores it and
    # subscribers de-duplicate it away.
    key = AlarmKey("gas-01", "gas", AlarmKind.H)
    h.manager.shelve(key, "op", "recalibration", 600)
    h.manager.shelve(key, "op", "recalibration, longer", 1200)
    assert len({e.event_id for e in h.events}) == 2
    assert [e["note"] for e in journal.events()] == [e.note for e in h.events]


def test_restored_device_comm_alarm_clears_when_the_device_answers(
    site: Site, tmp_path: Path
) -> None:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    h = Harness(site, journal)
    h.raise_("gas-01", "_device", AlarmKind.COMM, value=float("nan"))
    journal.close()
    journal = AlarmJournal(tmp_path / "j.sqlite")
    again = Harness(site, journal)
    for _ in range(3):
        again.manager.observe("gas-01", ["gas", "status", "fault"], again.clock.now)
    assert [(e.point, e.state.value) for e in again.events] == [("_device", "cleared")]
    journal.close()


def test_restored_alarm_waits_for_the_on_delay_before_clearing(tmp_path: Path) -> None:
    base = load_site_arg(None)
    device = base.device("gas-01")
    point = device.points[0]
    assert point.alarms is not None
    slow = point.model_copy(update={"alarms": point.alarms.model_copy(update={"on_delay_s": 5.0})})
    patched = [
        type(d)(d.config, d.profile, (slow, *d.points[1:])) if d.name == "gas-01" else d
        for d in base.devices
    ]
    site = Site(base.config, tuple(patched))  # gas-01 polls every 0.5 s: 10 samples of delay
    journal = AlarmJournal(tmp_path / "j.sqlite")
    Harness(site, journal).raise_("gas-01", "gas", AlarmKind.H)
    journal.close()
    journal = AlarmJournal(tmp_path / "j.sqlite")
    again = Harness(site, journal)
    for _ in range(12):
        again.manager.observe("gas-01", ["gas"], again.clock.now)
    assert again.events == []  # still inside on-delay + settle: the detector may raise it
    again.manager.observe("gas-01", ["gas"], again.clock.now)
    assert [e.state.value for e in again.events] == ["cleared"]
    journal.close()
