"""The harness fails loudly and usefully: clear start errors, install hints, no CI skips."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness import (
    MissingToolError,
    Mosquitto,
    MqttConnectError,
    MqttProbe,
    ServerStartError,
    Tool,
    free_port,
    hash_password,
    tcp_open,
    wait_for,
)
from tests.harness.pytest_support import StartServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_bad_config_fails_with_the_servers_own_error(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "m", extra_config="no_such_option on\n")
    with pytest.raises(ServerStartError, match="no_such_option") as excinfo:
        broker.start()
    assert "did not start" in str(excinfo.value)
    assert not broker.running


def test_stop_frees_the_port_and_start_reuses_it(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "m") as broker:
        broker.stop()
        assert not tcp_open(broker.host, broker.port)
        broker.start()
        assert tcp_open(broker.host, broker.port)


def test_python_password_hashes_are_accepted_by_mosquitto(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The fallback used when mosquitto_passwd is absent must produce valid hashes."""
    broker = start_server(Mosquitto, tmp_path / "m", extra_config="")
    password_file = tmp_path / "hand-made-passwd"
    password_file.write_text(f"edge:{hash_password('s3cret')}\n")
    secured = start_server(
        Mosquitto,
        tmp_path / "m2",
        allow_anonymous=False,
        extra_config=f"password_file {password_file}\n",
    )
    assert broker.port != secured.port
    with MqttProbe(secured.host, secured.port, username="edge", password="s3cret"):
        pass
    with pytest.raises(MqttConnectError):
        MqttProbe(secured.host, secured.port, username="edge", password="nope").connect()


def test_missing_tool_message_names_the_apt_package() -> None:
    tool = Tool("not-a-tool", "/nonexistent/not-a-tool", "some-package")
    assert tool.find() is None
    message = str(MissingToolError(tool))
    assert "apt-get install -y --no-install-recommends some-package" in message


def test_wait_for_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match="the moon"):
        wait_for(lambda: False, 0.1, "the moon")
    assert wait_for(lambda: 42, 1, "answer") == 42
    assert 0 < free_port() < 65536


def _run_pytest(tmp_path: Path, source: str, ci: bool) -> subprocess.CompletedProcess[str]:
    """Run pytest with our conftest as a plugin on a one-file suite in ``tmp_path``."""
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true" if ci else ""}
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "-q", "-rfs", "test_sample.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SKIPPING_SUITE = """
    import pytest

    def test_skipped():
        pytest.skip("server binary missing")

    @pytest.mark.xfail(reason="known bug", strict=True)
    def test_known_bug():
        assert False

    def test_ok():
        pass
"""


@pytest.mark.parametrize(("ci", "returncode"), [(False, 0), (True, 1)])
def test_skips_fail_only_under_ci(tmp_path: Path, ci: bool, returncode: int) -> None:
    result = _run_pytest(tmp_path, SKIPPING_SUITE, ci)
    assert result.returncode == returncode, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    if ci:
        assert "1 failed, 1 passed, 1 xfailed" in summary
        assert "skipped under CI=true" in result.stdout
    else:
        assert "1 passed, 1 skipped, 1 xfailed" in summary


def test_module_skipped_at_collection_fails_under_ci(tmp_path: Path) -> None:
    source = "import pytest\npytest.importorskip('no_such_module_xyz')\n"
    result = _run_pytest(tmp_path, source, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped at collection under CI=true" in result.stdout
