"""DESIGN.md's never-arrows and the absence of part-level cycles, checked with ast."""

from __future__ import annotations

from pathlib import Path

from tests.architecture import find_cycles, forbidden_arrows, part_imports

ROOT = Path(__file__).parents[2]


def test_no_forbidden_import_in_the_tree() -> None:
    assert forbidden_arrows(ROOT) == []


def test_no_cycles_between_parts() -> None:
    assert find_cycles(part_imports(ROOT)) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checker_catches_each_kind_of_forbidden_arrow(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "edge_core/__init__.py": "",
            "edge_core/k.py": "import gateway.config\n",
            "gateway/__init__.py": "",
            "gateway/edge/__init__.py": "",
            "gateway/edge/poller.py": "",
            "gateway/simulator/__init__.py": "from gateway.edge import poller\n",
            "gateway/alarms/__init__.py": "",
            "gateway/alarms/life.py": "from ..edge.poller import x\n",
            "gateway/ingest/__init__.py": "",
            "gateway/ingest/w.py": "import edge_core\nfrom gateway.contracts import AlarmEvent\n",
            "gateway/web/__init__.py": "from gateway import edge\n",
        },
    )
    found = {(path, rule) for path, _, rule in forbidden_arrows(root)}
    assert found == {
        ("edge_core/k.py", "edge_core must not import gateway"),
        ("gateway/simulator/__init__.py", "gateway.simulator must not import gateway.edge"),
        ("gateway/alarms/life.py", "gateway.alarms must not import gateway.edge"),
        ("gateway/ingest/w.py", "gateway.ingest must not import edge_core"),
        ("gateway/web/__init__.py", "gateway.web must not import gateway.edge"),
    }


def test_the_checker_finds_a_cycle_between_parts(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "gateway/__init__.py": "",
            "gateway/edge/__init__.py": "from gateway.outbox import store\n",
            "gateway/outbox/__init__.py": "",
            "gateway/outbox/store.py": "import gateway.edge.samples\n",
            "edge_core/__init__.py": "",
        },
    )
    assert find_cycles(part_imports(root)) == [["gateway.edge", "gateway.outbox"]]
