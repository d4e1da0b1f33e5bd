"""A batch import: expand paths, store every original, then process the new documents.

Embedded mode processes with the local pool and returns when done. With a broker, documents are sent to
Celery workers and, when asked to wait, the database is polled until they finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest import errors
from ingest.intake import IntakeResult, intake, intake_file
from ingest.runner import LocalRunner
from ingest.services import Services
from ingest.sources import InputItem, SourceProblem, iter_inputs
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository


@dataclass(frozen=True)
class ImportedItem:
    """One input file and the document that holds it."""

    source: str
    document_id: str
    duplicate: bool


@dataclass
class ImportReport:
    """What a batch did: documents taken in, paths that could not be read."""

    items: list[ImportedItem] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)

    @property
    def new_ids(self) -> list[str]:
        """Ids of documents created by this batch (duplicates excluded)."""
        return list(dict.fromkeys(i.document_id for i in self.items if not i.duplicate))


@dataclass(frozen=True)
class Progress:
    """Callbacks a front end (CLI progress bar) can follow."""

    on_stored: Callable[[str, int], None] = lambda source, total: None
    on_finished: Callable[[str, DocumentStatus], None] = lambda document_id, status: None
    on_total: Callable[[int], None] = lambda count: None


def take_in(
    services: Services, paths: list[Path], *, dossier: str | None, progress: Progress
) -> ImportReport:
    """Store every input's original and record it (or find its duplicate)."""
    report = ImportReport()
    for entry in iter_inputs(paths, max_file_bytes=services.settings.max_file_bytes):
        if isinstance(entry, SourceProblem):
            report.problems.append(entry)
            continue
        result = _take_one(services, entry, dossier=dossier)
        if isinstance(result, SourceProblem):
            report.problems.append(result)
            continue
        report.items.append(ImportedItem(entry.source, result.document_id, result.duplicate))
        progress.on_stored(entry.source, len(report.items))
    return report


def _take_one(services: Services, item: InputItem, *, dossier: str | None) -> IntakeResult | SourceProblem:
    try:
        if item.path is not None:  # a plain file: streamed to the store, never whole in memory
            return intake_file(services, item.path, source=item.source, dossier=dossier)
        data = item.read()
    except OSError as exc:
        return SourceProblem(item.source, errors.NOT_FOUND, f"cannot read the file: {exc}")
    return intake(services, data, source=item.source, dossier=dossier)


def process_queued(services: Services, document_ids: list[str], *, progress: Progress) -> None:
    """Process documents in embedded mode, on all cores, returning when all are finished."""
    if not document_ids:
        return
    progress.on_total(len(document_ids))
    with LocalRunner(services) as runner:
        runner.run(document_ids, lambda finished: progress.on_finished(finished.document_id, finished.status))


def wait_for(
    services: Services, document_ids: list[str], *, progress: Progress, poll_seconds: float = 1.0
) -> None:
    """Production mode: poll the database until every document is finished (one query per 1,000 ids)."""
    pending = set(document_ids)
    progress.on_total(len(pending))
    while pending:
        with services.db.unit_of_work() as session:
            repository = DocumentRepository(session)
            ordered = sorted(pending)
            for start in range(0, len(ordered), 1000):
                chunk = ordered[start : start + 1000]
                statuses = repository.statuses(chunk)
                for document_id in chunk:
                    status = statuses.get(document_id, DocumentStatus.FAILED)
                    if status.finished:
                        pending.discard(document_id)
                        progress.on_finished(document_id, status)
        if pending:
            time.sleep(poll_seconds)


def unfinished(services: Services, document_ids: list[str]) -> list[str]:
    """Those of the ids whose documents still need processing (e.g. duplicates of an interrupted run)."""
    with services.db.unit_of_work() as session:
        repository = DocumentRepository(session)
        result = []
        for document_id in document_ids:
            document = repository.get(document_id)
            if document is not None and not DocumentStatus(document.status).finished:
                result.append(document_id)
        return result


def unfinished_all(services: Services) -> list[str]:
    """Every document still queued or interrupted while processing, oldest first."""
    with services.db.unit_of_work() as session:
        return DocumentRepository(session).ids_with_status(DocumentStatus.QUEUED, DocumentStatus.PROCESSING)
