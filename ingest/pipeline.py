"""The pipeline that walks one stored document through its steps; Celery tasks and the embedded pool call it.

    claim → read original → pages (ocr.page) → dossier + procedure (classifiers) → store PDF and text
    → record pages and verdict → file the original under its dossier.

Idempotent: a finished document is left alone, derived objects have deterministic keys, pages are replaced.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from celery.exceptions import SoftTimeLimitExceeded

from classifiers.fields import DossierDecision, decide_dossier, find_dossier_codes
from classifiers.keyfields import Field, extract_fields
from classifiers.kinds import kind_of_document
from classifiers.procedure import Classification
from ingest import errors
from ingest.filing import file_under, object_prefix, resolve_group_quietly
from ingest.lease import Claimant, Heartbeat, LeaseLost, heartbeat_interval, may_take_over
from ingest.services import Services
from ingest.signatures import SignatureOutcome, record_outcome, sign_finished_pdf
from ingest.webhooks import announce_finished
from ocr.archival import ArchivalFacts, claims_pdfa
from ocr.decode import DecodedDocument, MediaType, file_dpi, open_document
from ocr.errors import OcrError
from ocr.page import PageResult, process_page
from ocr.searchable_pdf import build_searchable_pdf, image_source_pdf
from storage.errors import StorageError, StorageFull
from storage.models import Document, DocumentStatus, Page, utcnow
from storage.repositories import DocumentRepository, DossierRepository, LeaseRepository
from storage.search import index_document

log = logging.getLogger(__name__)

TSV = "text/tab-separated-values; charset=utf-8"
PAGE_SEPARATOR = "\f"
"""Pages in the stored text object are separated by a form feed, as pdftotext does."""


@dataclass(frozen=True)
class Analysis:
    """What reading a document produced, before anything is recorded."""

    media_type: MediaType
    pages: list[PageResult]
    pdf: Path
    """The searchable PDF: a scratch file of the services, removed once `record` has stored it."""
    dossier: DossierDecision
    classification: Classification
    fields: tuple[Field, ...] = ()
    review_reasons: list[str] = field(default_factory=list)
    catalog_version: str | None = None
    """The version of the catalog `classification` was made with."""
    document_kind: str | None = None
    """The kind of component document it is (`classifiers.kinds`: a form, a birth notice, a receipt …)."""


def process_document(services: Services, document_id: str, *, lease: str | None = None) -> DocumentStatus:
    """Run the whole pipeline for one document and return its final status. Never raises for bad input.

    Raises `TransientError` when the object store or database is unreachable: the caller retries later
    (Celery with backoff) and the document keeps its lease, so the retry resumes it. `lease` names the
    caller (a Celery task id; None in embedded mode, where the caller owns the machine): a document another
    task is processing is left alone while that task's heartbeat is fresh (`ingest.lease`).
    """
    claimant = Claimant(lease)
    try:
        services.refresh()
        claimed = claim(services, document_id, claimant)
        if claimed is None:
            return current_status(services, document_id)
        with holding(services, claimed) as heartbeat:
            analysis = _analyse(services, claimed, between_pages=heartbeat.check)
            heartbeat.check()
            return record(services, claimed, analysis)
    except LeaseLost:
        return current_status(services, document_id)
    except Exception as exc:
        if errors.is_transient(exc):
            log.warning("document %s waits for storage: %s", document_id, errors.error_message(exc))
            raise errors.TransientError(errors.error_message(exc)) from exc
        return settle_failure(services, document_id, exc)


def settle_failure(services: Services, document_id: str, exc: Exception) -> DocumentStatus:
    """Fail the document with the error's code (bad input, storage refusing, or a bug: `internal.error`)."""
    if isinstance(exc, SoftTimeLimitExceeded):  # Celery's soft limit of the document or page task
        return _fail(services, document_id, errors.TIMEOUT, "processing took longer than its time limit")
    if isinstance(exc, OcrError | StorageError):
        return _fail(services, document_id, errors.error_code(exc), errors.error_message(exc))
    if isinstance(exc, MemoryError):
        return _fail(
            services, document_id, "input.too_large", "the document needs more memory than is available"
        )
    # A bug must not leave the document stuck in "processing".
    log.exception("unexpected error on document %s", document_id, exc_info=exc)
    return _fail(services, document_id, errors.INTERNAL, f"unexpected error: {errors.error_message(exc)}")


