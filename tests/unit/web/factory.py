"""Builders for panel tests: configs with users, alarm events, manifests, telemetry."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from gateway.contracts import AlarmEvent, AlarmKind, AlarmState
from gateway.contracts.manifest import manifest_version
from gateway.web.auth import hash_password
from gateway.web.config import WebConfig, load_web_config

PASSWORD = "correct horse battery"
KEYS = {"ops": "o" * 24, "boss": "b" * 24, "eve": "e" * 24}
_HASH = hash_password(PASSWORD)  # one argon2 hash for every user: hashing is slow on purpose

ENT, SITE = "acme", "tank-farm"


def write_config(tmp: Path, broker_url: str = "mqtt://127.0.0.1:1883", **extra: Any) -> Path:
    """A panel config file with viewer ``eve``, operator ``ops`` and admin ``boss``."""
    keys = tmp / "operator-keys"
    keys.write_text("".join(f"{n}:{s}\n" for n, s in KEYS.items()), encoding="utf-8")
    users = [("eve", "viewer"), ("ops", "operator"), ("boss", "admin")]
    lines = [
        "web:",
        f"  broker: {{url: '{broker_url}'}}",
        f"  state_dir: '{tmp / 'state'}'",
        f"  operator_keys: {{file: '{keys}'}}",
        "  users:",
        *[f"    - {{name: {n}, role: {r}, password_hash: '{_HASH}'}}" for n, r in users],
        *[f"  {k}: {json.dumps(v)}" for k, v in extra.items()],
    ]
    path = tmp / "web.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config(tmp: Path, **extra: Any) -> WebConfig:
    """The WebConfig of :func:`write_config`."""
    return load_web_config(write_config(tmp, **extra))


def event(
    seq: int,
    state: AlarmState = AlarmState.ACTIVE,
    kind: AlarmKind = AlarmKind.H,
    ts: float = 1_790_000_000.0,
    point: str = "gas",
    activation: str | None = None,
    **extra: Any,
) -> AlarmEvent:
    """An alarm event of acme/tank-farm/gas-01/{point}."""
    made = AlarmEvent.create(
        seq=seq,
        enterprise=ENT,
        site=SITE,
        device="gas-01",
        point=point,
        kind=kind,
        state=state,
        value=30.0,
        limit=25.0,
        unit="%LEL",
        ts=ts,
        **extra,
    )
    return replace(made, activation_id=activation or made.event_id)


def manifest(points: int = 2, devices: int = 1, device_prefix: str = "gas") -> dict[str, Any]:
    """A site manifest body of ``devices`` gas detectors with ``points`` points each."""
    body: dict[str, Any] = {
        "enterprise": ENT,
        "site": SITE,
        "ts": "2026-12-01T00:00:00.000Z",
        "description": "tank farm",
        "devices": [
            {
                "name": f"{device_prefix}-{d + 1:02d}",
                "profile": "generic-combustible-gas",
                "vendor": "Generic",
                "model": "GD-1",
                "poll_interval_s": 1.0,
                "telemetry_window_s": 1.0,
                "points": [
                    {
                        "key": "gas" if p == 0 else f"p{p}",
                        "name": f"点 {p}",
                        "kind": "gas_lel",
                        "unit": "%LEL",
                        "limits": {"H": 25.0, "HH": 50.0},
                        "levels": {"H": 1, "HH": 2},
                    }
                    for p in range(points)
                ],
            }
            for d in range(devices)
        ],
    }
    body["version"] = manifest_version(body)
    return body


def telemetry(device: str, values: dict[str, float | None], ts: str) -> bytes:
    """A telemetry window payload."""
    points = {
        k: {"min": v, "max": v, "mean": v, "last": v, "count": 0 if v is None else 1}
        for k, v in values.items()
    }
    return json.dumps({"device": device, "ts": ts, "window_s": 1.0, "points": points}).encode()
