"""/admin: the administrators' pages — staff accounts, API keys, webhooks and the audit trail, counted on
the index. Accounts and keys change through `api.access_admin` (the checks and audit entries of
`sohoa users|keys`), webhooks by the rules and action names of `/api/v1/webhooks`. An admin of a unit sees
and changes only its unit's identities, hooks and audit entries, as the API scopes them.

Forms carry the session's CSRF token and answer a redirect (303) on success, or the page again with a
sentence per field (422). The one exception is a new key's or hook's secret: it is shown once, in the answer
to the POST, because a redirect would have to carry it in a URL or keep it on the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from uuid import uuid4

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import api.access_admin as access
from api.access_admin import MIN_PASSWORD, Operator
from api.auth import Caller
from api.credentials import new_key_identity, new_user_identity
from api.deps import ServicesDep
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
from api.routes.webhooks import check_hook
from api.web.base import AdminPage, Staff, check_form_csrf, render
from ingest.lease import aware
from ingest.services import Services
from ingest.webhooks import EVENTS
from storage.access import AuditFilter, AuditRepository, IdentityRepository, UnitRepository
from storage.audit import AuditCheck, AuditEvent, record_audit, verify_audit
from storage.models import AuditEntry, Identity, Role, Webhook, WebhookDelivery, utcnow

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
RECENT_DELIVERIES = 5
SHOWN_PROBLEMS = 100
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
class DeliveryRow:
    """One event sent (or being sent) to a hook."""

    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created: str


@dataclass(frozen=True)
class HookRow:
    """A registered webhook and its latest deliveries (never its secret)."""

    id: str
    url: str
    events: list[str]
    unit: str | None
    created: str
    deliveries: list[DeliveryRow]


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as the log page shows it."""

    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    document_id: str | None
    dossier_code: str | None
    unit: str | None
    address: str | None
    detail: str


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


# --- index ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """What the index says of each section, in this admin's scope."""

    accounts: int
    """Active staff accounts."""
    locked: int
    """Active accounts locked by failed logins now."""
    keys: int
    """API keys not revoked."""
    webhooks: int
    audit: int
    """Audit entries."""


