"""The C device farm for bench/pipeline.py: register images from the simulator's own code.

bench/modbus_responder.c answers the bench devices' reads in a few microseconds each,
where the pymodbus simulator spends a core on the 2,000 reads a second of the 100 Hz site
(on a 2-core machine that also runs the edge). What it serves is computed here with the
simulator's scenario engine (``normal``: baseline + seeded noise, one value per
``NOISE_TICK_S``) and its register encoders, never with the poller's codec, so a byte or
word order mistake still shows as a wrong reading. ``FRAMES`` ticks of values are
computed up front and served by wall-clock tick, cyclically: every window's readings
differ from the last reported ones, as with the simulator. The gas detector (the leak on
a cue) stays on the Python simulator (bench/_pipeline_sim.py).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from _cbuild import build_c

from gateway.config import Device, Site
from gateway.datatypes import Table
from gateway.simulator.encoder import encoder_for
from gateway.simulator.scenarios import NOISE_TICK_S, ScenarioEngine
from gateway.simulator.server import SPAN_PADDING

__all__ = ["FRAMES", "RESPONDER_SOURCE", "build_responder", "write_frames"]

RESPONDER_SOURCE = Path(__file__).resolve().parent / "modbus_responder.c"
FRAMES = 120  # 12 s of distinct readings per device, then they repeat


def build_responder() -> Path:
    """The responder binary (built with gcc when missing or older than its source)."""
    return build_c(RESPONDER_SOURCE)


def write_frames(site: Site, devices: Sequence[Device], path: Path, seed: int = 0) -> None:
    """Write ``devices``' register images (bench/modbus_responder.c's FRAMES_FILE)."""
    engine = ScenarioEngine(site, "normal", seed)
    registers = max(_span(device) for device in devices)
    images = np.zeros((len(devices), FRAMES, registers), dtype=">u2")
    table = []
    for i, device in enumerate(devices):
        assert device.config.tcp is not None, f"{device.name}: the responder serves TCP only"
        table.append(struct.pack("<HBB", device.config.tcp.port, device.config.unit, 0))
        for point in device.points:
            encoder = encoder_for(device.profile, point)
            for k in range(FRAMES):
                words = encoder.registers(engine.value(device, point, k * NOISE_TICK_S))
                images[i, k, point.address : point.address + len(words)] = words
    header = b"MBRF" + struct.pack("<IIId", len(devices), FRAMES, registers, NOISE_TICK_S)
    path.write_bytes(header + b"".join(table) + images.tobytes())


def _span(device: Device) -> int:
    """Registers the image needs: the holding block the bench profile reads, and padding."""
    for point in device.points:
        if point.table is not Table.HOLDING or point.bit is not None:
            msg = f"{device.name}.{point.key}: the responder serves whole holding registers"
            raise SystemExit(msg)
    return max(p.address + p.width for p in device.points) + SPAN_PADDING
