"""`hazard-gateway replay` on a recorded over-range ramp gives HH (issue 8).

A gas reading that ramps past the top of the detector's valid range (105 %LEL) in one
step -- as a saturated transmitter records it -- must replay as H and HH raised at that
sample, alongside the FAULT, not as a FAULT alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

T0 = 1_790_000_000.0
SITE = Path(__file__).resolve().parents[2] / "examples" / "site-demo.yaml"


def test_replay_of_over_range_ramp_gives_hh(tmp_path: Path) -> None:
    readings = [2.0, 2.1, 5.0, 15.0, 110.0, 110.0, 110.0, 60.0, 10.0, 2.0]
    csv_path = tmp_path / "ramp.csv"
    rows = "".join(f"{T0 + i * 0.5},gas-01,gas,{v}\n" for i, v in enumerate(readings))
    csv_path.write_text("ts,device,point,value\n" + rows, encoding="utf-8")
    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "replay",
            "--site",
            str(SITE),
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
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    seen = [(e["kind"], e["state"], e["ts"][11:23]) for e in events]
    raised_at = "14:13:22.000"  # the sample of the step to 110 %LEL
    assert ("HH", "active", raised_at) in seen and ("H", "active", raised_at) in seen
    assert ("FAULT", "active", raised_at) in seen
    assert [k for k, s, _ in seen if s == "cleared"][-2:] in (["HH", "H"], ["H", "HH"])
