"""The staff web app: server-rendered pages beside the API, one module per screen.

`install_web(app)` mounts the bundled static files, the pages' routers, the answers for a visitor who is not
signed in (redirect to `/login`) or whose role lacks a page (403 page), and the pages' security headers.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web import (
    admin,
    batches,
    certificate,
    dashboard,
    dossiers,
    intake,
    login,
    previews,
    review,
    search,
)
from api.web.base import STATIC_DIR, LoginRequired, PageForbidden, login_redirect, render

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
SCREENS = (login, intake, batches, review, search, dossiers, previews, dashboard, certificate, admin)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for screen in SCREENS:
        app.include_router(screen.router)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_redirect(exc.next_path), status_code=303)

    @app.exception_handler(PageForbidden)
    async def forbidden_page(request: Request, exc: PageForbidden) -> Response:
        return render(request, "forbidden.html", exc.staff, status_code=403)

    app.add_middleware(PageHeaders)


class PageHeaders:
    """Security headers on every HTML answer (pure ASGI: API streams pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in PAGE_HEADERS.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
