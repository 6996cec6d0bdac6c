"""Broken profiles and the problems the validator must report (STYLE.md conventions 4, 5).

Each case is a small profile with a `# <-` marker on every line a problem must point
at; the expected problems are listed in line order as (field path, words of the rule).
The full message must read ``<file>:<line>: <field>: <rule ...>``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError, Problem, ProfileError
from gateway.profiles import load_profile

HEADER = "vendor: generic\nmodel: test\n"

# The structural cases use a plain point: a gas point also needs both alarm levels.
GAS = """\
points:
  - key: gas
    name: Gas
    kind: flow_m3_h
    table: holding
    address: 0
    type: float32
"""
LEL = GAS.replace("flow_m3_h", "gas_lel")

CASES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "unknown top-level field",
        HEADER + "colour: red  # <-\n" + GAS,
        [("colour", "unknown field")],
    ),
    (
        "unknown point field",
        HEADER + GAS + "    adress: 4  # <-\n",
        [("points[0].adress", "unknown field")],
    ),
    (
        "unknown alarm field",
        HEADER + GAS + "    alarms:\n      HHH: 40  # <-\n",
        [("points[0].alarms.HHH", "unknown field")],
    ),
    (
        "overlapping points",
        HEADER
        + GAS
        + """\
  - key: temp
    name: Temperature
    kind: temperature_c
    table: holding
    address: 1  # <-
    type: int16
""",
        [("points[1].address", "'temp' overlaps 'gas' (points[0]) at holding register 1")],
    ),
    (
        "same address in different tables is no overlap; float32 beyond 65535 is",
        HEADER
        + GAS.replace("address: 0", "address: 65535  # <-")
        + """\
  - key: temp
    name: Temperature
    kind: temperature_c
    table: input
    address: 65535
    type: int16
""",
        [("points[0].address", "float32 needs 2 registers from 65535: ends at 65536")],
    ),
    (
        "float64 width beyond 65535",
        HEADER + GAS.replace("address: 0", "address: 65533  # <-").replace("32", "64"),
        [("points[0].address", "float64 needs 4 registers from 65533: ends at 65536")],
    ),
    (
        "address out of range is a schema error",
        HEADER + GAS.replace("address: 0", "address: 70000  # <-"),
        [("points[0].address", "less than or equal to 65535 (got 70000)")],
    ),
    (
        "limits out of order",
        HEADER + GAS + "    alarms:\n      L: 5\n      H: 3  # <-\n",
        [("points[0].alarms.H", "limits must rise LL < L < H < HH: L=5.0 is not below H=3.0")],
    ),
    (
        "equal limits are out of order too",
        HEADER + GAS + "    alarms:\n      LL: 1\n      L: 1  # <-\n",
        [("points[0].alarms.L", "LL=1.0 is not below L=1.0")],
    ),
    (
        "GB/T 50493 ceilings for combustible gas",
        HEADER + LEL + "    alarms:\n      H: 30  # <-\n      HH: 60  # <-\n",
        [
            ("points[0].alarms.H", "exceeds the GB/T 50493-2019 first-level alarm ceiling"),
            ("points[0].alarms.HH", "exceeds the GB/T 50493-2019 second-level alarm ceiling"),
        ],
    ),
    (
        "bool in a register without bit",
        HEADER
        + """\
points:
  - key: fault  # <-
    name: Fault
    kind: status
    table: holding
    address: 3
    type: bool
""",
        [("points[0].bit", "a bool point in a register needs `bit` (0-15)")],
    ),
    (
        "coil with a non-bool type",
        HEADER
        + """\
points:
  - key: relay
    name: Relay
    kind: status
    table: coil
    address: 0
    type: uint16  # <-
""",
        [("points[0].type", "table coil holds single bits: type must be bool")],
    ),
    (
        "bit on a discrete input",
        HEADER
        + """\
points:
  - key: relay
    name: Relay
    kind: status
    table: discrete
    address: 0
    type: bool
    bit: 2  # <-
""",
        [("points[0].bit", "bit is only for bool points in registers, not in discrete")],
    ),
    (
        "bit on a non-bool point",
        HEADER + GAS + "    bit: 1  # <-\n",
        [("points[0].bit", "bit is only for bool points (type is float32)")],
    ),
    (
        "bit beyond 15",
        HEADER
        + """\
points:
  - key: fault
    name: Fault
    kind: status
    table: holding
    address: 3
    type: bool
    bit: 16  # <-
""",
        [("points[0].bit", "less than or equal to 15 (got 16)")],
    ),
    (
        "two bools on the same bit",
        HEADER
        + """\
points:
  - key: fault
    name: Fault
    kind: status
    table: holding
    address: 3
    type: bool
    bit: 0
  - key: fault_again
    name: Fault again
    kind: status
    table: holding
    address: 3  # <-
    type: bool
    bit: 0
""",
        [("points[1].address", "'fault_again' overlaps 'fault'")],
    ),
    (
        "duplicate keys",
        HEADER
        + GAS
        + GAS.replace("points:\n", "")
        .replace("key: gas", "key: gas  # <-")
        .replace("address: 0", "address: 2"),
        [("points[1].key", "duplicate key 'gas' (also points[0])")],
    ),
    (
        "unknown type, table and kind",
        HEADER
        + """\
points:
  - key: gas
    name: Gas
    kind: gas_percent  # <-
    table: holdings  # <-
    address: 0
    type: float16  # <-
