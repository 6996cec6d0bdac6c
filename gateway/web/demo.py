"""A ready-made panel config for ``hazard-gateway demo``: one admin user and their key.

The demo must work on a fresh machine with no files prepared, so this writes what a real
installation writes by hand: an operator-keys file (mode 0600, the same file the demo's
edge reads with ``--operator-keys``, so commands signed by the panel verify) and a
config whose only user has a freshly generated password, printed by the demo once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from gateway.central import BrokerConfig, SecretRef
from gateway.web.auth import hash_password
from gateway.web.config import Listen, Role, User, WebConfig

__all__ = ["DemoLogin", "demo_config"]

DEMO_USER = "demo"


@dataclass(frozen=True)
class DemoLogin:
    """What the demo prints and passes on to its edge agent."""

    user: str
    password: str
    operator_keys: Path


def demo_config(
    broker_url: str, state_dir: Path, port: int = 8080, host: str = "127.0.0.1"
) -> tuple[WebConfig, DemoLogin]:
    """A WebConfig with one admin ``demo`` user, and the login and keys file made for it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    keys = state_dir / "operator-keys"
    keys.touch(mode=0o600)
    keys.chmod(0o600)
    keys.write_text(f"{DEMO_USER}:{secrets.token_hex(24)}\n", encoding="utf-8")
    password = secrets.token_urlsafe(9)
    user = User(name=DEMO_USER, role=Role.ADMIN, password_hash=hash_password(password))
    config = WebConfig(
        broker=BrokerConfig(url=broker_url, client_id=""),
        listen=Listen(host=host, port=port),
        state_dir=str(state_dir),
        operator_keys=SecretRef(file=str(keys)),
        users=(user,),
    )
    return config, DemoLogin(DEMO_USER, password, keys)
