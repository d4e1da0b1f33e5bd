"""Signed-in browsers of the staff web app: log in with a staff account's password, a session cookie, CSRF
tokens, lockout after repeated failures, log out.

The cookie carries a random 256-bit token (HttpOnly, SameSite=Lax, Secure over HTTPS); the database keeps only
its SHA-256. Anything that changes state from a browser carries the session's CSRF token: forms in a hidden
`csrf` field, scripts in the `X-CSRF-Token` header (checked by `api.auth` for the JSON routes). The login form
itself is protected by a double-submit cookie, so no site can sign a browser in to an account of its own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from fastapi import Request, Response

from api.credentials import key_hash, password_matches, spend_password_work
from ingest.lease import aware
from ingest.services import Services
from storage.access import IdentityRepository, WebSessionRepository
from storage.audit import AuditEvent, record_audit
from storage.models import Identity, WebSession, utcnow

SESSION_COOKIE = "sohoa_session"
LOGIN_CSRF_COOKIE = "sohoa_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SEEN_EVERY = timedelta(minutes=5)
"""`seen_at` is refreshed at most this often: a page view is not a database write."""


class LoginOutcome(StrEnum):
    """What a login attempt came to (the audit action names it too)."""

    OK = "ok"
    REFUSED = "refused"
    """Unknown name, wrong password or disabled account: one answer for all, so names do not leak."""
    LOCKED = "locked"


@dataclass(frozen=True)
class SignedIn:
    """The account behind a live session cookie."""

    identity: Identity
    csrf_token: str


@dataclass(frozen=True)
class Login:
    """A login attempt's result: the new session's cookie token when it succeeded."""

    outcome: LoginOutcome
    token: str | None = None
    signed: SignedIn | None = None
    """The account and its new session's CSRF token, when it succeeded."""
    locked_minutes: int = 0


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def log_in(services: Services, name: str, password: str, *, address: str | None) -> Login:
    """Check a staff account's password; count failures and lock the account after too many in a row.
    Audited: `login.ok`, `login.refused`, `login.locked`."""
    settings = services.settings
    now = utcnow()
    with services.db.unit_of_work() as session:
        account = IdentityRepository(session).by_name("user", name[:128]) if name else None
        if account is None or account.disabled_at is not None or not account.password_hash:
            spend_password_work(password)  # an unknown name costs what a known one does
            result = Login(LoginOutcome.REFUSED)
        elif account.locked_until is not None and aware(account.locked_until) > now:
            spend_password_work(password)
            left = (aware(account.locked_until) - now).total_seconds() / 60
            result = Login(LoginOutcome.LOCKED, locked_minutes=max(1, round(left + 0.49)))
        elif not password_matches(account.password_hash, password):
            account.failed_logins = (account.failed_logins or 0) + 1
            if account.failed_logins >= settings.login_max_failures:
                account.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
                account.failed_logins = 0
                result = Login(LoginOutcome.LOCKED, locked_minutes=round(settings.login_lockout_minutes))
            else:
                result = Login(LoginOutcome.REFUSED)
        else:
            account.failed_logins, account.locked_until = 0, None
            token, csrf = new_token(), new_token()
            sessions = WebSessionRepository(session)
            sessions.purge_expired(now)
            sessions.add(
                WebSession(
                    token_hash=key_hash(token),
                    identity_id=account.id,
                    csrf_token=csrf,
                    created_at=now,
                    seen_at=now,
                    expires_at=now + timedelta(hours=settings.web_session_hours),
                    address=(address or "")[:64] or None,
                )
            )
            session.flush()
            session.expunge(account)
            result = Login(LoginOutcome.OK, token=token, signed=SignedIn(account, csrf))
        actor_id = account.id if account is not None else None
        unit = account.unit if account is not None else None
    record_audit(
        services.db,
        AuditEvent(
            actor=f"user:{name[:128]}",
            actor_id=actor_id,
            action=f"login.{result.outcome.value}",
            outcome="ok" if result.outcome is LoginOutcome.OK else f"auth.{result.outcome.value}",
            unit=unit,
            address=address,
            detail={"channel": "web"},
        ),
    )
    return result


def signed_in(services: Services, token: str | None) -> SignedIn | None:
    """The account of a session cookie, if the session is live and the account enabled."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    with services.db.unit_of_work() as session:
        found = WebSessionRepository(session).live(key_hash(token), now)
        if found is None:
            return None
        web_session, identity = found
        if now - aware(web_session.seen_at) > SEEN_EVERY:
            web_session.seen_at = now
        session.expunge(identity)
        return SignedIn(identity, web_session.csrf_token)


def log_out(services: Services, token: str | None) -> None:
    if token:
        with services.db.unit_of_work() as session:
            WebSessionRepository(session).end(key_hash(token))


def cookie_is_secure(request: Request, services: Services) -> bool:
    """Whether cookies get the Secure flag (`SOHOA_COOKIE_SECURE`)."""
    setting = services.settings.cookie_secure
    if setting == "always" or (setting == "auto" and services.settings.environment == "production"):
        return True
    if setting == "never":
        return False
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, services: Services, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(services.settings.web_session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, services),
        path="/",
    )


def login_csrf(request: Request) -> str:
    """The login form's double-submit token: the one in the browser's cookie, or a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE)
    return current if current and len(current) <= 100 else new_token()


def set_login_csrf_cookie(response: Response, request: Request, services: Services, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request, services),
        path="/login",
    )
