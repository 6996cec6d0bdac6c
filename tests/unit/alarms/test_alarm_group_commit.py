"""The alarm events of one event-loop turn are queued together, and before any telemetry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gateway.alarms.model import Transition
from gateway.commands.common import load_site_arg
from gateway.contracts.alarm import AlarmKind
from gateway.contracts.telemetry import TelemetryWindow
from gateway.mqtt.publisher import MqttSettings
from gateway.outbox import Lane
from gateway.site import EdgeSite

NOW = 1_800_000_000.0


def _service(tmp_path: Path) -> EdgeSite:
    return EdgeSite(load_site_arg(None), tmp_path / "state", MqttSettings())


def _count_put_many(service: EdgeSite, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    real = service.outbox.put_many
    sizes: list[int] = []

    def counted(items: Any) -> list[int]:
        rows = list(items)
        sizes.append(len(rows))
        return real(rows)

    monkeypatch.setattr(service.outbox, "put_many", counted)
    return sizes


def _hh(device: str) -> list[Transition]:
    return [Transition(device, "gas", AlarmKind.HH, True, 45.0, 40.0, NOW)]


async def test_the_alarms_of_one_turn_share_one_outbox_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(tmp_path)
    sizes = _count_put_many(service, monkeypatch)
    service.manager.on_transitions(_hh("gas-01"))  # two devices answering in one tick
    service.manager.on_transitions(_hh("gas-02"))
    assert service.outbox.peek(10) == []  # journaled now, queued after the turn
    assert len(service.journal.pending_outbox()) == 2
    await asyncio.sleep(0)
    assert sizes == [2]  # one transaction, one fsync, for both
    queued = service.outbox.peek(10)
    assert [m.topic.split("/")[-2] for m in queued] == ["gas-01", "gas-02"]  # in order
    assert [m.lane for m in queued] == [Lane.ALARM, Lane.ALARM]
    assert service.journal.pending_outbox() == []  # both marked, in one transaction
    service.manager.on_transitions(_hh("gas-03"))  # the next turn: its own transaction
    await asyncio.sleep(0)
    assert sizes == [2, 1]
    service.close()


async def test_no_telemetry_is_stored_or_sent_before_a_waiting_alarm(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.manager.on_transitions(_hh("gas-01"))
    window = TelemetryWindow.of_columns(
        "gas-01", NOW - 1.0, 1.0, (["gas"], [45.0], [45.0], [45.0], [45.0], [1])
    )
    service.forwarder.telemetry(window)
    service.forwarder.flush()  # e.g. a full group, in the same turn as the alarm
    queued = service.outbox.peek(10)
    assert [m.lane for m in queued] == [Lane.ALARM, Lane.TELEMETRY]
    assert queued[0].id < queued[1].id  # the alarm was stored first
    assert service.journal.pending_outbox() == []
    service.close()


def test_without_a_running_loop_an_alarm_is_queued_at_once(tmp_path: Path) -> None:
    async def build() -> EdgeSite:  # the Modbus clients want a loop to be made in
        return _service(tmp_path)

    service = asyncio.run(build())
    service.manager.on_transitions(_hh("gas-01"))  # e.g. at stop, after the loop ended
    assert [m.lane for m in service.outbox.peek(10)] == [Lane.ALARM]
    service.close()


async def test_alarms_still_waiting_at_close_are_queued(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.manager.on_transitions(_hh("gas-01"))
    service.close()  # before the turn ended
    reopened = _service(tmp_path)
    assert [m.lane for m in reopened.outbox.peek(10)] == [Lane.ALARM]
    reopened.close()


async def test_events_journaled_but_not_queued_at_a_crash_are_queued_at_start(
    tmp_path: Path,
) -> None:
    service = _service(tmp_path)
    service.manager.on_transitions(_hh("gas-01"))
    service.manager.on_transitions(_hh("gas-02"))
    assert len(service.journal.pending_outbox()) == 2  # journaled; the turn is not over
    service.outbox.close()  # killed here: nothing queued, nothing flushed
    service.journal.close()
    restarted = _service(tmp_path)
    queued = restarted.outbox.peek(10)
    assert [m.topic.split("/")[-2] for m in queued] == ["gas-01", "gas-02"]  # in order
    assert [m.lane for m in queued] == [Lane.ALARM, Lane.ALARM]
    assert restarted.journal.pending_outbox() == []
    restarted.close()
