"""The push config: every example loads; duplicates refused; site files checked for codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.central import load_central_config
from gateway.errors import ConfigError
from gateway.push.config import PushConfig, load_push_config, manifest_problems
from gateway.push.manifests import CodeNeeds
from tests.unit.push.helpers import site_manifest

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples").glob("push*.yaml")), ids=lambda p: p.name
)
def test_examples_load(path: Path) -> None:
    assert load_central_config(path, PushConfig).channels


def _write(tmp_path: Path, channels: list[dict[str, object]], **top: object) -> Path:
    path = tmp_path / "push.yaml"
    path.write_text(json.dumps({"broker": {"url": "mqtt://h"}, "channels": channels, **top}))
    return path


def test_duplicate_names_and_unknown_keys_are_located(tmp_path: Path) -> None:
    hook = {"name": "a", "type": "webhook", "url": "http://x", "secret": {"env": "X"}}
    with pytest.raises(ConfigError) as caught:
        load_push_config(_write(tmp_path, [hook, hook]))
    assert "repeated: a" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_push_config(_write(tmp_path, [{**hook, "sekret": 1}]))
    assert "sekret" in str(caught.value) and "unknown field" in str(caught.value)


def test_missing_codes_name_device_point_and_field() -> None:
    needs = CodeNeeds(site=("credit_code",), point=("indicator_code", "tag_number"))
    problems = manifest_problems("site.yaml", site_manifest(tag=None, credit=None), needs)
    assert [p.field for p in problems] == [
        "devices[gas-01].points.gas.regulator.tag_number",
        "regulator.credit_code",
    ]
    assert all(p.file == "site.yaml" for p in problems)


def test_site_file_lacking_a_code_is_refused_at_start(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: e\nsite: s\nregulator: {credit_code: 91330100MA2B3C4D5N}\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        "    tcp: {host: 127.0.0.1, port: 1502}\n"
        "    points:\n      gas: {regulator: {indicator_code: KRQT, equipment_code: GD-1}}\n"
    )
    mem = {
        "name": "m",
        "type": "mem-http",
        "url": "http://x",
        "appid": "a",
        "key": {"env": "K"},
        "iv": {"env": "I"},
    }
    with pytest.raises(ConfigError) as caught:
        load_push_config(_write(tmp_path, [mem], sites=["site.yaml"]))
    text = str(caught.value)
    assert str(site) in text and "devices[gas-01].points.gas.regulator.tag_number" in text
