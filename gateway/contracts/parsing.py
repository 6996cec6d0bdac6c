"""Shared rules for parsing payloads from the network: size first, then the model.

Every payload a central service receives is untrusted. It is checked for size before it
is decoded, decoded by pydantic's JSON parser (which refuses ``NaN`` literals and lone
surrogates), and a failure becomes one :class:`ContractError` that names the payload
type, the field path, the offending value and the rule it broke.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from gateway.errors import ContractError

__all__ = ["NAME", "NAME_PATTERN", "TS_PATTERN", "Finite", "parse_json"]

T = TypeVar("T")

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$"  # one safe MQTT topic level
TS_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
NAME = Annotated[str, Field(pattern=NAME_PATTERN)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def parse_json(adapter: TypeAdapter[T], payload: bytes | str, what: str, max_bytes: int) -> T:
    """Validate ``payload`` (JSON) with ``adapter``; any failure is a ContractError."""
    if len(payload) > max_bytes:
        msg = f"payload of {len(payload)} bytes exceeds {max_bytes}"
        raise ContractError(what, "", f"<{len(payload)} bytes>", msg)
    try:
        return adapter.validate_json(payload)
    except ValidationError as exc:
        raise _contract_error(what, exc) from None
    except (ValueError, RecursionError) as exc:
        raise ContractError(what, "", "<payload>", str(exc).splitlines()[0]) from None


def _contract_error(what: str, exc: ValidationError) -> ContractError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    value: Any = err.get("input", "")
    if err["type"] == "json_invalid":
        return ContractError(what, "", "<payload>", f"not JSON: {err['msg']}")
    rule = err["msg"]
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        rule = "unknown field"
    elif err["type"] == "missing":
        value = "<missing>"
    more = len(exc.errors()) - 1
    if more:
        rule += f" (and {more} more problem(s))"
    return ContractError(what, field, value, rule)
