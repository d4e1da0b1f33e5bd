"""API batches: many files sent together by a client system or a station, followed as one.

    batch_id = open_batch(services, name="quay-4", created_by=identity_id, unit="xa-tra-on")
    add_to_batch(services, submitter, batch_id, incoming)   # each file through the one way in
    progress = batch_progress(services, batch_id)           # counts by status, pages, per-file errors

A batch is an `ImportRun` of kind "batch" with one `ImportItem` per file (or stack part), so the files of a
batch share a group (a file without a dossier code takes the one found on the others), like an import.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from uuid import uuid4

from ingest import errors
from ingest.batch import record_problem, record_taken
from ingest.errors import IngestError
from ingest.services import Services
from ingest.sources import SourceProblem
from ingest.submit import Incoming, Submitter, Taken
from storage.models import DocumentStatus, ImportItem, ImportRun
from storage.repositories import DocumentRepository


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch and what became of it."""

    source: str
    document_id: str | None
    status: str | None
    """The document's status; None when the file could not be taken in (see `error`)."""
    pages: int | None
    duplicate: bool
    dossier: str | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch stands."""

    id: str
    name: str | None
    unit: str | None
    created_by: str | None
    created_at: str
    files: list[BatchFile]
    counts: dict[str, int] = field(default_factory=dict)
    """Files by document status, and `refused` for files not taken in."""
    pages: int = 0
    """Pages of every document of the batch (as counted at intake, then as read)."""
    pages_done: int = 0
    """Pages of the documents that are finished (done, needs review or failed)."""
    finished: bool = False


def group_of(batch_id: str) -> str:
    """The group key every file of the batch shares."""
    return f"batch:{batch_id}"


def open_batch(services: Services, *, name: str | None, created_by: str, unit: str | None) -> str:
    """Record a new batch; returns its id (12 hex digits)."""
    batch_id = uuid4().hex[:12]
    with services.db.unit_of_work() as session:
        session.add(
            ImportRun(
                id=batch_id,
                kind="batch",
                request={"name": name},
                state="running",
                runs=1,
                created_by=created_by,
                unit=unit,
            )
        )
    return batch_id


def unique_source(taken: set[str], source: str) -> str:
    """`source`, or `source (2)`, `(3)` … when the batch already holds a file of that name."""
    candidate, n = source, 1
    while candidate in taken:
        n += 1
        candidate = f"{source} ({n})"
    taken.add(candidate)
    return candidate


def add_to_batch(services: Services, submitter: Submitter, batch_id: str, incoming: Incoming) -> Taken | None:
    """Take one file in as part of the batch and send it on; a refused file is recorded, never raised
    (one bad file never stops a batch), unless the refusal is transient (storage down: the client retries)."""
    incoming = replace(incoming, group=group_of(batch_id))
    try:
        taken = submitter.submit(incoming)
    except IngestError as exc:
        if errors.is_transient(exc):
            raise
        record_problem(services, batch_id, 1, SourceProblem(incoming.source, exc.code, exc.message))
        return None
    record_taken(services, batch_id, 1, taken, set())
    return taken


def close_batch(services: Services, batch_id: str) -> None:
    """Every file is in: the batch now only waits for processing."""
    with services.db.unit_of_work() as session:
        run = session.get(ImportRun, batch_id)
        if run is not None:
            run.state = "queued"


def find_batch(services: Services, batch_id: str) -> ImportRun | None:
    """The batch with this id (not an import), detached."""
    with services.db.unit_of_work() as session:
        run = session.get(ImportRun, batch_id)
        if run is None or run.kind != "batch":
            return None
        session.expunge(run)
        return run


def batch_progress(services: Services, run: ImportRun) -> BatchProgress:
    """Counts by status, pages read so far and each file's outcome, in the order they were sent."""
    with services.db.unit_of_work() as session:
        items = list(session.query(ImportItem).filter(ImportItem.import_id == run.id).order_by(ImportItem.id))
        documents = {
            d.id: d for d in DocumentRepository(session).many([i.document_id for i in items if i.document_id])
        }
        files = []
        for item in items:
            document = documents.get(item.document_id or "")
            files.append(
                BatchFile(
                    source=item.source,
                    document_id=item.document_id,
                    status=document.status if document else None,
                    pages=(document.page_count if document and document.page_count else item.pages),
                    duplicate=item.duplicate,
                    dossier=document.dossier_code if document else None,
                    error_code=(document.error_code if document else None) or item.error_code,
                    error_message=(document.error_message if document else None) or item.error_message,
                )
            )
    counts = Counter(f.status or "refused" for f in files)
    finished = run.state != "running" and all(
        f.status is None or DocumentStatus(f.status).finished for f in files
    )
    pages = sum(f.pages or 0 for f in files)
    pages_done = sum(f.pages or 0 for f in files if f.status and DocumentStatus(f.status).finished)
    return BatchProgress(
        id=run.id,
        name=(run.request or {}).get("name"),
        unit=run.unit,
        created_by=run.created_by,
        created_at=run.created_at.isoformat(),
        files=files,
        counts=dict(counts),
        pages=pages,
        pages_done=pages_done,
        finished=finished,
    )
