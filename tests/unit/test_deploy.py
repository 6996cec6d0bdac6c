"""docker-compose.yml stays runnable: files exist, commands and configs parse, nothing secret.

The central services' configs under deploy/ are loaded with the services' own loaders, so
a renamed config key fails here and not on a user's machine; ``docker-compose config``
(Debian's docker-compose) must accept the file with the placeholders of .env.example.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from gateway.cli import build_parser
from gateway.config import load_site
from tests.harness import in_ci

REPO = Path(__file__).parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
#: services running a `hazard-gateway` subcommand of the image built from the Dockerfile
OURS = [n for n, s in SERVICES.items() if "build" in s and "entrypoint" not in s]
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET$|_KEY$")
ENV_EXAMPLE = REPO / ".env.example"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SECRETS = _module(REPO / "deploy" / "init" / "make_secrets.py")
RECEIVER = _module(REPO / "deploy" / "receiver" / "receiver.py")


def _example_env() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_compose_site_file_is_valid() -> None:
    site = load_site(REPO / "deploy" / "site-compose.yaml")
    assert {d.config.tcp.host for d in site.devices if d.config.tcp} == {"simulator"}


@pytest.mark.parametrize("service", OURS)
def test_service_command_parses(service: str) -> None:
    args = build_parser().parse_args(SERVICES[service]["command"])
    assert args.command == service.replace("simulator", "simulate")


def test_the_whole_stack_is_there() -> None:
    assert {
        "init",
        "mosquitto",
        "influxdb",
        "grafana",
        "simulator",
        "edge",
        "ingest",
        "push",
        "receiver",
        "web",
    } <= set(SERVICES)
    for name, service in SERVICES.items():
        if name != "init":
            assert "healthcheck" in service or name == "edge", f"{name} has no healthcheck"


def test_mounted_files_exist() -> None:
    mounts = [
        volume.split(":")[0]
        for svc in SERVICES.values()
        for volume in svc.get("volumes", [])
        if volume.startswith("./")
    ]
    secrets = [s["file"] for s in COMPOSE.get("secrets", {}).values()]
    for relative in [*mounts, *secrets]:
        assert (REPO / relative).exists(), relative
    assert (REPO / "Dockerfile").is_file()
    assert (REPO / "deploy" / "influxdb" / "init" / "10-dbrp.sh").stat().st_mode & 0o111


def test_named_volumes_are_declared() -> None:
    used = {
        volume.split(":")[0]
        for svc in SERVICES.values()
        for volume in svc.get("volumes", [])
        if not volume.startswith(("./", "/"))
    }
    assert used == set(COMPOSE["volumes"])


def test_every_image_tag_is_pinned() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned"
    base = re.search(r"^FROM (\S+)", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert base is not None and re.search(r":\d+\.\d+\.\d+-", base.group(1)), base


def test_no_secret_in_the_repository() -> None:
    """Secrets come from .env by interpolation; .env.example holds only placeholders."""
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and "INIT_MODE" not in key:
                assert str(value).startswith("${"), f"{name}.{key} is written inline"
    env = _example_env()
    secrets = {k: v for k, v in env.items() if SECRET_NAME.search(k)}
    assert secrets and all(v == "change-me" for v in secrets.values()), secrets
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert used <= set(env), f"not in .env.example: {used - set(env)}"
    assert not (REPO / ".env").exists() or ".env" in (REPO / ".gitignore").read_text()
    for config in ("ingest.yaml", "push.yaml", "web.yaml"):
        text = (REPO / "deploy" / config).read_text(encoding="utf-8")
        assert not re.search(r"(password|token|secret):\s*[^{\s]", text), config


def test_docker_compose_accepts_the_file() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        message = "docker-compose missing: apt-get install docker-compose (scripts/install-deps)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [tool, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr


def test_ingest_and_push_configs_load() -> None:
    from gateway.ingest.config import load_ingest_config  # noqa: PLC0415
    from gateway.push.config import load_push_config  # noqa: PLC0415

    ingest = load_ingest_config(REPO / "deploy" / "ingest.yaml")
    assert (ingest.influxdb.api, ingest.influxdb.bucket, ingest.influxdb.retention_days) == (
        "v2",
        "hazard",
        180,
    )
    push = load_push_config(REPO / "deploy" / "push.yaml")
    assert [c.name for c in push.channels] == ["example-receiver"]


def _secrets_env() -> dict[str, str]:
    env = {k: f"{k.lower()}-0123456789abcdef" for k in _example_env() if SECRET_NAME.search(k)}
    return {**env, "HAZARD_PANEL_USER": "safety", "HAZARD_SECRETS_CHOWN": "0"}


def test_init_writes_every_secret_file(tmp_path: Path) -> None:
    from gateway.web.config import load_web_config  # noqa: PLC0415

    env = _secrets_env()
    SECRETS.write_secrets(env, tmp_path, REPO / "deploy" / "web.yaml")
    passwd = dict(
        line.split(":", 1) for line in (tmp_path / "mosquitto" / "passwd").read_text().split()
    )
    assert set(passwd) == set(SECRETS.BROKER_USERS)
    _, _, iterations, salt, digest = passwd["ingest"].split("$")
    expected = hashlib.pbkdf2_hmac(
        "sha512", env["HAZARD_INGEST_MQTT_PASSWORD"].encode(), base64.b64decode(salt), 101
    )
    assert (iterations, base64.b64decode(digest)) == ("101", expected)
    keys = (tmp_path / "operator_keys").read_text()
    assert keys == f"safety:{env['HAZARD_OPERATOR_KEY']}\n"
    web = load_web_config(tmp_path / "web.yaml")
    assert [(u.name, u.role.value) for u in web.users] == [("safety", "admin")]
    assert web.operator_keys is not None
    assert web.operator_keys.file == "/run/hazard-secrets/operator_keys"


@pytest.mark.parametrize("variable", ["HAZARD_OPERATOR_KEY", "HAZARD_PUSH_MQTT_PASSWORD"])
def test_init_refuses_placeholders_and_missing_values(tmp_path: Path, variable: str) -> None:
    env = {**_secrets_env(), variable: "change-me"}
    with pytest.raises(SECRETS.SecretsError, match=variable):
        SECRETS.write_secrets(env, tmp_path, REPO / "deploy" / "web.yaml")
    del env[variable]
    with pytest.raises(SECRETS.SecretsError, match=f"{variable} is not set"):
        SECRETS.write_secrets(env, tmp_path, REPO / "deploy" / "web.yaml")


def test_example_receiver_checks_push_signatures() -> None:
    from gateway.push.channels.webhook import sign  # noqa: PLC0415

    key, body, stamp = b"k" * 16, b'{"event_id": "x"}', "1764583200"
    signature = sign(key, stamp, body)
    assert RECEIVER.signature_ok(key, stamp, body, signature, 1764583200.0)
    assert not RECEIVER.signature_ok(b"other-key", stamp, body, signature, 1764583200.0)
    assert not RECEIVER.signature_ok(key, stamp, body + b" ", signature, 1764583200.0)
    assert not RECEIVER.signature_ok(key, stamp, body, signature, 1764583200.0 + 3600)
