"""The panel's app factory and its server, for the CLI, the demo and the tests.

``create_app`` wires one panel: store, live state, hub and (unless ``connect=False``,
for unit tests with a fake publisher) the MQTT connection, started and stopped by the
app's lifespan. ``PanelServer`` runs it under uvicorn on a thread with a socket bound
beforehand, so the caller knows the URL at once and a taken port can fall back to a
free one (the demo must start whatever else runs on 8080).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.web import api, pages
from gateway.web.auth import Sessions
from gateway.web.bus import MqttBus
from gateway.web.config import WebConfig
from gateway.web.context import STATIC, PanelContext
from gateway.web.hub import Hub
from gateway.web.panel import Panel, Publisher
from gateway.web.store import AlarmStore

__all__ = ["PanelServer", "bind_socket", "create_app", "serve_panel"]

log = logging.getLogger(__name__)


def create_app(
    config: WebConfig, *, connect: bool = True, publisher: Publisher | None = None
) -> FastAPI:
    """The ASGI app of one panel (``app.state.ctx`` holds its parts)."""
    store = AlarmStore(Path(config.state_dir) / "web.sqlite")
    panel = Panel(store)
    panel.publisher = publisher
    hub = Hub(panel.state, config.tick_s)
    ctx = PanelContext(config, panel, hub, config.keys(), Sessions(config.session_ttl_s))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ticker = asyncio.create_task(hub.run())
        bus = None
        if connect:
            bus = MqttBus(config.broker, asyncio.get_running_loop(), panel.handle)
            panel.publisher = bus
            bus.start()
        try:
            yield
        finally:
            if bus is not None:
                bus.stop()
            await Hub.cancel(ticker)
            store.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def bind_socket(host: str, port: int, fallback: bool = True) -> socket.socket:
    """A listening socket on ``port``, or on a free one when taken and ``fallback``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if not fallback or exc.errno != errno.EADDRINUSE:
            sock.close()
            raise
        log.warning("port %s is taken; the panel uses a free one", port)
        sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class PanelServer:
    """uvicorn on a thread: ``start()`` returns the URL, ``stop()`` ends it."""

    def __init__(self, config: WebConfig, port: int | None = None, fallback: bool = True) -> None:
        self.config = config
        self.app = create_app(config)
        host = config.listen.host
        self.socket = bind_socket(host, config.listen.port if port is None else port, fallback)
        self.port = int(self.socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        settings = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(settings)
        self._thread = threading.Thread(target=self._run, name="web-panel", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; the URL once uvicorn is up."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                msg = f"the panel did not start within {timeout:g} s"
                raise RuntimeError(msg)
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self.socket.close()


def serve_panel(
    config: WebConfig,
    stop_event: threading.Event,
    port: int | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> str:
    """Run the panel until ``stop_event`` is set (blocking); ``on_ready(url)`` once up."""
    server = PanelServer(config, port)
    url = server.start()
    log.info("panel at %s", url)
    if on_ready is not None:
        on_ready(url)
    try:
        stop_event.wait()
    finally:
        server.stop()
    return url
