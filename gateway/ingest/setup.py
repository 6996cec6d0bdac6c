"""``hazard-gateway ingest --init``: create the database or bucket, with its retention.

The regulations ask for at least 30 days of history; we keep 180 by default, and the
config refuses less than 30 (gateway.ingest.config). On InfluxDB 1.x this is
``CREATE DATABASE ... WITH DURATION`` (or ``ALTER RETENTION POLICY`` when it exists);
on 2.x a bucket with an expiry rule plus the DBRP mapping that lets the dashboards'
InfluxQL (``SELECT ... FROM "database"."autogen"...``) reach the bucket. Safe to run
again: what exists is kept, its retention updated.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.errors import GatewayError
from gateway.ingest.config import InfluxConfig

__all__ = ["InitError", "init_database"]


class InitError(GatewayError):
    """The server refused to create the database, bucket or mapping."""


def init_database(config: InfluxConfig, transport: httpx.BaseTransport | None = None) -> str:
    """Create what ``config`` writes to; return a one-line description of what was done."""
    auth = None
    if config.username:
        auth = httpx.BasicAuth(config.username, config.password.read() if config.password else "")
    with httpx.Client(
        base_url=config.url.rstrip("/"), timeout=config.timeout_s, transport=transport, auth=auth
    ) as client:
        try:
            if config.api == "v1":
                return _init_v1(client, config)
            return _init_v2(client, config)
        except httpx.HTTPError as exc:
            msg = f"cannot reach {config.url}: {exc}"
            raise InitError(msg) from None
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            msg = f"unexpected answer from {config.url}: {exc!r}"
            raise InitError(msg) from None


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        msg = f"{what}: HTTP {response.status_code}: {response.text.strip()[:300]}"
        raise InitError(msg)
    return response.json() if response.content else {}


def _init_v1(client: httpx.Client, config: InfluxConfig) -> str:
    db, days = config.database or "", config.retention_days
    rp = config.retention_policy or "autogen"
    statements = (
        f'CREATE DATABASE "{db}" WITH DURATION {days}d NAME "{rp}"',
        f'ALTER RETENTION POLICY "{rp}" ON "{db}" DURATION {days}d DEFAULT',
    )
    errors = [_influxql_error(client, q) for q in statements]
    if errors[1]:  # CREATE may fail on an existing database; ALTER must then work
        msg = f"{statements[1]}: {errors[1]} (CREATE said: {errors[0] or 'ok'})"
        raise InitError(msg)
    return f"database {db!r}: retention policy {rp!r} of {days} days (default)"


def _influxql_error(client: httpx.Client, q: str) -> str:
    """The first error InfluxDB reports for statement ``q`` ("" when none)."""
    body = _check(client.post("/query", params={"q": q}), q)
    errors = [str(r["error"]) for r in body.get("results", []) if "error" in r]
    return errors[0] if errors else str(body.get("error", ""))


def _init_v2(client: httpx.Client, config: InfluxConfig) -> str:
    token = config.token.read() if config.token is not None else ""
    client.headers["Authorization"] = f"Token {token}"
    orgs = _check(client.get("/api/v2/orgs", params={"org": config.org}), "find org")
    found = orgs.get("orgs") or []
    if not found:
        msg = f"organisation {config.org!r} not found"
        raise InitError(msg)
    org_id = found[0]["id"]
    rules = [{"type": "expire", "everySeconds": config.retention_days * 86400}]
    listed = _check(
        client.get("/api/v2/buckets", params={"orgID": org_id, "name": config.bucket}),
        "find bucket",
    )
    buckets = listed.get("buckets") or []
    if buckets:
        bucket_id = buckets[0]["id"]
        _check(
            client.patch(f"/api/v2/buckets/{bucket_id}", json={"retentionRules": rules}),
            "update bucket retention",
        )
    else:
        body = {"orgID": org_id, "name": config.bucket, "retentionRules": rules}
        bucket_id = _check(client.post("/api/v2/buckets", json=body), "create bucket")["id"]
    return f"bucket {config.bucket!r}: {config.retention_days} days; " + _dbrp(
        client, config, org_id, bucket_id
    )


def _dbrp(client: httpx.Client, config: InfluxConfig, org_id: str, bucket_id: str) -> str:
    database = config.database or config.bucket or ""
    rp = config.retention_policy or "autogen"
    existing = _check(
        client.get("/api/v2/dbrps", params={"orgID": org_id, "db": database}), "find DBRP"
    )
    if any(m.get("bucketID") == bucket_id for m in existing.get("content") or []):
        return f"DBRP {database}/{rp} exists"
    body = {
        "orgID": org_id,
        "bucketID": bucket_id,
        "database": database,
        "retention_policy": rp,
        "default": True,
    }
    _check(client.post("/api/v2/dbrps", json=body), "create DBRP")
    return f"DBRP {database}/{rp} -> bucket created"
