"""Who is calling and what they may do: API keys (Bearer), staff accounts (Basic, or the web app's session
cookie with its CSRF header), roles, units.

Keys are 256-bit random tokens stored as SHA-256 (a fast hash is right for high-entropy secrets: nothing to
brute-force); passwords are argon2id through argon2-cffi (slow on purpose). Routes declare what they need by
type: `ReaderDep`, `UploaderDep`, `ReviewerDep`, `AdminDep` give the `Caller` or answer 401 (no or bad
credentials) / 403 (outside the role).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.credentials import (
    KEY_PREFIX,
    key_hash,
    new_key,
    new_key_identity,
    new_user_identity,
    password_matches,
    spend_password_work,
)
from api.deps import ServicesDep
from api.errors import AUTH_REQUIRED, FORBIDDEN, ApiError
from api.sessions import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, signed_in, tokens_match
from storage.access import IdentityRepository
from storage.audit import AuditEvent, record_audit
from storage.models import Identity, Role

__all__ = ["KEY_PREFIX", "key_hash", "new_key", "new_key_identity", "new_user_identity", "password_matches"]


class Permission(StrEnum):
    """One kind of thing a route does."""

    UPLOAD = "upload"
    READ = "read"
    CORRECT = "correct"
    ADMINISTER = "administer"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SCANNER: frozenset({Permission.UPLOAD}),
    Role.READER: frozenset({Permission.READ}),
    Role.REVIEWER: frozenset({Permission.READ, Permission.CORRECT}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Caller:
    """The authenticated identity behind a request."""

    identity_id: str
    label: str
    """`key:<name>` or `user:<name>`: how the audit trail names it."""
    role: Role
    unit: str | None
    """None: the whole province."""
    address: str | None

    @classmethod
    def of(cls, identity: Identity, address: str | None) -> Caller:
        """The caller an authenticated identity is, from this address."""
        return cls(identity.id, identity.label, Role(identity.role), identity.unit, address)

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def sees(self, unit: str | None) -> bool:
        """Whether a document of `unit` exists for this caller (others answer 404, not 403)."""
        return self.unit is None or self.unit == unit

    @property
    def scope(self) -> str | None:
        """The unit to filter lists and searches by (None: every unit)."""
        return self.unit


# --- the request's caller ----------------------------------------------------------------------------------


def _unauthorized(message: str) -> ApiError:
    return ApiError(message, code=AUTH_REQUIRED, headers={"WWW-Authenticate": 'Bearer realm="sohoa"'})


def get_caller(request: Request, services: ServicesDep) -> Caller:
    """The identity of `Authorization: Bearer KEY` (or Basic for a staff account), else 401."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    address = request.client.host if request.client else None
    if not credentials and SESSION_COOKIE in request.cookies:
        return _browser_caller(request, services, address)
    if not credentials:
        raise _unauthorized("send Authorization: Bearer <API key>")
    with services.db.unit_of_work() as session:
        identities = IdentityRepository(session)
        identity: Identity | None = None
        if scheme.lower() == "bearer" and len(credentials) <= 200:
            identity = identities.active_key(key_hash(credentials))
        elif scheme.lower() == "basic":
            identity = _account(identities, credentials)
        if identity is None:
            raise _unauthorized("the credentials are not valid (revoked key, wrong password, unknown scheme)")
        return Caller.of(identity, address)


def _browser_caller(request: Request, services: ServicesDep, address: str | None) -> Caller:
    """The staff account of the web app's session cookie; a request that changes something must carry the
    session's CSRF token in `X-CSRF-Token` (a cookie alone is what a forged cross-site request has)."""
    found = signed_in(services, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise _unauthorized("the session has ended: log in again")
    if request.method not in SAFE_METHODS and not tokens_match(
        request.headers.get(CSRF_HEADER), found.csrf_token
    ):
        raise ApiError("the request lacks the session's CSRF token (X-CSRF-Token)", code=FORBIDDEN)
    return Caller.of(found.identity, address)


def _account(identities: IdentityRepository, credentials: str) -> Identity | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = decoded.partition(":")
    account = identities.by_name("user", name) if colon and len(name) <= 128 else None
    if account is None or account.disabled_at is not None or not account.password_hash:
        spend_password_work(password)
        return None
    if not password_matches(account.password_hash, password):
        return None
    return account


CallerDep = Annotated[Caller, Depends(get_caller)]


def refusal(request: Request, caller: Caller, permission: Permission) -> AuditEvent:
    """The audit entry of a request refused because the caller's role lacks `permission`."""
    return AuditEvent(
        actor=caller.label,
        actor_id=caller.identity_id,
        action="auth.refused",
        outcome=FORBIDDEN,
        unit=caller.unit,
        address=caller.address,
        detail={"method": request.method, "path": request.url.path[:300], "needs": permission},
    )


def require(permission: Permission) -> object:
    """A dependency giving the caller if its role has `permission`, else 403 (recorded in the audit trail).
    Async: the check itself costs no thread-pool hop; only a refusal's audit entry goes to a thread."""

    async def check(request: Request, caller: CallerDep, services: ServicesDep) -> Caller:
        if not caller.can(permission):
            await run_in_threadpool(record_audit, services.db, refusal(request, caller, permission))
            raise ApiError(f"the role {caller.role.value!r} may not {permission.value} here", code=FORBIDDEN)
        return caller

    return Depends(check)


UploaderDep = Annotated[Caller, require(Permission.UPLOAD)]
ReaderDep = Annotated[Caller, require(Permission.READ)]
ReviewerDep = Annotated[Caller, require(Permission.CORRECT)]
AdminDep = Annotated[Caller, require(Permission.ADMINISTER)]
