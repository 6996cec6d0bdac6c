"""device_profiles/schema.json: never stale, and it accepts what we ship."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.profiles import builtin_profiles_dir
from gateway.schema import combined_schema, profile_schema, render, site_schema

jsonschema = pytest.importorskip("jsonschema")  # in the test extra

PROFILES_DIR = builtin_profiles_dir()
SCHEMA_PATH = PROFILES_DIR / "schema.json"
DEMO_SITE = Path(__file__).resolve().parents[3] / "gateway" / "data" / "site-demo.yaml"


def _validator(schema: dict[str, Any]) -> Any:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(schema: dict[str, Any], data: object) -> list[str]:
    return [error.message for error in _validator(schema).iter_errors(data)]


def test_committed_schema_is_up_to_date() -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == render(combined_schema()), (
        "device_profiles/schema.json is stale: run "
        "`python -m gateway.schema > device_profiles/schema.json`"
    )
    assert json.loads(committed)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_alarm_limits_appear_by_their_names() -> None:
    alarms = combined_schema()["$defs"]["AlarmSettings"]["properties"]
    assert {"LL", "L", "H", "HH"} <= set(alarms)
    assert "lo_lo" not in alarms


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profile_matches_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _errors(combined_schema(), data) == []
    assert _errors(profile_schema(), data) == []


def test_demo_site_matches_the_schema() -> None:
    data = yaml.safe_load(DEMO_SITE.read_text(encoding="utf-8"))
    assert _errors(combined_schema(), data) == []
    assert _errors(site_schema(), data) == []


GAS_POINT = {
    "key": "gas",
    "name": "Gas",
    "kind": "gas_lel",
    "table": "holding",
    "address": 0,
    "type": "float32",
}
PROFILE = {"vendor": "v", "model": "m", "points": [GAS_POINT]}
DEVICE = {"name": "gas-01", "profile": "generic-combustible-gas", "tcp": {"host": "h"}}
SITE = {"enterprise": "e", "site": "s", "devices": [DEVICE]}


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (PROFILE | {"colour": "red"}, "'colour' was unexpected"),
        ({**PROFILE, "points": [GAS_POINT | {"type": "float16"}]}, "'float16' is not one of"),
        (
            {**PROFILE, "points": [GAS_POINT | {"alarms": {"lo_lo": 1}}]},
            "{'lo_lo': 1} is not valid",
        ),
        ({**PROFILE, "points": [GAS_POINT | {"address": 65536}]}, "65536 is greater than"),
        ({**PROFILE, "points": []}, "should be non-empty"),
        (
            {**SITE, "devices": [DEVICE | {"serial": {"port": "/dev/ttyS0"}}]},
            "is not valid under any",
        ),
        ({**SITE, "devices": [{"name": "d", "profile": "p"}]}, "is not valid under any"),
        ({**SITE, "devices": [DEVICE | {"unit": 300}]}, "300 is greater than"),
    ],
)
def test_schema_rejects_field_errors(data: dict[str, Any], needle: str) -> None:
    messages = _errors(combined_schema(), data)
    assert any(needle in message for message in messages), messages
