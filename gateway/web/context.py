"""What every route needs, built once per app: config, panel, hub, sessions, labels."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from gateway.web.auth import LoginLimiter, Sessions
from gateway.web.config import WebConfig
from gateway.web.hub import Hub
from gateway.web.panel import Panel

__all__ = ["LANGUAGES", "STATIC", "PanelContext", "dictionary"]

STATIC = Path(__file__).parent / "static"
LANGUAGES = ("zh-CN", "en")


@cache
def dictionary(language: str) -> dict[str, str]:
    """The label dictionary of ``language`` (static/i18n/{language}.json)."""
    text = (STATIC / "i18n" / f"{language}.json").read_text(encoding="utf-8")
    labels: dict[str, str] = json.loads(text)
    return labels


@dataclass
class PanelContext:
    """The shared objects of one running panel (``app.state.ctx``)."""

    config: WebConfig
    panel: Panel
    hub: Hub
    keys: dict[str, bytes]
    sessions: Sessions
    limiter: LoginLimiter = field(default_factory=LoginLimiter)

    def labels(self, language: str | None) -> dict[str, str]:
        """Labels of ``language`` (the panel default when unknown)."""
        chosen = language if language in LANGUAGES else self.config.language
        return dictionary(chosen or "zh-CN")
