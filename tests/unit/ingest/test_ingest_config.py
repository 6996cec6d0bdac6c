"""The ingest config: located errors, the retention floor, partitions, client ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.ingest.config import load_ingest_config

GOOD = """\
broker:
  url: mqtt://127.0.0.1:1883
  client_id: ingest
influxdb:
  url: http://127.0.0.1:8086
  api: v1
  database: hazard
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "ingest.yaml"
    path.write_text(text, encoding="utf-8")
    return load_ingest_config(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return [str(p) for p in caught.value.problems]


def test_a_minimal_file_loads_with_the_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, GOOD)
    assert config.influxdb.retention_days == 180  # type: ignore[attr-defined]
    assert config.client_id == "ingest"  # type: ignore[attr-defined]


def test_an_ingest_section_of_a_shared_file_is_read(tmp_path: Path) -> None:
    shared = "push: {}\ningest:\n" + "".join(f"  {line}\n" for line in GOOD.splitlines())
    assert _load(tmp_path, shared).influxdb.database == "hazard"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "where", "says"),
    [
        ("  retention_days: 10\n", "ingest.yaml:8: influxdb.retention_days:", "or equal to 30"),
        ("  tokn: {env: X}\n", "ingest.yaml:8: influxdb.tokn:", "unknown field"),
        ("  api: v3\n", "ingest.yaml:7: influxdb.api:", "'v1' or 'v2'"),
    ],
)
def test_mistakes_are_reported_with_file_line_and_field(
    tmp_path: Path, extra: str, where: str, says: str
) -> None:
    text = GOOD.replace("  api: v1\n", "") if "api:" in extra else GOOD
    problems = _problems(tmp_path, text + extra)
    assert any(where in p and says in p for p in problems), problems


def test_v2_needs_org_and_bucket(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("api: v1", "api: v2"))
    assert any("needs `org` and `bucket`" in p for p in problems), problems


def test_a_partition_must_be_k_of_n(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD + "scale: {mode: partition, partition: 2/2}\n")
    assert any("need 0 <= K < N" in p for p in problems), problems


def test_each_partition_has_its_own_fixed_client_id(tmp_path: Path) -> None:
    config = _load(tmp_path, GOOD).with_partition("1/3")  # type: ignore[attr-defined]
    assert config.client_id == "ingest-1of3"
    assert config.scale.mode == "partition"
