"""The command line a new user or integrator meets: help, validate, list, probe."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import Device, DeviceConfig, TcpEndpoint, resolve_profile
from gateway.netutil import free_port
from gateway.simulator.server import Simulator
from tests.integration.sites import make_site

REPO = Path(__file__).parents[2]
COMMANDS = ["demo", "simulate", "edge", "profiles", "probe", "replay", "history"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: hazard-gateway {command}" in capsys.readouterr().out


def test_validate_reports_ok_and_problems_with_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profiles", "validate", str(REPO / "device_profiles")]) == 0
    assert capsys.readouterr().out.count(": OK") == 8
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "vendor: x\nmodel: y\npoints:\n  - key: gas\n    name: g\n    kind: gas_lel\n"
        "    table: holding\n    address: 0\n    type: float32\n    alarms: {H: 30}\n",
        encoding="utf-8",
    )
    assert main(["profiles", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:10: points[0].alarms.H: H=30.0 %LEL exceeds the GB/T 50493-2019" in err


def test_site_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: e\nsite: s\ndevices:\n  - name: d\n    profile: nope\n    tcp: {host: h}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "edge", "--site", str(site), "--duration", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"{site}:5: devices[0].profile: profile 'nope' not found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
async def test_probe_prints_decoded_values_of_a_live_device() -> None:
    profile = resolve_profile("generic-dust-collector")
    port = free_port()
    config = DeviceConfig(
        name="dc", profile="generic-dust-collector", tcp=TcpEndpoint(host="127.0.0.1", port=port)
    )
    device = Device(config, profile, profile.points)
    async with Simulator(make_site([device]), "normal", seed=1):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "probe",
            "--profile",
            "generic-dust-collector",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0, text
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:]}
    assert set(rows) == {p.key for p in profile.points}
    assert all(row[-1] == "good" for row in rows.values())
    assert 800 < float(rows["diff_pressure"][4]) < 1000  # the simulator's normal ΔP, in Pa


def test_probe_of_a_dead_device_says_so_and_exits_1() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "probe",
            "--profile",
            "generic-oxygen",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--timeout",
            "0.5",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "device did not answer" in done.stdout and "comm" in done.stdout
