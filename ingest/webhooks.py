"""Webhooks: a client system is told when a document or a whole dossier is done or needs review.

    announce_finished(services, document_id)   # the pipeline, after recording: queues events (outbox)
    deliver_due(services)                      # the deliverer thread of `sohoa serve`: sends what is due

Events are written as `WebhookDelivery` rows (one per hook and event, unique, so a retried task queues
nothing twice) and sent later by `Deliverer`, so a slow or dead client never holds up the pipeline. Each
request carries `X-Sohoa-Signature: sha256=<hex>`, the HMAC-SHA256 with the hook's secret of
`<X-Sohoa-Timestamp>.<body>` (the timestamp in the signed text makes an old request useless to replay).
A failed attempt is retried with exponential backoff and jitter until `webhook_max_attempts`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.services import Services
from storage.models import Document, DocumentStatus, Webhook, WebhookDelivery, utcnow

log = logging.getLogger(__name__)

DOCUMENT_EVENTS = {
    DocumentStatus.DONE: "document.done",
    DocumentStatus.NEEDS_REVIEW: "document.needs_review",
    DocumentStatus.FAILED: "document.failed",
}
EVENTS = (*DOCUMENT_EVENTS.values(), "dossier.done", "dossier.needs_review")
STALE_SENDING = timedelta(minutes=5)
"""A delivery claimed this long ago by a deliverer that never reported back is sent again."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (what a receiver recomputes)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# --- queueing events (the pipeline's side) ------------------------------------------------------------------


def announce_finished(services: Services, document_id: str) -> int:
    """Queue the events of a document that just finished, and of its dossier if that is now complete;
    returns how many deliveries were queued. Never raises: a failure here must not fail the document."""
    try:
        return _announce(services, document_id)
    except Exception:  # the document is recorded; a missing event is logged, not fatal
        log.exception("webhook events of document %s not queued", document_id)
        return 0


def _announce(services: Services, document_id: str) -> int:
    with services.db.unit_of_work() as session:
        hooks = list(session.scalars(select(Webhook).where(Webhook.disabled_at.is_(None))))
        if not hooks:
            return 0
        document = session.get(Document, document_id)
        if document is None or not DocumentStatus(document.status).finished:
            return 0
        events = [_document_event(document)]
        if document.dossier_code:
            events.extend(_dossier_event(session, document.dossier_code, document.unit))
    queued = 0
    for hook in hooks:
        for event, key, unit, payload in events:
            if hook.events and event not in hook.events:
                continue
            if hook.unit is not None and hook.unit != unit:
                continue
            queued += _queue(services, hook.id, event, key, payload)
    return queued


Event = tuple[str, str, str | None, dict[str, Any]]
"""(event name, unique key, unit of what it is about, payload)."""


def _document_event(document: Document) -> Event:
    event = DOCUMENT_EVENTS[DocumentStatus(document.status)]
    finished = document.finished_at.isoformat() if document.finished_at else ""
    payload = {
        "event": event,
        "document": {
            "id": document.id,
            "source": document.source,
            "status": document.status,
            "dossier": document.dossier_code,
            "procedure": document.procedure_id,
            "unit": document.unit,
            "page_count": document.page_count,
            "error_code": document.error_code,
        },
    }
    return event, f"{event}:{document.id}:{finished}", document.unit, payload


def _dossier_event(session: Session, code: str, unit: str | None) -> list[Event]:
    """dossier.done when every document of the dossier is done, dossier.needs_review when all are
    finished and one needs a person; nothing while one is still being read."""
    members = list(
        session.scalars(
            select(Document).where(Document.dossier_code == code, Document.withdrawn_at.is_(None))
        )
    )
    statuses = [DocumentStatus(d.status) for d in members]
    if not statuses or not all(s.finished for s in statuses):
        return []
    event = "dossier.done" if all(s == DocumentStatus.DONE for s in statuses) else "dossier.needs_review"
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status.value] = counts.get(status.value, 0) + 1
    latest = max((d.finished_at for d in members if d.finished_at), default=None)
    payload = {
        "event": event,
        "dossier": {"code": code, "documents": len(members), "statuses": counts, "unit": unit},
    }
    stamp = latest.isoformat() if latest else ""
    return [(event, f"{event}:{code}:{len(members)}:{stamp}", unit, payload)]


