"""Central service configuration shared by ingest, push and the web panel.

Each central service reads one YAML file (or one section of a shared file) into frozen
models, exactly like a site file: unknown keys are errors, every problem is reported
with ``file:line field: reason`` at start-up, and secrets are never written inline:
a :class:`SecretRef` names a file or an environment variable that holds the secret.

    broker:
      url: mqtts://ingest@broker.example:8883
      password: {env: HAZARD_INGEST_MQTT_PASSWORD}   # or {file: /run/secrets/mqtt}
      ca_file: /etc/hazard/ca.crt
      client_id: ingest-1
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, Field, field_validator, model_validator

from gateway.errors import ConfigError, Problem
from gateway.modelbase import FrozenModel, parse_model
from gateway.yamlsource import SourceDoc, load_yaml_file

__all__ = ["BrokerConfig", "SecretRef", "load_central_config"]

M = TypeVar("M", bound=BaseModel)


class SecretRef(FrozenModel):
    """Where a secret is: exactly one of a file path or an environment variable name."""

    file: str | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.file is None) == (self.env is None):
            msg = "give exactly one of `file` (a path) or `env` (a variable name)"
            raise ValueError(msg)
        return self

    def read(self) -> str:
        """The secret (stripped); ConfigError when the file or variable is missing."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                msg = f"environment variable {self.env} is not set"
                raise ConfigError([Problem("secret", None, "env", msg)])
            return value.strip()
        assert self.file is not None
        try:
            return Path(self.file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            msg = f"cannot read secret file: {exc.strerror}"
            raise ConfigError([Problem(self.file, None, "file", msg)]) from None

    def __repr__(self) -> str:  # the reference, never the secret
        return f"SecretRef(file={self.file!r}, env={self.env!r})"


class BrokerConfig(FrozenModel):
    """The MQTT broker a central service subscribes to."""

    url: str = Field(description="mqtt://host:1883 or mqtts://host:8883 (user may be in it)")
    username: str | None = None
    password: SecretRef | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_id: str = Field("", max_length=64)
    keepalive: int = Field(30, ge=5, le=3600)

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parsed.hostname:
            msg = "must look like mqtt://host:1883 or mqtts://host:8883"
            raise ValueError(msg)
        if parsed.password:
            msg = "no password in the URL: use `password: {env: NAME}` or `{file: PATH}`"
            raise ValueError(msg)
        return value

    @property
    def tls(self) -> bool:
        """True for mqtts:// (and ssl://) URLs or when a CA file is given."""
        return urlparse(self.url).scheme in ("mqtts", "ssl") or self.ca_file is not None

    @property
    def host(self) -> str:
        """The broker's host name."""
        return urlparse(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The broker's port (1883, or 8883 with TLS, when the URL has none)."""
        return urlparse(self.url).port or (8883 if self.tls else 1883)

    @property
    def user(self) -> str | None:
        """``username``, else the user part of the URL."""
        return self.username or urlparse(self.url).username

    def secret(self) -> str | None:
        """The password, read now from its file or variable (None without one)."""
        return self.password.read() if self.password is not None else None

    def tls_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (ca_file, else the system CAs), or None for plain MQTT."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def load_central_config(path: Path, model: type[M], section: str | None = None) -> M:
    """Load ``path`` (or its ``section``) into ``model``; ConfigError lists every problem."""
    doc = load_yaml_file(path)
    if isinstance(doc, Problem):
        raise ConfigError([doc])
    if section is not None:
        if not isinstance(doc.data, dict) or section not in doc.data:
            raise ConfigError([doc.problem((), f"no `{section}:` section in this file")])
        doc = _section(doc, section)
    parsed = parse_model(model, doc)
    if isinstance(parsed, list):
        raise ConfigError(parsed)
    return parsed


def _section(doc: SourceDoc, section: str) -> SourceDoc:
    """The sub-document under ``section``, keeping line numbers."""
    lines = type(doc.lines)(
        {path[1:]: line for path, line in doc.lines.lines.items() if path[:1] == (section,)}
    )
    return SourceDoc(doc.name, doc.data[section], lines)
