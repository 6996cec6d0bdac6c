"""Helpers for push tests: keys, config files, manifests, events, push in a thread or process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.contracts import (
    AlarmEvent,
    AlarmKind,
    AlarmState,
    ManifestDevice,
    ManifestPoint,
    SiteManifest,
    alarm_topic,
    manifest_topic,
)
from gateway.contracts.manifest import manifest_version
from gateway.push import PushService, load_push_config
from tests.harness.mqtt_probe import MqttProbe
from tests.harness.waiting import wait_for

ENT, SITE = "push-ent", "plant-1"
HMAC_KEY = b"test-hmac-key-0123456789"
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
SM4_IV = bytes.fromhex("00112233445566778899aabbccddeeff")


@dataclass(frozen=True)
class Keys:
    hmac: Path
    sm4_key: Path
    sm4_iv: Path


def write_keys(folder: Path, sm4_key: bytes = SM4_KEY) -> Keys:
    folder.mkdir(parents=True, exist_ok=True)
    keys = Keys(folder / "hmac", folder / "sm4.key", folder / "sm4.iv")
    keys.hmac.write_bytes(HMAC_KEY)
    keys.sm4_key.write_text(sm4_key.hex())
    keys.sm4_iv.write_text(SM4_IV.hex())
    return keys


def webhook(name: str, url: str, keys: Keys, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "webhook",
        "url": url,
        "secret": {"file": str(keys.hmac)},
        **extra,
    }


def mem_http(name: str, url: str, keys: Keys, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "mem-http",
        "url": url,
        "appid": "test-app",
        "key": {"file": str(keys.sm4_key)},
        "iv": {"file": str(keys.sm4_iv)},
        **extra,
    }


FAST = {"timeout_s": 2.0, "backoff_initial_s": 0.2, "backoff_max_s": 1.0}


def write_config(path: Path, broker_url: str, channels: list[dict[str, Any]], **top: Any) -> Path:
    """A push config (JSON is YAML); the state folder sits beside it."""
    body = {
        "broker": {"url": broker_url, "client_id": f"push-{path.parent.name}"[:60]},
        "state_dir": str(path.parent / "state"),
        "channels": [{"delivery": FAST, **c} for c in channels],
        **top,
    }
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    return path


def point(key: str, n: int, **codes: Any) -> ManifestPoint:
    defaults = {
        "indicator_code": f"IND-{key}",
        "equipment_code": f"EQ-{n}",
        "tag_number": f"GT-{n}",
    }
    return ManifestPoint(
        key=key,
        name=key,
        kind="gas_lel",
        unit="%LEL",
        limits={"H": 20.0, "HH": 40.0},
        levels={"H": 1, "HH": 2},
        **{**defaults, **codes},
    )


def manifest(
    devices: dict[str, list[ManifestPoint]], credit_code: str | None = "91330100MA2B3C4D5N"
) -> SiteManifest:
    body: dict[str, Any] = {
        "enterprise": ENT,
        "site": SITE,
        "ts": "2026-12-01T00:00:00.000Z",
        "credit_code": credit_code,
        "devices": [
            ManifestDevice(
                name=name,
                profile="generic-combustible-gas",
                poll_interval_s=0.5,
                telemetry_window_s=1.0,
                hazard_source_code="330100-0001",
                points=tuple(points),
            ).model_dump(mode="json")
            for name, points in devices.items()
        ],
    }
    body["version"] = manifest_version(body)
    return SiteManifest.model_validate(body)


def publish_manifest(probe: MqttProbe, m: SiteManifest) -> None:
    probe.publish(manifest_topic(m.enterprise, m.site), json.dumps(m.to_dict()), qos=1, retain=True)


def alarm(
    seq: int,
    device: str = "gas-01",
    pt: str = "gas",
    kind: AlarmKind = AlarmKind.H,
    state: AlarmState = AlarmState.ACTIVE,
    **extra: Any,
) -> AlarmEvent:
    return AlarmEvent.create(
        seq=seq,
        enterprise=ENT,
        site=SITE,
        device=device,
        point=pt,
        kind=kind,
        state=state,
        value=25.0 + seq % 10,
        limit=20.0,
        unit="%LEL",
        ts=time.time(),
        **extra,
    )


def publish_alarm(probe: MqttProbe, event: AlarmEvent) -> None:
    topic = alarm_topic(event.enterprise, event.site, event.device, event.point)
    probe.publish(topic, json.dumps(event.to_dict()), qos=1)


class PushThread:
    """The push service in-process, on its own event loop thread (``run_push``'s path)."""

    def __init__(self, config_path: Path) -> None:
        self.service = PushService(load_push_config(config_path))
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.service.run(self._stop, ready=self._ready.set))
        self._loop.close()

    def start(self) -> PushThread:
        self._thread.start()
        wait_for(self._ready.is_set, 15, "push subscribed")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=20)


class PushProcess:
    """``hazard-gateway push --config FILE`` as a subprocess (for SIGKILL)."""

    def __init__(self, config_path: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = open(config_path.parent / f"push-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "push", "--config", str(config_path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        wait_for(lambda: "READY" in self.output() or self.proc.poll() is not None, 20, "push READY")
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def kill(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.log.close()
