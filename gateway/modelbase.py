"""Shared pydantic base and the bridge from validation errors to located Problems."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.errors import Problem
from gateway.yamlsource import SourceDoc

__all__ = ["FrozenModel", "parse_model"]

M = TypeVar("M", bound=BaseModel)


class FrozenModel(BaseModel):
    """Immutable model that rejects unknown keys (a typo must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def parse_model(model: type[M], doc: SourceDoc) -> M | list[Problem]:
    """Stage one: field schema. Every field error becomes a Problem with its line."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        return [_to_problem(doc, err) for err in exc.errors() if not _too_short_by_failures(err)]


def _too_short_by_failures(err: Any) -> bool:
    # A list with a bad item also fails its min_length ("at least 1 item ..., not 0"):
    # noise, since the item's own error is reported.
    if err["type"] != "too_short" or not isinstance(err.get("input"), list | tuple):
        return False
    minimum: int = err.get("ctx", {}).get("min_length", 0)
    return len(err["input"]) >= minimum


def _to_problem(doc: SourceDoc, err: Any) -> Problem:
    loc = tuple(part for part in err["loc"] if not _is_union_tag(part))
    message = err["msg"]
    if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
        message = f"{message} (got {_short(err['input'])})"
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see device_profiles/schema.json)"
    return doc.problem(loc, message)


def _is_union_tag(part: object) -> bool:
    # pydantic puts the union member name (e.g. "function-after[...]") into loc.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
