"""HTTP answers sorted into the classes of :mod:`gateway.push.channels.base`.

Shared by every HTTP channel type, so webhook and mem-http treat 429, 5xx, 401/403 and
other 4xx the same way, and ``Retry-After`` (seconds or an HTTP date) is honoured.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING

from gateway.httputil import retry_after_s
from gateway.push.channels.base import AuthRefused, Rejected, RetryLater, TimedOut

if TYPE_CHECKING:
    import httpx

__all__ = ["avoid_sniffio_search", "post"]

_RETRY_STATUS = (408, 425, 429)
_AUTH_STATUS = (401, 403)


def avoid_sniffio_search() -> None:
    """Mark a missing ``sniffio`` as missing once, for httpcore's sake.

    httpcore 1.0 runs ``import sniffio`` on every request; without the package installed
    each attempt searches sys.path again (about 0.4 ms, a third of a loopback request).
    A ``None`` entry in sys.modules makes the failed import instant; nothing changes when
    sniffio is installed.
    """
    if importlib.util.find_spec("sniffio") is None:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST ``body``; return on 2xx, else raise the error class for the answer."""
    import httpx  # noqa: PLC0415 - the CLI must start without it

    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        msg = f"timeout: {type(exc).__name__}"
        raise TimedOut(msg) from None
    except httpx.HTTPError as exc:
        msg = f"connection error: {type(exc).__name__}: {exc}"
        raise RetryLater(msg) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status}: {response.text[:300].strip()}"
    wait = retry_after_s(response.headers.get("retry-after"))
    if status in _AUTH_STATUS:
        raise AuthRefused(reason, wait)
    if status in _RETRY_STATUS or status >= 500:
        raise RetryLater(reason, wait)
    raise Rejected(reason)
