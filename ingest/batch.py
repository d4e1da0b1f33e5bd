"""A bulk import (`sohoa import`): every file stored and recorded, then processed; resumable by its id.

    ImportRequest ─> run_import: iter_inputs → (manifest row) → Submitter.take → send → wait → summary

An import's id is derived from what was asked (paths, manifest, options), so running the same command
again resumes it: files already finished are skipped without being read, failures worth another try are
retried, unfinished documents are sent again. `stop` (the first Ctrl-C) stops taking new files and lets
the documents in flight finish; what was not started stays queued for the rerun. Nothing is recorded
half: a document's results land in one unit of work.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ingest import errors
from ingest.errors import IngestError
from ingest.filing import resolve_group
from ingest.intake import file_digest
from ingest.manifest import Manifest, ManifestRow, normalise_path
from ingest.services import Services
from ingest.sources import InputItem, SourceProblem, SpoolError, iter_inputs, local_copy
from ingest.submit import RETRYABLE_PREFIXES, Finished, Incoming, Taken, open_submitter, spool_dir
from storage.errors import StorageFull
from storage.models import Document, DocumentStatus, ImportItem, ImportRun, utcnow
from storage.repositories import DocumentRepository


@dataclass(frozen=True)
class ImportRequest:
    """What was asked: the same request is the same import (its id), so a rerun resumes it."""

    paths: tuple[str, ...]
    dossier: str | None = None
    manifest: str | None = None
    manifest_sha256: str | None = None
    duplex: bool = False
    unit: str | None = None
    """The unit receiving every file (`--unit`); None: the province."""
    received_by: str | None = None
    """The operator who ran it (`cli:<user>`); not part of the import's identity: anyone may resume it."""

    @classmethod
    def build(
        cls,
        paths: list[Path],
        *,
        dossier: str | None,
        manifest: Path | None,
        duplex: bool,
        unit: str | None = None,
        received_by: str | None = None,
    ) -> ImportRequest:
        """A request with absolute paths (the same folder from another working directory is the same)."""
        return cls(
            paths=tuple(str(p.resolve()) for p in paths),
            dossier=dossier,
            manifest=str(manifest.resolve()) if manifest else None,
            manifest_sha256=file_digest(manifest)[0] if manifest else None,
            duplex=duplex,
            unit=unit,
            received_by=received_by,
        )

    @property
    def import_id(self) -> str:
        """Twelve hex digits of the request's SHA-256: short enough to type after `--resume`. Without a
        unit the id is what it was before units existed, so older imports still resume."""
        fields = asdict(self)
        fields.pop("received_by")
        if fields["unit"] is None:
            fields.pop("unit")
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> ImportRequest:
        """The request stored with an import (for `--resume ID`)."""
        return cls(
            paths=tuple(data["paths"]),
            dossier=data.get("dossier"),
            manifest=data.get("manifest"),
            manifest_sha256=data.get("manifest_sha256"),
            duplex=bool(data.get("duplex")),
            unit=data.get("unit"),
            received_by=data.get("received_by"),
        )


@dataclass(frozen=True)
class ImportEvents:
    """Callbacks a front end (the CLI's progress bars) follows."""

    on_taken: Callable[[Taken], None] = lambda taken: None
    on_skipped: Callable[[str, int], None] = lambda source, pages: None
    """A file an earlier run of this import finished: not read again."""
    on_problem: Callable[[SourceProblem], None] = lambda problem: None
    on_finished: Callable[[str, DocumentStatus, int], None] = lambda document_id, status, pages: None


@dataclass
class ImportResult:
    """What one run of an import did."""

    import_id: str
    run: int
    processed_now: set[str] = field(default_factory=set)
    """Documents this run sent to be read (new ones, retried failures, unfinished ones)."""
    left: set[str] = field(default_factory=set)
    """Documents still unfinished when the run stopped (a rerun or `--resume` takes them)."""
    interrupted: bool = False
    pages_processed: int = 0
    seconds: float = 0.0


def find_import(services: Services, import_id: str) -> ImportRequest | None:
    """The request of an earlier import, or None."""
    with services.db.unit_of_work() as session:
        run = session.get(ImportRun, import_id)
        return ImportRequest.from_record(run.request) if run else None


def available_files(request: ImportRequest, *, max_file_bytes: int) -> set[str]:
    """The relative paths an import would read (what a manifest's `file` column may name)."""
    paths = [Path(p) for p in request.paths]
    return {
        normalise_path(entry.relative)
        for entry in iter_inputs(paths, max_file_bytes=max_file_bytes)
        if isinstance(entry, InputItem)
    }


