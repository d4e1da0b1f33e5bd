"""The periodic sweep finds what a dead worker or a lost message left behind, and only that."""

from __future__ import annotations

from datetime import timedelta

from ingest.lease import HELD_BY_PAGES
from ingest.services import Services
from ingest.sweep import sweep
from storage.models import Document, DocumentStatus, PageLease, utcnow
from storage.repositories import DocumentRepository


def _row(
    services: Services,
    document_id: str,
    status: DocumentStatus,
    age_seconds: float,
    *,
    claimed_by: str | None = None,
    heartbeat_age: float | None = None,
) -> None:
    now = utcnow()
    at = now - timedelta(seconds=age_seconds)
    processing = status == DocumentStatus.PROCESSING
    with services.db.unit_of_work() as session:
        DocumentRepository(session).add(
            Document(
                id=document_id,
                source=f"{document_id}.jpg",
                sha256=document_id.ljust(64, "0"),
                size_bytes=1,
                original_key=f"inbox/{document_id}/original.jpg",
                status=status,
                started_at=at if processing else None,
                claimed_by=claimed_by or ("task-" + document_id if processing else None),
                claimed_process="elsewhere:1" if processing and claimed_by != HELD_BY_PAGES else None,
                heartbeat_at=None if heartbeat_age is None else now - timedelta(seconds=heartbeat_age),
                created_at=at,
                updated_at=at,
            )
        )


def _pages(services: Services, document_id: str, *leases: tuple[bool, str | None, float]) -> None:
    """Page leases 1..n of a fanned-out document: (read, holder, seconds since its heartbeat)."""
    now = utcnow()
    with services.db.unit_of_work() as session:
        for number, (done, holder, age) in enumerate(leases, start=1):
            session.add(
                PageLease(
                    document_id=document_id,
                    number=number,
                    done=done,
                    claimed_by=holder,
                    claimed_process="elsewhere:2" if holder else None,
                    heartbeat_at=now - timedelta(seconds=age),
                )
            )


def test_a_silent_lease_is_resent_and_freed_a_renewed_one_is_left_alone(services: Services) -> None:
    lease = services.settings.lease_seconds
    _row(services, "silent", DocumentStatus.PROCESSING, 3600, heartbeat_age=lease + 5)
    _row(services, "alive", DocumentStatus.PROCESSING, 3600, heartbeat_age=lease / 4)
    _row(services, "legacy", DocumentStatus.PROCESSING, lease + 5)  # claimed before heartbeats existed
    _row(services, "finished", DocumentStatus.DONE, 3600)

    found = sweep(services.db, services.settings)
    assert sorted(found.stuck_processing) == ["legacy", "silent"]
    with services.db.unit_of_work() as session:
        freed = DocumentRepository(session).get("silent")
        alive = DocumentRepository(session).get("alive")
        assert freed is not None and alive is not None
        assert (freed.claimed_by, freed.claimed_process) == (None, None), "the resent task takes it at once"
        assert alive.claimed_by == "task-alive"
    assert sweep(services.db, services.settings).count == 0, "resent work gets a whole lease first"


def test_queued_documents_wait_long_unless_the_broker_has_forgotten_them(services: Services) -> None:
    settings = services.settings
    _row(services, "waiting", DocumentStatus.QUEUED, settings.lease_seconds + 5)
    _row(services, "lost", DocumentStatus.QUEUED, settings.requeue_queued_after_seconds + 60)
    _row(services, "new", DocumentStatus.QUEUED, 1)

    assert sweep(services.db, settings).lost_queued == ["lost"]
    emptied = sweep(services.db, settings, broker_empty=True)
    assert emptied.lost_queued == ["waiting"], "empty queues: a lease is long enough to wait"


def test_pages_of_a_dead_reader_are_resent_and_a_fully_read_document_is_finished(
    services: Services,
) -> None:
    lease = services.settings.lease_seconds
    _row(services, "fanned", DocumentStatus.PROCESSING, 600, claimed_by=HELD_BY_PAGES, heartbeat_age=1)
    _pages(
        services,
        "fanned",
        (True, None, 100),  # read
        (False, "page-task-2", lease + 5),  # its reader died
        (False, "page-task-3", 1),  # being read
        (False, None, 100),  # waiting in the queue
    )
    _row(services, "read", DocumentStatus.PROCESSING, 600, claimed_by=HELD_BY_PAGES, heartbeat_age=lease + 5)
    _pages(services, "read", (True, None, 100), (True, None, 100))

    found = sweep(services.db, services.settings)
    assert found.stuck_pages == [("fanned", 2)]
    assert found.unfinished == ["read"]
    assert found.all == [], "pages waiting in a queue that still holds messages are left alone"
    with services.db.unit_of_work() as session:
        page = session.get(PageLease, ("fanned", 2))
        assert page is not None and page.claimed_by is None, "freed for the resent page task"
    assert sweep(services.db, services.settings).count == 0


def test_pages_whose_messages_were_lost_get_their_document_resent(services: Services) -> None:
    lease = services.settings.lease_seconds
    _row(
        services,
        "forgotten",
        DocumentStatus.PROCESSING,
        600,
        claimed_by=HELD_BY_PAGES,
        heartbeat_age=lease + 5,
    )
    _pages(services, "forgotten", (True, None, 100), (False, None, lease + 5))

    assert sweep(services.db, services.settings).all == []
    found = sweep(services.db, services.settings, broker_empty=True)
    assert found.stuck_processing == ["forgotten"], "the document task sends its unread pages again"
