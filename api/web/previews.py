"""Page images and the words tesseract was unsure of, for the review and dossier screens:
`/documents/{id}/pages/{n}.png?w=…` and `/documents/{id}/pages/{n}/unsure.json`."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.errors import DOCUMENT_NOT_FOUND, DOCUMENT_NOT_READY, ApiError, NotFound
from api.web.base import ReaderPage, Staff
from ingest.preview import PreviewCache, served_width, unsure_words
from ingest.services import Services
from storage.repositories import DocumentRepository

router = APIRouter(include_in_schema=False)
CACHE = PreviewCache()
UNSURE_BELOW = 0.6
"""Words under this confidence (0–1) are marked on the review image."""


def _keys(services: Services, document_id: str, staff: Staff) -> tuple[str, str | None]:
    """The document's PDF and words keys if this person may see it (else 404) and it is read (else 409)."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id[:32])
        if document is None or not staff.caller.sees(document.unit) or document.withdrawn_at is not None:
            raise NotFound("no such document", code=DOCUMENT_NOT_FOUND)
        if document.pdf_key is None:
            raise ApiError(f"the pages are not ready (status: {document.status})", code=DOCUMENT_NOT_READY)
        return document.pdf_key, document.words_key


@router.get("/documents/{document_id}/pages/{number}.png")
async def page_image(
    document_id: str,
    number: int,
    request: Request,
    services: ServicesDep,
    staff: ReaderPage,
    w: int = Query(1000, ge=16, le=4000),
) -> Response:
    """Page `number` rendered at one of the served widths; cached by the browser for an hour (private)."""
    pdf_key, _ = await run_in_threadpool(_keys, services, document_id, staff)
    width = served_width(w)
    tag = f'"{hashlib.sha256(pdf_key.encode()).hexdigest()[:16]}-{number}-{width}"'
    headers = {"Cache-Control": "private, max-age=3600", "ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    preview = await run_in_threadpool(CACHE.get, services, pdf_key, number, width)
    return Response(preview.png, media_type="image/png", headers=headers)


@router.get("/documents/{document_id}/pages/{number}/unsure.json")
async def page_unsure_words(
    document_id: str, number: int, services: ServicesDep, staff: ReaderPage
) -> JSONResponse:
    """The page's low-confidence words with their boxes as fractions of the page (empty: none, or text
    that came from the PDF's own text layer)."""
    pdf_key, words_key = await run_in_threadpool(_keys, services, document_id, staff)
    if words_key is None:
        return JSONResponse({"words": []})
    preview = await run_in_threadpool(CACHE.get, services, pdf_key, number, served_width(160))
    words = await run_in_threadpool(
        unsure_words,
        services,
        words_key,
        number,
        width_pt=preview.width_pt,
        height_pt=preview.height_pt,
        below=UNSURE_BELOW,
    )
    return JSONResponse({"words": [asdict(word) for word in words], "pages": preview.page_count})
