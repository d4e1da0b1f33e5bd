"""The export record of a document: one JSON object, the same for `sohoa export` and the API."""

from __future__ import annotations

from typing import Any

from storage.models import Document


def document_record(document: Document) -> dict[str, Any]:
    """Everything a client needs about one document (pages must be loaded)."""
    error = (
        {"code": document.error_code, "message": document.error_message or ""}
        if document.error_code
        else None
    )
    return {
        "id": document.id,
        "source": document.source,
        "sha256": document.sha256,
        "size_bytes": document.size_bytes,
        "media_type": document.media_type,
        "status": document.status,
        "error": error,
        "review_reasons": list(document.review_reasons or []),
        "dossier": document.dossier_code,
        "dossier_source": document.dossier_source,
        "unit": document.unit,
        "received_by": document.received_by,
        "withdrawn_at": document.withdrawn_at.isoformat() if document.withdrawn_at else None,
        "withdrawn_reason": document.withdrawn_reason,
        "procedure": document.procedure_id,
        "procedure_confidence": document.procedure_confidence,
        "procedure_candidates": list(document.procedure_candidates or []),
        "fields": list(document.fields or []),
        "page_count": document.page_count,
        "mean_ocr_confidence": document.mean_ocr_confidence,
        "pages": [
            {
                "number": page.number,
                "text": page.text,
                "ocr_confidence": page.ocr_confidence,
                "blank": page.blank,
                "rotation": page.rotation,
                "skew": page.skew,
                "text_source": page.text_source,
            }
            for page in document.pages
        ],
        "objects": {
            "original": document.original_key,
            "pdf": document.pdf_key,
            "text": document.text_key,
            "words": document.words_key,
        },
        "created_at": document.created_at.isoformat() if document.created_at else None,
        "finished_at": document.finished_at.isoformat() if document.finished_at else None,
    }
