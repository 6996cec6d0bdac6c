"""JSON API and the event stream of the panel (every route needs a session but login).

Routes are ``async`` so they run on the event loop, next to the live state and the
store, with no locking. Each action is logged with the user who asked for it and the
edge's answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from gateway.web.actions import REQUIRED_ROLE, ActionRequest
from gateway.web.auth import Session, verify_password
from gateway.web.context import LANGUAGES, PanelContext
from gateway.web.history import BadParameter, csv_text, parse_history_query
from gateway.web.panel import CommandTimeout
from gateway.web.report import monthly_report, report_csv_rows
from gateway.web.report_html import report_html
from gateway.web.security import COOKIE, check_origin, require_role, require_session, require_write

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")
Reader = Annotated[Session, Depends(require_session)]
Writer = Annotated[Session, Depends(require_write)]


def _ctx(request: Request) -> PanelContext:
    ctx: PanelContext = request.app.state.ctx
    return ctx


class Login(BaseModel):
    """The login form."""

    user: str = Field(max_length=64)
    password: str = Field(max_length=256)


@router.post("/login")
async def login(form: Login, request: Request) -> Response:
    """Check the password (rate-limited per address and user); set the session cookie."""
    check_origin(request)
    ctx = _ctx(request)
    keys = (f"ip:{request.client.host if request.client else '?'}", f"user:{form.user}")
    wait = ctx.limiter.retry_after(*keys)
    if wait > 0:
        log.warning("login rate limit for %s", keys)
        headers = {"Retry-After": str(int(wait) + 1)}
        return JSONResponse({"detail": "too many failed logins"}, 429, headers=headers)
    user = ctx.config.user(form.user)
    if not verify_password(user, form.password) or user is None:
        ctx.limiter.failed(*keys)
        log.warning("failed login for user %r from %s", form.user[:64], keys[0])
        raise HTTPException(401, "wrong user or password")
    ctx.limiter.succeeded(*keys)
    session = ctx.sessions.create(user)
    log.info("login: %s (%s)", user.name, user.role.value)
    response = JSONResponse({"user": user.name, "role": user.role.value, "csrf": session.csrf})
    response.set_cookie(
        COOKIE, session.token, max_age=int(ctx.config.session_ttl_s), httponly=True,
        samesite="strict", secure=ctx.config.secure_cookie, path="/",
    )  # fmt: skip
    return response


@router.post("/logout")
async def logout(session: Writer, request: Request) -> Response:
    """End the session."""
    _ctx(request).sessions.end(session.token)
    log.info("logout: %s", session.user)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/me")
async def me(session: Reader, request: Request) -> dict[str, Any]:
    """Who is logged in, the CSRF token and the panel's default language."""
    ctx = _ctx(request)
    return {
        "user": session.user, "role": session.role.value, "csrf": session.csrf,
        "language": ctx.config.language, "has_key": session.user in ctx.keys,
    }  # fmt: skip


@router.get("/overview")
async def overview(_s: Reader, request: Request) -> dict[str, Any]:
    """Every site's overview row."""
    state = _ctx(request).panel.state
    return {"sites": [state.overview_row(key) for key in sorted(state.sites)]}


@router.get("/site/{enterprise}/{site}")
async def site_detail(enterprise: str, site: str, _s: Reader, request: Request) -> dict[str, Any]:
    """A site's manifest, its overview row and every point's value and sparkline."""
    state = _ctx(request).panel.state
    if (enterprise, site) not in state.sites:
        raise HTTPException(404, "unknown site")
    known = state.sites[(enterprise, site)]
    prefix = f"{enterprise}/{site}/"
    points = {
        key: {"row": state.point_row(key), "spark": list(p.spark)}
        for key, p in state.points.items()
        if key.startswith(prefix)
    }
    manifest = known.manifest.to_dict() if known.manifest else None
    return {"site": state.overview_row((enterprise, site)), "manifest": manifest,
            "points": points, "devices_ok": known.devices_ok}  # fmt: skip


@router.get("/alarms")
async def alarms(_s: Reader, request: Request) -> dict[str, Any]:
    """The console's active alarms, in console order."""
    return {"alarms": [row.to_dict() for row in _ctx(request).panel.state.active()]}


