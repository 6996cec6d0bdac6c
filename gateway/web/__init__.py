"""The live panel for safety officers (central side: it reads MQTT, never the edge).

Package map::

    config     WebConfig, users and roles, operator keys file (load_web_config)
    auth       argon2id passwords, server-side sessions, login rate limit
    security   session / role / CSRF / Origin guards
    bus        the MQTT connection (paho-mqtt, subscriptions, publish)
    store      SQLite alarm history, de-duplicated by event_id
    state      live sites, points (with sparkline buckets) and active alarms
    panel      MQTT messages -> store and state; signed commands and their replies
    actions    console actions -> signed operator commands (role rules)
    hub        per-tick SSE batches to every page
    history    history filters and CSV; report: the monthly report
    api, pages routes; server: create_app, PanelServer, serve_panel; demo: demo_config
    static/    HTML, ES modules, CSS and the i18n dictionaries (no build step)

For the demo: ``config, login = demo_config(broker_url, state_dir)`` then
``server = PanelServer(config); url = server.start()`` (``server.stop()`` at the end);
give ``login.operator_keys`` to the edge so the panel's commands verify.
"""

from gateway.web.config import Role, User, WebConfig, load_web_config
from gateway.web.demo import DemoLogin, demo_config
from gateway.web.server import PanelServer, create_app, serve_panel

__all__ = [
    "DemoLogin",
    "PanelServer",
    "Role",
    "User",
    "WebConfig",
    "create_app",
    "demo_config",
    "load_web_config",
    "serve_panel",
]
