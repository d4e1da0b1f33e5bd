"""Page-level fan-out: one long document's pages read by many workers, then put together once.

    start_fan_out (document task) → process_one_page × N (page tasks, any worker) → finish_fanned_out

Each page's result is stored as `work/<document id>/page-NNNNN.json` in the object store (text, words,
barcodes, placement and its text-layer PDF): a deterministic key, so a redelivered page task finds its page
done and a killed one simply redoes it. When every page is there, one finishing task builds the searchable
PDF, classifies and records the document exactly as the one-task path does, then deletes the work objects.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest import errors
from ingest.pipeline import claim, conclude, current_status, record, settle_failure
from ingest.services import Services
from ocr.barcodes import Barcode
from ocr.decode import open_document
from ocr.page import PageResult, process_page
from ocr.searchable_pdf import PageLayer, Placement
from ocr.tesseract import Word, WordTable
from storage.models import Document, DocumentStatus
from storage.repositories import DocumentRepository

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
        claimed = claim(services, document_id, lease)
        if claimed is None:
            return current_status(services, document_id)
        with services.db.unit_of_work() as session:
            row = DocumentRepository(session).get_for_update(document_id)
            if row is not None:
                row.page_count = count
        done = set(services.store.keys(work_prefix(document_id)))
        missing = [n for n in range(1, count + 1) if page_key(document_id, n) not in done]
        for number in missing:
            send_page(number)
        if not missing:  # resumed by the sweep after every page was read: only the finish was lost
            send_finish()
        return DocumentStatus.PROCESSING
    except Exception as exc:
        errors.raise_if_transient(exc)
        return None  # unreadable input: the one-task path reports it with its code


def process_one_page(services: Services, document_id: str, number: int) -> bool:
    """Read page `number` of a fanned-out document and store its result; True when all pages are done.

    A page already stored is not read again. A page that cannot be read fails the whole document with the
    page's error code (the other page tasks then find it finished and stop).
    """
    try:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is None or document.status != DocumentStatus.PROCESSING:
                return False
            original_key, sha256, count = document.original_key, document.sha256, document.page_count or 0
        key = page_key(document_id, number)
        if not services.store.exists(key):
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
                services.store.put_bytes(key, page_to_json(result), content_type="application/json")
        stored = set(services.store.keys(work_prefix(document_id)))
        return all(page_key(document_id, n) in stored for n in range(1, count + 1))
    except Exception as exc:
        errors.raise_if_transient(exc)
        settle_failure(services, document_id, exc)
        return False


def finish_fanned_out(services: Services, document_id: str) -> DocumentStatus:
    """Put the stored pages together: searchable PDF, dossier, procedure, fields; record once."""
    try:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is None or document.status != DocumentStatus.PROCESSING:
                return current_status(services, document_id)
            session.expunge(document)
        claimed: Document = document
        settings = services.settings
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
            analysis = conclude(services, original, decoded, pages)
        status = record(services, claimed, analysis)
        for key in list(services.store.keys(work_prefix(document_id))):
            services.store.delete(key)
        return status
    except Exception as exc:
        errors.raise_if_transient(exc)
        return settle_failure(services, document_id, exc)
