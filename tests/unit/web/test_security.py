"""Sessions, roles, CSRF and Origin, checked on the server with a fake edge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.contracts import ACTIONS, CommandRequest, reply_body, reply_topic, sign_command
from gateway.web import create_app
from gateway.web.actions import REQUIRED_ROLE
from tests.unit.web.factory import KEYS, PASSWORD, config

ORIGIN = {"Origin": "http://testserver"}


class FakeEdge:
    """A publisher that answers each command like the edge would (or stays silent)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answer: str | None = "ok"
        self.panel: Any = None

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        body = json.loads(payload)
        self.sent.append((topic, body))
        if self.answer is None:
            return
        code = None if self.answer == "ok" else self.answer
        reply = reply_body(body["request_id"], event={"state": "acknowledged"}, code=code)
        topic = reply_topic("acme", "tank-farm", body["request_id"])
        data = json.dumps(reply).encode()
        asyncio.get_running_loop().call_soon(self.panel.handle, topic, data)


@pytest.fixture(name="edge")
def fixture_edge() -> FakeEdge:
    return FakeEdge()


@pytest.fixture(name="client")
async def fixture_client(tmp_path: Path, edge: FakeEdge) -> AsyncIterator[httpx.AsyncClient]:
    # httpx against the ASGI app in-process (starlette's httpx.AsyncClient warns about httpx now).
    app = create_app(config(tmp_path, command_timeout_s=0.5), connect=False, publisher=edge)
    edge.panel = app.state.ctx.panel
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    app.state.ctx.panel.store.close()


async def login(client: httpx.AsyncClient, user: str) -> str:
    response = await client.post(
        "/api/login", json={"user": user, "password": PASSWORD}, headers=ORIGIN
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])


ACK = {
    "action": "ack",
    "enterprise": "acme",
    "site": "tank-farm",
    "device": "gas-01",
    "point": "gas",
    "kind": "H",
}


@pytest.mark.parametrize("path", ["/", "/alarms", "/history", "/report", "/site/acme/tank-farm"])
async def test_pages_without_session_redirect_to_login(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "path", ["/api/overview", "/api/alarms", "/api/events", "/api/history", "/api/me"]
)
async def test_apis_and_sse_without_session_answer_401(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(path)).status_code == 401


async def test_login_sets_a_strict_httponly_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/login", json={"user": "ops", "password": PASSWORD}, headers=ORIGIN
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert (await client.get("/api/me")).json()["role"] == "operator"


async def test_login_from_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    body = {"user": "ops", "password": PASSWORD}
    response = await client.post("/api/login", json=body, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


async def test_failed_logins_are_rate_limited(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        bad = await client.post("/api/login", json={"user": "ops", "password": "x"}, headers=ORIGIN)
        assert bad.status_code == 401
    response = await client.post(
        "/api/login", json={"user": "ops", "password": PASSWORD}, headers=ORIGIN
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # no Origin, no CSRF
        (ORIGIN, 403),  # no CSRF token
        ({**ORIGIN, "X-CSRF-Token": "forged"}, 403),
        ({"Origin": "http://evil.example", "X-CSRF-Token": "<csrf>"}, 403),
    ],
)
async def test_forged_or_missing_csrf_and_foreign_origin_are_refused(
    client: httpx.AsyncClient, edge: FakeEdge, headers: dict[str, str], status: int
) -> None:
    csrf = await login(client, "ops")
    headers = {k: v.replace("<csrf>", csrf) for k, v in headers.items()}
    assert (
        await client.post("/api/alarms/action", json=ACK, headers=headers)
    ).status_code == status
    assert edge.sent == []


async def test_viewer_action_is_refused_on_the_server(
    client: httpx.AsyncClient, edge: FakeEdge
) -> None:
    csrf = await login(client, "eve")
    response = await client.post(
        "/api/alarms/action", json=ACK, headers={**ORIGIN, "X-CSRF-Token": csrf}
    )
    assert response.status_code == 403
    assert edge.sent == []


async def test_operator_ack_is_signed_with_their_key_and_returns_the_reply(
    client: httpx.AsyncClient, edge: FakeEdge
) -> None:
    csrf = await login(client, "ops")
    response = await client.post(
        "/api/alarms/action", json=ACK, headers={**ORIGIN, "X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    topic, body = edge.sent[0]
    assert topic == "hazard/v1/acme/tank-farm/cmd/ack"
    request = CommandRequest.from_payload(json.dumps(body))
    assert request.by == "ops" and request.kind == "H"
    assert body["sig"] == sign_command(body, KEYS["ops"].encode())


async def test_out_of_service_needs_admin(client: httpx.AsyncClient, edge: FakeEdge) -> None:
    body = {**ACK, "action": "out_of_service", "note": "calibration"}
    csrf = await login(client, "ops")
    headers = {**ORIGIN, "X-CSRF-Token": csrf}
    assert (await client.post("/api/alarms/action", json=body, headers=headers)).status_code == 403
    csrf = await login(client, "boss")
    headers = {**ORIGIN, "X-CSRF-Token": csrf}
    assert (await client.post("/api/alarms/action", json=body, headers=headers)).status_code == 200
    assert [t for t, _ in edge.sent] == ["hazard/v1/acme/tank-farm/cmd/out_of_service"]


@pytest.mark.parametrize(
    ("answer", "status", "code"), [("invalid_state", 409, "invalid_state"), (None, 504, "timeout")]
)
async def test_refusal_and_silence_of_the_edge_are_reported(
    client: httpx.AsyncClient, edge: FakeEdge, answer: str | None, status: int, code: str
) -> None:
    edge.answer = answer
    csrf = await login(client, "ops")
    response = await client.post(
        "/api/alarms/action", json=ACK, headers={**ORIGIN, "X-CSRF-Token": csrf}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    csrf = await login(client, "ops")
    assert (
        await client.post("/api/logout", headers={**ORIGIN, "X-CSRF-Token": csrf})
    ).status_code == 200
    assert (await client.get("/api/me")).status_code == 401


def test_every_contract_action_has_a_required_role() -> None:
    assert set(REQUIRED_ROLE) == set(ACTIONS)
