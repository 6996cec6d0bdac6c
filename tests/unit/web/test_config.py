"""The panel config: located errors, keys from a file, the hash-password helper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.web.auth import verify_password
from gateway.web.config import User, load_web_config, parse_operator_keys
from gateway.web.demo import demo_config
from tests.unit.web.factory import KEYS, write_config

HEAD = "web:\n  broker: {url: 'mqtt://h'}\n"
USERS = "  users:\n    - {{name: a, role: {role}, password_hash: '$argon2id$x'}}\n"


def test_a_good_config_loads_with_keys_from_their_file(tmp_path: Path) -> None:
    config = load_web_config(write_config(tmp_path))
    assert [u.role.value for u in config.users] == ["viewer", "operator", "admin"]
    assert config.keys()["ops"] == KEYS["ops"].encode()
    assert config.language == "zh-CN"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (HEAD + "  users: []\n", "users"),
        (HEAD.replace("mqtt://h", "http://h") + USERS.format(role="viewer"), "broker.url"),
        (HEAD + USERS.format(role="boss"), "role"),
        (HEAD + "  users:\n    - {name: a, role: viewer, password: hunter2}\n", "password"),
        (HEAD + "  passwd: 1\n" + USERS.format(role="viewer"), "passwd"),
    ],
)
def test_mistakes_are_reported_with_file_line_and_field(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert any(where in str(p) and str(path) in str(p) for p in caught.value.problems), caught.value


def test_operator_keys_need_long_secrets() -> None:
    with pytest.raises(ConfigError, match="16"):
        parse_operator_keys("ops:short\n", "keys")
    assert parse_operator_keys("# comment\n\nops: " + "x" * 16 + "\n", "keys") == {"ops": b"x" * 16}


def test_hash_password_prints_an_argon2id_hash_that_verifies() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "web", "hash-password", "--stdin"],
        input="s3cret-pass\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    digest = done.stdout.strip()
    assert digest.startswith("$argon2id$") and "s3cret" not in digest
    user = User(name="a", role="viewer", password_hash=digest)
    assert verify_password(user, "s3cret-pass") and not verify_password(user, "wrong")


def test_web_without_config_is_a_user_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "web"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and "--config" in done.stderr


def test_demo_config_makes_a_login_and_a_private_keys_file(tmp_path: Path) -> None:
    config, login = demo_config("mqtt://127.0.0.1:1883", tmp_path / "web", port=0)
    assert login.operator_keys.stat().st_mode & 0o077 == 0
    assert set(config.keys()) == {login.user}
    user = config.user(login.user)
    assert user is not None and user.role.value == "admin"
    assert verify_password(user, login.password)
