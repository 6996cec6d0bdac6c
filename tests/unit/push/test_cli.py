"""`push --help` starts without the heavy packages; `push status` reads the queue files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gateway.cli import main
from gateway.push.queue import ChannelQueue
from tests.unit.push.helpers import alarm_item

ROOT = Path(__file__).parents[3]


def test_command_module_imports_no_service_code() -> None:
    code = (
        "import sys, gateway.commands.push\n"
        "bad = [m for m in ('paho', 'httpx', 'cryptography', 'gateway.push', 'prometheus_client')"
        " if m in sys.modules]\n"
        "print(bad)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_status_shows_backlog_oldest_last_success_and_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "push.yaml"
    hook = {"name": "wh", "type": "webhook", "url": "http://x", "secret": {"env": "UNSET"}}
    config.write_text(
        json.dumps(
            {
                "broker": {"url": "mqtt://h"},
                "state_dir": str(tmp_path / "s"),
                "channels": [hook, {**hook, "name": "idle"}],
            }
        )
    )
    queue = ChannelQueue(tmp_path / "s" / "wh.sqlite")
    queue.put(alarm_item(1), 1796083200.0)
    queue.put(alarm_item(2), 1796083201.0)
    queue.delivered([queue.head(1)[0][0]], 1796083300.0)
    queue.failed([queue.head(1)[0][0]], "retry: HTTP 503: busy", 1796083400.0)
    queue.close()
    assert main(["push", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["channel", "type", "backlog"]
    assert out[1].split()[:5] == [
        "wh",
        "webhook",
        "1",
        "2026-12-01T00:00:01.000Z",
        "2026-12-01T00:01:40.000Z",
    ]
    assert out[1].endswith("retry: HTTP 503: busy") and "not started" in out[2]
    assert main(["push", "status", "--config", str(config), "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (first["backlog"], first["retries"], first["delivered"]) == (1, 1, 1)
