"""The periodic sweep: find work a dead worker or a lost message left behind, and send it again.

The database knows what is unfinished, so it is the source of truth; leases say who is alive
(`ingest.lease`). Four things are resent:

- a document whose task's lease was not renewed for `lease_seconds` (its machine died, say);
- a page of a fanned-out document whose page task stopped renewing (the page is freed for the next task);
- a fanned-out document whose pages are all read but nobody finished it;
- a document (or the pages of one) waiting in the queue for `requeue_queued_after_seconds` — or for
  `lease_seconds` when the broker's queues are empty, which means their messages were lost (a broker
  restarted without persistence).

What is resent is freed (its lease cleared, its clock started again), so the task sent now takes it and the
next sweep leaves it alone for a lease. Sending something twice is harmless: a task that finds a live
lease leaves the work alone. Several workers
may sweep at once: rows another sweep is handling are skipped (`SKIP LOCKED` on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update

from ingest.lease import HELD_BY_PAGES
from ingest.settings import Settings
from storage.db import Database
from storage.models import Document, DocumentStatus, PageLease, utcnow


@dataclass(frozen=True)
class SweepResult:
    """What to send to the workers again."""

    stuck_processing: list[str] = field(default_factory=list)
    """Documents for the document task (its holder died, or their page messages were lost)."""
    lost_queued: list[str] = field(default_factory=list)
    """Queued documents whose message seems lost."""
    stuck_pages: list[tuple[str, int]] = field(default_factory=list)
    """Pages (document, number) for the page task: their reader died."""
    unfinished: list[str] = field(default_factory=list)
    """Fanned-out documents for the finishing task: every page read, nobody putting them together."""

    @property
    def all(self) -> list[str]:
        """Every document sent to the document task."""
        return self.stuck_processing + self.lost_queued

    @property
    def count(self) -> int:
        """Everything resent."""
        return len(self.all) + len(self.stuck_pages) + len(self.unfinished)


def sweep(db: Database, settings: Settings, *, broker_empty: bool = False, limit: int = 5000) -> SweepResult:
    """Find what to resend and start its clock again, so the next sweep does not resend it at once."""
    now = utcnow()
    lease_expired = now - timedelta(seconds=settings.lease_seconds)
    waited = settings.lease_seconds if broker_empty else settings.requeue_queued_after_seconds
    queue_expired = now - timedelta(seconds=waited)
    held_by_pages = Document.claimed_by == HELD_BY_PAGES
    processing = Document.status == DocumentStatus.PROCESSING
    silent = or_(
        Document.heartbeat_at < lease_expired,
        and_(Document.heartbeat_at.is_(None), Document.started_at < lease_expired),
        and_(Document.heartbeat_at.is_(None), Document.started_at.is_(None)),
    )
    page_unread = and_(PageLease.document_id == Document.id, PageLease.done.is_(False))
    page_waiting = and_(page_unread, PageLease.claimed_by.is_(None))
    with db.unit_of_work() as session:

        def ids(*where: object, order: object = Document.created_at) -> list[str]:
            statement = (
                select(Document.id)
                .where(*where)  # type: ignore[arg-type]
                .order_by(order)  # type: ignore[arg-type]
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            return list(session.scalars(statement))

        stuck = ids(processing, or_(Document.claimed_by.is_(None), ~held_by_pages), silent)
        pages_lost = ids(
            processing, held_by_pages, Document.heartbeat_at < queue_expired, exists().where(page_waiting)
        )
        unfinished = ids(processing, held_by_pages, silent, ~exists().where(page_unread))
        lost = ids(Document.status == DocumentStatus.QUEUED, Document.updated_at < queue_expired)
        pages = [
            (lease.document_id, lease.number)
            for lease in session.scalars(
                select(PageLease)
                .join(Document, Document.id == PageLease.document_id)
                .where(processing, PageLease.done.is_(False), PageLease.claimed_by.is_not(None))
                .where(or_(PageLease.heartbeat_at.is_(None), PageLease.heartbeat_at < lease_expired))
                .order_by(PageLease.document_id, PageLease.number)
                .limit(limit)
                .with_for_update(skip_locked=True, of=PageLease)
            )
        ]
        touched = [*stuck, *pages_lost, *unfinished]
        if touched:  # freed for the task sent now; a holder that was only slow finds its lease gone
            session.execute(
                update(Document)
                .where(Document.id.in_(touched))
                .values(claimed_by=None, claimed_process=None, heartbeat_at=now)
            )
        if lost:
            session.execute(update(Document).where(Document.id.in_(lost)).values(updated_at=now))
        for document_id, number in pages:  # freed: the resent page task takes it at once
            session.execute(
                update(PageLease)
                .where(PageLease.document_id == document_id, PageLease.number == number)
                .values(claimed_by=None, claimed_process=None, heartbeat_at=now)
            )
    return SweepResult(
        stuck_processing=[*stuck, *pages_lost],
        lost_queued=lost,
        stuck_pages=pages,
        unfinished=unfinished,
    )
