"""/login, /logout, / and /lang/{code}: signing in and out of the staff web app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginOutcome,
    log_in,
    log_out,
    login_csrf,
    set_login_csrf_cookie,
    set_session_cookie,
    signed_in,
    tokens_match,
)
from api.web.base import (
    LANGUAGE_COOKIE,
    StaffDep,
    check_form_csrf,
    home_of,
    language_of,
    render,
    staff_of,
)
from api.web.words import word

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """A place on this site to go back to after logging in (never another site: `//evil`, `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target[:500]


def _login_page(
    request: Request, services: ServicesDep, *, next_path: str | None, message: str | None, status: int = 200
) -> HTMLResponse:
    token = login_csrf(request)
    response = render(
        request,
        "login.html",
        None,
        status_code=status,
        next_path=next_path or "",
        message=message,
        login_csrf=token,
        username=request.query_params.get("username", "")[:128],
    )
    set_login_csrf_cookie(response, request, services, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    """The login form; a browser already signed in goes straight on."""
    found = signed_in(services, request.cookies.get(SESSION_COOKIE))
    if found is not None:
        staff = staff_of(found.identity, request, found.csrf_token)
        return RedirectResponse(safe_next(next) or home_of(staff), status_code=303)
    message = request.query_params.get("message")
    shown = word(f"login.{message}", language_of(request)) if message in ("logged_out",) else None
    return _login_page(request, services, next_path=safe_next(next), message=shown)


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the password; on success a new session cookie (never the one the browser had) and a redirect."""
    language = language_of(request)
    if not tokens_match(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request, services, next_path=safe_next(next), message=word("login.expired", language), status=403
        )
    address = request.client.host if request.client else None
    result = await run_in_threadpool(log_in, services, username.strip(), password, address=address)
    if result.outcome is LoginOutcome.OK and result.token and result.signed:
        signed = result.signed
        target = safe_next(next) or home_of(staff_of(signed.identity, request, signed.csrf_token))
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, request, services, result.token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response
    if result.outcome is LoginOutcome.LOCKED:
        message = word("login.locked", language, minutes=result.locked_minutes)
    else:
        message = word("login.refused", language)
    return _login_page(request, services, next_path=safe_next(next), message=message, status=401)


@router.post("/logout")
def logout(
    request: Request, services: ServicesDep, staff: StaffDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    check_form_csrf(staff, csrf)
    log_out(services, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login?message=logged_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(staff: StaffDep) -> Response:
    return RedirectResponse(home_of(staff), status_code=303)


@router.get("/lang/{code}")
def choose_language(code: str, request: Request) -> Response:
    """Switch the pages' language for this browser, and go back where the person was."""
    back = safe_next(request.query_params.get("back")) or "/"
    response = RedirectResponse(back, status_code=303)
    if code in ("vi", "en"):
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
