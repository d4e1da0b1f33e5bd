"""The one way in: the CLI, the HTTP API and the hot folder hand every file to a `Submitter`.

It stores the original first (dedup by SHA-256), splits a scanned stack at its receipts and separator
sheets, records what the face knows (group, manifest facts), and hands the work to whatever processes
documents in this mode — the embedded pool of this machine or Celery workers. Only this module decides
which; a face never does.

    submitter = open_submitter(services, queue="bulk")
    taken = submitter.take(Incoming(source=..., path=...))     # stored and recorded, nothing processed yet
    submitter.send(taken.to_process)                            # pool or Celery
    submitter.wait(ids, on_finished=..., stop=...)              # until finished, or told to stop
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from ingest.intake import Facts, IntakeResult, check_dossier_code, intake_file
from ingest.services import Services
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository

log = logging.getLogger(__name__)

QueueName = Literal["interactive", "bulk"]
RETRYABLE_PREFIXES = ("processing.", "storage.", "ocr.timeout", "ocr.unavailable", "internal.")
"""Failures worth another try when an import is rerun; `input.*` failures would fail the same way again."""


@dataclass(frozen=True)
class Incoming:
    """One file a face hands in, with what the face knows about it."""

    source: str
    """The name people see: a path relative to the imported folder, `archive.zip/inner/path`, an upload's
    file name, or the hot folder's relative path."""
    path: Path
    """The bytes on local disk (ZIP members and uploads are spooled there first)."""
    dossier: str | None = None
    dossier_source: Literal["given", "manifest"] = "given"
    group: str | None = None
    """Files that came together share it (see `storage.models.Document.group_key`)."""
    procedure: str | None = None
    received: date | None = None
    applicant: str | None = None
    collate_duplex: bool = False
    """The file holds a double-sided stack scanned in two passes: fronts, then backs in reverse."""
    unit: str | None = None
    """The unit receiving it (see `storage.models.Document.unit`); None: the province."""
    received_by: str | None = None
    """Who hands it in (`key:…`, `user:…`, `cli:…`)."""
    station: str | None = None
    """The scanning station or counter it came from (a hot folder's top folder, a web upload's choice)."""


@dataclass(frozen=True)
class TakenDocument:
    """One document an incoming file became (a stack becomes several)."""

    source: str
    document_id: str
    duplicate: bool
    status: DocumentStatus
    pages: int


@dataclass(frozen=True)
class Taken:
    """What intake made of one incoming file."""

    source: str
    documents: tuple[TakenDocument, ...]
    stack_id: str | None = None

    @property
    def to_process(self) -> list[str]:
        """The documents that still need the workers (new ones and unfinished duplicates)."""
        return [d.document_id for d in self.documents if not d.status.finished]


@dataclass(frozen=True)
class Finished:
    """A document the workers finished with."""

    document_id: str
    status: DocumentStatus


class _Backend(Protocol):
    def send(self, document_ids: Sequence[str]) -> None: ...
    def wait(
        self,
        pending: set[str],
        on_finished: Callable[[Finished], None],
        stop: threading.Event,
        abort: threading.Event,
    ) -> set[str]: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


