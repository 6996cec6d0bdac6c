"""Shared fixtures: real servers from ``tests.harness``, and no silent skips under CI.

Server fixtures start real processes on free loopback ports (see ``tests/harness``). When a
system tool is missing they skip with the install command on a developer machine and fail
under ``CI=true``; any other skip is also turned into a failure under CI, so a green CI run
means every test ran.
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) leaves the root out
    sys.path.insert(0, str(_ROOT))

from tests.harness import (  # noqa: E402 - needs the root on sys.path first
    InfluxDB1,
    Mosquitto,
    ServerProcess,
    SocatPtyPair,
    TestPKI,
    VictoriaMetrics,
    free_port,
    in_ci,
    make_test_pki,
    wait_for,
)
from tests.harness.cli_process import CliProcess  # noqa: E402
from tests.harness.pytest_support import (  # noqa: E402
    StartServer,
    running,
    tools_or_skip,
)

__all__ = ["free_port", "wait_for"]

S = TypeVar("S", bound=ServerProcess)
P = ParamSpec("P")


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Factory for servers with a custom config, stopped after the test.

    ``start_server(Mosquitto, tmp_path / "m", users={"edge": "pw"}, acl=ACL)`` builds the
    server (skipping, or failing under CI, when its binary is missing), starts it and returns
    it; for configs the plain fixtures do not cover (ACL, TLS, a second broker).
    """
    started: list[ServerProcess] = []

    def start(factory: Callable[P, S], /, *args: P.args, **kwargs: P.kwargs) -> S:
        with tools_or_skip():
            server = factory(*args, **kwargs)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.close()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh anonymous Mosquitto broker for one test (``.host``, ``.port``, ``.restart()``)."""
    with running(lambda: Mosquitto(tmp_path / "mosquitto")) as broker:
        yield broker


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB1]:
    """One InfluxDB 1.x for the session; tests use their own database (``influxdb1_db``)."""
    with running(lambda: InfluxDB1(tmp_path_factory.mktemp("influxdb1"))) as server:
        yield server


@pytest.fixture
def influxdb1_db(influxdb1: InfluxDB1) -> Iterator[str]:
    """The name of a new, empty database on the session InfluxDB, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxdb1.create_database(name)
    yield name
    influxdb1.drop_database(name)


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the session; tests keep apart by measurement/tag names."""
    with running(lambda: VictoriaMetrics(tmp_path_factory.mktemp("victoria"))) as server:
        yield server


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[SocatPtyPair]:
    """Two linked raw ptys (``.a`` and ``.b``): a serial cable for Modbus RTU tests."""
    with running(lambda: SocatPtyPair(tmp_path / "socat")) as pair:
        yield pair


@pytest.fixture(name="procs")
def fixture_procs() -> Iterator[list[CliProcess]]:
    """CLI processes a test starts; whatever is still running is SIGKILLed at the end."""
    started: list[CliProcess] = []
    yield started
    for proc in started:
        proc.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """A throwaway CA with server (localhost/127.0.0.1) and client certificates."""
    with tools_or_skip():
        return make_test_pki(tmp_path_factory.mktemp("pki"))


# --- markers by folder ----------------------------------------------------------------------

_INTEGRATION = _ROOT / "tests" / "integration"
_E2E = _ROOT / "tests" / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is `integration`, under tests/e2e also `e2e`.

    So `-m "not integration"` is the fast, server-free part whatever a module declares.
    """
    for item in items:
        path = Path(str(item.fspath))
        if path.is_relative_to(_INTEGRATION) or path.is_relative_to(_E2E):
            item.add_marker(pytest.mark.integration)
        if path.is_relative_to(_E2E):
            item.add_marker(pytest.mark.e2e)


# --- no silent skips under CI ---------------------------------------------------------------

_collection_skips: list[str] = []


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The reason text of a skip report."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true a skipped test is reported as failed (xfail stays xfail)."""
    report = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skips: {_skip_reason(report)}"
    return report


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Remember modules skipped at collection (importorskip, module-level skip)."""
    if in_ci() and report.skipped:
        _collection_skips.append(f"{report.nodeid}: {_skip_reason(report)}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List collection-time skips that make a CI run fail."""
    if _collection_skips:
        terminalreporter.section("skipped at collection under CI=true (counted as failure)")
        for line in _collection_skips:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when whole modules were skipped under CI=true."""
    if _collection_skips and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
