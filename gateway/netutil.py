"""Small network helpers shared by the demo, the simulator CLI and tests."""

from __future__ import annotations

import socket
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FreePorts", "free_port", "redact_url"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class FreePorts:
    """Free TCP ports that also differ from each other: each stays bound until ``close()``.

    Ports picked one at a time with :func:`free_port` can repeat (the kernel may hand a
    just-released port out again), and two devices of the demo once landed on one port.
    """

    def __init__(self) -> None:
        self._held: list[socket.socket] = []

    def take(self, host: str = "127.0.0.1") -> int:
        """A port free on ``host`` and not taken before from this object."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((host, 0))
        except OSError:
            sock.close()
            raise
        self._held.append(sock)
        return int(sock.getsockname()[1])

    def close(self) -> None:
        """Release every port taken (for the servers that are to listen on them)."""
        for sock in self._held:
            sock.close()
        self._held.clear()

    def __enter__(self) -> FreePorts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


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
