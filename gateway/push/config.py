"""The push service's configuration file (``hazard-gateway push --config FILE``).

Read like every central config (gateway/central.py): frozen models, unknown keys refused,
every problem printed as ``file:line field: reason``. Stage two checks the site files
listed under ``sites:`` against the regulator codes each channel needs, naming the
file, device, point and missing field (:func:`check_sites`). Sample: examples/push.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from gateway.central import BrokerConfig, load_central_config
from gateway.contracts import SiteManifest
from gateway.errors import ConfigError, Problem
from gateway.modelbase import FrozenModel
from gateway.push.channels import AnyChannelSettings
from gateway.push.channels.memhttp import MemHttpSettings
from gateway.push.manifests import (
    DEVICE_CODES,
    POINT_CODES,
    SITE_CODES,
    CodeNeeds,
    PointRef,
    missing_codes,
)
from gateway.push.settings import Periods

__all__ = ["MetricsSettings", "PushConfig", "check_sites", "load_push_config"]


class MetricsSettings(FrozenModel):
    """Where /metrics (Prometheus) listens."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9108


class PushConfig(FrozenModel):
    """Everything ``hazard-gateway push`` needs."""

    broker: BrokerConfig
    state_dir: str = Field("state/push", description="queues: one SQLite file per channel")
    periods: Periods = Periods()
    sites: tuple[str, ...] = Field((), description="site files to check at start-up")
    metrics: MetricsSettings | None = None
    channels: Annotated[tuple[AnyChannelSettings, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> PushConfig:
        names = [c.name for c in self.channels]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            msg = f"channel names must be unique; repeated: {', '.join(doubles)}"
            raise ValueError(msg)
        return self


def load_push_config(path: Path, section: str | None = None) -> PushConfig:
    """Load and check ``path``; ConfigError lists every problem (site files included)."""
    config = load_central_config(path, PushConfig, section)
    base = path.parent
    problems = check_sites(config, [base / site for site in config.sites])
    if problems:
        raise ConfigError(problems)
    return config


def _needs(config: PushConfig) -> CodeNeeds:
    codes = {
        c for ch in config.channels if isinstance(ch, MemHttpSettings) for c in ch.required_codes
    }
    return CodeNeeds(
        site=tuple(c for c in SITE_CODES if c in codes),
        device=tuple(c for c in DEVICE_CODES if c in codes),
        point=tuple(c for c in POINT_CODES if c in codes),
    )


def check_sites(config: PushConfig, paths: list[Path]) -> list[Problem]:
    """Stage two: every code a channel needs is present in every listed site file."""
    needs = _needs(config)
    problems: list[Problem] = []
    for path in paths:
        manifest = _site_manifest(path, problems)
        if manifest is not None:
            problems += manifest_problems(str(path), manifest, needs)
    return problems


def manifest_problems(where: str, manifest: SiteManifest, needs: CodeNeeds) -> list[Problem]:
    """One Problem per missing code, named as in the site file (device, point, field).

    A point is checked when it is *mapped* (has any regulator code) or has alarm limits:
    a status bit with neither is not sent in real time, and an alarm it raises is
    dead-lettered at run time naming the missing code.
    """
    names = set(missing_codes(manifest, None, needs))
    for device in manifest.devices:
        for point in device.points:
            codes = (point.indicator_code, point.equipment_code, point.tag_number)
            if not point.limits and not any(codes):
                continue
            names.update(missing_codes(manifest, PointRef(manifest, device, point), needs))
    message = "missing: a push channel (mem-http required_codes) needs it"
    return [Problem(where, None, _site_field(name), message) for name in sorted(names)]


def _site_field(name: str) -> str:
    """``devices.gas-01.points.gas.tag_number`` -> ``devices[gas-01].points.gas.regulator...``."""
    parts = name.split(".")
    if parts[0] == "site":
        return f"regulator.{parts[1]}"
    if len(parts) == 3:
        return f"devices[{parts[1]}].regulator.{parts[2]}"
    return f"devices[{parts[1]}].points.{parts[3]}.regulator.{parts[4]}"


def _site_manifest(path: Path, problems: list[Problem]) -> SiteManifest | None:
    """The manifest the edge would publish for the site file at ``path``."""
    from gateway.config import load_site  # noqa: PLC0415
    from gateway.manifest import build_manifest  # noqa: PLC0415

    try:
        site = load_site(path)
    except ConfigError as exc:
        problems += exc.problems
        return None
    return build_manifest(site)
