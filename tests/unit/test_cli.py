"""The command line as a new integrator meets it: help, version, wrong input, closed pipes.

No server runs here (the probe of a live simulator is in tests/integration/test_cli.py);
a refused port or an unknown host name is enough to check that probe names its failure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import COMMANDS, build_parser, main
from gateway.commands.common import fast_loop_factory, positive_seconds, run_until_stopped
from gateway.netutil import free_port

REPO = Path(__file__).parents[2]
# Subcommands whose module exists in this checkout (cli.py skips the others).
PRESENT = [name for name in COMMANDS if importlib.util.find_spec(f"gateway.commands.{name}")]

BAD_PROFILE = (
    "vendor: x\nmodel: y\npoints:\n  - key: gas\n    name: g\n    kind: gas_lel\n"
    "    table: holding\n    address: 0\n    type: float32\n    alarms: {H: 30}\n"
)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``hazard-gateway ARGS`` as a process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=REPO,
    )


def _options_without_help(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """``command --option`` for every option and positional of ``parser`` lacking help text."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _options_without_help(sub, f"{prefix} {name}".strip())
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            missing.append(f"{prefix} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_command_has_help_text() -> None:
    assert _options_without_help(build_parser(), "") == []


@pytest.mark.parametrize("command", PRESENT)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: hazard-gateway {command}" in capsys.readouterr().out


def test_help_of_light_commands_does_not_load_the_kernels() -> None:
    """DESIGN.md cold start: `--help` must not import numba (nor pymodbus, nor MQTT)."""
    code = (
        "import sys; from gateway.cli import main\n"
        "for c in ('simulate', 'probe', 'profiles', 'replay', 'history', 'site', 'ack'):\n"
        "    try: main([c, '--help'])\n"
        "    except SystemExit: pass\n"
        "names = ('numba', 'edge_core', 'pymodbus', 'aiomqtt')\n"
        "heavy = sorted(m for m in names if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert "HEAVY []" in done.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("hazard-gateway 0.")


def test_simulate_lists_the_simulators_scenarios() -> None:
    # imported here: the module-level imports of this file must stay light (cold start)
    from gateway.commands.simulate import SCENARIO_NAMES  # noqa: PLC0415
    from gateway.simulator.scenarios import SCENARIOS  # noqa: PLC0415

    assert sorted(SCENARIO_NAMES) == sorted(SCENARIOS)


@pytest.mark.parametrize("text", ["-5", "0", "nan", "inf", "soon"])
def test_positive_seconds_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        positive_seconds(text)


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--duration", "-5"],
        ["probe", "--profile", "generic-oxygen", "--host", "h", "--timeout", "-5"],
        [
            *("ack", "--site", "s", "--mqtt", "m", "--operator", "o"),
            *("--device", "d", "--point", "p", "--kind", "H", "--timeout", "-5"),
        ],
    ],
)
def test_negative_durations_are_usage_errors(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert "'-5' is not a positive number of seconds" in capsys.readouterr().err


def test_validate_reports_ok_and_problems_with_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profiles", "validate", str(REPO / "device_profiles")]) == 0
    assert capsys.readouterr().out.count(": OK") == 8
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_PROFILE, encoding="utf-8")
    assert main(["profiles", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:10: points[0].alarms.H: H=30.0 %LEL exceeds the GB/T 50493-2019" in err


def test_validate_of_a_site_file_points_to_site_validate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = REPO / "examples" / "site-demo.yaml"
    assert main(["profiles", "validate", str(site)]) == 2
    err = capsys.readouterr().err
    assert "this is a site file, not a device profile: check it with `hazard-gateway site " in err
    assert "Field required" not in err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nonexistent", "--dir: does not exist"),
        (lambda tmp: tmp, "--dir: holds no profile (*.yaml)"),
    ],
)
def test_profiles_list_of_a_folder_without_profiles_is_an_error(
    tmp_path: Path, make: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make(tmp_path)  # type: ignore[operator]
    assert main(["profiles", "list", "--dir", str(folder)]) == 2
    assert f"{folder}: {message}" in capsys.readouterr().err


def test_profiles_list_shows_the_built_in_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    assert "generic-combustible-gas " in capsys.readouterr().out


def test_a_closed_pipe_keeps_the_failure_exit_status(tmp_path: Path) -> None:
    """`profiles validate ... BAD | head` used to exit 0: the BrokenPipeError hid the failure."""
    folder = tmp_path / ("long-folder-name-" * 12)
    folder.mkdir()
    good = folder / "generic-oxygen.yaml"
    good.write_text((REPO / "device_profiles" / "generic-oxygen.yaml").read_text("utf-8"), "utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_PROFILE, encoding="utf-8")
    args = [str(good)] * 600 + [str(bad)]  # far more output than a pipe buffer holds
    first, code, err = _read_one_line_and_leave(["profiles", "validate", *args])
    assert first.endswith(b"OK (generic oxygen-vol, 4 points)\n")
    assert code == 2, err
    assert f"{bad}:10: points[0].alarms.H: H=30.0 %LEL exceeds" in err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_closed_pipe_after_success_is_still_success() -> None:
    _first, code, err = _read_one_line_and_leave(
        ["profiles", "validate", *[str(REPO / "device_profiles")] * 80]
    )
    assert code == 0, err
    assert err == ""


def _read_one_line_and_leave(args: list[str]) -> tuple[bytes, int, str]:
    """What `hazard-gateway ARGS | head -1` does: the first line, exit status, stderr."""
    with subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader leaves
        err = proc.stderr.read().decode()
        return first, proc.wait(timeout=60), err


def test_site_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "enterprise: e\nsite: s\ndevices:\n  - name: d\n    profile: nope\n    tcp: {host: h}\n",
        encoding="utf-8",
    )
    done = cli("edge", "--site", str(site), "--duration", "1")
    assert done.returncode == 2
    assert f"{site}:5: devices[0].profile: profile 'nope' not found" in done.stderr
    assert "Traceback" not in done.stderr


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return cli("probe", "--profile", "generic-oxygen", "--timeout", "1", *args)


def test_probe_of_a_refused_port_says_so_and_exits_1() -> None:
    port = free_port()
    done = _probe("--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: connection refused by 127.0.0.1:{port} "
        "(nothing listens there: device off or wrong port?)"
    ]
    assert "o2                     input         0 float32   -" in done.stdout


def test_probe_of_an_unknown_host_names_dns() -> None:
    done = _probe("--host", "no-such-device.invalid")
    assert done.returncode == 1
    assert "error: cannot resolve host 'no-such-device.invalid' (DNS: " in done.stdout


def test_probe_of_a_missing_serial_device_says_it_is_missing(tmp_path: Path) -> None:
    done = _probe("--serial", str(tmp_path / "ttyUSB9"))
    assert done.returncode == 1
    assert f"error: serial device {tmp_path / 'ttyUSB9'} does not exist" in done.stdout


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--port", "70000", "argument --port: '70000' is not a TCP port (1 to 65535)"),
        ("--port", "x", "argument --port: 'x' is not a TCP port"),
        ("--unit", "300", "argument --unit: '300' is not a Modbus unit id (0 to 247)"),
        ("--baudrate", "7", "argument --baudrate: '7' is not a baud rate (300 to 921600)"),
    ],
)
def test_probe_option_errors_are_one_line(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["probe", "--profile", "generic-oxygen", "--host", "h", option, value])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == f"hazard-gateway probe: error: {message}"
    assert not any("validation error" in line or "pydantic" in line for line in lines)


def test_probe_of_an_empty_host_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--profile", "generic-oxygen", "--host", ""]) == 2
    assert capsys.readouterr().err == (
        "error: host: String should have at least 1 character (got '')\n"
    )


def test_history_without_a_journal_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--state-dir", str(tmp_path)]) == 2
    assert f"error: no alarm journal at {tmp_path / 'journal.sqlite'}" in capsys.readouterr().out


def test_the_edge_loop_is_uvloop_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    uvloop = pytest.importorskip("uvloop")  # a dependency everywhere but Windows
    seen: list[str] = []

    async def body(stop: asyncio.Event) -> None:
        seen.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        stop.set()

    monkeypatch.delenv("HAZARD_EVENT_LOOP", raising=False)
    assert fast_loop_factory() is uvloop.new_event_loop
    run_until_stopped(body, None, loop_factory=fast_loop_factory())
    monkeypatch.setenv("HAZARD_EVENT_LOOP", " AsyncIO ")
    assert fast_loop_factory() is None
    run_until_stopped(body, None, loop_factory=fast_loop_factory())
    assert seen == ["uvloop", "asyncio"]
