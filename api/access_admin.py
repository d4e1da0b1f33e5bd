"""Managing who may use sohoa, shared by `sohoa users|keys` and the admin web pages: the checks on names,
passwords and units, adding a key or account, disabling or unlocking one. Each change is audited as the
`Operator` who made it; refusals are `ApiError`s with a stable code (the CLI prints them, the pages show a
sentence per field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from api.errors import (
    IDENTITY_BAD_NAME,
    IDENTITY_EXISTS,
    IDENTITY_NOT_FOUND,
    PASSWORD_MISMATCH,
    UNIT_UNKNOWN,
    WEAK_PASSWORD,
    ApiError,
)
from ingest.services import Services
from storage.access import IdentityRepository, UnitRepository, WebSessionRepository
from storage.audit import AuditEvent, record_audit
from storage.models import Identity, Role, utcnow

NAME = re.compile(r"^[\w.@-]{1,128}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Operator:
    """Who makes a change, as the audit trail names them (`cli:<os user>`, or an admin's `user:<name>`)."""

    label: str
    identity_id: str | None = None
    address: str | None = None


def audit_change(
    services: Services, operator: Operator, action: str, *, unit: str | None = None, **detail: object
) -> None:
    """One audit entry for a change `operator` made (its own transaction, after the change committed)."""
    event = AuditEvent(
        actor=operator.label,
        actor_id=operator.identity_id,
        action=action,
        unit=unit,
        address=operator.address,
        detail=dict(detail),
    )
    record_audit(services.db, event)


def check_name(name: str) -> str:
    """A login or key name people can type and the audit trail can quote, else `identity.bad_name`."""
    if not NAME.match(name):
        raise ApiError(f"{name!r}: letters, digits, '.', '@', '-', '_' (at most 128)", code=IDENTITY_BAD_NAME)
    return name


def check_password(password: str) -> str:
    """Long enough, else `identity.weak_password`."""
    if len(password) < MIN_PASSWORD:
        raise ApiError(f"the password needs at least {MIN_PASSWORD} characters", code=WEAK_PASSWORD)
    return password


def check_same_password(first: str, again: str) -> str:
    """The password typed twice, the same both times, else `identity.password_mismatch`."""
    if first != again:
        raise ApiError("the two passwords differ", code=PASSWORD_MISMATCH)
    return first


def check_unit(services: Services, unit: str | None) -> str | None:
    """The unit if it exists (None stays None: the province), else `unit.unknown`."""
    if unit is None:
        return None
    with services.db.unit_of_work() as session:
        if UnitRepository(session).get(unit) is None:
            raise ApiError(
                f'no unit {unit!r}: create it first with `sohoa units create {unit} --name "…"`',
                code=UNIT_UNKNOWN,
            )
    return unit


def default_key_name(role: Role) -> str:
    """The name of a key made without one: its role and the moment, e.g. `reader-20250101120000`."""
    return f"{role.value}-{utcnow():%Y%m%d%H%M%S}"


def add_identity(services: Services, identity: Identity, taken: str, operator: Operator) -> None:
    """Store a new key or account (refused with `taken` when its name is in use) and audit it."""
    try:
        with services.db.unit_of_work() as session:
            IdentityRepository(session).add(identity)
    except IntegrityError as exc:
        raise ApiError(taken, code=IDENTITY_EXISTS) from exc
    audit_change(
        services,
        operator,
        f"{identity.kind}.create",
        unit=identity.unit,
        name=identity.name,
        role=identity.role,
        id=identity.id,
    )


def disable_identity(
    services: Services, kind: str, name: str, operator: Operator, *, scope: str | None = None
) -> None:
    """Revoke a key or disable an account (its web sessions end too); `scope`: only one of this unit.
    Disabling twice is no error (the first moment stays), and both are audited."""
    with services.db.unit_of_work() as session:
        identity = _find(IdentityRepository(session), kind, name, scope)
        if identity.disabled_at is None:
            identity.disabled_at = utcnow()
        if kind == "user":
            WebSessionRepository(session).end_all_of(identity.id)
        unit = identity.unit
    audit_change(services, operator, f"{kind}.disable", unit=unit, name=name)


def unlock_account(services: Services, name: str, operator: Operator, *, scope: str | None = None) -> None:
    """Lift the lock that repeated failed logins put on an account, before it runs out by itself."""
    with services.db.unit_of_work() as session:
        account = _find(IdentityRepository(session), "user", name, scope)
        account.failed_logins, account.locked_until = 0, None
        unit = account.unit
    audit_change(services, operator, "user.unlock", unit=unit, name=name)


def _find(identities: IdentityRepository, kind: str, name: str, scope: str | None) -> Identity:
    """The key or account named `name`; one outside `scope` is as absent as one that does not exist."""
    identity = identities.by_name(kind, name)
    if identity is None or (scope is not None and identity.unit != scope):
        raise ApiError(f"no {kind} named {name!r}", code=IDENTITY_NOT_FOUND)
    return identity
