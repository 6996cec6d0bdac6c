"""The whole pipeline for browser tests: Mosquitto, simulator, edge agent, panel, Chromium.

Started once per module (it takes a few seconds) and shared by the tests in order; each
test waits for what it needs instead of assuming what an earlier one left behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from gateway.netutil import free_port
from gateway.web import PanelServer
from gateway.web.config import load_web_config
from tests.harness import Mosquitto
from tests.harness.cli_process import CliProcess as Process
from tests.harness.waiting import wait_for
from tests.unit.web.factory import PASSWORD, write_config

ENTERPRISE, SITE = "e2e-chem", "tank-farm-1"


@dataclass
class Stack:
    """Everything a browser test talks to."""

    url: str
    browser: Browser
    shots: Path
    edge: Process
    broker: Mosquitto
    server: PanelServer
    errors: list[str] = field(default_factory=list)

    def restart_panel(self) -> None:
        """Stop the panel and start a new one on the same port (same config and store)."""
        port = self.server.port
        self.server.stop()
        self.server = PanelServer(self.server.config, port=port, fallback=False)
        self.server.start()

    def login(self, user: str, path: str = "/") -> Page:
        """A new browser context logged in as ``user``, on the page at ``path``."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{user}: {exc}"))
        page.on("console", lambda m: self._console(user, m))
        page.goto(f"{self.url}{path}")
        page.wait_for_url(f"**/login?next={path}")
        page.wait_for_selector("#submit:not(:empty)")  # labels loaded
        if user == "eve":
            self.shot(page, "login")
        page.fill("#user", user)
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.wait_for_selector("body[data-ready='1']")
        return page

    def _console(self, user: str, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{user}: {message.text} at {message.location.get('url')}")

    def shot(self, page: Page, name: str) -> None:
        """Save a screenshot of ``page`` as ``name``.png in the artefact folder."""
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def _site_file(path: Path) -> Path:
    path.write_text(
        f"enterprise: {ENTERPRISE}\nsite: {SITE}\ndevices:\n"
        "  - name: gas-01\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.25\n"
        "  - name: gas-02\n    profile: generic-combustible-gas\n"
        f"    tcp: {{host: 127.0.0.1, port: {free_port()}}}\n    poll_interval_s: 0.5\n",
        encoding="utf-8",
    )
    return path


def screenshot_dir(base: Path) -> Path:
    """$HAZARD_ARTIFACTS/web-screenshots when set, else a folder of the test run."""
    root = Path(os.environ.get("HAZARD_ARTIFACTS", base))
    folder = root / "web-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def running_stack(tmp: Path, broker: Mosquitto) -> Iterator[Stack]:
    """Start simulator, edge, panel and Chromium; stop them all afterwards."""
    site = _site_file(tmp / "site.yaml")
    config = load_web_config(write_config(tmp, broker_url=broker.url))
    persistent = config.broker.model_copy(update={"client_id": "web-e2e"})
    config = config.model_copy(update={"broker": persistent})
    keys = str(config.operator_keys.file if config.operator_keys else "")
    simulator = Process("simulate", "--site", str(site), "--scenario", "gas-leak")
    procs: list[Any] = [simulator]
    server: PanelServer | None = None
    try:
        wait_for(lambda: any("READY" in line for line in simulator.lines), 30, "simulator READY")
        edge = Process(
            "edge",
            "--site",
            str(site),
            "--mqtt",
            broker.url,
            "--state-dir",
            str(tmp / "edge-state"),
            "--operator-keys",
            keys,
            "--status-every",
            "2",
        )
        procs.append(edge)
        server = PanelServer(config, port=0)
        url = server.start()
        chromium = shutil.which("chromium")
        assert chromium, "needs Debian's chromium (apt-get install chromium)"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                stack = Stack(url, browser, screenshot_dir(tmp), edge, broker, server)
                yield stack
                server = stack.server
            finally:
                browser.close()
    finally:
        if server is not None:
            server.stop()
        for proc in reversed(procs):
            proc.stop()
