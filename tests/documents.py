"""Documents as the pipeline leaves them, made without OCR: for tests of what reads them (pages, reports)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from ingest.intake import Facts, intake
from ingest.services import Services
from storage.models import Document, DocumentStatus, Page
from storage.search import index_document


def pdf_page(text: str) -> bytes:
    """A one-page A4 PDF at 72 pt per inch holding `text` as an image (like a searchable PDF's page)."""
    from PIL import ImageDraw

    image = Image.new("RGB", (1654, 2339), "white")  # A4 at 200 dpi
    ImageDraw.Draw(image).text((200, 200), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PDF", resolution=200.0)
    return buffer.getvalue()


def read_document(
    services: Services,
    source: str,
    *,
    text: str,
    status: DocumentStatus = DocumentStatus.NEEDS_REVIEW,
    reasons: tuple[str, ...] = ("procedure.unknown",),
    unit: str | None = None,
    dossier: str | None = None,
    procedure: str | None = None,
    age_hours: float = 0.0,
    kind: str | None = None,
) -> str:
    """A document as the pipeline leaves it: original, searchable PDF, words file, page text, indexed."""
    result = intake(services, source.encode() + b"-original", source=source, facts=Facts(unit=unit))
    prefix = f"documents/{result.document_id}"
    services.store.put_bytes(f"{prefix}/searchable.pdf", pdf_page(text), content_type="application/pdf")
    words = "page\tdpi\tleft\ttop\twidth\theight\tconfidence\ttext\n1\t200\t200\t200\t400\t100\t0.31\tmờ\n"
    words += "1\t200\t827\t1169\t100\t50\t0.97\trõ\n"
    services.store.put_bytes(f"{prefix}/words.tsv", words.encode(), content_type="text/tab-separated-values")
    with services.db.unit_of_work() as session:
        document = session.get(Document, result.document_id)
        assert document is not None
        document.status = status.value
        document.review_reasons = list(reasons)
        document.pdf_key, document.words_key = f"{prefix}/searchable.pdf", f"{prefix}/words.tsv"
        document.page_count, document.procedure_id, document.document_kind = 1, procedure, kind
        document.created_at = datetime.now(UTC) - timedelta(hours=age_hours)
        if dossier:
            from storage.repositories import DossierRepository

            DossierRepository(session).ensure(dossier)
            document.dossier_code = dossier
        session.add(Page(document_id=document.id, number=1, text=text, text_source="ocr", ocr_confidence=0.9))
        session.flush()
        index_document(session, document.id, text)
    return result.document_id
