"""The periodic sweep: find documents a lost message or a dead worker left behind, and send them again.

A Celery message can be lost (a broker without persistence restarted) and a worker can die in a way the
broker does not notice; the database knows which documents are not finished, so it is the source of truth.
Sending a document twice is harmless: the processing lease lets only one task work on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from ingest.services import Services
from storage.models import Document, DocumentStatus, utcnow

GRACE_SECONDS = 60.0
"""Slack over the document time limit before a lease counts as abandoned."""


@dataclass(frozen=True)
class SweepResult:
    """Documents to send to the workers again."""

    stuck_processing: list[str]
    lost_queued: list[str]

    @property
    def all(self) -> list[str]:
        """Every document to requeue."""
        return self.stuck_processing + self.lost_queued


def sweep(services: Services, *, limit: int = 5000) -> SweepResult:
    """Documents processing past their time limit, and documents queued for too long; marks them touched."""
    settings = services.settings
    now = utcnow()
    lease_expired = now - timedelta(seconds=settings.document_timeout_seconds + GRACE_SECONDS)
    queue_expired = now - timedelta(seconds=settings.requeue_queued_after_seconds)
    with services.db.unit_of_work() as session:
        stuck = list(
            session.scalars(
                select(Document.id)
                .where(Document.status == DocumentStatus.PROCESSING)
                .where(or_(Document.started_at.is_(None), Document.started_at < lease_expired))
                .where(Document.updated_at < lease_expired)
                .order_by(Document.started_at)
                .limit(limit)
            )
        )
        lost = list(
            session.scalars(
                select(Document.id)
                .where(Document.status == DocumentStatus.QUEUED)
                .where(Document.updated_at < queue_expired)
                .order_by(Document.created_at)
                .limit(limit)
            )
        )
        resent = stuck + lost
        if resent:  # start their clock again so the next sweep does not resend them at once
            session.execute(update(Document).where(Document.id.in_(resent)).values(updated_at=now))
    return SweepResult(stuck_processing=stuck, lost_queued=lost)
