"""The import arrows DESIGN.md forbids, checked with ``ast`` (used by test_architecture).

A *part* is a top-level package (``edge_core``) or a first-level package of ``gateway``
(``gateway/edge``, ``gateway/alarms``, ...); a module directly in ``gateway/`` is a part
of its own. Edge and central sides meet only over MQTT.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FORBIDDEN", "Arrow", "find_cycles", "forbidden_arrows", "part_imports"]

CENTRAL = ("gateway.ingest", "gateway.push", "gateway.web")
FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("edge_core", "gateway"),
    ("gateway.simulator", "gateway.edge"),
    ("gateway.alarms", "gateway.edge"),
    ("gateway.mqtt", "gateway.edge"),
    ("gateway.contracts", "gateway.edge"),
    ("gateway.contracts", "gateway.alarms"),
    *((c, t) for c in CENTRAL for t in ("gateway.edge", "gateway.simulator", "edge_core")),
)

Arrow = tuple[str, str, str]  # (importing file, imported module, rule broken)


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for package in ("gateway", "edge_core"):
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                yield f"{prefix}.{node.module}" if node.module else prefix
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def part_of(module: str) -> str:
    """The part a module belongs to (``gateway.edge.poller`` -> ``gateway.edge``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gateway" and len(parts) > 1 else parts[0]


def forbidden_arrows(root: Path) -> list[Arrow]:
    """Every import under ``root`` that DESIGN.md forbids."""
    found: list[Arrow] = []
    for module, path in _modules(root):
        for target in _imports(module, path):
            for source, banned in FORBIDDEN:
                if _within(module, source) and _within(target, banned):
                    rel = str(path.relative_to(root))
                    found.append((rel, target, f"{source} must not import {banned}"))
    return sorted(set(found))


def part_imports(root: Path) -> dict[str, set[str]]:
    """Which parts import which (only parts that exist as modules under ``root``)."""
    modules = dict(_modules(root))
    known = {part_of(m) for m in modules}
    graph: dict[str, set[str]] = {part: set() for part in known}
    for module, path in modules.items():
        source = part_of(module)
        for target in _imports(module, path):
            part = part_of(target)
            ours = target.split(".")[0] in ("gateway", "edge_core")
            if ours and part in known and part != source:
                graph[source].add(part)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Part-level import cycles (each as the list of parts around it)."""
    cycles: list[list[str]] = []
    for start in sorted(graph):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    cycles.append(path)
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return cycles
