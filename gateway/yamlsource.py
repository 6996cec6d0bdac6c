"""YAML loading that remembers the line of every key, so errors can point at it.

Integrators read our errors in an editor: "gas.yaml:14: points[2].address: ..." beats
a Python traceback. We read PyYAML's parse events (libyaml's C parser when present) and
build plain Python data from them with an explicit stack, keeping a map from each field
path to its 1-based line.

A profile or site file may come from anyone, so the loader is hardened, and every
refusal is one located :class:`Problem`, found in well under a second:

* size: a file over :data:`MAX_BYTES` is refused before it is parsed;
* depth: nesting deeper than :data:`MAX_DEPTH` is refused (PyYAML's own composer
  recurses and ends in ``RecursionError``);
* aliases: an alias counts the nodes it repeats against :data:`MAX_NODES`, so
  "billion laughs" stops after a few thousand events instead of exhausting memory, and an
  alias inside its own anchor is refused;
* tags: only the plain JSON-like types users need (string, integer, float, boolean,
  null, list, mapping); ``!!python/...``, ``!!timestamp``, ``!!binary``, ``!!set``,
  custom tags and merge keys (``<<``) are refused, dates stay strings, a value that does
  not fit its tag (``!!int abc``, 5,000 digits) is a located error;
* keys: a key must be a scalar, and a duplicate key is an error naming both lines
  (YAML says keys are unique; PyYAML silently keeps the last one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import BaseResolver, Resolver

from gateway.errors import Problem

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "FieldPath",
    "LineMap",
    "SourceDoc",
    "format_path",
    "load_yaml_file",
    "load_yaml_text",
]

FieldPath = tuple[str | int, ...]

#: Largest file accepted (the biggest real site files are tens of kB).
MAX_BYTES = 1 << 20
#: Deepest nesting of lists and mappings accepted (profiles need about 6).
MAX_DEPTH = 64
#: Values in the document, each alias counting every value it repeats.
MAX_NODES = 200_000
_MAX_DIGITS = 40  # an integer longer than this is a mistake, not a register address


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
    """Parse one YAML document; any refusal comes back as one located Problem."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return Problem(name, None, "", f"file is {size} bytes; the limit is {MAX_BYTES}")
    builder = _Builder()
    try:
        data = builder.build(yaml.parse(text, Loader=_PARSER))
    except _Refused as exc:
        return Problem(name, exc.line, format_path(exc.path), exc.message)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Problem(name, line, "", f"not valid YAML: {reason}")
    return SourceDoc(name, data, builder.lines)