def current_status(services: Services, document_id: str) -> DocumentStatus:
    """The document's status as recorded (an unknown document counts as failed)."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id)
        return DocumentStatus(document.status) if document else DocumentStatus.FAILED


def claim(services: Services, document_id: str, claimant: Claimant) -> Document | None:
    """Take the processing lease: queued → processing. None if finished, unknown or held by a live task."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None or DocumentStatus(document.status).finished:
            return None
        now = utcnow()
        if document.status == DocumentStatus.PROCESSING and not may_take_over(
            held_by=document.claimed_by,
            held_process=document.claimed_process,
            heartbeat_at=document.heartbeat_at,
            claimant=claimant,
            lease_seconds=services.settings.lease_seconds,
            now=now,
        ):
            return None
        document.status = DocumentStatus.PROCESSING
        document.claimed_by = claimant.task
        document.claimed_process = claimant.process if claimant.task else None
        document.heartbeat_at = now
        document.attempts += 1
        document.started_at = now
        document.error_code = document.error_message = None
        session.flush()
        session.expunge(document)
        return document


@contextmanager
def holding(services: Services, claimed: Document) -> Iterator[Heartbeat]:
    """Keep the claimed document's lease alive while the block runs (a no-op lease in embedded mode)."""
    task, process = claimed.claimed_by, claimed.claimed_process
    if task is None or process is None:
        with Heartbeat(None, interval=0, name=claimed.id) as idle:
            yield idle
        return

    def renew() -> bool:
        with services.db.unit_of_work() as session:
            return LeaseRepository(session).renew_document(claimed.id, task, process, utcnow())

    interval = heartbeat_interval(services.settings.lease_seconds)
    with Heartbeat(renew, interval=interval, name=f"document {claimed.id}") as heartbeat:
        yield heartbeat


def _analyse(
    services: Services, document: Document, *, between_pages: Callable[[], None] = lambda: None
) -> Analysis:
    settings = services.settings
    if document.size_bytes > settings.max_file_bytes:
        raise OcrError(
            f"the file is {document.size_bytes} bytes, over the {settings.max_file_bytes} limit",
            code=errors.TOO_LARGE,
        )
    original = services.original_path(document.original_key, sha256=document.sha256)
    with (
        open_document(
            original,
            dpi=settings.ocr_dpi,
            max_pixels=settings.max_page_pixels,
            max_pages=settings.max_pages,
        ) as decoded,
        tempfile.TemporaryDirectory(prefix=f"sohoa-{document.id}-") as spool_dir,
    ):
        spool = Path(spool_dir)
        pages = []
        for source in decoded.pages():
            between_pages()
            pages.append(
                process_page(source, engine=services.engine, options=services.page_options, spool=spool)
            )
        return conclude(services, original, decoded, pages, title=document_title(document))


def document_title(document: Document) -> str:
    """The stored PDF's title (its archival metadata): the file it was scanned into."""
    return f"Bản số hóa {Path(document.source).name}"


def conclude(
    services: Services,
    original: Path,
    decoded: DecodedDocument,
    pages: list[PageResult],
    *,
    title: str = "Tài liệu số hóa",
) -> Analysis:
    """From the read pages to the verdict: searchable PDF, dossier code, procedure, key fields, review.

    Call while the pages' text-layer PDFs (in their spool folder) still exist. The PDF is written to a
    scratch file of `services` (`Analysis.pdf`), which `record` stores and removes.
    """
    pdf = services.scratch_file(".pdf")
    try:
        archival = ArchivalFacts(title=title, created=utcnow())
        _write_searchable_pdf(services, original, decoded, pages, pdf, archival)
        dossier = decide_dossier(
            find_dossier_codes((p.number, p.text, [b.text for b in p.barcodes]) for p in pages)
        )
        texts = [p.text for p in pages if not p.blank]
        payloads = [b.text for p in pages for b in p.barcodes]
        classifier = services.classifier  # one catalog for the verdict and the version it records
        classification = classifier.classify(texts, payloads)
        return Analysis(
            fields=extract_fields([p.text for p in pages]),
            media_type=decoded.media_type,
            pages=pages,
            pdf=pdf,
            dossier=dossier,
            classification=classification,
            review_reasons=_review_reasons(services, pages, dossier, classification),
            catalog_version=classifier.catalog.version,
            document_kind=kind_of_document(texts).kind,
        )
    except BaseException:
        pdf.unlink(missing_ok=True)
        raise


