"""Small builders for push unit tests."""

from __future__ import annotations

import time
from typing import Any

from gateway.contracts import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    ManifestDevice,
    ManifestPoint,
    SiteManifest,
)
from gateway.contracts.manifest import manifest_version
from gateway.push.items import ItemKind, PushItem

ENT, SITE = "ent", "site"


def event(
    seq: int = 1, kind: AlarmKind = AlarmKind.H, state: AlarmState = AlarmState.ACTIVE, **extra: Any
) -> AlarmEvent:
    return AlarmEvent.create(
        seq=seq,
        enterprise=ENT,
        site=SITE,
        device="gas-01",
        point="gas",
        kind=kind,
        state=state,
        value=30.0,
        limit=20.0,
        unit="%LEL",
        ts=extra.pop("ts", time.time()),
        **extra,
    )


def alarm_item(seq: int = 1, received: float | None = None, **extra: Any) -> PushItem:
    e = event(seq, **extra)
    return PushItem(
        kind=ItemKind.ALARM,
        key=e.event_id,
        enterprise=ENT,
        site=SITE,
        ts=e.ts,
        received=time.time() if received is None else received,
        event=e,
    )


def site_manifest(
    tag: str | None = "GT-1", credit: str | None = "91330100MA2B3C4D5N"
) -> SiteManifest:
    pt = ManifestPoint(
        key="gas",
        name="gas",
        kind="gas_lel",
        unit="%LEL",
        limits={"L": 5.0, "H": 20.0, "HH": 40.0},
        indicator_code="KRQT",
        tag_number=tag,
    )
    dev = ManifestDevice(
        name="gas-01",
        profile="p",
        poll_interval_s=1,
        telemetry_window_s=5,
        hazard_source_code="330100-0001",
        equipment_code="GD-01",
        points=(pt,),
    )
    body: dict[str, Any] = {
        "enterprise": ENT,
        "site": SITE,
        "ts": "2026-12-01T00:00:00.000Z",
        "credit_code": credit,
        "devices": [dev.model_dump(mode="json")],
    }
    body["version"] = manifest_version(body)
    return SiteManifest.model_validate(body)
