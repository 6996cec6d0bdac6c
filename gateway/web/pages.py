"""The HTML pages: static files, each behind a session check (else to the login page).

Pages are plain HTML shells that load ES modules from /static; all text comes from the
i18n dictionaries at run time, so the HTML holds no language. Static assets need no
session: they hold no data, only code and labels.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from gateway.web.context import STATIC
from gateway.web.security import COOKIE

__all__ = ["router"]

router = APIRouter()
# Only our own scripts, styles and connections: an injected tag could run nothing.
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; frame-ancestors 'none'",
}


def _page(request: Request, name: str) -> Response:
    if request.app.state.ctx.sessions.get(request.cookies.get(COOKIE)) is None:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return FileResponse(STATIC / name, headers=_HEADERS)


@router.get("/login")
async def login_page() -> Response:
    """The login form (public)."""
    return FileResponse(STATIC / "login.html", headers=_HEADERS)


@router.get("/")
async def overview_page(request: Request) -> Response:
    """Every site at a glance."""
    return _page(request, "overview.html")


@router.get("/site/{enterprise}/{site}")
async def site_page(request: Request, enterprise: str, site: str) -> Response:
    """One site's devices and points (the script reads the names from the URL)."""
    del enterprise, site
    return _page(request, "site.html")


@router.get("/alarms")
async def alarms_page(request: Request) -> Response:
    """The alarm console."""
    return _page(request, "alarms.html")


@router.get("/history")
async def history_page(request: Request) -> Response:
    """Alarm history with filters and CSV export."""
    return _page(request, "history.html")


@router.get("/report")
async def report_page(request: Request) -> Response:
    """The monthly report (printable)."""
    return _page(request, "report.html")
