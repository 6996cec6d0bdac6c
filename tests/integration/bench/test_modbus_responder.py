"""bench/modbus_responder.c serves the simulator's readings, as the edge polls them.

The C device farm of bench/pipeline.py answers from register images computed with the
simulator's scenario engine and encoders (bench/_pipeline_responder.py). Polled over
real sockets by the edge's own link and poller, every point reads the simulator's value
of one noise tick, as float32; a read past the image gets exception 2, input registers
(not in the image) exception 1; closing its stdin ends it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from gateway.config import Device, load_site
from gateway.datatypes import Table
from gateway.edge.link import open_link
from gateway.edge.poller import DevicePoller
from gateway.errors import DeviceExceptionResponse
from gateway.simulator.scenarios import NOISE_TICK_S, ScenarioEngine
from tests.harness.pytest_support import tools_or_skip
from tests.harness.tools import require

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[3] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, ModuleType]]:
    with tools_or_skip():
        require("gcc")
    monkeypatch.syspath_prepend(str(BENCH))  # the bench modules import each other by name
    yield importlib.import_module("_pipeline_sites"), importlib.import_module("_pipeline_responder")
    for name in ("_pipeline_sites", "_pipeline_responder", "_cbuild"):
        sys.modules.pop(name, None)


def _frame_values(device: Device, engine: ScenarioEngine, frame: int) -> np.ndarray:
    values = [engine.value(device, p, frame * NOISE_TICK_S) for p in device.points]
    return np.array(values, dtype=np.float32)


async def test_the_responder_serves_the_simulators_readings(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    sites, responder = bench
    spec = sites.SiteSpec("responder", 2, 20, 1.0, 1.0, gas=False)
    site_path, _ = sites.write_site(spec, tmp_path, 1, gas_only=True)
    site = load_site(site_path)
    frames = tmp_path / "frames.bin"
    responder.write_frames(site, site.devices, frames)
    process = subprocess.Popen(
        [str(responder.build_responder()), str(frames)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "READY"
        engine = ScenarioEngine(site, "normal", 0)
        for device in site.devices:
            poller = DevicePoller(device, open_link(device), lambda _: None)
            before = int(time.time() / NOISE_TICK_S)
            sample = await poller.poll_once()
            after = int(time.time() / NOISE_TICK_S)
            assert sample.good, poller.stats.last_error
            candidates = [k % responder.FRAMES for k in range(before, after + 1)]
            assert any(
                np.array_equal(sample.values, _frame_values(device, engine, k)) for k in candidates
            ), (device.name, sample.values)
            with pytest.raises(DeviceExceptionResponse) as refused:
                await poller.link.read_raw(Table.HOLDING, 120, 10, device.config.unit, 0.0)
            assert refused.value.code == 2
            with pytest.raises(DeviceExceptionResponse) as refused:
                await poller.link.read_raw(Table.INPUT, 0, 10, device.config.unit, 0.0)
            assert refused.value.code == 1
            poller.link.close()
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
