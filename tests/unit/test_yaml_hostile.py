"""Hostile YAML: every crafted file is one located error in under a second, never a crash.

Each case used to hang, end in MemoryError or RecursionError, print a traceback, or give
an error without file or field (issue 9); duplicate keys were silently last-one-wins.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from gateway.errors import Problem
from gateway.profiles import load_profile
from gateway.yamlsource import MAX_BYTES, MAX_DEPTH, SourceDoc, load_yaml_file, load_yaml_text

LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)

# (case, text, line of the error or None for "the file", words the message must hold)
HOSTILE: list[tuple[str, str, int | None, str]] = [
    ("billion laughs", LAUGHS, 6, "aliases count"),
    ("deep flow nesting", "a: " + "[" * 10_000 + "]" * 10_000, 1, "nest"),
    (
        "deep block nesting",
        "a:\n" + "".join(" " * i + "- \n" for i in range(1, 200)),
        MAX_DEPTH + 1,
        f"deeper than {MAX_DEPTH}",
    ),
    ("self-referencing alias", "a: &x\n  - *x\n", 2, "refers to itself"),
    ("undefined alias", "a: *nowhere\n", 1, "no anchor"),
    ("python name tag", "a: !!python/name:os.system\n", 1, "!!python/name:os.system"),
    ("python object tag", "a: !!python/object/apply:os.system [ls]\n", 1, "not allowed"),
    ("custom tag", "a: !vault secret\n", 1, "not allowed"),
    ("list as a key", "? [a, b]\n: 1\n", 1, "a key must be a plain value"),
    ("mapping as a key", "? {a: 1}\n: 1\n", 1, "a key must be a plain value"),
    ("huge integer", "address: " + "9" * 5000 + "\n", 1, "too long"),
    ("bad explicit int", "address: !!int abc\n", 1, "'abc' is not a valid int"),
    ("bad explicit timestamp", "when: !!timestamp 2024-13-45\n", 1, "!!timestamp"),
    ("binary", "a: !!binary aGVsbG8=\n", 1, "!!binary"),
    ("set", "a: !!set {x, y}\n", 1, "not allowed"),
    ("merge key", "base: &b {x: 1}\nc:\n  <<: *b\n", 3, "merge keys"),
    ("two documents", "a: 1\n---\nb: 2\n", 2, "one YAML document"),
    ("syntax error", "a: [1, 2\nb: 3\n", 2, "not valid YAML"),
    ("duplicate key", "a: 1\nb: 2\na: 3\n", 3, "first on line 1, again on line 3"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_yaml_is_one_located_error_within_a_second(
    tmp_path: Path, text: str, line: int | None, words: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    result = load_yaml_file(path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(result, Problem), f"accepted: {result}"
    shown = str(result)
    assert shown.startswith(f"{path}:{line}:" if line else f"{path}:"), shown
    assert words in shown and "\n" not in shown, shown
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert peak < 64 << 20, f"{peak / 2**20:.0f} MiB"


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (MAX_BYTES + 10), encoding="utf-8")
    started = time.perf_counter()
    result = load_yaml_file(path)
    assert isinstance(result, Problem) and "limit" in result.message
    assert time.perf_counter() - started < 0.5


def test_a_file_that_is_not_utf8_is_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    result = load_yaml_file(path)
    assert isinstance(result, Problem) and "not UTF-8" in result.message


def test_a_duplicate_key_in_a_profile_names_both_lines(tmp_path: Path) -> None:
    text = (
        Path(__file__).parents[2] / "device_profiles" / "generic-combustible-gas.yaml"
    ).read_text(encoding="utf-8")
    first = next(i for i, ln in enumerate(text.splitlines()) if "address:" in ln)
    lines = text.splitlines()
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    lines.insert(first + 1, f"{indent}address: 99")
    path = tmp_path / "dup.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load_profile(path)
    message = str(caught.value)
    assert f"{path}:{first + 2}:" in message
    assert f"first on line {first + 1}, again on line {first + 2}" in message


def test_ordinary_yaml_still_loads_with_lines_dates_as_text_and_aliases() -> None:
    text = (
        "name: gas\n"
        "released: 2024-01-02\n"
        "limits: &lim {H: 20, HH: 40.5, ok: true, none: ~}\n"
        "copy: *lim\n"
        "points:\n"
        "  - key: gas\n"
        "    address: 0x10\n"
    )
    doc = load_yaml_text(text, "ok.yaml")
    assert isinstance(doc, SourceDoc)
    assert doc.data == {
        "name": "gas",
        "released": "2024-01-02",
        "limits": {"H": 20, "HH": 40.5, "ok": True, "none": None},
        "copy": {"H": 20, "HH": 40.5, "ok": True, "none": None},
        "points": [{"key": "gas", "address": 16}],
    }
    assert doc.lines.line_of(("points", 0, "address")) == 7
    assert doc.lines.line_of(("copy", "H")) == 4