class Submitter:
    """Takes files in and hands them to the processing of this mode; use as a context manager."""

    def __init__(self, services: Services, backend: _Backend) -> None:
        self.services = services
        self._backend = backend

    def __enter__(self) -> Submitter:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def take(self, incoming: Incoming) -> Taken:
        """Store and record one file (split when it is a stack of dossiers); nothing is processed yet."""
        from ingest.stack_intake import take_stack

        dossier = check_dossier_code(incoming.dossier) if incoming.dossier else None
        incoming = replace(incoming, dossier=dossier)
        settings = self.services.settings
        pages = count_pages(incoming.path, max_pages=settings.max_pages)
        # 0 pages: unreadable or over `max_pages`; the pipeline refuses it with its code, nothing is scanned.
        if pages and ((settings.split_stacks and pages > 1) or incoming.collate_duplex):
            stacked = take_stack(self.services, incoming, pages=pages)
            if stacked is not None:
                return stacked
        facts = Facts(
            dossier_source=incoming.dossier_source,
            group=incoming.group,
            procedure=incoming.procedure,
            received=incoming.received,
            applicant=incoming.applicant,
            page_count=pages or None,
            unit=incoming.unit,
            received_by=incoming.received_by,
            station=incoming.station,
        )
        result = intake_file(
            self.services, incoming.path, source=incoming.source, dossier=dossier, facts=facts
        )
        return Taken(incoming.source, (_taken(incoming.source, result, pages),))

    def submit(self, incoming: Incoming) -> Taken:
        """`take`, then send what needs processing: what the API and the hot folder call."""
        taken = self.take(incoming)
        self.send(taken.to_process)
        return taken

    def send(self, document_ids: Sequence[str]) -> None:
        """Hand documents to the pool or the workers; one already on its way is not sent twice."""
        if document_ids:
            self._backend.send(list(document_ids))

    def retry_failed(self, document_ids: Sequence[str]) -> list[str]:
        """Put documents that failed for a passing reason back in the queue; returns those requeued."""
        requeued: list[str] = []
        with self.services.db.unit_of_work() as session:
            for document in DocumentRepository(session).many(document_ids):
                code = document.error_code or ""
                if document.status == DocumentStatus.FAILED and code.startswith(RETRYABLE_PREFIXES):
                    document.status = DocumentStatus.QUEUED
                    document.error_code = document.error_message = None
                    document.claimed_by = document.claimed_process = document.heartbeat_at = None
                    document.finished_at = None
                    requeued.append(document.id)
        self.send(requeued)
        return requeued

    def wait(
        self,
        document_ids: Iterable[str],
        *,
        on_finished: Callable[[Finished], None] = lambda _finished: None,
        stop: threading.Event | None = None,
        abort: threading.Event | None = None,
    ) -> set[str]:
        """Return when every document is finished, or once `stop` is set and the work in flight is done,
        or at once when `abort` is set (work in flight dropped, its documents left for a rerun).

        Returns the documents left unfinished (still queued: a rerun or `--resume` takes them).
        """
        pending = set(document_ids)
        for document_id, status in _statuses(self.services, pending).items():
            if status.finished:
                pending.discard(document_id)
                on_finished(Finished(document_id, status))
        stop, abort = stop or threading.Event(), abort or threading.Event()
        left = self._backend.wait(pending, on_finished, stop, abort)
        if abort.is_set():
            self._backend.abort()
        return left

    def abort(self) -> None:
        """Stop now (second Ctrl-C): work in flight is dropped; its documents stay unfinished for a rerun."""
        self._backend.abort()

    def close(self) -> None:
        """Let work in flight finish and release the pool."""
        self._backend.close()


def open_submitter(services: Services, *, queue: QueueName = "bulk") -> Submitter:
    """The submitter of this mode: the embedded pool without a broker, Celery with one."""
    if services.settings.embedded:
        return Submitter(services, _PoolBackend(services))
    return Submitter(services, _CeleryBackend(services, queue))


def count_pages(path: Path, *, max_pages: int) -> int:
    """Pages in a scan without decoding them (0 when it cannot be read or has more than `max_pages`: the
    pipeline reports why)."""
    from ocr.decode import open_document
    from ocr.errors import InputError

    try:
        with open_document(path, max_pages=max_pages) as document:
            return document.page_count
    except (InputError, OSError, MemoryError):
        return 0


def _taken(source: str, result: IntakeResult, pages: int) -> TakenDocument:
    return TakenDocument(source, result.document_id, result.duplicate, result.status, max(pages, 1))


def _statuses(services: Services, document_ids: Iterable[str]) -> dict[str, DocumentStatus]:
    with services.db.unit_of_work() as session:
        return DocumentRepository(session).statuses(sorted(document_ids))


