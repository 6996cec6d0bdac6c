"""docker-compose.yml stays runnable: its files exist, its commands parse, its site loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import build_parser
from gateway.config import load_site

REPO = Path(__file__).parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
OURS = [name for name, svc in COMPOSE["services"].items() if "build" in svc]


def test_compose_site_file_is_valid() -> None:
    site = load_site(REPO / "deploy" / "site-compose.yaml")
    assert {d.config.tcp.host for d in site.devices if d.config.tcp} == {"simulator"}


@pytest.mark.parametrize("service", OURS)
def test_service_command_parses(service: str) -> None:
    args = build_parser().parse_args(COMPOSE["services"][service]["command"])
    assert args.command == service.replace("simulator", "simulate")


def test_mounted_files_exist() -> None:
    mounts = [
        volume.split(":")[0]
        for svc in COMPOSE["services"].values()
        for volume in svc.get("volumes", [])
        if volume.startswith("./")
    ]
    secrets = [s["file"] for s in COMPOSE.get("secrets", {}).values()]
    for relative in [*mounts, *secrets]:
        assert (REPO / relative).is_file(), relative
    assert (REPO / "Dockerfile").is_file()
