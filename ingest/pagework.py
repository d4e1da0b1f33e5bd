"""Page-level fan-out: one long document's pages read by many workers, then put together once.

    start_fan_out (document task) → process_one_page × N (page tasks, any worker) → finish_fanned_out

Each page's result is stored as `work/<document id>/page-NNNNN.json` in the object store (text, words,
barcodes, placement and its text-layer PDF): a deterministic key, so a redelivered page task finds its page
done and a killed one simply redoes it. Each page has a lease (`page_leases`) renewed on a heartbeat while
it is read, so a page whose worker died is taken over within `lease_seconds` and a page delivered twice is
read once. When every page is there, one finishing task (holding the document's lease) builds the
searchable PDF, classifies and records the document exactly as the one-task path does, then deletes the
work objects.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest import errors
from ingest.lease import HELD_BY_PAGES, Claimant, Heartbeat, LeaseLost, heartbeat_interval, may_take_over
from ingest.pipeline import claim, conclude, current_status, document_title, holding, record, settle_failure
from ingest.services import Services
from ocr.barcodes import Barcode
from ocr.decode import open_document
from ocr.page import PageResult, process_page
from ocr.searchable_pdf import PageLayer, Placement
from ocr.tesseract import Word, WordTable
from storage.models import Document, DocumentStatus, PageLease, utcnow
from storage.repositories import DocumentRepository, LeaseRepository

WORK_FORMAT = "sohoa-page/1"


def work_prefix(document_id: str) -> str:
    """Where a fanned-out document's page results are kept while it is processed."""
    return f"work/{document_id}/"


def page_key(document_id: str, number: int) -> str:
    """The object holding page `number`'s result."""
    return f"{work_prefix(document_id)}page-{number:05d}.json"


