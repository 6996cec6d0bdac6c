"""Issue 8 in the lifecycle: fault type changes, latch reset, disposition rules, ROC units."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmKey, AlarmManager, CommandError, IsaState
from gateway.alarms.model import DispositionPolicy, Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind, AlarmState

NOW = 1_800_000_000.0
FAULT = AlarmKey("gas-01", "gas", AlarmKind.FAULT)
LATCHED = AlarmKey("dust-col-01", "extinguisher_discharged", AlarmKind.H)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, journal: AlarmJournal) -> None:
        self.clock = Clock()
        self.events: list[AlarmEvent] = []
        self.released: bool | None = None  # what the detector answers to a reset
        self.requests: list[AlarmKey] = []
        policy = DispositionPolicy(3600.0, "duty officer", (("gas-01", "zhang"),))
        self.manager = AlarmManager(
            load_site_arg(None),
            journal,
            self.events.append,
            clock=self.clock,
            on_reset=self._reset,
            disposition=policy,
        )

    def _reset(self, key: AlarmKey) -> bool | None:
        self.requests.append(key)
        return self.released

    def poll(self, *transitions: tuple[str, str, AlarmKind, bool, float, float]) -> None:
        self.manager.on_transitions([Transition(*t, self.clock.now) for t in transitions])


@pytest.fixture(name="h")
def fixture_h(tmp_path: Path) -> Iterator[Harness]:
    journal = AlarmJournal(tmp_path / "j.sqlite")
    yield Harness(journal)
    journal.close()


def test_fault_changing_type_stays_active(h: Harness) -> None:
    """NaN -> out of range: the detector clears code 1 and raises code 2 at one sample."""
    h.poll(("gas-01", "gas", AlarmKind.FAULT, True, float("nan"), 1.0))
    h.poll(
        ("gas-01", "gas", AlarmKind.FAULT, False, 120.0, 1.0),
        ("gas-01", "gas", AlarmKind.FAULT, True, 120.0, 2.0),
    )
    assert [(e.state.value, e.limit) for e in h.events] == [
        ("active", 1.0),
        ("cleared", 1.0),
        ("active", 2.0),
    ]
    alarm = h.manager.alarms[FAULT]
    assert alarm.condition and alarm.state is IsaState.UNACK


def test_fault_change_keeps_order_among_other_alarms(h: Harness) -> None:
    h.poll(("gas-01", "gas", AlarmKind.FAULT, True, float("nan"), 1.0))
    h.poll(
        ("gas-01", "gas", AlarmKind.FAULT, False, 120.0, 1.0),
        ("gas-01", "gas", AlarmKind.HH, True, 120.0, 40.0),
        ("gas-01", "gas", AlarmKind.FAULT, True, 120.0, 2.0),
    )
    assert [(e.kind.value, e.state.value) for e in h.events[1:]] == [
        ("HH", "active"),  # second level first
        ("FAULT", "cleared"),
        ("FAULT", "active"),
    ]
    assert h.manager.alarms[FAULT].condition


def test_latched_alarm_needs_reset_after_return_to_normal(h: Harness) -> None:
    h.poll(("dust-col-01", "extinguisher_discharged", AlarmKind.H, True, 1.0, 0.5))
    h.released = False  # the detector: still discharged, latch not released
    acknowledged = h.manager.acknowledge(LATCHED, "li.wei")
    assert acknowledged.release == LATCHED  # returned for the detector, not called back
    assert h.requests == []
    assert h.manager.alarms[LATCHED].state is IsaState.ACKED
    with pytest.raises(CommandError, match="after return to normal"):
        h.manager.reset(LATCHED, "li.wei")
    h.released = True  # back to normal now: the detector accepts the reset
    h.manager.reset(LATCHED, "li.wei", "extinguisher recharged")
    h.poll(("dust-col-01", "extinguisher_discharged", AlarmKind.H, False, 0.0, 0.5))
    cleared = h.events[-1]
    assert cleared.state is AlarmState.CLEARED and cleared.by == "li.wei"
    assert cleared.note == "reset: extinguisher recharged"
    assert h.requests == [LATCHED] * 2  # the refused reset and the accepted one
    assert h.manager.alarms[LATCHED].state is IsaState.NORMAL


def test_reset_refused_on_an_unlatched_alarm(h: Harness) -> None:
    h.poll(("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0))
    with pytest.raises(CommandError, match="not a latched alarm"):
        h.manager.reset(AlarmKey("gas-01", "gas", AlarmKind.HH), "li.wei")


def test_disposition_only_after_ack_with_responsible_and_deadline(h: Harness) -> None:
    key = AlarmKey("gas-01", "gas", AlarmKind.HH)
    h.poll(("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0))
    activation = h.events[0].event_id
    with pytest.raises(CommandError, match="not acknowledged"):
        h.manager.record_disposition(activation, "leak", "fixed", "zhang")
    assert h.manager.disposition_counts() == {"open": 1, "overdue": 0}
    h.manager.acknowledge(key, "li.wei")
    h.clock.now += 3601  # past the one-hour deadline
    overdue = h.manager.overdue()
    assert [o["event_id"] for o in overdue] == [activation]
    assert overdue[0]["responsible"] == "zhang" and overdue[0]["due"] == NOW + 3600
    assert h.manager.disposition_counts() == {"open": 1, "overdue": 1}
    event = h.manager.record_disposition(activation, "leak", "fixed", "zhang")
    assert event.note == "responsible zhang, due 2027-01-15T09:00:00.000Z (overdue)"
    assert h.manager.disposition_counts() == {"open": 0, "overdue": 0}


def test_disposition_of_a_cleared_unacked_activation_is_accepted(h: Harness) -> None:
    h.poll(("gas-02", "gas", AlarmKind.H, True, 25.0, 20.0))
    h.poll(("gas-02", "gas", AlarmKind.H, False, 2.0, 20.0))
    event = h.manager.record_disposition(h.events[0].event_id, "spill", "cleaned", "wang")
    assert event.note is not None and event.note.startswith("responsible duty officer, due ")


def test_roc_events_carry_the_rate_unit(h: Harness) -> None:
    h.poll(("dust-col-01", "hopper_temperature", AlarmKind.ROC, True, 0.2, 0.083))
    assert h.events[-1].unit == "°C/s"


def test_a_reset_the_detector_never_acted_on_is_not_credited_later(h: Harness) -> None:
    h.poll(("dust-col-01", "extinguisher_discharged", AlarmKind.H, True, 1.0, 0.5))
    h.manager.reset(LATCHED, "li.wei")  # the callback cannot tell (None): accepted
    h.clock.now += 600  # no clear followed: the detector had refused it
    h.poll(("dust-col-01", "extinguisher_discharged", AlarmKind.H, False, 0.0, 0.5))
    assert h.events[-1].by is None and h.events[-1].note is None
