"""A failing disk never swallows an alarm: it is still shown, published and retried."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gateway.alarms.journal import JournalError
from gateway.alarms.lifecycle import AlarmKey
from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmEvent, AlarmKind
from gateway.edge.agent import Sink
from gateway.mqtt.publisher import MqttSettings
from gateway.outbox import Lane, OutboxError
from gateway.site import EdgeSite

NOW = 1_800_000_000.0


class Shown(Sink):
    def __init__(self) -> None:
        self.events: list[AlarmEvent] = []

    def on_alarm(self, event: AlarmEvent) -> None:
        self.events.append(event)


def _raise(*_: object, **__: object) -> None:
    raise OutboxError("disk full")


def _service(tmp_path: Path, shown: Shown) -> EdgeSite:
    return EdgeSite(load_site_arg(None), tmp_path / "state", MqttSettings(), sinks=[shown])


async def test_outbox_failure_keeps_the_alarm_in_memory_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = Shown()
    service = _service(tmp_path, shown)
    real_put = service.outbox.put_many
    monkeypatch.setattr(service.outbox, "put_many", _raise)
    service.manager.on_transitions(
        [Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)]
    )
    assert [e.kind for e in shown.events] == [AlarmKind.HH]  # the operator saw it at once
    await asyncio.sleep(0)  # the turn's events are queued together, after the turn
    assert service.outbox.peek(10) == [] and len(service._unqueued) == 1
    assert service.journal.pending_outbox()  # journaled, not yet queued
    monkeypatch.setattr(service.outbox, "put_many", real_put)
    service._queue_alarms()  # what housekeeping does every second
    queued = service.outbox.peek(10)
    assert [m.lane for m in queued] == [Lane.ALARM] and not service._unqueued
    assert not service.journal.pending_outbox()
    service.close()


async def test_journal_failure_still_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = Shown()
    service = _service(tmp_path, shown)

    def broken(*_: object) -> None:
        raise JournalError("disk I/O error")

    monkeypatch.setattr(service.journal, "record", broken)
    service.manager.on_transitions(
        [Transition("gas-01", "gas", AlarmKind.H, True, 25.0, 20.0, NOW)]
    )
    await asyncio.sleep(0)
    assert len(shown.events) == 1 and len(service.outbox.peek(10)) == 1
    assert service.manager.journal_failures == 1
    service.close()


class Broken(Sink):
    def on_alarm(self, event: AlarmEvent) -> None:
        raise BrokenPipeError("stdout is gone")  # e.g. the console piped into a dead `head`


async def test_a_failing_sink_never_keeps_an_alarm_from_the_outbox(tmp_path: Path) -> None:
    shown = Shown()
    service = EdgeSite(
        load_site_arg(None), tmp_path / "state", MqttSettings(), sinks=[Broken(), shown]
    )
    service.manager.on_transitions(
        [
            Transition("gas-01", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW),
            Transition("gas-02", "gas", AlarmKind.HH, True, 45.0, 40.0, NOW),
        ]
    )
    assert len(shown.events) == 2  # the other sinks still see both
    await asyncio.sleep(0)
    assert [m.lane for m in service.outbox.peek(10)] == [Lane.ALARM, Lane.ALARM]
    assert not service.journal.pending_outbox()
    service.close()


async def test_a_failing_state_save_never_drops_the_rest_of_the_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A condition on a shelved alarm is only saved, not published; when that save fails,
    # the other transitions of the same poll must still be raised (the detector will not
    # report them again).
    shown = Shown()
    service = _service(tmp_path, shown)
    shelved = AlarmKey("gas-01", "gas", AlarmKind.HH)
    service.manager.shelve(shelved, "op", "recalibration", 600)

    real_db = service.journal._db
    monkeypatch.setattr(service.journal, "_db", BrokenDb())
    service.manager.on_transitions(
        [
            Transition("gas-01", "gas", AlarmKind.HH, True, 55.0, 50.0, NOW),
            Transition("gas-02", "gas", AlarmKind.H, True, 25.0, 20.0, NOW),
        ]
    )
    assert [(e.device, e.state.value) for e in shown.events][1:] == [("gas-02", "active")]
    assert service.manager.alarms[shelved].condition  # kept in memory at least
    assert service.manager.journal_failures == 2  # the save and the event's record
    service._queue_alarms()  # housekeeping, a second later: the journal is still broken
    queued = [m for m in service.outbox.peek(10) if m.topic.endswith("/gas-02/gas")]
    assert len(queued) == 1  # queued once, not once per retry
    monkeypatch.setattr(service.journal, "_db", real_db)
    service.close()


class BrokenDb:
    def execute(self, *_: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")