@router.post("/alarms/action")
async def action(body: ActionRequest, session: Writer, request: Request) -> Response:
    """Sign and send an action as the user; answer with the edge's reply."""
    ctx = _ctx(request)
    require_role(session, REQUIRED_ROLE[body.action])
    key = ctx.keys.get(session.user)
    if key is None:
        raise HTTPException(403, f"no operator key configured for {session.user}")
    log.info("action %s on %s by %s", body.action, body.target(), session.user)
    try:
        reply = await ctx.panel.command(body, session.user, key, ctx.config.command_timeout_s)
    except CommandTimeout as exc:
        log.warning("action %s on %s by %s: %s", body.action, body.target(), session.user, exc)
        return JSONResponse({"ok": False, "error": {"code": "timeout", "message": str(exc)}}, 504)
    outcome = "accepted" if reply.ok else f"refused ({reply.error.code if reply.error else '?'})"
    log.info("action %s on %s by %s: %s", body.action, body.target(), session.user, outcome)
    return JSONResponse(reply.model_dump(mode="json"), 200 if reply.ok else 409)


@router.get("/events")
async def events(_s: Reader, request: Request) -> EventSourceResponse:
    """Server-sent events: one ``batch`` per tick."""
    hub = _ctx(request).hub

    async def stream() -> AsyncIterator[dict[str, str]]:
        queue = hub.subscribe()
        try:
            yield {"event": "hello", "data": json.dumps({"t": round(time.time() * 1000)})}
            while True:
                yield {"event": "batch", "data": await queue.get()}
        finally:
            hub.unsubscribe(queue)

    return EventSourceResponse(stream(), ping=15)


def _query(request: Request) -> Any:
    try:
        return parse_history_query(
            request.query_params, _ctx(request).config.disposition_due_h * 3600
        )
    except BadParameter as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/history")
async def history(_s: Reader, request: Request) -> dict[str, Any]:
    """One page of alarm activations matching the filters."""
    rows, total = _ctx(request).panel.store.history(_query(request))
    return {"rows": rows, "total": total}


@router.get("/history.csv")
async def history_csv(_s: Reader, request: Request) -> Response:
    """Every activation matching the filters (up to 100,000) as CSV."""
    ctx = _ctx(request)
    query = _query(request)
    rows, _ = ctx.panel.store.history(replace(query, limit=100_000, offset=0))
    text = csv_text(rows, ctx.labels(request.query_params.get("lang")))
    headers = {"Content-Disposition": 'attachment; filename="alarm-history.csv"'}
    return Response(text.encode(), media_type="text/csv; charset=utf-8", headers=headers)


def _report(request: Request) -> dict[str, Any]:
    ctx, params = _ctx(request), request.query_params
    enterprise, site = params.get("enterprise", ""), params.get("site", "")
    if (enterprise, site) not in ctx.panel.state.sites:
        raise HTTPException(404, "unknown site")
    month = params.get("month") or time.strftime("%Y-%m", time.gmtime())
    due_s = ctx.config.disposition_due_h * 3600
    try:
        return monthly_report(ctx.panel.store, enterprise, site, month, time.time(), due_s)
    except ValueError:
        raise HTTPException(400, "month: expected YYYY-MM") from None


@router.get("/report")
async def report(_s: Reader, request: Request) -> dict[str, Any]:
    """The monthly report of a site as JSON (the page draws it)."""
    return _report(request)


@router.get("/report.html")
async def report_page_download(_s: Reader, request: Request) -> Response:
    """The monthly report as one printable HTML file (a download)."""
    data = _report(request)
    language = request.query_params.get("lang") or ""
    labels = _ctx(request).labels(language)
    text = report_html(data, labels, language if language in LANGUAGES else "zh-CN")
    name = f"report-{data['site']}-{data['month']}.html"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text.encode(), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/report.csv")
async def report_csv(_s: Reader, request: Request) -> Response:
    """The monthly report as CSV (label, value)."""
    data = _report(request)
    labels = _ctx(request).labels(request.query_params.get("lang"))
    lines = ["\ufeff" + f"{labels.get('report.title', 'report')},{data['site']} {data['month']}"]
    for key, value in report_csv_rows(data):
        name, _, rest = key.partition("|")
        label = labels.get(name, name) + (f" {rest}" if rest else "")
        lines.append(f'"{label.replace(chr(34), chr(39))}",{value}')
    headers = {"Content-Disposition": f'attachment; filename="report-{data["month"]}.csv"'}
    return Response(
        "\r\n".join(lines).encode(), media_type="text/csv; charset=utf-8", headers=headers
    )
