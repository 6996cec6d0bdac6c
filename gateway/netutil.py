"""Small network helpers shared by the demo, the simulator CLI and tests."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

__all__ = ["free_port", "redact_url"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for banners and logs.

    ``mqtt://user:secret@host`` is accepted on the command line; printing it as given
    would put the broker password in the terminal scroll-back and the service logs.
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
