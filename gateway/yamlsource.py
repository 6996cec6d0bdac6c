"""YAML loading that remembers the line of every key, so errors can point at it.

Integrators read our errors in an editor: "gas.yaml:14: points[2].address: ..." beats
a Python traceback. PyYAML's composer gives nodes with marks; we build plain Python
data from those nodes and keep a map from each field path to its 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import Problem

__all__ = [
    "FieldPath",
    "LineMap",
    "SourceDoc",
    "format_path",
    "load_yaml_file",
    "load_yaml_text",
]

FieldPath = tuple[str | int, ...]


@dataclass
class LineMap:
    """Field path -> line number (1-based) in the source file."""

    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None


@dataclass
class SourceDoc:
    """A parsed YAML document with its origin and line map."""

    name: str
    data: Any
    lines: LineMap

    def problem(self, path: FieldPath, message: str) -> Problem:
        """A Problem located at ``path`` in this document."""
        return Problem(self.name, self.lines.line_of(path), format_path(path), message)


def format_path(path: FieldPath) -> str:
    """Render ('points', 2, 'address') as 'points[2].address'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_yaml_text(text: str, name: str) -> SourceDoc | Problem:
    """Parse one YAML document; a syntax error comes back as a located Problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return Problem(name, line, "", f"not valid YAML: {reason}")
    lines = LineMap()
    data = _build(node, (), lines) if node is not None else None
    return SourceDoc(name, data, lines)


def load_yaml_file(path: Path) -> SourceDoc | Problem:
    """Read and parse a YAML file; unreadable files become Problems too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(str(path), None, "", f"cannot read file: {exc}")
    return load_yaml_text(text, str(path))


_SCALARS = yaml.constructor.SafeConstructor()


def _build(node: yaml.Node, path: FieldPath, lines: LineMap) -> Any:
    lines.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node, deep=True)
            child = (*path, str(key))
            lines.lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines)
            lines.lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)
