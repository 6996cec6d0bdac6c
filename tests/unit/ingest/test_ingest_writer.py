"""HTTP answers are sorted into verdicts; both write APIs get the right URL and auth."""

from __future__ import annotations

import httpx
import pytest

from gateway.central import SecretRef
from gateway.httputil import retry_after_s
from gateway.ingest.config import InfluxConfig
from gateway.ingest.writer import Verdict, Writer

V2 = InfluxConfig(url="http://db:8086", org="o", bucket="b", token=SecretRef(env="TEST_TOKEN"))
V1 = InfluxConfig(
    url="http://db:8086/", api="v1", database="hazard", username="u",
    password=SecretRef(env="TEST_PW"), retention_policy="rp180",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TOKEN", "tok")
    monkeypatch.setenv("TEST_PW", "pw")


def _recording(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (204, Verdict.OK),
        (200, Verdict.OK),
        (400, Verdict.BAD_DATA),
        (422, Verdict.BAD_DATA),
        (401, Verdict.REFUSED),
        (403, Verdict.REFUSED),
        (404, Verdict.REFUSED),
        (413, Verdict.TOO_LARGE),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
    ],
)
def test_status_codes_become_verdicts(status: int, verdict: Verdict) -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(status, text="why"))
    result = Writer(V2, transport).write(b"m v=1")
    assert result.verdict is verdict
    assert result.status == status
    assert (result.reason == "") == (verdict is Verdict.OK)


def test_a_connection_error_is_retried() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = Writer(V2, httpx.MockTransport(fail)).write(b"m v=1")
    assert result.verdict is Verdict.RETRY and "refused" in result.reason


def test_retry_after_header_is_read() -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(429, headers={"Retry-After": "12"}))
    assert Writer(V2, transport).write(b"x").retry_after_s == 12.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_s("soon") is None


def test_v2_posts_to_the_write_api_with_the_token() -> None:
    seen: list[httpx.Request] = []
    transport = _recording(seen)
    Writer(V2, transport).write(b"m v=1")
    assert seen[0].url.path == "/api/v2/write"
    assert dict(seen[0].url.params) == {"org": "o", "bucket": "b", "precision": "ns"}
    assert seen[0].headers["authorization"] == "Token tok"
    assert seen[0].content == b"m v=1"


def test_v1_posts_to_write_with_basic_auth() -> None:
    seen: list[httpx.Request] = []
    transport = _recording(seen)
    Writer(V1, transport).write(b"m v=1")
    assert seen[0].url.path == "/write"
    assert dict(seen[0].url.params) == {"db": "hazard", "precision": "ns", "rp": "rp180"}
    assert seen[0].headers["authorization"].startswith("Basic ")
