"""The periodic sweep finds documents a dead worker or a lost message left behind, and only those."""

from __future__ import annotations

from datetime import timedelta

from ingest.services import Services
from ingest.sweep import GRACE_SECONDS, sweep
from storage.models import Document, DocumentStatus, utcnow
from storage.repositories import DocumentRepository


def _row(services: Services, document_id: str, status: DocumentStatus, age_seconds: float) -> None:
    at = utcnow() - timedelta(seconds=age_seconds)
    with services.db.unit_of_work() as session:
        DocumentRepository(session).add(
            Document(
                id=document_id,
                source=f"{document_id}.jpg",
                sha256=document_id.ljust(64, "0"),
                size_bytes=1,
                original_key=f"inbox/{document_id}/original.jpg",
                status=status,
                started_at=at if status == DocumentStatus.PROCESSING else None,
                created_at=at,
                updated_at=at,
            )
        )


def test_sweep_resends_stuck_and_lost_documents_only(services: Services) -> None:
    limit = services.settings.document_timeout_seconds + GRACE_SECONDS
    queued_limit = services.settings.requeue_queued_after_seconds
    _row(services, "stuck", DocumentStatus.PROCESSING, limit + 60)
    _row(services, "working", DocumentStatus.PROCESSING, 30)
    _row(services, "lost", DocumentStatus.QUEUED, queued_limit + 60)
    _row(services, "waiting", DocumentStatus.QUEUED, 30)
    _row(services, "finished", DocumentStatus.DONE, limit * 10)

    found = sweep(services)
    assert found.stuck_processing == ["stuck"]
    assert found.lost_queued == ["lost"]
    again = sweep(services)
    assert again.all == [], "a resent document gets a whole time limit before it is resent again"
