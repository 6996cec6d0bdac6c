"""The panel's configuration: broker, listen address, users and where their keys are.

Read like every central config (``gateway.central``): frozen models, unknown keys are
errors, every problem reported as ``file:line field: reason`` at start-up. Passwords are
stored as argon2id hashes (``hazard-gateway web hash-password``); a hash is not a secret,
so it may sit in the file. The HMAC keys that sign operator commands are secrets: they
come from a file named by ``operator_keys`` (``name:secret`` per line, the same format
the edge reads), never from this file::

    web:
      broker: {url: mqtt://127.0.0.1:1883, client_id: web-1}
      listen: {host: 127.0.0.1, port: 8080}
      state_dir: /var/lib/hazard/web
      operator_keys: {file: /etc/hazard/operator-keys}
      users:
        - {name: li.wei, role: operator, password_hash: "$argon2id$v=19$..."}
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from gateway.central import BrokerConfig, SecretRef, load_central_config
from gateway.errors import ConfigError, Problem
from gateway.modelbase import FrozenModel
from gateway.yamlsource import load_yaml_file

__all__ = ["Listen", "Role", "User", "WebConfig", "load_web_config", "parse_operator_keys"]

MIN_KEY_CHARS = 16


class Role(StrEnum):
    """What a user may do: viewer looks, operator acts on alarms, admin also disables."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class User(FrozenModel):
    """One panel user; ``name`` is also the ``by`` of the commands they sign."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
    role: Role
    password_hash: Annotated[str, Field(pattern=r"^\$argon2id\$")]
    display: str = ""


class Listen(FrozenModel):
    """Where the HTTP server listens."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class WebConfig(FrozenModel):
    """Everything ``hazard-gateway web`` needs."""

    broker: BrokerConfig
    listen: Listen = Listen()
    state_dir: str = "./web-state"
    operator_keys: SecretRef | None = None
    users: tuple[User, ...] = Field(min_length=1)
    origins: tuple[str, ...] = Field((), description="extra allowed Origin values")
    secure_cookie: bool = False
    session_ttl_s: float = Field(12 * 3600, gt=0)
    tick_s: float = Field(0.25, gt=0, le=5)
    command_timeout_s: float = Field(10.0, gt=0, le=60)
    disposition_due_h: float = Field(24.0, gt=0)
    language: str = Field("zh-CN", pattern=r"^(zh-CN|en)$")

    @model_validator(mode="after")
    def _unique_users(self) -> WebConfig:
        names = [u.name for u in self.users]
        if len(names) != len(set(names)):
            msg = "user names must be unique"
            raise ValueError(msg)
        return self

    def user(self, name: str) -> User | None:
        """The user called ``name``, if configured."""
        return next((u for u in self.users if u.name == name), None)

    def keys(self) -> dict[str, bytes]:
        """The operator keys (read now from their file or variable)."""
        if self.operator_keys is None:
            return {}
        return parse_operator_keys(self.operator_keys.read(), str(self.operator_keys.file))


def parse_operator_keys(text: str, source: str) -> dict[str, bytes]:
    """``name:secret`` per line (``#`` comments), as the edge's load_operator_keys reads."""
    keys: dict[str, bytes] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, secret = stripped.partition(":")
        if not sep or not name.strip() or len(secret.strip()) < MIN_KEY_CHARS:
            msg = f"expected 'operator:secret' with a secret of {MIN_KEY_CHARS}+ characters"
            problems.append(Problem(source, number, "operator_keys", msg))
            continue
        keys[name.strip()] = secret.strip().encode()
    if problems:
        raise ConfigError(problems)
    return keys


def load_web_config(path: Path) -> WebConfig:
    """The panel config from ``path``: its ``web:`` section, or the whole file."""
    doc = load_yaml_file(path)
    if isinstance(doc, Problem):
        raise ConfigError([doc])
    section = "web" if isinstance(doc.data, dict) and "web" in doc.data else None
    return load_central_config(path, WebConfig, section=section)
