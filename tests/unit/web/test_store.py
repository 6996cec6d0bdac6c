"""The panel's SQLite history: de-duplication, activations, restart state, filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.contracts import AlarmKind, AlarmState, IsaState
from gateway.web.panel import Panel
from gateway.web.store import AlarmStore, HistoryQuery
from tests.unit.web.factory import event


@pytest.fixture(name="store")
def fixture_store(tmp_path: Path) -> AlarmStore:
    return AlarmStore(tmp_path / "web.sqlite")


def test_a_redelivered_event_is_stored_once(store: AlarmStore) -> None:
    raised = event(1)
    assert store.add(raised) is True
    assert store.add(raised) is False
    rows, total = store.history(HistoryQuery())
    assert total == 1 and rows[0]["activation_id"] == raised.event_id


def test_events_fold_into_one_activation_row(store: AlarmStore) -> None:
    raised = event(1, isa_state=IsaState.UNACK, first_out=True)
    aid = raised.event_id
    store.add(raised)
    store.add(event(2, AlarmState.ACKNOWLEDGED, ts=raised.epoch + 30, by="ops", activation=aid))
    store.add(event(3, AlarmState.CLEARED, ts=raised.epoch + 60, activation=aid))
    store.add(
        event(
            4,
            AlarmState.DISPOSITION,
            ts=raised.epoch + 90,
            activation=aid,
            by="ops",
            cause="leak at flange",
            action="tightened",
        )
    )
    row = store.activation(aid)
    assert row is not None
    assert row["acked"] - row["raised"] == pytest.approx(30)
    assert row["acked_by"] == "ops" and row["first_out"] == 1
    assert row["cleared"] - row["raised"] == pytest.approx(60)
    assert (row["cause"], row["action"], row["disposed_by"]) == (
        "leak at flange",
        "tightened",
        "ops",
    )


def test_restart_rebuilds_the_console_from_the_store(tmp_path: Path) -> None:
    store = AlarmStore(tmp_path / "web.sqlite")
    h = event(1, isa_state=IsaState.UNACK, first_out=True)
    hh = event(2, kind=AlarmKind.HH, isa_state=IsaState.UNACK)
    store.add(h)
    store.add(hh)
    store.add(
        event(
            3,
            AlarmState.CLEARED,
            kind=AlarmKind.HH,
            isa_state=IsaState.NORMAL,
            activation=hh.event_id,
        )
    )
    store.close()
    panel = Panel(AlarmStore(tmp_path / "web.sqlite"))
    rows = panel.state.active()
    assert [(r.event.kind, r.first_out, r.isa) for r in rows] == [
        (AlarmKind.H, True, IsaState.UNACK)
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (HistoryQuery(), 3),
        (HistoryQuery(kind="HH"), 1),
        (HistoryQuery(level=1), 2),
        (HistoryQuery(point="o2"), 1),
        (HistoryQuery(no_disposition=True), 2),
        (HistoryQuery(since=1_790_000_050.0), 2),
        (HistoryQuery(until=1_790_000_050.0), 1),
        (HistoryQuery(overdue_before=1_790_000_150.0), 1),
        (HistoryQuery(site="other"), 0),
    ],
)
def test_history_filters(store: AlarmStore, query: HistoryQuery, expected: int) -> None:
    first = event(1, ts=1_790_000_000.0)
    store.add(first)
    store.add(
        event(
            2,
            AlarmState.DISPOSITION,
            ts=1_790_000_010.0,
            activation=first.event_id,
            by="ops",
            cause="c",
            action="a",
        )
    )
    store.add(event(3, kind=AlarmKind.HH, ts=1_790_000_100.0))
    store.add(event(4, kind=AlarmKind.L, point="o2", ts=1_790_000_200.0))
    rows, total = store.history(query)
    assert total == expected == len(rows)


def test_history_pages_newest_first(store: AlarmStore) -> None:
    for seq in range(1, 8):
        store.add(event(seq, ts=1_790_000_000.0 + seq))
    rows, total = store.history(HistoryQuery(limit=3, offset=3))
    assert total == 7
    assert [r["raised"] for r in rows] == [1_790_000_004.0, 1_790_000_003.0, 1_790_000_002.0]
