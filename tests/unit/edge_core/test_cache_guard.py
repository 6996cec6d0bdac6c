"""The kernel cache is dropped when any kernel source changes, and kept otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge_core import _cache_guard as guard


@pytest.fixture(name="tree")
def fixture_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in guard.SOURCES:
        shutil.copy(guard.HERE / name, tmp_path / name)
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    monkeypatch.setattr(guard, "HERE", tmp_path)
    monkeypatch.setattr(guard.config, "CACHE_DIR", "")
    return tmp_path


def _cached(tree: Path) -> list[str]:
    names = ["_channel._channel-81.py311.nbi", "_channel._channel-81.py311.1.nbc", "other.f-1.nbi"]
    for name in names:
        (tree / "__pycache__" / name).write_bytes(b"x")
    return names


def test_unchanged_sources_keep_the_cache(tree: Path) -> None:
    guard.drop_stale_cache()
    _cached(tree)
    guard.drop_stale_cache()
    assert len(list((tree / "__pycache__").glob("*.nb?"))) == 3


def test_an_edit_of_a_called_module_drops_every_kernel_cache_file(tree: Path) -> None:
    guard.drop_stale_cache()
    _cached(tree)
    with (tree / "_machine.py").open("a") as handle:
        handle.write("# edited\n")
    guard.drop_stale_cache()
    left = sorted(p.name for p in (tree / "__pycache__").glob("*.nb?"))
    assert left == ["other.f-1.nbi"]  # only edge_core kernel modules' files are dropped
