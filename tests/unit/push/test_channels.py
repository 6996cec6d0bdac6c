"""Channel formats checked independently: HMAC signature, SM4 records, the mapping table."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from gateway.central import SecretRef
from gateway.errors import ConfigError
from gateway.push.channels import CHANNEL_TYPES
from gateway.push.channels.memhttp import MemHttpChannel, MemHttpSettings, sm4_decrypt
from gateway.push.channels.memhttp_fields import FIELDS
from gateway.push.channels.webhook import encode, sign
from gateway.push.manifests import ManifestBook
from tests.unit.push.helpers import alarm_item, site_manifest

ROOT = Path(__file__).parents[3]
KEY, IV = "0123456789abcdeffedcba9876543210", "00112233445566778899aabbccddeeff"


def test_webhook_signature_is_hmac_of_timestamp_dot_body() -> None:
    item = alarm_item()
    body = encode(item)
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(b"k", "1700000000", body) == f"sha256={expected}"
    assert json.loads(body)["event_id"] == item.key


async def _mem(tmp_path: Path, key: str = KEY) -> MemHttpChannel:
    (tmp_path / "k").write_text(key)
    (tmp_path / "iv").write_text(IV)
    settings = MemHttpSettings(
        type="mem-http",
        name="m",
        url="http://127.0.0.1:1/",
        appid="app",
        key=SecretRef(file=str(tmp_path / "k")),
        iv=SecretRef(file=str(tmp_path / "iv")),
    )
    return MemHttpChannel(settings)


async def test_mem_http_body_decrypts_to_mapped_records(tmp_path: Path) -> None:
    channel = await _mem(tmp_path)
    book = ManifestBook()
    book.put(site_manifest())
    item = alarm_item(3)
    body = channel.encode([item], book)
    await channel.aclose()
    assert body is not None
    wrapper = json.loads(body)
    [record] = json.loads(
        sm4_decrypt(bytes.fromhex(KEY), bytes.fromhex(IV), bytes.fromhex(wrapper["data"]))
    )
    assert wrapper["appid"] == "app"
    assert record == {
        "dataType": "alarm",
        "dataId": item.key,
        "enterpriseCode": "91330100MA2B3C4D5N",
        "hazardCode": "330100-0001",
        "equipCode": "GD-01",
        "quotaCode": "KRQT",
        "tagNumber": "GT-1",
        "value": 30.0,
        "unit": "%LEL",
        "alarmType": "H",
        "alarmLevel": 1,
        "alarmState": "active",
        "alarmTime": item.ts,
        "thresholdL": 5.0,
        "thresholdH": 20.0,
        "thresholdHH": 40.0,
        "dataTime": item.ts,
    }


async def test_missing_code_is_named_and_a_short_key_refused(tmp_path: Path) -> None:
    channel = await _mem(tmp_path)
    book = ManifestBook()
    book.put(site_manifest(tag=None))
    reason = channel.check(alarm_item(), book)
    await channel.aclose()
    assert reason is not None and "devices.gas-01.points.gas.tag_number" in reason
    with pytest.raises(ConfigError, match="32 hex digits") as caught:
        await _mem(tmp_path, key="abcd")
    assert "abcd" not in str(caught.value), "the key itself is never printed"


def test_docs_print_the_mapping_table_and_every_channel_type() -> None:
    docs = (ROOT / "docs" / "push.md").read_text(encoding="utf-8")
    for name, _, _ in FIELDS:
        assert f"| `{name}` |" in docs, name
    for kind in CHANNEL_TYPES:
        assert f"## `{kind}`" in docs, kind
        assert (ROOT / "examples" / f"push-{kind}.yaml").exists(), kind
