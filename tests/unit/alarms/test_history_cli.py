"""`hazard-gateway history`: the journal and the activations without a disposition."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gateway.alarms.journal import AlarmJournal
from gateway.alarms.lifecycle import AlarmKey, AlarmManager
from gateway.alarms.model import DispositionPolicy, Transition
from gateway.cli import main
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind

NOW = 1_800_000_000.0


@pytest.fixture(name="state")
def fixture_state(tmp_path: Path) -> Path:
    journal = AlarmJournal(tmp_path / "journal.sqlite")
    events: list[AlarmEvent] = []
    manager = AlarmManager(load_site_arg(None), journal, events.append, clock=lambda: NOW)
    manager.on_transitions([Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)])
    manager.on_transitions([Transition("gas-02", "gas", AlarmKind.H, True, 25.0, 20.0, NOW)])
    manager.acknowledge(AlarmKey("gas-01", "gas", AlarmKind.HH), "li.wei", "checking")
    manager.record_disposition(events[0].event_id, "flange leak", "gasket replaced", "zhang")
    journal.close()
    return tmp_path


def test_history_shows_who_and_why(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--state-dir", str(state)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert "acknowledged" in lines[2] and "by li.wei — checking" in lines[2]
    assert "cause: flange leak; action: gasket replaced" in lines[3]


def test_open_lists_only_activations_without_disposition(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--state-dir", str(state), "--open", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["device"], r["kind"], r["state"]) for r in rows] == [("gas-02", "H", "active")]


def test_missing_journal_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--state-dir", str(tmp_path / "nope")]) == 2
    assert "no alarm journal at" in capsys.readouterr().out


def test_overdue_lists_activations_past_their_deadline_with_who_is_responsible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_days_ago = time.time() - 2 * 86400
    journal = AlarmJournal(tmp_path / "journal.sqlite")
    policy = DispositionPolicy(deadline_s=3600.0, default="wang.fang")
    manager = AlarmManager(
        load_site_arg(None), journal, lambda _e: None, clock=lambda: two_days_ago,
        disposition=policy,
    )  # fmt: skip
    manager.on_transitions(
        [Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, two_days_ago)]
    )
    journal.close()
    assert main(["history", "--state-dir", str(tmp_path), "--overdue"]) == 0
    out = capsys.readouterr().out
    assert "OVERDUE since" in out and "responsible wang.fang" in out
    assert "1 activation(s) past their disposition deadline" in out