""",
        [
            ("points[0].kind", "Input should be 'gas_lel'"),
            ("points[0].table", "Input should be 'holding', 'input', 'coil' or 'discrete'"),
            ("points[0].type", "(got 'float16')"),
        ],
    ),
    (
        "missing fields",
        "vendor: generic  # <-\n"
        + """\
points:
  - key: gas  # <-
    name: Gas
    table: holding
    address: 0
    type: float32
""",
        [("model", "Field required"), ("points[0].kind", "Field required")],
    ),
    (
        "bad key, scale and valid range",
        HEADER
        + """\
points:
  - key: Gas-1  # <-
    name: Gas
    kind: gas_lel
    table: holding
    address: 0
    type: float32
  - key: temp
    name: Temperature
    kind: temperature_c
    table: input
    address: 0
    type: int16
    scale: 0  # <-
    valid_range: [100, -40]  # <-
""",
        [
            ("points[0].key", "should match pattern"),
            ("points[1].scale", "scale must be a finite non-zero number (got 0.0)"),
            ("points[1].valid_range", "valid_range [100.0, -40.0] must be [low, high]"),
        ],
    ),
    (
        "several problems across both stages are all reported",
        HEADER
        + "protocol: bacnet  # <-\n"
        + LEL
        + "    alarms: {H: 26, HH: 40}  # <-\n"
        + """\
  - key: temp
    name: Temperature
    kind: temperature_c
    colour: red  # <-
    table: input
    address: 0
    type: int16
  - key: relay
    name: Relay
    kind: status
    table: coil
    address: 0
    type: int16  # <-
""",
        [
            ("protocol", "Input should be 'modbus' (got 'bacnet')"),
            ("points[0].alarms.H", "H=26.0 %LEL exceeds the GB/T 50493-2019 first-level"),
            ("points[1].colour", "unknown field"),
            ("points[2].type", "table coil holds single bits: type must be bool"),
        ],
    ),
    (
        "duplicates and overlaps are found despite a schema error elsewhere",
        HEADER
        + "max_gap: 500  # <-\n"
        + GAS
        + GAS.replace("points:\n", "")
        .replace("key: gas", "key: gas  # <-")
        .replace("address: 0", "address: 1  # <-"),
        [
            ("max_gap", "less than or equal to 124"),
            ("points[1].key", "duplicate key 'gas'"),
            ("points[1].address", "'gas' overlaps 'gas' (points[0]) at holding register 1"),
        ],
    ),
    (
        "no points",
        HEADER + "points: []  # <-\n",
        [("points", "at least 1 item")],
    ),
    (
        "YAML syntax error",
        HEADER + "points:\n  - key: gas\n    name: [Gas\n    kind: gas_lel  # <-\n",
        [("", "not valid YAML")],
    ),
    (
        "not a mapping",
        "- vendor: generic  # <-\n",
        [("", "a profile must be a YAML mapping")],
    ),
]


def _marked_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), 1) if "# <-" in line]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_profile_reports_every_problem(
    tmp_path: Path, text: str, expected: list[tuple[str, str]]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    lines = _marked_lines(text)
    assert len(lines) == len(expected), "the case needs one `# <-` per expected problem"

    with pytest.raises(ProfileError) as caught:
        load_profile(path)

    problems = caught.value.problems
    got = [(p.line, p.field) for p in problems]
    assert got == [(line, field) for line, (field, _) in zip(lines, expected, strict=True)]
    for problem, line, (field, rule) in zip(problems, lines, expected, strict=True):
        text_of = str(problem)
        prefix = f"{path}:{line}: {field}:" if field else f"{path}:{line}:"
        assert text_of.startswith(prefix), text_of
        assert rule in problem.message, text_of
    assert str(caught.value) == "\n".join(str(p) for p in problems)


def test_error_is_a_config_error_without_traceback_noise(tmp_path: Path) -> None:
    path = tmp_path / "gas.yaml"
    path.write_text(HEADER + LEL + "    alarms: {H: 30, HH: 40}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"{path}:10: points[0].alarms.H: H=30.0 %LEL exceeds the GB/T 50493-2019 "
        "first-level alarm ceiling of 25.0 %LEL"
    )


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "absent.yaml")
    [problem] = caught.value.problems
    assert problem == Problem(str(tmp_path / "absent.yaml"), None, "", problem.message)
    assert problem.message.startswith("cannot read file")


VALID_EXTRA = """\
    alarms: {H: 25, HH: 50}
  - key: status
    name: Status
    kind: status
    table: holding
    address: 2
    type: bitfield
  - key: fault
    name: Fault
    kind: status
    table: holding
    address: 2
    type: bool
    bit: 0
  - key: warm_up
    name: Warming up
    kind: status
    table: holding
    address: 2
    type: bool
    bit: 1
  - key: last
    name: Last register
    kind: status
    table: input
    address: 65535
    type: uint16
  - key: relay
    name: Relay
    kind: status
    table: coil
    address: 0
    type: bool
"""


def test_valid_edge_cases(tmp_path: Path) -> None:
    """Bits sharing a status word, limits at the GB/T 50493 ceilings, the last address."""
    path = tmp_path / "ok.yaml"
    path.write_text(HEADER + LEL + VALID_EXTRA, encoding="utf-8")
    profile = load_profile(path)
    assert [p.key for p in profile.points] == ["gas", "status", "fault", "warm_up", "last", "relay"]
    alarms = profile.point("gas").alarms
    assert alarms is not None
    assert alarms.limits() == {"H": 25.0, "HH": 50.0}
