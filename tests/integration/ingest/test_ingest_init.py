"""`hazard-gateway ingest --init` against InfluxDB 1.6.7: database with 180 days retention;
running it again is harmless; under 30 days is refused before anything is created."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.harness import InfluxDB1

pytestmark = pytest.mark.integration


def _config(path: Path, url: str, db: str, extra: str = "") -> Path:
    path.write_text(
        f"broker: {{url: 'mqtt://127.0.0.1:1883'}}\n"
        f"influxdb: {{url: '{url}', api: v1, database: {db}{extra}}}\n",
        encoding="utf-8",
    )
    return path


def _init(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "ingest", "--init", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_init_creates_the_database_with_180_days_and_can_run_again(
    influxdb1: InfluxDB1, tmp_path: Path
) -> None:
    db = f"init_{uuid.uuid4().hex[:8]}"
    config = _config(tmp_path / "ingest.yaml", influxdb1.url, db)
    for _ in range(2):
        done = _init(config)
        assert done.returncode == 0, done.stdout + done.stderr
    policies = influxdb1.series_values("SHOW RETENTION POLICIES", db)
    assert [(p[0], p[1], p[-1]) for p in policies] == [("autogen", "4320h0m0s", True)]
    influxdb1.drop_database(db)


def test_init_refuses_less_than_30_days(influxdb1: InfluxDB1, tmp_path: Path) -> None:
    db = f"init_{uuid.uuid4().hex[:8]}"
    done = _init(_config(tmp_path / "i.yaml", influxdb1.url, db, ", retention_days: 7"))
    assert done.returncode == 2
    assert "i.yaml:2: influxdb.retention_days:" in done.stderr and "30" in done.stderr
    assert db not in str(influxdb1.query("SHOW DATABASES"))
