"""Offline replay of recorded CSV through a site's alarm settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.commands.common import load_site_arg
from gateway.errors import ConfigError
from gateway.replay import parse_ts, read_series, replay

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def _write_csv(
    path: Path, rows: list[tuple[object, ...]], header: str = "ts,device,point,value"
) -> Path:
    path.write_text(
        header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _leak(seconds: int = 60) -> list[tuple[object, ...]]:
    """1 Hz gas readings rising to 50 %LEL and falling back (limits: H 20, HH 40, deadband 2)."""
    rows = []
    for i in range(seconds):
        value = min(i, seconds - i) * 50 / (seconds / 2)
        rows.append((T0 + i, "gas-01", "gas", f"{value:.3f}"))
    return rows


def test_replay_finds_first_and_second_level_rise_and_clear(tmp_path: Path) -> None:
    site = load_site_arg(None)
    events, summary = replay(site, read_series(site, _write_csv(tmp_path / "r.csv", _leak())))
    seen = [(e.kind.value, e.state.value) for e in events]
    assert seen == [("H", "active"), ("HH", "active"), ("HH", "cleared"), ("H", "cleared")]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    first = events[0]
    assert first.level == 1 and events[1].level == 2
    assert first.value is not None and first.value > 20.0
    assert first.ts == "2026-09-21T14:13:33.000Z"  # recorded time of the first sample above 20
    assert events[2].value is not None and events[2].value <= 40.0 - 2.0  # back inside by deadband
    assert summary.activations[("gas-01", "gas", "H")] == 1 and not summary.floods


def test_chattering_point_is_reported_as_flood(tmp_path: Path) -> None:
    site = load_site_arg(None)
    rows = [(T0 + i, "gas-01", "gas", 30 if i % 2 else 0) for i in range(120)]
    _, summary = replay(site, read_series(site, _write_csv(tmp_path / "c.csv", rows)))
    assert summary.activations[("gas-01", "gas", "H")] == 60
    assert len(summary.floods) == 1 and summary.floods[0][1] == 60


def test_block_replay_equals_sample_by_sample_timing_with_gaps(tmp_path: Path) -> None:
    site = load_site_arg(None)
    rows = _leak()
    del rows[10:14]  # a 4 s gap in the recording re-anchors time, alarms stay right
    events, _ = replay(site, read_series(site, _write_csv(tmp_path / "g.csv", rows)))
    assert [e.kind.value for e in events] == ["H", "HH", "HH", "H"]
    assert all(parse_ts(e.ts) in {float(r[0]) for r in rows} for e in events)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((T0, "nope", "gas", 1), "device 'nope' is not in the site file"),
        ((T0, "gas-01", "co", 1), "device 'gas-01' has no point 'co'"),
        (("yesterday", "gas-01", "gas", 1), "Invalid isoformat string"),
        (("2026-01-01T00:00:00", "gas-01", "gas", 1), "has no time zone"),
        ((T0, "gas-01", "gas", "high"), "could not convert string to float"),
    ],
)
def test_bad_rows_are_reported_with_line(
    tmp_path: Path, row: tuple[object, ...], message: str
) -> None:
    site = load_site_arg(None)
    path = _write_csv(tmp_path / "bad.csv", [(T0 - 1, "gas-01", "gas", 1), row])
    with pytest.raises(ConfigError) as caught:
        read_series(site, path)
    problem = caught.value.problems[0]
    assert problem.line == 3 and message in problem.message


def test_replay_command_writes_json_lines(tmp_path: Path) -> None:
    csv_path = _write_csv(tmp_path / "r.csv", _leak())
    site = Path(__file__).parents[2] / "examples" / "site-demo.yaml"
    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "replay",
            "--site",
            str(site),
            "--input",
            str(csv_path),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["kind"] for e in events] == ["H", "HH", "HH", "H"]
    assert {
        "event_id",
        "seq",
        "enterprise",
        "site",
        "device",
        "point",
        "level",
        "state",
        "ts",
    } <= set(events[0])
    assert "gas-01/gas H: 1" in done.stdout