def _queue(services: Services, hook_id: str, event: str, key: str, payload: dict[str, Any]) -> int:
    try:
        with services.db.unit_of_work() as session:
            session.add(
                WebhookDelivery(
                    hook_id=hook_id,
                    event=event,
                    event_key=key[:200],
                    payload={**payload, "hook": hook_id},
                    state="pending",
                    attempts=0,
                    next_attempt_at=utcnow(),
                )
            )
    except IntegrityError:  # queued already (the task ran again)
        return 0
    return 1


# --- delivering (the deliverer's side) ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass of the deliverer did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


def deliver_due(services: Services, *, limit: int = 50, client: httpx.Client | None = None) -> DeliveryReport:
    """Send every delivery that is due (at most `limit`), each once; record each outcome."""
    claimed = _claim_due(services, limit)
    if not claimed:
        return DeliveryReport()
    settings = services.settings
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    delivered = retried = failed = 0
    try:
        for delivery_id, url, secret, payload, attempts in claimed:
            status, error = _post(http, url, secret, delivery_id, payload)
            outcome = _settle(services, delivery_id, attempts + 1, status, error)
            delivered += outcome == "delivered"
            retried += outcome == "pending"
            failed += outcome == "failed"
    finally:
        if own_client:
            http.close()
    return DeliveryReport(delivered, retried, failed)


def _claim_due(services: Services, limit: int) -> list[tuple[int, str, str, dict[str, Any], int]]:
    """Mark due deliveries `sending` (skipping rows another deliverer holds) and return what to send."""
    now = utcnow()
    with services.db.unit_of_work() as session:
        statement = (
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.id == WebhookDelivery.hook_id)
            .where(
                Webhook.disabled_at.is_(None),
                or_(
                    (WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now),
                    (WebhookDelivery.state == "sending")
                    & (WebhookDelivery.next_attempt_at <= now - STALE_SENDING),
                ),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        claimed = []
        for delivery, hook in session.execute(statement):
            delivery.state, delivery.next_attempt_at = "sending", now
            claimed.append((delivery.id, hook.url, hook.secret, dict(delivery.payload), delivery.attempts))
        return claimed


def _post(
    http: httpx.Client, url: str, secret: str, delivery_id: int, payload: dict[str, Any]
) -> tuple[int | None, str | None]:
    body = json.dumps({**payload, "delivery": delivery_id}, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sohoa-webhooks",
        "X-Sohoa-Event": str(payload.get("event")),
        "X-Sohoa-Delivery": str(delivery_id),
        "X-Sohoa-Timestamp": timestamp,
        "X-Sohoa-Signature": sign(secret, timestamp, body),
    }
    try:
        response = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}"


def _settle(
    services: Services, delivery_id: int, attempts: int, status: int | None, error: str | None
) -> str:
    settings = services.settings
    with services.db.unit_of_work() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # its hook was deleted meanwhile
            return "failed"
        delivery.attempts, delivery.last_status, delivery.last_error = attempts, status, error
        if error is None:
            delivery.state, delivery.delivered_at = "delivered", utcnow()
        elif attempts >= settings.webhook_max_attempts:
            delivery.state = "failed"
        else:
            delivery.state = "pending"
            delivery.next_attempt_at = utcnow() + backoff(attempts, settings.webhook_backoff_seconds)
        return delivery.state


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """base × 2^(attempts-1), at most an hour, with ±20% jitter (receivers coming back are not stampeded)."""
    seconds = min(base_seconds * 2 ** max(attempts - 1, 0), 3600.0)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class Deliverer:
    """A background thread of `sohoa serve` that sends due webhook deliveries every few seconds."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sohoa-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._services.settings.webhook_timeout_seconds + 5)

    def _run(self) -> None:
        interval = self._services.settings.webhook_poll_seconds
        while not self._stop.wait(interval):
            try:
                deliver_due(self._services)
            except Exception:  # the database may be restarting: try again on the next tick
                log.exception("webhook delivery pass failed")
