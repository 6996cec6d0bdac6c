"""A profile that covers every data type in every byte/word order, with known values.

Expected wire words are written out by hand (not computed by our encoder), so a
symmetric encode/decode bug cannot hide.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway.config import Device
from gateway.profiles import Point

# key -> (type, byte_order, word_order, table, address, value, hand-computed wire words)
WIRE_CASES: dict[str, tuple[str, str, str, str, int, float, list[int]]] = {
    "i16": ("int16", "big", "big", "holding", 0, -1234, [0xFB2E]),
    "i16_bs": ("int16", "little", "big", "holding", 1, -1234, [0x2EFB]),
    "u16": ("uint16", "big", "big", "holding", 2, 54321, [0xD431]),
    "u16_bs": ("uint16", "little", "big", "input", 2, 54321, [0x31D4]),
    "i32": ("int32", "big", "big", "holding", 4, -123456789, [0xF8A4, 0x32EB]),
    "i32_ws": ("int32", "big", "little", "holding", 6, -123456789, [0x32EB, 0xF8A4]),
    "u32": ("uint32", "big", "big", "input", 8, 3000000000, [0xB2D0, 0x5E00]),
    "u32_bs_ws": ("uint32", "little", "little", "input", 10, 3000000000, [0x005E, 0xD0B2]),
    "f32": ("float32", "big", "big", "holding", 12, 123.25, [0x42F6, 0x8000]),
    "f32_ws": ("float32", "big", "little", "holding", 14, 123.25, [0x8000, 0x42F6]),
    "f32_bs": ("float32", "little", "big", "input", 14, 123.25, [0xF642, 0x0080]),
    "f32_bs_ws": ("float32", "little", "little", "input", 16, 123.25, [0x0080, 0xF642]),
    "f64": ("float64", "big", "big", "holding", 20, -2.5, [0xC004, 0x0000, 0x0000, 0x0000]),
    "f64_ws": ("float64", "big", "little", "input", 20, -2.5, [0x0000, 0x0000, 0x0000, 0xC004]),
    "bits": ("bitfield", "big", "big", "holding", 30, 0xA5A5, [0xA5A5]),
    "coil_on": ("bool", "big", "big", "coil", 3, 1, [1]),
    "coil_off": ("bool", "big", "big", "coil", 4, 0, [0]),
    "di_on": ("bool", "big", "big", "discrete", 17, 1, [1]),
}


def write_profile(folder: Path) -> Path:
    """Write the all-types profile (plus a register-bit bool on 'bits') into ``folder``."""
    points = []
    for key, (dtype, byte_order, word_order, table, address, _v, _w) in WIRE_CASES.items():
        points.append(
            {
                "key": key,
                "name": key,
                "kind": "status" if dtype in ("bool", "bitfield") else "pressure_kpa",
                "table": table,
                "address": address,
                "type": dtype,
                "byte_order": byte_order,
                "word_order": word_order,
            }
        )
    points.append(
        {
            "key": "bit5",
            "name": "bit 5",
            "kind": "status",
            "table": "holding",
            "address": 30,
            "type": "bool",
            "bit": 5,
        }
    )
    profile = {"vendor": "test", "model": "all-types", "max_gap": 4, "points": points}
    path = folder / "all-types.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return path


class FixedValues:
    """A simulator value source giving each point its WIRE_CASES value, always up."""

    def value(self, device: Device, point: Point, elapsed: float) -> float:
        return float(WIRE_CASES[point.key][5]) if point.key in WIRE_CASES else 1.0

    def device_down(self, device: Device, elapsed: float) -> bool:
        return False
