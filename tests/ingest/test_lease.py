"""Leases that prove they are alive: who may take over, heartbeats, a stale holder that records nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

import ingest.pipeline
from ingest.intake import intake
from ingest.lease import Claimant, Heartbeat, may_take_over, process_gone, this_process
from ingest.pagework import page_key, process_one_page, start_fan_out
from ingest.pipeline import process_document
from ingest.services import Services
from storage.models import Document, DocumentStatus, PageLease, utcnow
from storage.repositories import DocumentRepository
from tests.ocr.pdfs import born_digital_pdf

LEASE = 60.0


def _may(held_by: str | None, held_process: str | None, age: float | None, claimant: Claimant) -> bool:
    now = utcnow()
    return may_take_over(
        held_by=held_by,
        held_process=held_process,
        heartbeat_at=None if age is None else now - timedelta(seconds=age),
        claimant=claimant,
        lease_seconds=LEASE,
        now=now,
    )


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_who_may_take_a_lease_over() -> None:
    other = Claimant("task-b", process="worker-2:77")
    assert not _may("task-a", "worker-1:42", 5, other), "a renewed lease of another task is kept"
    assert _may("task-a", "worker-1:42", LEASE + 1, other), "a silent one is taken over"
    assert _may(None, None, 1, other), "nobody holds it (freed by the sweep)"
    assert _may("task-a", "worker-1:42", 1, Claimant(None)), "embedded mode owns its machine"
    assert _may("task-b", "worker-2:77", 1, other), "the holder itself"
    assert _may("task-b", None, 1, other), "the holder's own retry, on any process"
    assert not _may("task-b", None, -30, Claimant("task-c")), "others wait out the retry's countdown"
    assert not _may("task-b", "worker-1:42", 1, other), "the same task delivered twice: one runs it"
    assert _may("task-a", "worker-1:42", None, other), "claimed before heartbeats existed"


def test_a_lease_of_a_process_gone_from_this_host_is_free_at_once() -> None:
    here = socket.gethostname()
    dead = f"{here}:{_dead_pid()}"
    assert process_gone(dead)
    assert not process_gone(this_process())
    assert not process_gone(f"another-host-{here}:1"), "another machine's process cannot be seen from here"
    assert _may("task-a", dead, 1, Claimant("task-a")), "the killed pool process's task, handed back"
    assert _may("task-a", dead, 1, Claimant("task-b"))


def test_heartbeat_renews_until_the_lease_is_found_taken() -> None:
    answers = iter([True, RuntimeError("database restarting"), True, False])
    calls: list[float] = []

    def renew() -> bool:
        calls.append(time.monotonic())
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    with Heartbeat(renew, interval=0.05, name="test") as heartbeat:
        deadline = time.monotonic() + 5
        while not heartbeat.lost and time.monotonic() < deadline:
            time.sleep(0.01)
        assert heartbeat.lost, "a failed renewal is retried, a refused one means lost"
        with pytest.raises(Exception, match="test"):
            heartbeat.check()
    assert len(calls) == 4


def _take_over(services: Services, document_id: str) -> None:
    """What another worker does when it takes the document over."""
    with services.db.unit_of_work() as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id)
            .values(claimed_by="task-b", claimed_process="worker-2:77", heartbeat_at=utcnow())
        )


def test_a_holder_whose_lease_was_taken_records_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    document_id = intake(services, born_digital_pdf(3), source="three.pdf").document_id
    real_process_page = ingest.pipeline.process_page
    pages_read: list[int] = []

    def page_then_taken_over(source: Any, **kwargs: Any) -> Any:
        pages_read.append(source.number)
        if source.number == 2:
            _take_over(services, document_id)
        return real_process_page(source, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "process_page", page_then_taken_over)
    status = process_document(services, document_id, lease="task-a")

    assert status is DocumentStatus.PROCESSING
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id, with_pages=True)
        assert document is not None
        assert (document.claimed_by, document.pages, document.pdf_key) == ("task-b", [], None)
    stored = list(services.store.keys(document.original_key.rsplit("/", 1)[0] + "/"))
    assert stored == [document.original_key], "no derived object written by the stale holder"


def test_a_renewing_holder_keeps_its_lease_through_a_long_document(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"lease_seconds": 5.0})
    document_id = intake(services, born_digital_pdf(2), source="two.pdf").document_id
    claimant = Claimant("task-a")
    claimed = ingest.pipeline.claim(services, document_id, claimant)
    assert claimed is not None
    with ingest.pipeline.holding(services, claimed):
        time.sleep(3.0)  # more than two beats (1.25 s each)
        with services.db.unit_of_work() as session:
            row = DocumentRepository(session).get(document_id)
            assert row is not None and row.heartbeat_at is not None
            renewed = ingest.lease.aware(row.heartbeat_at)
    assert (utcnow() - renewed).total_seconds() < 2.5, "the heartbeat renewed the lease"
    assert ingest.pipeline.claim(services, document_id, Claimant("task-b", process="worker-2:1")) is None


def test_a_page_held_by_a_live_reader_is_not_read_twice(services: Services) -> None:
    document_id = intake(services, born_digital_pdf(4), source="four.pdf").document_id
    sent: list[int] = []
    assert start_fan_out(services, document_id, "doc-task", sent.append, lambda: None) is not None
    assert sent == [1, 2, 3, 4]
    with services.db.unit_of_work() as session:
        session.execute(
            update(PageLease)
            .where(PageLease.document_id == document_id, PageLease.number == 1)
            .values(claimed_by="page-task-x", claimed_process="worker-2:77", heartbeat_at=utcnow())
        )

    assert process_one_page(services, document_id, 1, "page-task-y") is False
    assert not services.store.exists(page_key(document_id, 1)), "the duplicate delivery read nothing"

    stale = utcnow() - timedelta(seconds=services.settings.lease_seconds + 1)
    with services.db.unit_of_work() as session:
        session.execute(update(PageLease).where(PageLease.number == 1).values(heartbeat_at=stale))
    assert process_one_page(services, document_id, 1, "page-task-y") is False, "3 pages still to read"
    assert services.store.exists(page_key(document_id, 1)), "a silent reader's page is taken over"


def test_two_finishing_tasks_record_a_fanned_out_document_once(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    from ingest.pagework import finish_fanned_out

    document_id = intake(services, born_digital_pdf(4), source="four.pdf").document_id
    start_fan_out(services, document_id, "doc-task", lambda n: None, lambda: None)
    assert not any(process_one_page(services, document_id, n, f"page-{n}") for n in (1, 2, 3))
    assert process_one_page(services, document_id, 4, "page-4") is True, "the last page says so"

    barrier = threading.Barrier(2)

    def finish(task: str) -> None:
        barrier.wait()
        finish_fanned_out(services, document_id, task)

    caplog.set_level("INFO", logger="ingest.pipeline")
    threads = [threading.Thread(target=finish, args=(f"finish-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id, with_pages=True)
        assert document is not None and document.status in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW)
        assert len(document.pages) == 4
        assert document.claimed_by in ("finish-0", "finish-1")
        assert not session.get(PageLease, (document_id, 1)), "page leases go with the finished document"
    recorded = [r for r in caplog.records if f"document {document_id} recorded" in r.getMessage()]
    assert len(recorded) == 1, [r.getMessage() for r in caplog.records]
