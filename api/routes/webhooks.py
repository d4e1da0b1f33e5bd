"""/api/v1/webhooks: a client registers a URL and is sent signed events (see `ingest.webhooks`)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit
from uuid import uuid4

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import AuditDep
from api.auth import Caller, Permission, ReaderDep
from api.deps import SessionDep
from api.errors import WEBHOOK_BAD_EVENT, WEBHOOK_BAD_URL, WEBHOOK_NOT_FOUND, ApiError, NotFound
from ingest.webhooks import EVENTS
from storage.models import Webhook, WebhookDelivery, utcnow

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookIn(BaseModel):
    """A URL to call, and which events it wants."""

    url: str = Field(min_length=8, max_length=2000, description="http(s) URL that accepts a JSON POST.")
    events: list[str] = Field(
        default_factory=list, max_length=10, description=f"Some of {', '.join(EVENTS)}; empty: all."
    )


class WebhookOut(BaseModel):
    """A registered hook (its secret only in the answer to its creation)."""

    id: str
    url: str
    events: list[str]
    unit: str | None
    created_at: str
    secret: str | None = Field(default=None, description="HMAC-SHA256 key of X-Sohoa-Signature; shown once.")


class WebhookListOut(BaseModel):
    hooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to a hook."""

    id: int
    event: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: str
    next_attempt_at: str
    delivered_at: str | None


class DeliveryListOut(BaseModel):
    deliveries: list[DeliveryOut]


def check_hook(url: str, events: tuple[str, ...]) -> None:
    """What a hook must be (the API and the admin page both check it): an http(s) URL with a host, and
    known event names."""
    parts = urlsplit(url)
    if not 8 <= len(url) <= 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError("an http(s) URL with a host", code=WEBHOOK_BAD_URL)
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ApiError(f"unknown events: {', '.join(unknown)[:200]}", code=WEBHOOK_BAD_EVENT)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookOut)
def create_webhook(
    body: WebhookIn, session: SessionDep, caller: ReaderDep, audit: AuditDep
) -> dict[str, object]:
    """Register a URL: it is sent the events of documents the caller may read (its unit's, or all of
    them for a province identity). Keep the returned secret to check signatures."""
    audit.action = "webhook.create"
    check_hook(body.url, tuple(body.events))
    hook = Webhook(
        id=uuid4().hex,
        url=body.url,
        secret=secrets.token_urlsafe(32),
        events=sorted(set(body.events)),
        owner_id=caller.identity_id,
        unit=caller.unit,
    )
    session.add(hook)
    session.commit()  # before the audit entry is written (SQLite has one writer at a time)
    audit.detail = {"hook": hook.id, "url": body.url[:200]}
    return {**_out(hook), "secret": hook.secret}


@router.get("", response_model=WebhookListOut)
def list_webhooks(session: SessionDep, caller: ReaderDep) -> dict[str, object]:
    """The caller's hooks (an admin: every hook of its scope)."""
    statement = select(Webhook).where(Webhook.disabled_at.is_(None)).order_by(Webhook.created_at)
    hooks = [h for h in session.scalars(statement) if _mine(h, caller)]
    return {"hooks": [_out(h) for h in hooks]}


@router.delete("/{hook_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_webhook(hook_id: str, session: SessionDep, caller: ReaderDep, audit: AuditDep) -> Response:
    """Stop sending events to this hook (its deliveries are kept for the record)."""
    audit.action, audit.detail = "webhook.delete", {"hook": hook_id[:32]}
    hook = _hook_or_404(session, hook_id, caller)
    hook.disabled_at = utcnow()
    session.commit()  # before the audit entry is written (SQLite has one writer at a time)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{hook_id}/deliveries", response_model=DeliveryListOut)
def list_deliveries(
    hook_id: str,
    session: SessionDep,
    caller: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, object]:
    """The hook's latest deliveries with their attempts and last answers, newest first."""
    _hook_or_404(session, hook_id, caller)
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.hook_id == hook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return {
        "deliveries": [
            {
                "id": d.id,
                "event": d.event,
                "state": d.state,
                "attempts": d.attempts,
                "last_status": d.last_status,
                "last_error": d.last_error,
                "created_at": d.created_at.isoformat(),
                "next_attempt_at": d.next_attempt_at.isoformat(),
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
            }
            for d in session.scalars(statement)
        ]
    }


def _mine(hook: Webhook, caller: Caller) -> bool:
    if caller.can(Permission.ADMINISTER):
        return caller.sees(hook.unit)
    return hook.owner_id == caller.identity_id


def _hook_or_404(session: Session, hook_id: str, caller: Caller) -> Webhook:
    hook = session.get(Webhook, hook_id)
    if hook is None or hook.disabled_at is not None or not _mine(hook, caller):
        raise NotFound("no such webhook", code=WEBHOOK_NOT_FOUND)
    return hook


def _out(hook: Webhook) -> dict[str, object]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": list(hook.events or []),
        "unit": hook.unit,
        "created_at": hook.created_at.isoformat() if hook.created_at else "",
    }
