"""Fixtures of the MQTT integration tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.harness.cli_process import CliProcess


@pytest.fixture(name="procs")
def fixture_procs() -> Iterator[list[CliProcess]]:
    """CLI processes a test starts; whatever is still running is SIGKILLed at the end."""
    started: list[CliProcess] = []
    yield started
    for proc in started:
        proc.stop(signal.SIGKILL)