@router.get("/admin", response_class=HTMLResponse)
def admin_index(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """The sections, each with how many things it holds in this admin's scope."""
    accounts = identity_rows(services, staff, "user")
    keys = identity_rows(services, staff, "key")
    with services.db.unit_of_work() as session:
        hooks = len(live_hooks(session, staff.caller))
        entries = audit_count(session, staff.caller.scope)
    counts = Counts(
        accounts=sum(1 for a in accounts if not a.disabled),
        locked=sum(1 for a in accounts if a.locked_until and not a.disabled),
        keys=sum(1 for k in keys if not k.disabled),
        webhooks=hooks,
        audit=entries,
    )
    return render(request, "admin_index.html", staff, counts=counts)


def audit_count(session: Session, scope: str | None) -> int:
    statement = select(func.count()).select_from(AuditEntry)
    if scope is not None:
        statement = statement.where(AuditEntry.unit == scope)
    return int(session.scalar(statement) or 0)


# --- accounts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountForm:
    """What the new-account form sent (its passwords never go back to the page)."""

    name: str = ""
    role: str = Role.REVIEWER.value
    unit: str = ""


def accounts_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    form: AccountForm | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = unit_names(services)
    return render(
        request,
        "admin_accounts.html",
        staff,
        status_code=status_code,
        accounts=identity_rows(services, staff, "user"),
        roles=ROLES,
        units=unit_choices(staff, names),
        form=form or AccountForm(unit=staff.caller.unit or ""),
        problems=(problems or Problems()).fields,
        done=done_of(request),
        min_password=MIN_PASSWORD,
    )


@router.get("/admin/accounts", response_class=HTMLResponse)
def list_accounts(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """Staff accounts with their state, and the form to make one."""
    return accounts_page(request, services, staff)


@router.post("/admin/accounts", response_class=HTMLResponse)
def create_account(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    csrf: Csrf = "",
    name: NameField = "",
    role: ChoiceField = "",
    unit: ChoiceField = "",
    password: PasswordField = "",
    again: PasswordField = "",
) -> Response:
    """Make an account with the checks of `sohoa users create`; every problem is shown beside its field."""
    check_form_csrf(staff, csrf)
    form = AccountForm(name.strip(), role, unit)
    problems = Problems()
    problems.check("name", lambda: access.check_name(form.name))
    chosen = chosen_role(role, problems)
    chosen_in = chosen_unit(services, staff, unit, problems)
    problems.check("password", lambda: access.check_password(password))
    problems.check("again", lambda: access.check_same_password(password, again))
    if not problems:
        identity = new_user_identity(form.name, chosen, chosen_in, password)
        taken = f"an account named {form.name!r} exists already"
        problems.check("name", lambda: access.add_identity(services, identity, taken, operator_of(staff)))
    if problems:
        return accounts_page(request, services, staff, form=form, problems=problems, status_code=422)
    return done_redirect("/admin/accounts", "user.create", form.name)


@router.post("/admin/accounts/disable", response_class=HTMLResponse)
def disable_account(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Disable an account: it logs in no more, and its open sessions end now. Never one's own."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    if name == staff.name:
        problems.fields["notice"] = "admin.error.self"
    else:
        problems.check(
            "notice",
            lambda: access.disable_identity(
                services, "user", name, operator_of(staff), scope=staff.caller.scope
            ),
        )
    if problems:
        return accounts_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/accounts", "user.disable", name)


@router.post("/admin/accounts/unlock", response_class=HTMLResponse)
def unlock_account(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Let an account locked by failed logins log in again now."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    problems.check(
        "notice",
        lambda: access.unlock_account(services, name, operator_of(staff), scope=staff.caller.scope),
    )
    if problems:
        return accounts_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/accounts", "user.unlock", name)


def action_status(problems: Problems) -> int:
    """404 when a row's button named something absent (or outside the admin's unit), else 422."""
    return 404 if problems.fields.get("notice") == ERROR_WORDS[IDENTITY_NOT_FOUND] else 422


# --- keys -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyForm:
    """What the new-key form sent; an empty name gets one from the role and the moment."""

    name: str = ""
    role: str = Role.READER.value
    unit: str = ""


def keys_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    form: KeyForm | None = None,
    problems: Problems | None = None,
    made: Secret | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = unit_names(services)
    return render(
        request,
        "admin_keys.html",
        staff,
        status_code=status_code,
        keys=identity_rows(services, staff, "key"),
        roles=ROLES,
        units=unit_choices(staff, names),
        form=form or KeyForm(unit=staff.caller.unit or ""),
        problems=(problems or Problems()).fields,
        done=done_of(request),
        made=made,
    )


@router.get("/admin/keys", response_class=HTMLResponse)
def list_keys(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """API keys (their first characters only), and the form to make one."""
    return keys_page(request, services, staff)


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    csrf: Csrf = "",
    name: NameField = "",
    role: ChoiceField = "",
    unit: ChoiceField = "",
) -> Response:
    """Make a key as `sohoa keys create` does; the answer shows it once (only its hash is kept)."""
    check_form_csrf(staff, csrf)
    form = KeyForm(name.strip(), role, unit)
    problems = Problems()
    chosen = chosen_role(role, problems)
    chosen_in = chosen_unit(services, staff, unit, problems)
    key_name = form.name or access.default_key_name(chosen)
    problems.check("name", lambda: access.check_name(key_name))
    if problems:
        return keys_page(request, services, staff, form=form, problems=problems, status_code=422)
    identity, key = new_key_identity(key_name, chosen, chosen_in)
    taken = f"a key named {key_name!r} exists already"
    problems.check("name", lambda: access.add_identity(services, identity, taken, operator_of(staff)))
    if problems:
        return keys_page(request, services, staff, form=form, problems=problems, status_code=422)
    return keys_page(request, services, staff, made=Secret(key_name, key), status_code=201)


@router.post("/admin/keys/revoke", response_class=HTMLResponse)
def revoke_key(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Revoke a key: it authenticates nothing from now on."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    problems.check(
        "notice",
        lambda: access.disable_identity(services, "key", name, operator_of(staff), scope=staff.caller.scope),
    )
    if problems:
        return keys_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/keys", "key.disable", name)


# --- webhooks ---------------------------------------------------------------------------------------------


def live_hooks(session: Session, caller: Caller) -> list[Webhook]:
    """Every hook not deleted in the admin's scope (what `GET /api/v1/webhooks` lists for an admin)."""
    statement = select(Webhook).where(Webhook.disabled_at.is_(None)).order_by(Webhook.created_at)
    return [hook for hook in session.scalars(statement) if caller.sees(hook.unit)]


def hook_row(session: Session, hook: Webhook) -> HookRow:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.hook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(RECENT_DELIVERIES)
    )
    deliveries = [
        DeliveryRow(
            d.event,
            d.state,
            d.attempts,
            d.last_status,
            (d.last_error or "")[:200] or None,
            when(d.created_at),
        )
        for d in session.scalars(statement)
    ]
    return HookRow(hook.id, hook.url, list(hook.events or []), hook.unit, when(hook.created_at), deliveries)


@dataclass(frozen=True)
class HookForm:
    """What the new-hook form sent."""

    url: str = ""
    events: tuple[str, ...] = ()


def webhooks_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    form: HookForm | None = None,
    problems: Problems | None = None,
    made: Secret | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with services.db.unit_of_work() as session:
        hooks = [hook_row(session, hook) for hook in live_hooks(session, staff.caller)]
    return render(
        request,
        "admin_webhooks.html",
        staff,
        status_code=status_code,
        hooks=hooks,
        events=EVENTS,
        form=form or HookForm(),
        problems=(problems or Problems()).fields,
        done=done_of(request),
        made=made,
    )


@router.get("/admin/webhooks", response_class=HTMLResponse)
def list_webhooks(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """Registered hooks with their latest deliveries, and the form to add one."""
    return webhooks_page(request, services, staff)


@router.post("/admin/webhooks", response_class=HTMLResponse)
def create_webhook(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    csrf: Csrf = "",
    url: Annotated[str, Form(max_length=2100)] = "",
    events: Annotated[list[str] | None, Form(max_length=len(EVENTS))] = None,
) -> Response:
    """Register a URL for this admin's scope; the answer shows its signing secret once."""
    check_form_csrf(staff, csrf)
    form = HookForm(url.strip(), tuple(events or ()))
    problems = Problems()
    problems.check("url", lambda: check_hook(form.url, form.events))
    if problems:
        return webhooks_page(request, services, staff, form=form, problems=problems, status_code=422)
    hook = Webhook(
        id=uuid4().hex,
        url=form.url,
        secret=secrets.token_urlsafe(32),
        events=sorted(set(form.events)),
        owner_id=staff.caller.identity_id,
        unit=staff.caller.unit,
    )
    with services.db.unit_of_work() as session:
        session.add(hook)
    access.audit_change(
        services,
        operator_of(staff),
        "webhook.create",
        unit=staff.caller.unit,
        hook=hook.id,
        url=form.url[:200],
    )
    return webhooks_page(request, services, staff, made=Secret(form.url, hook.secret), status_code=201)


@router.post("/admin/webhooks/{hook_id}/delete", response_class=HTMLResponse)
def delete_webhook(
    request: Request, hook_id: str, services: ServicesDep, staff: AdminPage, csrf: Csrf = ""
) -> Response:
    """Stop sending events to a hook (its deliveries stay, for the record)."""
    check_form_csrf(staff, csrf)
    with services.db.unit_of_work() as session:
        hook = session.get(Webhook, hook_id[:32])
        if hook is None or hook.disabled_at is not None or not staff.caller.sees(hook.unit):
            hook = None
        else:
            hook.disabled_at = utcnow()
            session.flush()
            session.expunge(hook)
    if hook is None:
        problems = Problems({"notice": "admin.error.hook_not_found"})
        return webhooks_page(request, services, staff, problems=problems, status_code=404)
    access.audit_change(services, operator_of(staff), "webhook.delete", unit=hook.unit, hook=hook.id)
    return done_redirect("/admin/webhooks", "webhook.delete", hook.url)


# --- audit trail ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditForm:
    """The log page's filters, as sent (empty: no filter)."""

    actor: str = ""
    action: str = ""
    document: str = ""
    dossier: str = ""
    since: str = ""
    until: str = ""

    def where(self, scope: str | None, since: date | None, until: date | None) -> AuditFilter:
        """The filter of these fields; days are UTC, `until` included."""
        return AuditFilter(
            document_id=self.document or None,
            dossier_code=self.dossier or None,
            actor=self.actor or None,
            action=self.action or None,
            unit=scope,
            since=datetime.combine(since, time(), UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        )

    def query(self, page: int) -> str:
        """The page's address with these filters, on page `page`."""
        sent = {k: v for k, v in vars(self).items() if v}
        return "/admin/audit?" + urlencode({**sent, "page": page})


def day_of(text: str, problems: Problems, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.fields[name] = "admin.error.bad_date"
        return None


def audit_row(entry: AuditEntry) -> AuditRow:
    detail = ", ".join(f"{k}={v}" for k, v in sorted((entry.detail or {}).items()))
    return AuditRow(
        seq=entry.seq,
        at=f"{aware(entry.at):%Y-%m-%d %H:%M:%S}",
        actor=entry.actor,
        action=entry.action,
        outcome=entry.outcome,
        document_id=entry.document_id,
        dossier_code=entry.dossier_code,
        unit=entry.unit,
        address=entry.address,
        detail=detail[:300],
    )


def known_actions(session: Session, scope: str | None) -> list[str]:
    """The action names in this admin's part of the trail, for the filter's choice."""
    statement = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if scope is not None:
        statement = statement.where(AuditEntry.unit == scope)
    return list(session.scalars(statement))


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    actor: Annotated[str, Query(max_length=160)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    document: Annotated[str, Query(max_length=32)] = "",
    dossier: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The trail newest first, 50 a page, filtered; reading it is recorded (`audit.read`) as the API does."""
    form = AuditForm(actor.strip(), action.strip(), document.strip(), dossier.strip(), since, until)
    problems = Problems()
    first, last = day_of(since, problems, "since"), day_of(until, problems, "until")
    rows: list[AuditRow] = []
    with services.db.unit_of_work() as session:
        if not problems:
            where = form.where(staff.caller.scope, first, last)
            found = AuditRepository(session).find(where, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
            rows = [audit_row(entry) for entry in found]
        actions = known_actions(session, staff.caller.scope)
    filters = {"document": form.document, "dossier": form.dossier, "actor": form.actor, "action": form.action}
    record_audit(services.db, audit_read(staff, {k: v for k, v in filters.items() if v}))
    return render(
        request,
        "admin_audit.html",
        staff,
        status_code=422 if problems else 200,
        entries=rows[:PAGE_SIZE],
        form=form,
        actions=actions,
        problems=problems.fields,
        previous=form.query(page - 1) if page > 1 else None,
        next=form.query(page + 1) if len(rows) > PAGE_SIZE else None,
        page=page,
    )


def audit_read(staff: Staff, detail: dict[str, str]) -> AuditEvent:
    """The entry of a look at the trail, as `GET /api/v1/audit` writes it."""
    caller = staff.caller
    return AuditEvent(
        actor=caller.label,
        actor_id=caller.identity_id,
        action="audit.read",
        unit=caller.unit,
        address=caller.address,
        detail=detail,
    )


@router.get("/admin/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """Walk the whole chain (as `sohoa audit verify`): intact, or each entry where it breaks."""
    check: AuditCheck = verify_audit(services.db)
    return render(
        request,
        "admin_audit_verify.html",
        staff,
        check=check,
        problems=check.problems[:SHOWN_PROBLEMS],
        more=max(0, len(check.problems) - SHOWN_PROBLEMS),
    )
