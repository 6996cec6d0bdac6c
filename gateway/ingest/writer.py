"""One HTTP write of line protocol, and what its answer means (Telegraf's classes).

Both back ends take the same body: the v2 write API (``/api/v2/write?org&bucket``, a
``Token``; InfluxDB 2.x/3.x/1.8+, VictoriaMetrics) and v1 ``/write?db`` (InfluxDB 1.x,
basic auth). The answer is sorted into a :class:`Verdict`, and the delivery loop
(gateway.ingest.delivery) acts on the class, never on a raw status::

    2xx                          OK          acknowledge the batch
    connection error, 5xx, 429   RETRY       keep it unacknowledged, back off (Retry-After)
    401, 403, 404 (no database)  REFUSED     loud, keep it, retry slowly: an operator must act
    413                          TOO_LARGE   split the batch in halves
    400, 422, other 4xx          BAD_DATA    bisect to the offending message(s), dead-letter
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import httpx

from gateway.httputil import retry_after_s
from gateway.ingest.config import InfluxConfig

__all__ = ["Verdict", "WriteResult", "Writer"]

_MAX_REASON = 500


class Verdict(StrEnum):
    """What to do with a batch after one write attempt."""

    OK = "ok"
    RETRY = "retry"
    REFUSED = "refused"
    TOO_LARGE = "too_large"
    BAD_DATA = "bad_data"


@dataclass(frozen=True)
class WriteResult:
    """The verdict, the server's reason (body or error), and any Retry-After in seconds."""

    verdict: Verdict
    reason: str = ""
    retry_after_s: float | None = None
    status: int | None = None


def classify(status: int) -> Verdict:
    """The verdict of an HTTP status (see the module docstring)."""
    if 200 <= status < 300:
        return Verdict.OK
    if status in (401, 403, 404):
        return Verdict.REFUSED
    if status == 413:
        return Verdict.TOO_LARGE
    if status == 429 or status >= 500 or status < 200:
        return Verdict.RETRY
    return Verdict.BAD_DATA


class Writer:
    """Posts line-protocol bodies to one InfluxDB (or compatible) server."""

    def __init__(self, config: InfluxConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        url, params, headers, auth = _endpoint(config)
        self._url = url
        self._client = httpx.Client(
            params=params,
            headers=headers,
            auth=auth,
            timeout=config.timeout_s,
            transport=transport,
        )

    def write(self, body: bytes) -> WriteResult:
        """POST ``body``; any failure becomes a WriteResult (never an exception)."""
        try:
            response = self._client.post(self._url, content=body)
        except httpx.HTTPError as exc:
            return WriteResult(Verdict.RETRY, f"{type(exc).__name__}: {exc}"[:_MAX_REASON])
        verdict = classify(response.status_code)
        if verdict is Verdict.OK:
            return WriteResult(Verdict.OK, status=response.status_code)
        reason = f"HTTP {response.status_code}: {response.text.strip()}"[:_MAX_REASON]
        wait = retry_after_s(response.headers.get("retry-after"))
        return WriteResult(verdict, reason, wait, response.status_code)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _endpoint(
    config: InfluxConfig,
) -> tuple[str, dict[str, str], dict[str, str], tuple[str, str] | None]:
    """URL, query parameters, headers and basic auth of the configured write API."""
    base = config.url.rstrip("/")
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if config.api == "v2":
        params = {"org": config.org or "", "bucket": config.bucket or "", "precision": "ns"}
        if config.token is not None:
            headers["Authorization"] = f"Token {config.token.read()}"
        return f"{base}/api/v2/write", params, headers, None
    params = {"db": config.database or "", "precision": "ns"}
    if config.retention_policy:
        params["rp"] = config.retention_policy
    auth = None
    if config.username:
        password = config.password.read() if config.password is not None else ""
        auth = (config.username, password)
    return f"{base}/write", params, headers, auth
