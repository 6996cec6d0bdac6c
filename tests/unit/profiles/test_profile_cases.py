"""Every shipped device profile is tested by data (STYLE.md convention 6).

Each profile ``device_profiles/<id>.yaml`` has ``device_profiles/testcases/<id>.yaml``:
register dumps per table and the value every point must decode to, worked out by hand
from the register layout. This one generic test runs them all, so an integrator who
adds a profile adds only its test case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.datatypes import ByteOrder, DataType, Table, WordOrder
from gateway.edge.codec import codec_for
from gateway.profiles import builtin_profiles_dir, load_profile

PROFILES_DIR = builtin_profiles_dir()
CASES_DIR = PROFILES_DIR / "testcases"
PROFILE_PATHS = sorted(PROFILES_DIR.glob("*.yaml"))
PROFILE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Case:
    """One register dump and the decoded values it must give."""

    name: str
    registers: dict[Table, dict[int, int]]
    expected: dict[str, float]


def _parse_case(raw: dict[str, Any], where: str) -> Case:
    assert set(raw) <= {"name", "registers", "expected"}, f"{where}: unknown keys {set(raw)}"
    registers: dict[Table, dict[int, int]] = {}
    for table_name, blocks in raw["registers"].items():
        table = Table(table_name)
        cells = registers.setdefault(table, {})
        for start, words in blocks.items():
            for offset, word in enumerate(words):
                limit = 1 if table.is_bit_table else 0xFFFF
                assert 0 <= word <= limit, f"{where}: {table} {start + offset} = {word}"
                assert start + offset not in cells, f"{where}: {table} {start + offset} twice"
                cells[start + offset] = word
    expected = {key: float(value) for key, value in raw["expected"].items()}
    return Case(raw["name"], registers, expected)


def _load_cases(profile_id: str) -> list[Case]:
    path = CASES_DIR / f"{profile_id}.yaml"
    assert path.is_file(), f"profile {profile_id!r} has no test case file {path}"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["cases"], f"{path}: no cases"
    return [_parse_case(case, f"{path} case {i}") for i, case in enumerate(raw["cases"])]


def _words(case: Case, table: Table, address: int, width: int) -> list[int]:
    cells = case.registers.get(table, {})
    missing = [a for a in range(address, address + width) if a not in cells]
    assert not missing, f"case {case.name!r} gives no {table} value at {missing}"
    return [cells[a] for a in range(address, address + width)]


def test_profiles_are_shipped() -> None:
    assert len(PROFILE_PATHS) >= 8


@pytest.mark.parametrize("path", PROFILE_PATHS, ids=lambda p: p.stem)
def test_profile_loads_and_validates(path: Path) -> None:
    assert PROFILE_ID.match(path.stem), f"profile id {path.stem!r} must be kebab-case"
    profile = load_profile(path)
    if path.stem.startswith("generic-"):  # reference profiles copy no vendor's map
        assert profile.vendor == "generic"
    assert path.read_text(encoding="utf-8").startswith("## "), "start with `##` prose notes"


@pytest.mark.parametrize("path", PROFILE_PATHS, ids=lambda p: p.stem)
def test_profile_decodes_its_cases(path: Path) -> None:
    profile = load_profile(path)
    cases = _load_cases(path.stem)
    keys = {point.key for point in profile.points}
    for case in cases:
        assert set(case.expected) == keys, (
            f"case {case.name!r}: missing {sorted(keys - set(case.expected))}, "
            f"unknown {sorted(set(case.expected) - keys)}"
        )
        decoded = {
            point.key: codec_for(profile, point).decode(
                _words(case, point.table, point.address, point.width)
            )
            for point in profile.points
        }
        assert decoded == pytest.approx(case.expected, rel=1e-6, abs=1e-9), case.name


def test_every_case_file_has_a_profile() -> None:
    ids = {path.stem for path in PROFILE_PATHS}
    orphans = [p.name for p in CASES_DIR.glob("*.yaml") if p.stem not in ids]
    assert not orphans


def test_shipped_profiles_cover_every_type_and_order() -> None:
    """Between them the reference profiles exercise every type, table and order."""
    seen: set[object] = set()
    for profile in (load_profile(path) for path in PROFILE_PATHS):
        for point in profile.points:
            seen |= {point.type, point.table}
            if point.type is DataType.BOOL:
                seen.add("bool in a bit table" if point.table.is_bit_table else "bool bit")
            if not point.table.is_bit_table:
                seen.add(("byte", profile.byte_order_of(point)))
            if point.width > 1:
                seen.add(("word", profile.word_order_of(point)))
    wanted: set[object] = {*DataType, *Table, "bool in a bit table", "bool bit"}
    wanted |= {("byte", order) for order in ByteOrder} | {("word", order) for order in WordOrder}
    assert wanted <= seen, f"not covered: {wanted - seen}"
