"""A journal that cannot open on its disk runs from a copy in memory, keeping its history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.alarms import journal as journal_module
from gateway.alarms.journal import AlarmJournal, JournalError


def test_disk_trouble_at_open_falls_back_to_memory_with_the_files_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite"
    first = AlarmJournal(path)
    seq = first.next_seq()
    first._db.execute(  # an event row as a previous run left it (seq is its key)
        "INSERT INTO events (event_id, seq, device, point, kind, state, ts, payload) "
        "VALUES ('e1', ?, 'gas-01', 'gas', 'HH', 'active', 't', '{}')",
        (seq,),
    )
    first.close()

    def full_disk(_path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal_module, "_open_on_disk", full_disk)
    degraded = AlarmJournal(path)
    assert degraded.degraded.startswith("journal in memory")
    assert degraded.next_seq() == seq + 1  # seq stays monotonic across the restart


def test_a_corrupt_journal_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError, match="move it aside"):
        AlarmJournal(path)