def _write_searchable_pdf(
    services: Services,
    original: Path,
    decoded: DecodedDocument,
    pages: list[PageResult],
    output: Path,
    archival: ArchivalFacts,
) -> None:
    """The stored PDF (PDF/A-2b when the source allows), file to file: the original PDF itself, or the
    image wrapped as a PDF first."""
    layers = [page.layer for page in pages]
    if decoded.media_type is MediaType.PDF:
        build_searchable_pdf(original, layers, output=output, archival=archival)
        return
    wrapper = services.scratch_file(".source.pdf")
    try:
        image_source_pdf(  # frames are decoded again only for pages that must become JPEG pages
            original, dpi=file_dpi(original), frames=lambda i: decoded.page(i + 1).image, output=wrapper
        )
        build_searchable_pdf(wrapper, layers, output=output, archival=archival)
    finally:
        wrapper.unlink(missing_ok=True)


def _review_reasons(
    services: Services, pages: list[PageResult], dossier: DossierDecision, classification: Classification
) -> list[str]:
    reasons: list[str] = []
    if classification.procedure_id is None:
        reasons.append("procedure.unknown" if not classification.candidates else "procedure.low_confidence")
    threshold = services.settings.min_ocr_confidence
    if any(p.ocr_confidence is not None and p.ocr_confidence < threshold for p in pages):
        reasons.append("ocr.low_confidence")
    if all(p.blank for p in pages):
        reasons.append("document.blank")
    return reasons


def record(services: Services, claimed: Document, analysis: Analysis) -> DocumentStatus:
    """Store derived objects, then write pages and verdict in one unit of work; finally file the original.

    Nothing is stored when the lease was taken over meanwhile (checked first, and again under the row lock).
    """
    if not _still_held(services, claimed):
        log.warning("document %s was taken over by another task; dropping this result", claimed.id)
        return current_status(services, claimed.id)
    filing = file_under(claimed.dossier_code, claimed.dossier_source, analysis.dossier)
    dossier_code = filing.code
    prefix = object_prefix(claimed.id, dossier_code)
    pdf_key, text_key, words_key = f"{prefix}/searchable.pdf", f"{prefix}/text.txt", f"{prefix}/words.tsv"
    target_original = claimed.original_key
    if dossier_code and not claimed.original_key.startswith(f"dossiers/{dossier_code}/"):
        target_original = f"{prefix}/{claimed.original_key.rsplit('/', 1)[-1]}"
    reasons = [*_stated_reasons(claimed, analysis.review_reasons), *filing.review_reasons]
    signature = _sign(services, claimed, analysis.pdf, reasons)
    reasons += signature.review_reasons
    written: list[str] = []
    try:
        try:
            services.store.put_file(pdf_key, analysis.pdf, content_type="application/pdf")
            written.append(pdf_key)
        finally:
            analysis.pdf.unlink(missing_ok=True)
        services.store.put_bytes(words_key, words_tsv(analysis.pages).encode("utf-8"), content_type=TSV)
        written.append(words_key)
        text = PAGE_SEPARATOR.join(p.text for p in analysis.pages)
        services.store.put_bytes(text_key, text.encode("utf-8"), content_type="text/plain; charset=utf-8")
        written.append(text_key)
        if target_original != claimed.original_key:
            services.store.copy(claimed.original_key, target_original)
            written.append(target_original)
    except StorageFull:  # nothing half-written stays: the rerun writes them all again
        for key in written:
            services.store.delete(key)
        raise

    status = DocumentStatus.NEEDS_REVIEW if reasons else DocumentStatus.DONE
    with services.db.unit_of_work() as session:
        repository = DocumentRepository(session)
        document = repository.get_for_update(claimed.id)
        if document is None:
            raise StorageError(f"document {claimed.id} disappeared while processing")
        if (
            document.status != DocumentStatus.PROCESSING
            or document.claimed_by != claimed.claimed_by
            or document.claimed_process != claimed.claimed_process
        ):
            # Another task took over after our lease ran out and finished or holds it: its result stands.
            log.warning(
                "document %s was taken over by %s; dropping this result", claimed.id, document.claimed_by
            )
            return DocumentStatus(document.status)
        if dossier_code and not document.dossier_code:
            DossierRepository(session).ensure(dossier_code)
            document.dossier_code = dossier_code
            document.dossier_source = filing.source
        repository.replace_pages(document, [_page_row(p) for p in analysis.pages])
        ocr_scores = [p.ocr_confidence for p in analysis.pages if p.ocr_confidence is not None]
        document.media_type = analysis.media_type.value
        document.page_count = len(analysis.pages)
        document.mean_ocr_confidence = round(sum(ocr_scores) / len(ocr_scores), 4) if ocr_scores else None
        document.fields = [
            {"kind": f.kind, "value": f.value, "page": f.page, "confidence": f.confidence, "label": f.label}
            for f in analysis.fields
        ]
        document.procedure_id = claimed.given_procedure or analysis.classification.procedure_id
        document.procedure_confidence = 1.0 if claimed.given_procedure else analysis.classification.confidence
        document.procedure_candidates = [
            {"procedure": c.procedure_id, "score": c.score, "evidence": c.evidence}
            for c in analysis.classification.candidates
        ]
        document.catalog_version = analysis.catalog_version
        document.document_kind = analysis.document_kind
        document.review_reasons = reasons
        record_outcome(document, signature)
        document.original_key = target_original
        document.pdf_key, document.text_key, document.words_key = pdf_key, text_key, words_key
        index_document(session, document.id, "\n".join(p.text for p in analysis.pages))
        document.status = status
        document.finished_at = utcnow()
    log.info("document %s recorded: %s", claimed.id, status.value)
    if target_original != claimed.original_key:
        services.store.delete(claimed.original_key)  # only after the row points at the filed copy
    resolve_group_quietly(services, claimed.group_key)
    announce_finished(services, claimed.id)
    return status


