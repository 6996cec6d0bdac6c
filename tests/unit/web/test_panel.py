"""MQTT messages into the live state: contracts, topic checks, bad input never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.contracts import AlarmEvent, AlarmKind, AlarmState, IsaState, alarm_topic
from gateway.web.hub import Hub
from gateway.web.panel import Panel
from gateway.web.store import AlarmStore, HistoryQuery
from tests.unit.web.factory import ENT, SITE, event, manifest, telemetry

STATUS = f"hazard/v1/{ENT}/{SITE}/status"
TELEMETRY = f"hazard/v1/{ENT}/{SITE}/gas-01/telemetry"


@pytest.fixture(name="panel")
def fixture_panel(tmp_path: Path) -> Panel:
    return Panel(AlarmStore(tmp_path / "web.sqlite"))


def publish_alarm(panel: Panel, e: AlarmEvent) -> None:
    panel.handle(
        alarm_topic(e.enterprise, e.site, e.device, e.point), json.dumps(e.to_dict()).encode()
    )


def test_telemetry_sets_value_quality_and_sparkline(panel: Panel) -> None:
    panel.handle(
        TELEMETRY, telemetry("gas-01", {"gas": 3.5, "p1": None}, "2026-12-01T00:00:00.000Z")
    )
    panel.handle(
        TELEMETRY, telemetry("gas-01", {"gas": 4.0, "p1": None}, "2026-12-01T00:00:06.000Z")
    )
    gas = panel.state.points[f"{ENT}/{SITE}/gas-01/gas"]
    bad = panel.state.points[f"{ENT}/{SITE}/gas-01/p1"]
    assert (gas.value, gas.good) == (4.0, True)
    assert (bad.value, bad.good) == (None, False)
    assert [v for _, v in gas.spark] == [3.5, 4.0]  # two 5-second buckets


def test_status_tracks_online_since_and_logs_changes(panel: Panel) -> None:
    for state, ts in (("online", "00:00:00"), ("online", "00:00:10"), ("offline", "00:01:00")):
        body = {"state": state, "ts": f"2026-12-01T{ts}.000Z", "site": SITE}
        panel.handle(STATUS, json.dumps(body).encode())
    site = panel.state.sites[(ENT, SITE)]
    assert site.state == "offline"
    assert [s for _, s in panel.store.status_changes(ENT, SITE)] == ["online", "offline"]
    assert panel.state.overview_row((ENT, SITE))["risk"] == "yellow"


@pytest.mark.parametrize(
    ("kinds", "risk"),
    [
        ((), "blue"),
        ((AlarmKind.H,), "orange"),
        ((AlarmKind.H, AlarmKind.HH), "red"),
        ((AlarmKind.COMM,), "yellow"),
    ],
)
def test_risk_colour_follows_the_worst_active_alarm(
    panel: Panel, kinds: tuple[AlarmKind, ...], risk: str
) -> None:
    panel.handle(
        STATUS,
        json.dumps({"state": "online", "ts": "2026-12-01T00:00:00.000Z", "site": SITE}).encode(),
    )
    for seq, kind in enumerate(kinds, start=1):
        publish_alarm(panel, event(seq, kind=kind, isa_state=IsaState.UNACK))
    assert panel.state.overview_row((ENT, SITE))["risk"] == risk


def test_console_order_and_redelivery(panel: Panel) -> None:
    h = event(1, isa_state=IsaState.UNACK, first_out=True, ts=1_790_000_000.0)
    hh = event(2, kind=AlarmKind.HH, isa_state=IsaState.UNACK, ts=1_790_000_005.0)
    for e in (h, hh, h, hh):
        publish_alarm(panel, e)
    assert [r.event.kind for r in panel.state.active()] == [AlarmKind.HH, AlarmKind.H]
    _, total = panel.store.history(HistoryQuery())
    assert total == 2


def test_an_older_event_arriving_late_does_not_undo_a_newer_state(panel: Panel) -> None:
    raised = event(1, isa_state=IsaState.UNACK)
    acked = event(2, AlarmState.ACKNOWLEDGED, isa_state=IsaState.ACKED, activation=raised.event_id)
    publish_alarm(panel, acked)
    publish_alarm(panel, raised)
    assert [r.isa for r in panel.state.active()] == [IsaState.ACKED]


def test_a_cleared_and_acknowledged_alarm_leaves_the_console(panel: Panel) -> None:
    raised = event(1, isa_state=IsaState.UNACK)
    publish_alarm(panel, raised)
    publish_alarm(
        panel,
        event(2, AlarmState.CLEARED, isa_state=IsaState.RTN_UNACK, activation=raised.event_id),
    )
    assert [r.isa for r in panel.state.active()] == [IsaState.RTN_UNACK]
    publish_alarm(
        panel,
        event(3, AlarmState.ACKNOWLEDGED, isa_state=IsaState.NORMAL, activation=raised.event_id),
    )
    assert panel.state.active() == []


def test_manifest_is_kept_for_the_site_page(panel: Panel) -> None:
    panel.handle(f"hazard/v1/{ENT}/{SITE}/manifest", json.dumps(manifest()).encode())
    site = panel.state.sites[(ENT, SITE)]
    assert site.manifest is not None and site.manifest.devices[0].points[0].limits["H"] == 25.0


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("not/ours", b"{}"),
        (TELEMETRY, b"\xff\xfe"),
        (TELEMETRY, b"[1, 2]"),
        (
            TELEMETRY,
            b'{"device": "gas-02", "ts": "2026-12-01T00:00:00.000Z", "window_s": 1, "points": {}}',
        ),
        (STATUS, b'{"state": "online", "ts": "x", "site": "elsewhere"}'),
        (STATUS, b'{"state": "online", "ts": "not a time", "site": "tank-farm"}'),
        (f"hazard/v1/{ENT}/{SITE}/alarm/gas-01/gas", b"{" * 100_000),
        (f"hazard/v1/{ENT}/{SITE}/alarm/gas-01/other", json.dumps(event(1).to_dict()).encode()),
        (f"hazard/v1/{ENT}/{SITE}/manifest", b"null"),
        (f"hazard/v1/{ENT}/{SITE}/reply/abcdefgh", b'{"ok": "maybe"}'),
        (f"hazard/v1/{ENT}/{SITE}/cmd/ack", b"{}"),
    ],
)
def test_bad_input_is_dropped_and_counted_never_raised(
    panel: Panel, topic: str, payload: bytes
) -> None:
    panel.handle(topic, payload)
    assert panel.state.alarms == {}
    assert f"{ENT}/{SITE}/gas-02/gas" not in panel.state.points


def test_hub_sends_one_batch_per_tick_with_only_what_changed(panel: Panel) -> None:
    hub = Hub(panel.state, 0.5)
    queue = hub.subscribe()
    panel.handle(
        TELEMETRY, telemetry("gas-01", {"gas": 3.5, "p1": 1.0}, "2026-12-01T00:00:00.000Z")
    )
    panel.handle(
        TELEMETRY, telemetry("gas-01", {"gas": 3.6, "p1": 1.0}, "2026-12-01T00:00:01.000Z")
    )
    hub.broadcast()
    hub.broadcast()  # nothing new: no second batch
    assert queue.qsize() == 1
    batch = json.loads(queue.get_nowait())
    assert batch["points"][f"{ENT}/{SITE}/gas-01/gas"][0] == 3.6
    assert "alarms" not in batch
    publish_alarm(panel, event(1, isa_state=IsaState.UNACK))
    hub.broadcast()
    assert len(json.loads(queue.get_nowait())["alarms"]) == 1


def test_a_slow_client_is_told_to_resync_instead_of_growing(panel: Panel) -> None:
    hub = Hub(panel.state, 0.5)
    queue = hub.subscribe()
    for second in range(20):
        panel.handle(
            TELEMETRY,
            telemetry("gas-01", {"gas": float(second)}, f"2026-12-01T00:00:{second:02d}.000Z"),
        )
        hub.broadcast()
    assert queue.qsize() <= 8
    assert hub.overflows > 0