def run_import(
    services: Services,
    request: ImportRequest,
    *,
    manifest: Manifest | None = None,
    events: ImportEvents | None = None,
    stop: threading.Event | None = None,
    abort: threading.Event | None = None,
    wait: bool = True,
) -> ImportResult:
    """Take every file of the request in and, when `wait`, return once all are processed or `stop` is set."""
    events = events or ImportEvents()
    stop = stop or threading.Event()
    result = ImportResult(request.import_id, _start_run(services, request))
    mapping = manifest.mapping() if manifest else {}
    started = time.monotonic()
    pages: dict[str, int] = {}
    full: StorageFull | None = None
    with open_submitter(services, queue="bulk") as submitter:
        earlier = _earlier_items(services, result.import_id)
        for entry in iter_inputs([Path(p) for p in request.paths], max_file_bytes=_limit(services)):
            if stop.is_set():
                result.interrupted = True
                break
            if isinstance(entry, SourceProblem):
                record_problem(services, result.import_id, result.run, entry)
                events.on_problem(entry)
                continue
            if entry.source in earlier.finished:
                events.on_skipped(entry.source, earlier.finished[entry.source])
                continue
            try:
                taken = _take(services, submitter.take, entry, request, result, mapping.get(_key(entry)))
            except StorageFull as exc:  # every further file would fail the same way: stop the import
                full = exc
                result.interrupted = True
                break
            if isinstance(taken, SourceProblem):
                record_problem(services, result.import_id, result.run, taken)
                events.on_problem(taken)
                continue
            to_send = taken.to_process + submitter.retry_failed(
                [d.document_id for d in taken.documents if d.status == DocumentStatus.FAILED]
            )
            record_taken(services, result.import_id, result.run, taken, earlier.sources)
            for document in taken.documents:
                pages[document.document_id] = document.pages
            submitter.send(to_send)
            result.processed_now.update(to_send)
            events.on_taken(taken)
        if wait and full is None:

            def finished(done: Finished) -> None:
                count = pages.get(done.document_id, 1)
                result.pages_processed += count
                events.on_finished(done.document_id, done.status, count)

            result.left = submitter.wait(result.processed_now, on_finished=finished, stop=stop, abort=abort)
            result.interrupted = result.interrupted or stop.is_set()
            if not result.left:
                _resolve_groups(services, result.import_id)
    result.seconds = time.monotonic() - started
    if full is not None:  # the run's end cannot be recorded on a full disk; a rerun takes over from here
        raise full
    _end_run(services, result, waited=wait)
    return result


def _resolve_groups(services: Services, import_id: str) -> None:
    """Settle the import's groups once all is read: each document also does it as it finishes, but on
    another machine that may land after this process looked."""
    with services.db.unit_of_work() as session:
        keys = set(
            session.scalars(
                select(Document.group_key)
                .join(ImportItem, ImportItem.document_id == Document.id)
                .where(ImportItem.import_id == import_id, Document.group_key.is_not(None))
            )
        )
    for key in sorted(k for k in keys if k):
        resolve_group(services, key)


def _limit(services: Services) -> int:
    return services.settings.max_file_bytes


def _key(item: InputItem) -> str:
    return normalise_path(item.relative)


def _take(
    services: Services,
    take: Callable[[Incoming], Taken],
    item: InputItem,
    request: ImportRequest,
    result: ImportResult,
    row: ManifestRow | None,
) -> Taken | SourceProblem:
    """Spool (archive members), then take one file in; input problems become coded problems."""
    try:
        with local_copy(item, spool=spool_dir(services), limit=_limit(services)) as path:
            return take(_incoming(item, path, request, result.import_id, row))
    except SpoolError as exc:
        return SourceProblem(item.source, exc.code, exc.message)
    except IngestError as exc:
        if errors.is_transient(exc):
            raise
        return SourceProblem(item.source, exc.code, exc.message)
    except OSError as exc:
        return SourceProblem(item.source, errors.NOT_FOUND, f"cannot read the file: {exc}")


def _incoming(
    item: InputItem, path: Path, request: ImportRequest, import_id: str, row: ManifestRow | None
) -> Incoming:
    """The file as the submitter takes it: the manifest's row wins over the import's dossier option."""
    group = f"import:{import_id}:{item.folder}"
    if row is None:
        return Incoming(
            source=item.source,
            path=path,
            dossier=request.dossier,
            group=group,
            collate_duplex=request.duplex,
            unit=request.unit,
            received_by=request.received_by,
        )
    return Incoming(
        source=item.source,
        path=path,
        dossier=row.dossier or request.dossier,
        dossier_source="manifest" if row.dossier else "given",
        group=group,
        procedure=row.procedure,
        received=row.received,
        applicant=row.applicant,
        collate_duplex=request.duplex,
        unit=request.unit,
        received_by=request.received_by,
    )


@dataclass(frozen=True)
class _Earlier:
    sources: set[str]
    """Every source an earlier run of this import recorded."""
    finished: dict[str, int]
    """Sources whose documents are all finished for good (not a failure worth retrying), with their pages."""