def _sign(services: Services, claimed: Document, pdf: Path, reasons: list[str]) -> SignatureOutcome:
    """Sign the PDF for its scanning officer now, unless it goes to review and signing waits for approval."""
    if reasons and services.settings.sign_on == "approval":
        with pikepdf.open(pdf) as opened:
            return SignatureOutcome(pdfa=claims_pdfa(opened))
    return sign_finished_pdf(services, claimed, pdf, signer=claimed.received_by)


def _still_held(services: Services, claimed: Document) -> bool:
    """Whether the claim `claimed` was made under is still the document's lease."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(claimed.id)
        return (
            document is not None
            and document.status == DocumentStatus.PROCESSING
            and document.claimed_by == claimed.claimed_by
            and document.claimed_process == claimed.claimed_process
        )


def _stated_reasons(claimed: Document, reasons: list[str]) -> list[str]:
    """Review reasons of the reading, less the procedure's when a person stated it up front (manifest)."""
    if not claimed.given_procedure:
        return list(reasons)
    return [r for r in reasons if not r.startswith("procedure.")]


def words_tsv(pages: list[PageResult]) -> str:
    """Every OCR word with its page, box (pixels of the upright OCR image at `dpi`) and confidence."""
    lines = ["page\tdpi\tleft\ttop\twidth\theight\tconfidence\ttext"]
    for page in pages:
        for word in page.words:
            box = f"{word.left}\t{word.top}\t{word.width}\t{word.height}"
            dpi = page.ocr_dpi or page.dpi
            lines.append(f"{page.number}\t{dpi:.0f}\t{box}\t{word.confidence:.3f}\t{word.text}")
    return "\n".join(lines) + "\n"


def _page_row(page: PageResult) -> Page:
    return Page(
        number=page.number,
        text=page.text,
        text_source=page.text_source,
        ocr_confidence=None if page.ocr_confidence is None else round(page.ocr_confidence, 4),
        blank=page.blank,
        rotation=page.rotation,
        skew=page.skew,
        dpi=round(page.dpi, 1),
    )


def _fail(services: Services, document_id: str, code: str, message: str) -> DocumentStatus:
    """Record a coded failure; the original stays stored and untouched."""
    log.info("document %s failed: %s %s", document_id, code, message)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is not None:
            document.status = DocumentStatus.FAILED
            document.error_code = code
            document.error_message = message
            document.finished_at = utcnow()
    announce_finished(services, document_id)
    return DocumentStatus.FAILED


def give_up_waiting(services: Services, document_id: str, exc: errors.TransientError) -> DocumentStatus:
    """Storage stayed unreachable for `retry_max_seconds`: fail the document with `storage.unavailable`."""
    waited = services.settings.retry_max_seconds
    return _fail(
        services, document_id, "storage.unavailable", f"storage unreachable for {waited:.0f} s: {exc.message}"
    )


def mark_failed(services: Services, document_id: str, code: str, message: str) -> DocumentStatus:
    """Record a failure decided outside the pipeline (a worker killed on timeout or crash)."""
    return _fail(services, document_id, code, message)
