"""JSON Schema of device profiles and site files, generated from the pydantic models.

``device_profiles/schema.json`` is this module's output, committed so that editors can
check a profile or a site file while it is typed (e.g. VS Code's YAML extension)::

    # yaml-language-server: $schema=../device_profiles/schema.json

Regenerate it after changing a model (a test fails when the file is stale)::

    python -m gateway.schema > device_profiles/schema.json

The schema checks field names, types and ranges (stage one). The rules across fields
(overlaps, limits in order, GB/T 50493 ceilings, ...) are only in ``gateway.profiles``
and ``gateway.config``: run ``hazard-gateway profiles validate`` for those.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from gateway.config import SiteConfig
from gateway.profiles import DeviceProfile

__all__ = ["combined_schema", "main", "profile_schema", "render", "site_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def profile_schema() -> dict[str, Any]:
    """The schema of one device profile file (self-contained, with its own $defs)."""
    return {"$schema": DRAFT, **DeviceProfile.model_json_schema(by_alias=True)}


def site_schema() -> dict[str, Any]:
    """The schema of one site file (self-contained, with its own $defs)."""
    schema = {"$schema": DRAFT, **SiteConfig.model_json_schema(by_alias=True)}
    _require_one_endpoint(schema["$defs"]["DeviceConfig"])
    return schema


def combined_schema() -> dict[str, Any]:
    """Both in one document: a site file has `devices`, anything else is a profile."""
    _, top = models_json_schema(
        [(DeviceProfile, "validation"), (SiteConfig, "validation")], by_alias=True
    )
    defs = top["$defs"]
    _require_one_endpoint(defs["DeviceConfig"])
    return {
        "$schema": DRAFT,
        "title": "hazard-gateway device profile or site file",
        "description": (
            "A device profile (vendor, model, points) or a site file (enterprise, site, "
            "devices). Field rules only: `hazard-gateway profiles validate` also checks "
            "overlaps, limit order and GB/T 50493 ceilings."
        ),
        "$defs": defs,
        "if": {"type": "object", "required": ["devices"]},
        "then": {"$ref": "#/$defs/SiteConfig"},
        "else": {"$ref": "#/$defs/DeviceProfile"},
    }


def _require_one_endpoint(device: dict[str, Any]) -> None:
    # DeviceConfig's model validator wants exactly one of tcp / serial.
    device["oneOf"] = [
        {"required": ["tcp"], "not": {"required": ["serial"]}},
        {"required": ["serial"], "not": {"required": ["tcp"]}},
    ]


def render(schema: dict[str, Any]) -> str:
    """Stable text of a schema: two-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Print the combined schema (``python -m gateway.schema > device_profiles/schema.json``)."""
    sys.stdout.write(render(combined_schema()))


if __name__ == "__main__":
    main()
