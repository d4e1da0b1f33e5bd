"""What every staff web page shares: the signed-in account (`StaffDep`, or a redirect to `/login`), the role a
page needs (`page_needs`, else a 403 page in the audit trail), form CSRF checks, the language, and `render`.

Pages are Jinja2 templates under `api/web/templates`; their CSS and scripts ship in `api/web/static` (no CDN,
no build step). Scripts change things only through the JSON API, with the session's CSRF token in a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, Permission, refusal
from api.deps import ServicesDep
from api.errors import FORBIDDEN, ApiError
from api.sessions import SESSION_COOKIE, signed_in, tokens_match
from api.web.words import Language, word
from ingest.messages import error_text
from storage.audit import record_audit
from storage.models import Identity, Role

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
LANGUAGE_COOKIE = "sohoa_lang"

NAVIGATION: tuple[tuple[str, str, Permission], ...] = (
    ("/intake", "nav.intake", Permission.UPLOAD),
    ("/review", "nav.review", Permission.CORRECT),
    ("/search", "nav.search", Permission.READ),
    ("/dashboard", "nav.dashboard", Permission.READ),
    ("/admin", "nav.admin", Permission.ADMINISTER),
)
"""The menu: path, label, the permission that shows it."""


class LoginRequired(ApiError):
    """No live session: the page answers with a redirect to `/login?next=…`."""

    code = "auth.required"

    def __init__(self, next_path: str) -> None:
        super().__init__("log in first", code=self.code)
        self.next_path = next_path


class PageForbidden(ApiError):
    """Signed in, but the role lacks what the page needs: a 403 page, recorded as `auth.refused`."""

    code = FORBIDDEN

    def __init__(self, staff: Staff, permission: Permission) -> None:
        super().__init__(f"the role {staff.role.value!r} may not {permission.value} here", code=FORBIDDEN)
        self.staff = staff


@dataclass(frozen=True)
class Staff:
    """The person signed in to this browser."""

    caller: Caller
    name: str
    csrf_token: str

    @property
    def role(self) -> Role:
        return self.caller.role

    def can(self, permission: Permission | str) -> bool:
        return self.caller.can(Permission(permission))


def language_of(request: Request) -> Language:
    """The browser's choice (`/lang/en`), else the centre's setting."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in ("vi", "en"):
        return chosen  # type: ignore[return-value]
    language: Language = request.app.state.services.settings.language
    return language


def get_staff(request: Request, services: ServicesDep) -> Staff:
    """The signed-in account, else a redirect to the login page that comes back here."""
    found = signed_in(services, request.cookies.get(SESSION_COOKIE))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return staff_of(found.identity, request, found.csrf_token)


def staff_of(identity: Identity, request: Request, csrf_token: str) -> Staff:
    address = request.client.host if request.client else None
    return Staff(Caller.of(identity, address), identity.name, csrf_token)


StaffDep = Annotated[Staff, Depends(get_staff)]


def page_needs(permission: Permission) -> Any:
    """A dependency giving the signed-in staff if the role has `permission`, else the 403 page (audited)."""

    async def check(request: Request, staff: StaffDep, services: ServicesDep) -> Staff:
        if not staff.can(permission):
            await run_in_threadpool(record_audit, services.db, refusal(request, staff.caller, permission))
            raise PageForbidden(staff, permission)
        return staff

    return Depends(check)


UploaderPage = Annotated[Staff, page_needs(Permission.UPLOAD)]
ReaderPage = Annotated[Staff, page_needs(Permission.READ)]
ReviewerPage = Annotated[Staff, page_needs(Permission.CORRECT)]
AdminPage = Annotated[Staff, page_needs(Permission.ADMINISTER)]


def check_form_csrf(staff: Staff, sent: str | None) -> None:
    """A form that changes something must send back the session's token."""
    if not tokens_match(sent, staff.csrf_token):
        raise ApiError("the form lacks this session's CSRF token: reload the page", code=FORBIDDEN)


def home_of(staff: Staff) -> str:
    """Where a person lands after logging in: their main job."""
    if staff.can(Permission.CORRECT):
        return "/review"
    if staff.can(Permission.READ):
        return "/dashboard"
    return "/intake"


def render(
    request: Request, name: str, staff: Staff | None = None, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page from its template, with the words of the browser's language and the menu of the role."""
    language = language_of(request)
    menu = [(path, label) for path, label, needed in NAVIGATION if staff is not None and staff.can(needed)]

    def t(key: str, **values: Any) -> str:
        return word(key, language, **values)

    def error_words(code: str | None, message: str | None = None) -> str:
        return error_text(code, message, language, detail=False) or (code or "")

    context |= {
        "request": request,
        "staff": staff,
        "menu": menu,
        "current": request.url.path,
        "lang": language,
        "t": t,
        "error_words": error_words,
        "csrf": staff.csrf_token if staff else None,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def login_redirect(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="")
