"""Tiny HTTP helpers on the standard library, so the harness needs no client package."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

__all__ = ["HTTPStatusError", "json_lines", "request"]


class HTTPStatusError(RuntimeError):
    """A server answered with an unexpected status; the message includes the body."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{method} {url} -> HTTP {status}: {body[:500]}")


def request(
    method: str,
    url: str,
    params: Mapping[str, str] | None = None,
    data: bytes | None = None,
    expect: tuple[int, ...] = (200, 204),
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """Send one request; return (status, body) or raise ``HTTPStatusError``."""
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            status, body = exc.code, exc.read()
    if status not in expect:
        raise HTTPStatusError(method, url, status, body.decode(errors="replace"))
    return status, body


def json_lines(body: bytes) -> list[dict[str, Any]]:
    """Parse a body of one JSON object per line."""
    return [json.loads(line) for line in body.splitlines() if line.strip()]