class _PoolBackend:
    """Embedded mode: this machine's worker processes, fed a few documents at a time.

    Feeding at most `workers + 1` documents keeps every core busy while leaving the rest queued in the
    database, so a stop (Ctrl-C) only has to let the few in flight finish.
    """

    def __init__(self, services: Services) -> None:
        from ingest.runner import LocalRunner

        self._services = services
        self._runner = LocalRunner(services)
        self._runner.warm_up()
        self._capacity = services.settings.workers + 1
        self._lock = threading.Lock()
        self._waiting: deque[str] = deque()
        self._queued: set[str] = set()
        self._in_flight: dict[str, Future[str]] = {}
        self._finished: queue.Queue[Finished] = queue.Queue()
        self._closed = False

    def send(self, document_ids: Sequence[str]) -> None:
        with self._lock:
            for document_id in document_ids:
                if document_id not in self._queued and document_id not in self._in_flight:
                    self._waiting.append(document_id)
                    self._queued.add(document_id)
            self._feed()

    def _feed(self) -> None:
        """Start waiting documents while there is room (call with the lock held)."""
        while self._waiting and len(self._in_flight) < self._capacity and not self._closed:
            document_id = self._waiting.popleft()
            self._queued.discard(document_id)
            future = self._runner.submit(document_id)
            self._in_flight[document_id] = future
            future.add_done_callback(partial(self._done, document_id))

    def _done(self, document_id: str, future: Future[str]) -> None:
        try:
            if future.cancelled():
                return
            outcome = self._runner.settle(document_id, future)
            self._finished.put(Finished(outcome.document_id, outcome.status))
        finally:
            with self._lock:
                self._in_flight.pop(document_id, None)
                self._feed()

    def _stop_taking(self) -> set[str]:
        """Keep what has not started in the queue (in the database it stays `queued`)."""
        with self._lock:
            left = set(self._waiting)
            self._waiting.clear()
            self._queued.clear()
            return left

    def wait(
        self,
        pending: set[str],
        on_finished: Callable[[Finished], None],
        stop: threading.Event,
        abort: threading.Event,
    ) -> set[str]:
        left: set[str] = set()
        stopped = False
        while pending:
            if abort.is_set():
                return left | pending
            if stop.is_set() and not stopped:
                stopped = True
                left = self._stop_taking() & pending
                pending -= left  # the rest are in flight, or finished with their event on its way
                continue
            try:
                finished = self._finished.get(timeout=0.2)
            except queue.Empty:
                continue
            if finished.document_id in pending:
                pending.discard(finished.document_id)
                on_finished(finished)
        return left

    def abort(self) -> None:
        self._stop_taking()
        with self._lock:
            self._closed = True
        self._runner.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._runner.close()


@dataclass
class _CeleryBackend:
    """Production mode: Celery workers on any machine; progress is read from the database."""

    services: Services
    queue_name: QueueName
    poll_seconds: float = 1.0
    _sent: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        from ingest.celery_app import create_celery

        self._app = create_celery(self.services.settings)

    def send(self, document_ids: Sequence[str]) -> None:
        from ingest.celery_app import enqueue

        for document_id in document_ids:
            if document_id not in self._sent:  # a rerun of the process sends again; the lease dedups
                enqueue(self._app, document_id, queue=self.queue_name)
                self._sent.add(document_id)

    def wait(
        self,
        pending: set[str],
        on_finished: Callable[[Finished], None],
        stop: threading.Event,
        abort: threading.Event,
    ) -> set[str]:
        while pending and not stop.is_set() and not abort.is_set():
            for document_id, status in _statuses(self.services, pending).items():
                if status.finished:
                    pending.discard(document_id)
                    on_finished(Finished(document_id, status))
            if pending:
                stop.wait(self.poll_seconds)
        return pending  # the workers go on with them; waiting again (rerun) picks them up

    def abort(self) -> None:
        return None

    def close(self) -> None:
        return None


def spool_dir(services: Services) -> Path:
    """Where ZIP members, uploads and stack parts are written while they are taken in."""
    configured = services.settings.spool_dir
    if configured is None:
        return Path(tempfile.gettempdir())
    configured.mkdir(parents=True, exist_ok=True)
    return configured
