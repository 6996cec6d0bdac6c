"""SIGKILL a process that writes alarms to the outbox: nothing it reported written is lost.

The child puts alarms one by one (with telemetry batches in between and a small quota, so
thinning runs too) and prints each id only after ``put`` returned. The test kills it
mid-stream, reopens the database and checks every printed id is there, in order, with
consistent counters and ``PRAGMA integrity_check`` = ok. Three kills on the same file, so
each run also starts from a database a previous crash left behind.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.outbox import Lane, Outbox

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
QUOTA = 300_000

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from gateway.outbox import Lane, Outbox

    box = Outbox(Path(sys.argv[1]), quota_bytes=int(sys.argv[2]))
    run, seq = sys.argv[3], 0
    while True:
        seq += 1
        body = json.dumps({"run": run, "seq": seq, "state": "active"}).encode()
        mid = box.put(Lane.ALARM, f"hazard/v1/e/s/alarm/d/p{seq % 4}", body, 1)
        print(mid, flush=True)
        if seq % 5 == 0:
            batch = [(Lane.TELEMETRY, f"hazard/v1/e/s/d{i}/telemetry", b"{}" + b" " * 600, 0)
                     for i in range(10)]
            box.put_many(batch)
        if seq % 7 == 0:
            first = box.peek(3, lane=Lane.TELEMETRY)
            box.mark_attempt([m.id for m in first])
            box.ack([m.id for m in first])
    """
)


def _run_and_kill(db: Path, run: str, kill_after: int) -> list[int]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(QUOTA), run],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    printed: list[int] = []
    try:
        while len(printed) < kill_after:
            line = child.stdout.readline()
            assert line, f"child exited early with {child.poll()}"
            printed.append(int(line))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        # ids printed after our count but before the kill are confirmed writes too
        printed += [int(line) for line in child.stdout.read().split()]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return printed


def test_killed_writer_loses_no_confirmed_alarm(tmp_path: Path) -> None:
    db = tmp_path / "state" / "outbox.sqlite"
    confirmed: list[int] = []
    for run, kill_after in (("a", 37), ("b", 400), ("c", 1500)):
        confirmed += _run_and_kill(db, run, kill_after)
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()
        with Outbox(db, quota_bytes=QUOTA) as box:
            alarms = box.peek(100_000, lane=Lane.ALARM)
            stored = [m.id for m in alarms]
            assert set(confirmed) <= set(stored), "an alarm reported written was lost"
            assert stored == sorted(stored)
            by_run: dict[str, list[int]] = {}
            for m in alarms:
                body = json.loads(m.payload)
                by_run.setdefault(body["run"], []).append(body["seq"])
            for seqs in by_run.values():  # per-run sequence intact and in order
                assert seqs == list(range(1, len(seqs) + 1))
            s = box.stats()
            assert (s.queued_alarms, s.queued_telemetry, s.bytes_on_disk) == box.recount()
            assert s.put_alarms == s.queued_alarms  # alarms are never thinned
            assert s.queued_telemetry + s.thinned + s.sent == s.put_telemetry
        print(
            f"\nrun {run}: killed after {len(confirmed)} confirmed alarms; "
            f"{s.thinned} telemetry thinned so far"
        )
    assert s.thinned > 0
