"""--init against a recorded InfluxDB 2 API; the command module's cold start."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from gateway.central import SecretRef
from gateway.ingest.config import InfluxConfig
from gateway.ingest.setup import InitError, init_database


def _v2_server(seen: list[tuple[str, str, object]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if request.url.path == "/api/v2/orgs":
            return httpx.Response(200, json={"orgs": [{"id": "org1"}]})
        if request.url.path == "/api/v2/buckets" and request.method == "GET":
            return httpx.Response(200, json={"buckets": []})
        if request.url.path == "/api/v2/buckets":
            return httpx.Response(201, json={"id": "bkt1"})
        if request.url.path == "/api/v2/dbrps" and request.method == "GET":
            return httpx.Response(200, json={"content": []})
        return httpx.Response(201, json={})

    return httpx.MockTransport(answer)


def test_init_on_2x_creates_bucket_with_retention_and_dbrp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("T", "tok")
    config = InfluxConfig(url="http://db", org="o", bucket="hz", token=SecretRef(env="T"))
    seen: list[tuple[str, str, object]] = []
    said = init_database(config, _v2_server(seen))
    posts = {path: body for method, path, body in seen if method == "POST"}
    rules = [{"type": "expire", "everySeconds": 180 * 86400}]
    assert posts["/api/v2/buckets"] == {"orgID": "org1", "name": "hz", "retentionRules": rules}
    assert posts["/api/v2/dbrps"] == {
        "orgID": "org1", "bucketID": "bkt1", "database": "hz",
        "retention_policy": "autogen", "default": True,
    }  # fmt: skip
    assert "180 days" in said


def test_init_reports_a_refusal() -> None:
    config = InfluxConfig(url="http://db", org="o", bucket="hz")
    transport = httpx.MockTransport(lambda _r: httpx.Response(401, text="unauthorized"))
    with pytest.raises(InitError, match="HTTP 401"):
        init_database(config, transport)


def test_the_command_module_imports_no_heavy_package() -> None:
    code = (
        "import sys, gateway.commands.ingest as m; "
        "heavy = [n for n in ('paho', 'httpx', 'prometheus_client', 'gateway.ingest') "
        "if n in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
