"""Offline replay of recorded CSV through a site's alarm settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.commands.common import load_site_arg
from gateway.errors import ConfigError
from gateway.replay import read_series, replay
from gateway.timeutil import parse_ts

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def _write_csv(
    path: Path, rows: Sequence[tuple[object, ...]], header: str = "ts,device,point,value"
) -> Path:
    path.write_text(
        header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _leak(seconds: int = 60) -> list[tuple[object, ...]]:
    """1 Hz gas readings rising to 50 %LEL and falling back (limits: H 20, HH 40, deadband 2)."""
    rows: list[tuple[object, ...]] = []
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
    assert all(parse_ts(e.ts) in {float(str(r[0])) for r in rows} for e in events)


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ((T0, "nope", "gas", 1), "nope/gas", "device 'nope' is not in the site file (it has ["),
        ((T0, "gas-01", "co", 1), "gas-01/co", "device 'gas-01' has no point 'co' (it has ['gas'"),
        (("yesterday", "gas-01", "gas", 1), "gas-01/gas", "column 'ts' 'yesterday': Invalid"),
        (("2026-01-01T00:00:00", "gas-01", "gas", 1), "gas-01/gas", "has no time zone"),
        (("nan", "gas-01", "gas", 1), "gas-01/gas", "column 'ts' 'nan' is not a finite time"),
        ((T0, "gas-01", "gas", "high"), "gas-01/gas", "column 'value' 'high' is not a number"),
    ],
)
def test_bad_rows_name_file_line_point_and_value(
    tmp_path: Path, row: tuple[object, ...], field: str, message: str
) -> None:
    site = load_site_arg(None)
    path = _write_csv(tmp_path / "bad.csv", [(T0 - 1, "gas-01", "gas", 1), row])
    with pytest.raises(ConfigError) as caught:
        read_series(site, path)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), 3, field)
    assert message in problem.message
    assert str(problem).startswith(f"{path}:3: {field}: ")


def test_messages_keep_their_closing_quote(tmp_path: Path) -> None:
    """The old reader stripped quotes off both ends: "could not convert ...: 'high"."""
    site = load_site_arg(None)
    path = _write_csv(tmp_path / "bad.csv", [(T0, "gas-01", "gas", "high")])
    with pytest.raises(ConfigError) as caught:
        read_series(site, path)
    assert caught.value.problems[0].message.endswith("'high' is not a number")


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    site = load_site_arg(None)
    rows = [(T0 + i, "gas-01", "gas", "x") for i in range(60)]
    with pytest.raises(ConfigError) as caught:
        read_series(site, _write_csv(tmp_path / "bad.csv", rows))
    problems = caught.value.problems
    assert [p.line for p in problems[:3]] == [2, 3, 4]
    assert problems[-1].message == "... and 10 more bad rows"


def _historian_csv() -> list[tuple[object, ...]]:
    """The leak of ``_leak`` as a historian records it: jitter, a duplicate and a gap."""
    rows = _leak()
    rows[4] = (T0 + 3.6, *rows[4][1:])
    rows.insert(5, (T0 + 4.2, *rows[4][1:]))  # 3, 3.6, 4.2, 5 at a 1 s period
    rows.insert(8, (T0 + 6, "gas-01", "gas", "0.5"))  # t=6 twice (after reverse: first)
    rows = [r for r in rows if not T0 + 40 <= float(str(r[0])) < T0 + 50]  # 10 s missing
    rows.reverse()  # an export in any order
    return rows


def test_duplicates_jitter_and_a_gap_replay_by_the_documented_rules(tmp_path: Path) -> None:
    """The old replay stopped with 't0=...: earlier than the expected ... (time went backwards)'."""
    site = load_site_arg(None)
    rows = _historian_csv()
    series = read_series(site, _write_csv(tmp_path / "h.csv", rows))
    assert [round(t - T0, 1) for t in series[0].ts[3:9]] == [3.0, 3.6, 4.2, 5.0, 6.0, 6.0]
    events, summary = replay(site, series)
    assert [(e.kind.value, e.state.value) for e in events] == [
        ("H", "active"),
        ("HH", "active"),
        ("HH", "cleared"),
        ("H", "cleared"),
    ]
    recorded = {float(str(r[0])) for r in rows}
    assert all(parse_ts(e.ts) in recorded for e in events)  # recorded times, never grid times
    assert summary.duplicates == {"gas-01/gas": 1}
    assert summary.merged == {"gas-01/gas": 1}  # 3.6 and 4.2 share the slot of 4: 4.2 is used
    assert [(g.point, g.start - T0, g.end - T0) for g in summary.gaps] == [
        ("gas-01/gas", 39.0, 50.0)
    ]
    report = "\n".join(summary.lines())
    assert "duplicate timestamps: gas-01/gas: 1 (the last row in the file was used)" in report
    assert "gas-01/gas: no samples from 2026-09-21T14:13:59.000Z to " in report


@pytest.mark.parametrize(("first", "last", "raised"), [("30", "0", False), ("0", "30", True)])
def test_the_last_row_of_a_duplicate_timestamp_wins(
    tmp_path: Path, first: str, last: str, raised: bool
) -> None:
    site = load_site_arg(None)
    rows: list[tuple[object, ...]] = [(T0 + i, "gas-01", "gas", 0) for i in range(10)]
    rows[5:6] = [(T0 + 5, "gas-01", "gas", first), (T0 + 5, "gas-01", "gas", last)]
    events, _ = replay(site, read_series(site, _write_csv(tmp_path / "d.csv", rows)))
    active = [(e.kind.value, e.ts) for e in events if e.state.value == "active"]
    assert (("H", "2026-09-21T14:13:25.000Z") in active) is raised


def test_a_regular_recording_reports_no_timing_repairs(tmp_path: Path) -> None:
    site = load_site_arg(None)
    _, summary = replay(site, read_series(site, _write_csv(tmp_path / "r.csv", _leak())))
    assert not summary.duplicates and not summary.merged and not summary.gaps
    assert not any("gap" in line or "duplicate" in line for line in summary.lines())


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
