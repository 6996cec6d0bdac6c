"""FreePorts: ports that are free and differ from each other, released together."""

from __future__ import annotations

import socket

from gateway.netutil import FreePorts


def test_ports_taken_together_are_distinct_and_held_until_closed() -> None:
    with FreePorts() as ports:
        taken = [ports.take() for _ in range(200)]
        assert len(set(taken)) == len(taken)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:  # still held: nobody else can bind them yet
            probe.bind(("127.0.0.1", taken[0]))
            bound = True
        except OSError:
            bound = False
        finally:
            probe.close()
        assert not bound
    for port in taken[:5]:  # released: a server can listen there now
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", port))
        server.close()
