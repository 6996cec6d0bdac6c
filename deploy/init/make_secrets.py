"""Write the stack's secret files from the environment (.env), once per `docker compose up`.

Runs as the compose service ``init`` before everything else and writes into the
``secrets`` volume (``$HAZARD_SECRETS_DIR``, default /run/hazard-secrets):

    mosquitto/passwd   one PBKDF2-SHA512 hash per broker account (mosquitto_passwd format)
    operator_keys      ``name:secret`` for signed operator commands (edge and panel)
    webhook.key        the HMAC key push signs with and the example receiver checks
    web.yaml           deploy/web.yaml with the panel user and its argon2id hash

Nothing here is in the repository: a value left at the ``change-me`` placeholder of
.env.example, or missing, stops the stack with the variable's name.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from string import Template

from argon2 import PasswordHasher

__all__ = ["BROKER_USERS", "main", "mosquitto_hash", "write_secrets"]

#: broker account -> the variable holding its password (edge-<site> per site).
BROKER_USERS = {
    "edge-tank-farm-1": "HAZARD_EDGE_MQTT_PASSWORD",
    "ingest": "HAZARD_INGEST_MQTT_PASSWORD",
    "push": "HAZARD_PUSH_MQTT_PASSWORD",
    "web": "HAZARD_WEB_MQTT_PASSWORD",
}
MOSQUITTO_UID = 1883  # the eclipse-mosquitto image's user
GATEWAY_UID = 10001  # the hazard user of the Dockerfile
MIN_KEY_CHARS = 16
_ITERATIONS = 101  # what mosquitto_passwd 2.x writes for "$7$" hashes


class SecretsError(ValueError):
    """A variable is missing, still a placeholder, or too short."""


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """``password`` hashed the way mosquitto_passwd 2.x does (``$7$``, PBKDF2-SHA512)."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ITERATIONS)
    encode = base64.b64encode
    return f"$7${_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def _value(env: Mapping[str, str], name: str, min_chars: int = 1) -> str:
    value = env.get(name, "").strip()
    if not value:
        msg = f"{name} is not set: copy .env.example to .env and fill it in"
        raise SecretsError(msg)
    if "change-me" in value:
        msg = f"{name} is still the .env.example placeholder: put a real secret in .env"
        raise SecretsError(msg)
    if len(value) < min_chars:
        msg = f"{name} needs at least {min_chars} characters"
        raise SecretsError(msg)
    return value


def _write(path: Path, text: str, uid: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o640)
    if uid is not None and os.geteuid() == 0:
        os.chown(path, uid, uid)


def write_secrets(env: Mapping[str, str], out: Path, web_template: Path) -> list[Path]:
    """Write every secret file into ``out``; the paths written. SecretsError names a variable."""
    users = {user: _value(env, var, 8) for user, var in BROKER_USERS.items()}
    operator = _value(env, "HAZARD_PANEL_USER")
    key = _value(env, "HAZARD_OPERATOR_KEY", MIN_KEY_CHARS)
    password = _value(env, "HAZARD_PANEL_PASSWORD", 8)
    webhook = _value(env, "HAZARD_WEBHOOK_SECRET", MIN_KEY_CHARS)
    chown = env.get("HAZARD_SECRETS_CHOWN", "1") == "1"
    passwd = "".join(f"{user}:{mosquitto_hash(pw)}\n" for user, pw in users.items())
    web = Template(web_template.read_text(encoding="utf-8")).substitute(
        panel_user=operator, password_hash=PasswordHasher().hash(password)
    )
    files = {
        out / "mosquitto" / "passwd": (passwd, MOSQUITTO_UID),
        out / "operator_keys": (f"{operator}:{key}\n", GATEWAY_UID),
        out / "webhook.key": (webhook + "\n", GATEWAY_UID),
        out / "web.yaml": (web, GATEWAY_UID),
    }
    for path, (text, uid) in files.items():
        _write(path, text, uid if chown else None)
    if chown and os.geteuid() == 0:
        os.chown(out / "mosquitto", MOSQUITTO_UID, MOSQUITTO_UID)
    return list(files)


def main() -> int:
    """Write the files from ``os.environ``; exit 2 with the reason when a variable is wrong."""
    out = Path(os.environ.get("HAZARD_SECRETS_DIR", "/run/hazard-secrets"))
    template = Path(os.environ.get("HAZARD_WEB_TEMPLATE", "/etc/hazard/web.yaml"))
    try:
        written = write_secrets(os.environ, out, template)
    except SecretsError as exc:
        print(f"init: {exc}", file=sys.stderr)
        return 2
    print("init: wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
