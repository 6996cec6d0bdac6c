"""The server's socket: a taken port falls back to a free one (the demo must start)."""

from __future__ import annotations

import socket

import pytest

from gateway.web.server import bind_socket


def test_a_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        sock = bind_socket("127.0.0.1", port)
        try:
            assert sock.getsockname()[1] not in (port, 0)
        finally:
            sock.close()
        with pytest.raises(OSError):
            bind_socket("127.0.0.1", port, fallback=False)