def load_yaml_file(path: Path) -> SourceDoc | Problem:
    """Read and parse a YAML file; unreadable or oversized files become Problems too."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        return Problem(str(path), None, "", f"cannot read file: {exc}")
    if len(raw) > MAX_BYTES:
        return Problem(str(path), None, "", f"file is over the limit of {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(str(path), None, "", f"cannot read file: not UTF-8 ({exc.reason})")
    return load_yaml_text(text, str(path))


_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}


class _Resolver(BaseResolver):
    """YAML 1.1 implicit types minus the ones users never mean: dates, ``=``, ``<<``."""


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value", "tag:yaml.org,2002:merge"}
_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in entries if tag not in _DROPPED]
    for first, entries in Resolver.yaml_implicit_resolvers.items()
}
_RESOLVER = _Resolver()
_CONSTRUCTOR = SafeConstructor()
_DIGITS = re.compile(r"[0-9a-fA-F]")


class _Refused(Exception):
    """A located refusal inside the builder, turned into a Problem by the caller."""

    def __init__(self, line: int, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


@dataclass
class _Frame:
    """An open list or mapping while its events are read."""

    container: dict[Any, Any] | list[Any]
    path: FieldPath
    anchor: str | None
    first_node: int
    key: Any = None
    has_key: bool = False
    key_lines: dict[Any, int] = field(default_factory=dict)


class _Builder:
    """Plain data from parse events, with an explicit stack and every cap checked."""

    def __init__(self) -> None:
        self.lines = LineMap()
        self._stack: list[_Frame] = []
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._nodes = 0
        self._documents = 0
        self._root: Any = None

    def build(self, events: Iterable[yaml.Event]) -> Any:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self._documents += 1
                if self._documents > 1:
                    raise _Refused(_line(event), (), "only one YAML document per file")
            elif isinstance(event, yaml.CollectionEndEvent):
                self._close()
            elif isinstance(event, yaml.NodeEvent):
                self._node(event)
        return self._root

    def _node(self, event: yaml.NodeEvent) -> None:
        parent = self._stack[-1] if self._stack else None
        if isinstance(parent, _Frame) and isinstance(parent.container, dict) and not parent.has_key:
            self._key(parent, event)
            return
        if parent is None:
            path: FieldPath = ()
        elif isinstance(parent.container, list):
            path = (*parent.path, len(parent.container))
        else:
            path = (*parent.path, str(parent.key))
        line = parent.key_lines[parent.key] if parent and parent.has_key else _line(event)
        self.lines.lines[path] = line
        self._count(1, event, path)
        if isinstance(event, yaml.AliasEvent):
            self._place(self._alias(event, path))
        elif isinstance(event, yaml.ScalarEvent):
            value = _scalar(event, path)
            if event.anchor is not None:
                self._anchors[event.anchor] = (value, 1)
            self._place(value)
        else:
            self._open(event, path)

    def _key(self, parent: _Frame, event: yaml.NodeEvent) -> None:
        path = parent.path
        if not isinstance(event, yaml.ScalarEvent):
            what = "an alias" if isinstance(event, yaml.AliasEvent) else "a list or mapping"
            raise _Refused(_line(event), path, f"a key must be a plain value, not {what}")
        if event.value == "<<" and event.tag is None and event.implicit[0]:
            rule = "merge keys (<<) are not supported; write the fields out"
            raise _Refused(_line(event), path, rule)
        key = _scalar(event, path)
        line = _line(event)
        first = parent.key_lines.get(key)
        if first is not None:
            rule = f"duplicate key {key!r}: first on line {first}, again on line {line}"
            raise _Refused(line, (*path, str(key)), rule)
        parent.key_lines[key] = line
        parent.key, parent.has_key = key, True
        self.lines.lines[(*path, str(key))] = line

    def _open(self, event: yaml.NodeEvent, path: FieldPath) -> None:
        if len(self._stack) >= MAX_DEPTH:
            raise _Refused(_line(event), path, f"nested deeper than {MAX_DEPTH} levels")
        tag = getattr(event, "tag", None)
        mapping = isinstance(event, yaml.MappingStartEvent)
        if tag not in (None, "!", _MAP if mapping else _SEQ):
            raise _Refused(_line(event), path, f"tag {tag} is not allowed here")
        container: dict[Any, Any] | list[Any] = {} if mapping else []
        self._stack.append(_Frame(container, path, event.anchor, self._nodes))

    def _close(self) -> None:
        frame = self._stack.pop()
        if frame.anchor is not None:
            self._anchors[frame.anchor] = (frame.container, self._nodes - frame.first_node + 1)
        self._place(frame.container)

    def _alias(self, event: yaml.AliasEvent, path: FieldPath) -> Any:
        name = str(event.anchor)
        if name not in self._anchors:
            if any(f.anchor == name for f in self._stack):
                raise _Refused(_line(event), path, f"alias *{name} refers to itself")
            raise _Refused(_line(event), path, f"alias *{name} has no anchor &{name} before it")
        value, size = self._anchors[name]
        self._count(size - 1, event, path)
        return value

    def _place(self, value: Any) -> None:
        if not self._stack:
            self._root = value
            return
        parent = self._stack[-1]
        if isinstance(parent.container, list):
            parent.container.append(value)
        else:
            parent.container[parent.key] = value
            parent.has_key = False

    def _count(self, nodes: int, event: yaml.Event, path: FieldPath) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            rule = f"more than {MAX_NODES} values (aliases count every value they repeat)"
            raise _Refused(_line(event), path, rule)


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0  # 0: no line (Problem leaves it out)


def _scalar(event: yaml.ScalarEvent, path: FieldPath) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag not in _SCALAR_TAGS:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        raise _Refused(_line(event), path, f"tag {shown} is not allowed (quote the value)")
    if tag == _STR:
        return event.value
    if tag.endswith(":int") and len(_DIGITS.findall(event.value)) > _MAX_DIGITS:
        rule = f"integer of {len(event.value)} characters is too long (max {_MAX_DIGITS} digits)"
        raise _Refused(_line(event), path, rule)
    node = yaml.ScalarNode(tag, event.value, None, None)
    try:
        return _CONSTRUCTOR.construct_object(node, deep=True)
    except (ConstructorError, ValueError, TypeError, OverflowError):
        kind = tag.replace("tag:yaml.org,2002:", "")
        shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
        raise _Refused(_line(event), path, f"{shown!r} is not a valid {kind}") from None
