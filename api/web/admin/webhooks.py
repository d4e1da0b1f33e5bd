"""/admin/webhooks: hooks in this admin's scope with their latest deliveries — add (the signing secret shown
once), delete — by the rules and action names of `/api/v1/webhooks`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

import api.access_admin as access
from api.deps import ServicesDep
from api.routes.webhooks import check_hook
from api.web.admin.common import Csrf, Problems, Secret, done_of, done_redirect, live_hooks, operator_of, when
from api.web.base import AdminPage, Staff, check_form_csrf, render
from ingest.services import Services
from ingest.webhooks import EVENTS
from storage.models import Webhook, WebhookDelivery, utcnow

router = APIRouter(include_in_schema=False)

RECENT_DELIVERIES = 5


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
