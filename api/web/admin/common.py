"""What more than one admin screen uses: form fields, the words for refusals and done changes (`Problems`,
`done_of`), account and key rows, the unit and role choosers, and the live hooks the index counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

import api.access_admin as access
from api.access_admin import Operator
from api.auth import Caller
from api.errors import (
    IDENTITY_BAD_NAME,
    IDENTITY_EXISTS,
    IDENTITY_NOT_FOUND,
    PASSWORD_MISMATCH,
    UNIT_UNKNOWN,
    WEAK_PASSWORD,
    WEBHOOK_BAD_EVENT,
    WEBHOOK_BAD_URL,
    ApiError,
)
from api.web.base import Staff
from ingest.lease import aware
from ingest.services import Services
from storage.access import IdentityRepository, UnitRepository
from storage.models import Identity, Role, Webhook, utcnow

ROLES = tuple(Role)

Csrf = Annotated[str, Form(max_length=100)]
NameField = Annotated[str, Form(max_length=200)]
ChoiceField = Annotated[str, Form(max_length=64)]
PasswordField = Annotated[str, Form(max_length=1024)]

ERROR_WORDS: dict[str, str] = {
    IDENTITY_BAD_NAME: "admin.error.bad_name",
    IDENTITY_EXISTS: "admin.error.name_taken",
    IDENTITY_NOT_FOUND: "admin.error.not_found",
    WEAK_PASSWORD: "admin.error.weak_password",
    PASSWORD_MISMATCH: "admin.error.password_mismatch",
    UNIT_UNKNOWN: "admin.error.unit_unknown",
    WEBHOOK_BAD_URL: "admin.error.bad_url",
    WEBHOOK_BAD_EVENT: "admin.error.bad_event",
}
"""A refusal's code → the words the form shows beside its field."""

DONE_WORDS: dict[str, str] = {
    "user.create": "admin.done.user_create",
    "user.disable": "admin.done.user_disable",
    "user.unlock": "admin.done.user_unlock",
    "key.disable": "admin.done.key_disable",
    "webhook.delete": "admin.done.webhook_delete",
    "certificate.set": "certificate.done.set",
}
"""What a redirect after a change says on the page it lands on (`?done=user.create&name=…`)."""


# --- what the pages show ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityRow:
    """One account or key as a list shows it (never its password or key hash)."""

    name: str
    role: str
    unit: str | None
    unit_name: str
    created: str
    disabled: str | None
    """When it was disabled or revoked; None: active."""
    locked_until: str | None = None
    """An account locked by failed logins, until then (None: not locked now)."""
    prefix: str | None = None
    """A key's first characters, to tell keys apart."""
    is_me: bool = False


@dataclass(frozen=True)
class Secret:
    """A key or hook secret just made: shown once on the page that answers its creation."""

    name: str
    value: str


@dataclass
class Problems:
    """What is wrong with a form: field → word key (`notice` for the page as a whole)."""

    fields: dict[str, str] = field(default_factory=dict)

    def check(self, name: str, step: Callable[[], object]) -> None:
        """Run a check of `api.access_admin`; its refusal becomes this field's sentence."""
        try:
            step()
        except ApiError as exc:
            self.fields[name] = ERROR_WORDS.get(exc.code, "admin.error.invalid")

    def __bool__(self) -> bool:
        return bool(self.fields)


def action_status(problems: Problems) -> int:
    """404 when a row's button named something absent (or outside the admin's unit), else 422."""
    return 404 if problems.fields.get("notice") == ERROR_WORDS[IDENTITY_NOT_FOUND] else 422


def when(moment: datetime | None) -> str:
    """A stored moment (UTC) as the pages show it."""
    return f"{aware(moment):%Y-%m-%d %H:%M}" if moment else ""


def operator_of(staff: Staff) -> Operator:
    """The admin at this browser, as the audit trail names them."""
    return Operator(staff.caller.label, staff.caller.identity_id, staff.caller.address)


def done_of(request: Request) -> tuple[str, str] | None:
    """The change a redirect reports (its word key and the name it was about), if any."""
    done = DONE_WORDS.get(request.query_params.get("done", ""))
    return (done, request.query_params.get("name", "")[:200]) if done else None


def done_redirect(path: str, action: str, name: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': action, 'name': name})}", status_code=303)


# --- accounts and keys ------------------------------------------------------------------------------------


def unit_names(services: Services) -> dict[str, str]:
    with services.db.unit_of_work() as session:
        return {unit.code: unit.name for unit in UnitRepository(session).all()}


def unit_choices(staff: Staff, names: dict[str, str]) -> list[tuple[str, str | None]]:
    """The units a new account or key may go in: code and name ("" and None: the province, for the
    province's admins only)."""
    if staff.caller.unit is not None:
        return [(staff.caller.unit, names.get(staff.caller.unit, staff.caller.unit))]
    return [("", None), *names.items()]


def identity_row(identity: Identity, names: dict[str, str], staff: Staff) -> IdentityRow:
    now = utcnow()
    locked = identity.locked_until if identity.locked_until and aware(identity.locked_until) > now else None
    return IdentityRow(
        name=identity.name,
        role=identity.role,
        unit=identity.unit,
        unit_name=names.get(identity.unit, identity.unit) if identity.unit else "",
        created=when(identity.created_at),
        disabled=when(identity.disabled_at) or None,
        locked_until=when(locked) or None,
        prefix=f"{identity.key_prefix}…" if identity.key_prefix else None,
        is_me=identity.id == staff.caller.identity_id,
    )


def identity_rows(services: Services, staff: Staff, kind: str) -> list[IdentityRow]:
    """The accounts or keys this admin manages: all of them, or its unit's."""
    names = unit_names(services)
    with services.db.unit_of_work() as session:
        identities = IdentityRepository(session).all(kind)
        return [identity_row(i, names, staff) for i in identities if staff.caller.sees(i.unit)]


def role_of(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


def chosen_unit(services: Services, staff: Staff, sent: str, problems: Problems) -> str | None:
    """The unit a new account or key goes in ("": the province); an admin of a unit may pick only its own."""
    unit = sent.strip() or None
    if staff.caller.unit is not None and unit != staff.caller.unit:
        problems.fields["unit"] = "admin.error.unit_outside"
        return unit
    problems.check("unit", lambda: access.check_unit(services, unit))
    return unit


def chosen_role(sent: str, problems: Problems) -> Role:
    role = role_of(sent)
    if role is None:
        problems.fields["role"] = "admin.error.bad_role"
    return role or Role.READER


# --- webhooks ---------------------------------------------------------------------------------------------


def live_hooks(session: Session, caller: Caller) -> list[Webhook]:
    """Every hook not deleted in the admin's scope (what `GET /api/v1/webhooks` lists for an admin)."""
    statement = select(Webhook).where(Webhook.disabled_at.is_(None)).order_by(Webhook.created_at)
    return [hook for hook in session.scalars(statement) if caller.sees(hook.unit)]