def _earlier_items(services: Services, import_id: str) -> _Earlier:
    with services.db.unit_of_work() as session:
        items = list(session.query(ImportItem).filter(ImportItem.import_id == import_id))
        documents = {
            d.id: d for d in DocumentRepository(session).many([i.document_id for i in items if i.document_id])
        }
        finished: dict[str, int] = {}
        for item in items:
            document = documents.get(item.document_id or "")
            if document is None or not DocumentStatus(document.status).finished:
                continue
            if document.status == DocumentStatus.FAILED and (document.error_code or "").startswith(
                RETRYABLE_PREFIXES
            ):
                continue
            finished[item.source] = document.page_count or 1
        return _Earlier({i.source for i in items}, finished)


def _start_run(services: Services, request: ImportRequest) -> int:
    """Record (or reopen) the import; returns the number of this run."""
    with services.db.unit_of_work() as session:
        run = session.get(ImportRun, request.import_id)
        if run is None:
            run = ImportRun(id=request.import_id, request=asdict(request), runs=0)
            session.add(run)
        run.runs += 1
        run.state = "running"
        run.finished_at = None
        return run.runs


def _end_run(services: Services, result: ImportResult, *, waited: bool) -> None:
    with services.db.unit_of_work() as session:
        run = session.get(ImportRun, result.import_id)
        if run is None:
            return
        if result.interrupted or result.left:
            run.state = "interrupted"
        elif waited:
            run.state, run.finished_at = "finished", utcnow()
        else:
            run.state = "queued"


def record_problem(services: Services, import_id: str, run: int, problem: SourceProblem) -> None:
    """A file of an import (or API batch) that could not be taken in, and why."""
    with services.db.unit_of_work() as session:
        item = _item(session, import_id, problem.source)
        item.document_id, item.pages = None, None
        item.error_code, item.error_message = problem.code, problem.message
        item.last_run = run


def record_taken(services: Services, import_id: str, run: int, taken: Taken, earlier: set[str]) -> None:
    """The documents a file of an import (or API batch) became."""
    with services.db.unit_of_work() as session:
        for document in taken.documents:
            item = _item(session, import_id, document.source)
            if item.document_id != document.document_id:
                # A duplicate is one whose bytes were known before this import first saw the file.
                item.duplicate = document.duplicate and document.source not in earlier
            item.document_id, item.pages = document.document_id, document.pages
            item.error_code = item.error_message = None
            item.last_run = run


def _item(session: Any, import_id: str, source: str) -> ImportItem:
    item = (
        session.query(ImportItem)
        .filter(ImportItem.import_id == import_id, ImportItem.source == source)
        .one_or_none()
    )
    if item is None:
        item = ImportItem(import_id=import_id, source=source, duplicate=False, last_run=1)
        session.add(item)
        session.flush()
    return item


@dataclass(frozen=True)
class ItemOutcome:
    """One file of an import, for the summary and `--report`."""

    source: str
    document_id: str | None
    outcome: str
    """processed | earlier (finished in an earlier run) | duplicate (bytes known from elsewhere) |
    queued (left for a rerun) | failed (a document that failed) | problem (not taken in at all)."""
    status: str | None
    dossier: str | None
    dossier_source: str | None
    procedure: str | None
    pages: int | None
    error_code: str | None
    error_message: str | None


def import_outcomes(services: Services, result: ImportResult) -> list[ItemOutcome]:
    """Every file of the import with its outcome, in source order."""
    with services.db.unit_of_work() as session:
        items = list(
            session.query(ImportItem)
            .filter(ImportItem.import_id == result.import_id)
            .order_by(ImportItem.source)
        )
        documents = {
            d.id: d for d in DocumentRepository(session).many([i.document_id for i in items if i.document_id])
        }
        outcomes: list[ItemOutcome] = []
        for item in items:
            document = documents.get(item.document_id or "")
            if document is None:
                outcomes.append(
                    ItemOutcome(
                        item.source, None, "problem", None, None, None, None, None,
                        item.error_code, item.error_message,
                    )
                )  # fmt: skip
                continue
            status = DocumentStatus(document.status)
            if not status.finished:
                outcome = "queued"
            elif status == DocumentStatus.FAILED:
                outcome = "failed"
            elif document.id in result.processed_now:
                outcome = "processed"
            elif item.duplicate:
                outcome = "duplicate"
            else:
                outcome = "earlier"
            outcomes.append(
                ItemOutcome(
                    item.source,
                    document.id,
                    outcome,
                    status.value,
                    document.dossier_code,
                    document.dossier_source,
                    document.procedure_id,
                    document.page_count,
                    document.error_code,
                    document.error_message,
                )
            )
        return outcomes


def failed_with(services: Services, codes: list[str]) -> list[str]:
    """Failed documents whose error code is one of `codes` or of their families (`storage` → storage.*)."""
    with services.db.unit_of_work() as session:
        return DocumentRepository(session).failed_with(codes)


def unfinished_all(services: Services) -> list[str]:
    """Every document still queued or interrupted while processing, oldest first."""
    with services.db.unit_of_work() as session:
        return DocumentRepository(session).ids_with_status(DocumentStatus.QUEUED, DocumentStatus.PROCESSING)