def page_to_json(page: PageResult) -> bytes:
    """A page result as JSON, its text-layer PDF embedded (base64)."""
    layer = page.layer
    payload: dict[str, Any] = {
        "format": WORK_FORMAT,
        "number": page.number,
        "text": page.text,
        "text_source": page.text_source,
        "ocr_confidence": page.ocr_confidence,
        "blank": page.blank,
        "rotation": page.rotation,
        "skew": page.skew,
        "dpi": page.dpi,
        "ocr_dpi": page.ocr_dpi,
        "barcodes": [[b.format, b.text, list(b.box)] for b in page.barcodes],
        "words": [
            [w.text, w.confidence, w.left, w.top, w.width, w.height, list(w.line_key)] for w in page.words
        ],
        "layer": {
            "source_index": layer.source_index,
            "placement": None if layer.placement is None else vars(layer.placement),
            "text_pdf": None
            if layer.text_pdf_path is None
            else base64.b64encode(layer.text_pdf_path.read_bytes()).decode("ascii"),
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def page_from_json(data: bytes, spool: Path) -> PageResult:
    """Read what `page_to_json` wrote; the text-layer PDF is written back under `spool`."""
    payload = json.loads(data.decode("utf-8"))
    if payload.get("format") != WORK_FORMAT:
        raise ValueError(f"not a page result: {payload.get('format')!r}")
    layer = payload["layer"]
    text_pdf_path = None
    if layer["text_pdf"] is not None:
        text_pdf_path = spool / f"page-{payload['number']:05d}.text.pdf"
        text_pdf_path.write_bytes(base64.b64decode(layer["text_pdf"]))
    placement = None if layer["placement"] is None else Placement(**layer["placement"])
    return PageResult(
        number=payload["number"],
        text=payload["text"],
        text_source=payload["text_source"],
        ocr_confidence=payload["ocr_confidence"],
        blank=payload["blank"],
        rotation=payload["rotation"],
        skew=payload["skew"],
        dpi=payload["dpi"],
        barcodes=tuple(Barcode(f, t, (b[0], b[1], b[2], b[3])) for f, t, b in payload["barcodes"]),
        words=WordTable(
            Word(text, confidence, left, top, width, height, (key[0], key[1], key[2]))
            for text, confidence, left, top, width, height, key in payload["words"]
        ),
        ocr_dpi=payload["ocr_dpi"],
        layer=PageLayer(source_index=layer["source_index"], placement=placement, text_pdf_path=text_pdf_path),
    )


def start_fan_out(
    services: Services,
    document_id: str,
    lease: str,
    send_page: Callable[[int], None],
    send_finish: Callable[[], None],
) -> DocumentStatus | None:
    """Claim the document and send one task per page not read yet; None if it was not worth splitting.

    Documents under `fan_out_min_pages` pages (or with fan-out off) return None before anything changes:
    the caller runs the one-task pipeline. Raises `TransientError` like `process_document`.
    """
    minimum = services.settings.fan_out_min_pages
    if minimum <= 0:
        return None
    try:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is None or DocumentStatus(document.status).finished:
                return current_status(services, document_id)
            original_key, size, sha256 = document.original_key, document.size_bytes, document.sha256
        if size > services.settings.max_file_bytes:
            return None  # the one-task path fails it with its coded error
        with open_document(
            services.original_path(original_key, sha256=sha256), max_pages=services.settings.max_pages
        ) as decoded:
            count = decoded.page_count
        if count < minimum:
            return None
        claimant = Claimant(lease)
        claimed = claim(services, document_id, claimant)
        if claimed is None:
            return current_status(services, document_id)
        stored = set(services.store.keys(work_prefix(document_id)))
        with services.db.unit_of_work() as session:
            row = DocumentRepository(session).get_for_update(document_id)
            if row is None or row.claimed_by != lease:
                return current_status(services, document_id)
            row.page_count = count
            row.claimed_by, row.claimed_process, row.heartbeat_at = HELD_BY_PAGES, None, utcnow()
            read = {n for n in range(1, count + 1) if page_key(document_id, n) in stored}
            leases = LeaseRepository(session).ensure_pages(document_id, count, done=read)
            missing = [
                lease_.number
                for lease_ in leases
                if not lease_.done and _may_take(services, lease_, claimant)
            ]
        for number in missing:
            send_page(number)
        if not missing:  # resumed by the sweep after every page was read: only the finish was lost
            send_finish()
        return DocumentStatus.PROCESSING
    except Exception as exc:
        errors.raise_if_transient(exc)
        return None  # unreadable input: the one-task path reports it with its code


def _may_take(services: Services, lease: PageLease, claimant: Claimant) -> bool:
    return may_take_over(
        held_by=lease.claimed_by,
        held_process=lease.claimed_process,
        heartbeat_at=lease.heartbeat_at,
        claimant=claimant,
        lease_seconds=services.settings.lease_seconds,
        now=utcnow(),
    )


def process_one_page(services: Services, document_id: str, number: int, task: str) -> bool:
    """Read page `number` of a fanned-out document and store its result; True when all pages are done.

    `task` (the page task's id) takes the page's lease; a page held by a live task, or already read, is
    left alone. A page that cannot be read fails the whole document with the page's error code (the other
    page tasks then find it finished and stop).
    """
    claimant = Claimant(task)
    try:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is None or document.status != DocumentStatus.PROCESSING:
                return False
            original_key, sha256 = document.original_key, document.sha256
            leases = LeaseRepository(session)
            lease = leases.page_for_update(document_id, number)
            if lease is None or lease.done or not _may_take(services, lease, claimant):
                return False
            lease.claimed_by, lease.claimed_process, lease.heartbeat_at = task, claimant.process, utcnow()

        def renew() -> bool:
            with services.db.unit_of_work() as session:
                return LeaseRepository(session).renew_page(
                    document_id, number, task, claimant.process, utcnow()
                )

        interval = heartbeat_interval(services.settings.lease_seconds)
        with Heartbeat(renew, interval=interval, name=f"page {number} of {document_id}") as heartbeat:
            _read_page_once(services, document_id, number, original_key, sha256, heartbeat)
        with services.db.unit_of_work() as session:
            leases = LeaseRepository(session)
            if not leases.finish_page(document_id, number, task, claimant.process):
                return False  # taken over meanwhile: the new holder finishes it
        with services.db.unit_of_work() as session:
            return LeaseRepository(session).pages_left(document_id) == 0
    except LeaseLost:
        return False
    except Exception as exc:
        errors.raise_if_transient(exc)
        settle_failure(services, document_id, exc)
        return False


def _read_page_once(
    services: Services, document_id: str, number: int, original_key: str, sha256: str, heartbeat: Heartbeat
) -> None:
    """Store page `number`'s result unless an earlier attempt did; nothing once the lease is gone."""
    key = page_key(document_id, number)
    if services.store.exists(key):
        return
    settings = services.settings
    original = services.original_path(original_key, sha256=sha256)
    with (
        open_document(
            original,
            dpi=settings.ocr_dpi,
            max_pixels=settings.max_page_pixels,
            max_pages=settings.max_pages,
        ) as decoded,
        tempfile.TemporaryDirectory(prefix=f"sohoa-{document_id}-{number}-") as spool,
    ):
        result = process_page(
            decoded.page(number),
            engine=services.engine,
            options=services.page_options,
            spool=Path(spool),
        )
        heartbeat.check()
        services.store.put_bytes(key, page_to_json(result), content_type="application/json")


def finish_fanned_out(services: Services, document_id: str, task: str) -> DocumentStatus:
    """Put the stored pages together: searchable PDF, dossier, procedure, fields; record once.

    `task` (the finishing task's id) takes the document's lease from its pages once every page is read, so
    two finishing tasks (the last two pages done at once, or one resent by the sweep) record it once.
    """
    try:
        claimed = _claim_for_finish(services, document_id, Claimant(task))
        if claimed is None:
            return current_status(services, document_id)
        settings = services.settings
        with holding(services, claimed) as heartbeat:
            original = services.original_path(claimed.original_key, sha256=claimed.sha256)
            with (
                open_document(
                    original,
                    dpi=settings.ocr_dpi,
                    max_pixels=settings.max_page_pixels,
                    max_pages=settings.max_pages,
                ) as decoded,
                tempfile.TemporaryDirectory(prefix=f"sohoa-{document_id}-finish-") as spool_dir,
            ):
                spool = Path(spool_dir)
                pages = [
                    page_from_json(services.store.get_bytes(page_key(document_id, n)), spool)
                    for n in range(1, decoded.page_count + 1)
                ]
                analysis = conclude(services, original, decoded, pages, title=document_title(claimed))
            heartbeat.check()
            status = record(services, claimed, analysis)
        for key in list(services.store.keys(work_prefix(document_id))):
            services.store.delete(key)
        with services.db.unit_of_work() as session:
            LeaseRepository(session).drop_pages(document_id)
        return status
    except LeaseLost:
        return current_status(services, document_id)
    except Exception as exc:
        errors.raise_if_transient(exc)
        return settle_failure(services, document_id, exc)


def _claim_for_finish(services: Services, document_id: str, claimant: Claimant) -> Document | None:
    """The document's lease for the finisher: from its pages once all are read, or from a dead finisher."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None or document.status != DocumentStatus.PROCESSING:
            return None
        pages = LeaseRepository(session).pages(document_id)
        if not pages or not all(page.done for page in pages):
            return None  # not fanned out, or pages still to read
        if document.claimed_by != HELD_BY_PAGES and not may_take_over(
            held_by=document.claimed_by,
            held_process=document.claimed_process,
            heartbeat_at=document.heartbeat_at,
            claimant=claimant,
            lease_seconds=services.settings.lease_seconds,
            now=utcnow(),
        ):
            return None
        document.claimed_by, document.claimed_process = claimant.task, claimant.process
        document.heartbeat_at = utcnow()
        session.flush()
        session.expunge(document)
        return document
