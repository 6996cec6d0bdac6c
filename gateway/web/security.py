"""Request guards: session, role, CSRF token and Origin, applied on the server.

Pages without a session redirect to the login page; APIs and the event stream answer
401. Every state-changing request (POST) must come from our own origin (the ``Origin``
header, or ``Referer`` when a browser omits it, equal to this server's scheme and host
or one of the configured ``origins``) and carry the session's CSRF token in
``X-CSRF-Token``; the cookie itself is HttpOnly and SameSite=Strict. Hiding a button in
the page is a courtesy; these checks are the rule.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlparse

from fastapi import HTTPException, Request

from gateway.web.auth import Session
from gateway.web.config import Role

__all__ = ["COOKIE", "check_origin", "require_role", "require_session", "require_write"]

COOKIE = "hg_session"


def _ctx_sessions(request: Request) -> Session | None:
    return request.app.state.ctx.sessions.get(request.cookies.get(COOKIE))  # type: ignore[no-any-return]


def require_session(request: Request) -> Session:
    """The caller's session, or 401."""
    session = _ctx_sessions(request)
    if session is None:
        raise HTTPException(401, "log in first")
    return session


def check_origin(request: Request) -> None:
    """403 unless the request comes from this panel's own origin (or a configured one)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        referer = urlparse(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    allowed = {own, *request.app.state.ctx.config.origins}
    if origin not in allowed:
        raise HTTPException(403, "cross-origin request refused")


def require_write(request: Request) -> Session:
    """Session + Origin + CSRF token: the guard of every state-changing request."""
    session = require_session(request)
    check_origin(request)
    token = request.headers.get("x-csrf-token", "")
    if not secrets.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(403, "missing or wrong CSRF token")
    return session


def require_role(session: Session, role: Role) -> None:
    """403 unless ``session`` has at least ``role``."""
    if not session.may(role):
        raise HTTPException(403, f"role {session.role.value} may not do this (needs {role.value})")
