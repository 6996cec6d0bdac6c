"""Site online/offline (status, last will, silence), latest values, overdue dispositions."""

from __future__ import annotations

import math

from gateway.contracts import AlarmState, SiteStatus
from gateway.contracts.telemetry import PointWindow, TelemetryWindow
from gateway.push.items import ItemKind
from gateway.push.overdue import Dispositions
from gateway.push.sites import SiteTracker
from tests.unit.push.helpers import ENT, SITE, event


def _status(state: str) -> SiteStatus:
    return SiteStatus(state=state, ts="2026-12-01T00:00:00.000Z", site=SITE)  # type: ignore[arg-type]


def test_status_changes_are_pushed_once_each() -> None:
    tracker = SiteTracker(offline_threshold_s=30)
    first = tracker.on_status(ENT, SITE, _status("online"), 0.0)
    assert first is not None and first.online is True
    assert tracker.on_status(ENT, SITE, _status("online"), 5.0) is None
    will = tracker.on_status(ENT, SITE, _status("offline"), 6.0)
    assert will is not None and will.online is False and "last will" in will.reason
    assert tracker.sweep(100.0) == []


def test_silence_beyond_threshold_is_offline_and_telemetry_brings_it_back() -> None:
    tracker = SiteTracker(offline_threshold_s=30)
    tracker.on_status(ENT, SITE, _status("online"), 0.0)
    assert tracker.sweep(29.0) == []
    [offline] = tracker.sweep(31.0)
    assert offline.kind is ItemKind.STATUS and offline.online is False and "30 s" in offline.reason
    window = TelemetryWindow("gas-01", 40.0, 1.0, (PointWindow("gas", 1, 2, 1.5, 1.7, 4),))
    back = tracker.on_telemetry(ENT, SITE, window, 41.0)
    assert back is not None and back.online is True


def test_realtime_has_latest_value_and_quality_and_heartbeat_state() -> None:
    tracker = SiteTracker(offline_threshold_s=30)
    tracker.on_status(ENT, SITE, _status("online"), 0.0)
    nan = math.nan
    tracker.on_telemetry(
        ENT, SITE, TelemetryWindow("d", 0.0, 1.0, (PointWindow("a", 1, 1, 1, 1.0, 2),)), 1.0
    )
    tracker.on_telemetry(
        ENT, SITE, TelemetryWindow("d", 1.0, 1.0, (PointWindow("a", nan, nan, nan, nan, 0),)), 2.0
    )
    [item] = tracker.realtime(3.0)
    assert [(v.point, v.value, v.good) for v in item.values] == [("a", None, False)]
    [beat] = tracker.heartbeat(3.0)
    assert beat.kind is ItemKind.HEARTBEAT and beat.online is True


def test_activation_without_disposition_is_overdue_once() -> None:
    book = Dispositions(limit_s=60)
    active = event(1, ts=1000.0)
    book.on_event(active, 1000.0)
    other = event(2, ts=1000.0)
    book.on_event(other, 1000.0)
    book.on_event(
        event(3, state=AlarmState.DISPOSITION, activation_id=other.event_id, ts=1010.0), 1010.0
    )
    assert book.due(1059.0) == []
    [overdue] = book.due(1061.0)
    assert overdue.kind is ItemKind.OVERDUE and overdue.event == active
    assert book.due(2000.0) == [] and book.overdue == 1
