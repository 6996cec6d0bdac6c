"""Free loopback ports and polling with a deadline.

Servers are started on ports the kernel hands out (bind to port 0), so test runs never clash
with each other or with a broker/database that apt started on its default port. Readiness is
polled, never slept on: a fixed sleep is either too short on a loaded CI machine or wastes
seconds on a fast one.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

__all__ = ["free_port", "http_status", "tcp_open", "wait_for"]

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free right now on ``host``.

    The socket is closed before the server binds, so another process could in theory take the
    port in between; on loopback with ephemeral ports that race is rare enough for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns a truthy value and return that value.

    Exceptions from the predicate propagate, so a predicate can fail fast (for example when
    the server process has already exited). Raises ``TimeoutError`` naming ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout:g} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(interval)


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """Return the HTTP status of a GET on ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except OSError:
        return None
