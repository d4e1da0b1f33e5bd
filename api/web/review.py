"""/review: the documents waiting for a person, oldest first, one at a time — the page image beside its
text, the candidate procedures with their evidence, and one click or one key per decision.

Decisions go through the API's audited routes (`PUT …/procedure`, `…/dossier`, `…/fields`,
`POST …/accept`) from the page's script; a procedure decided here counts toward retraining there.
"""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.audit import Audit
from api.deps import ServicesDep
from api.web.base import ReviewerPage, Staff, render
from api.web.signatures import signature_status
from classifiers.keyfields import FieldKind
from ingest.records import DocumentRecord
from ingest.services import Services
from storage.audit import record_audit
from storage.models import Document
from storage.repositories import DocumentRepository

router = APIRouter(include_in_schema=False)
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)


def _next_item(
    services: Services, staff: Staff, document_id: str | None, after: str | None
) -> tuple[Document | None, int]:
    """The document to show (the one asked for, else the next in the queue after `after`, else the
    oldest) and how many wait."""
    scope = staff.caller.scope
    with services.db.unit_of_work() as session:
        documents = DocumentRepository(session)
        waiting = documents.review_count(scope)
        chosen: Document | None = None
        if document_id:
            asked = documents.get(document_id[:32], with_pages=True)
            if asked is not None and staff.caller.sees(asked.unit) and asked.withdrawn_at is None:
                chosen = asked
        else:
            behind = documents.get(after[:32]) if after else None
            queue = documents.review_queue(scope, after=behind)
            chosen = queue[0] if queue else next(iter(documents.review_queue(scope)), None)
        if chosen is not None:
            session.expunge_all()
        return chosen, waiting


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    services: ServicesDep,
    staff: ReviewerPage,
    id: str | None = Query(None, max_length=32),
    after: str | None = Query(None, max_length=32),
    page: int = Query(1, ge=1, le=100_000),
) -> HTMLResponse:
    """One document of the queue (or the one asked for by `id`), audited as a read."""
    document, waiting = _next_item(services, staff, id, after)
    if document is None:
        return render(request, "review.html", staff, record=None, waiting=waiting)
    record = DocumentRecord.of(document, services.catalog)
    number = min(page, max(1, record.page_count or len(record.pages) or 1))
    audit = Audit(staff.caller, action="document.read", detail={"channel": "web.review"})
    audit.about(document)
    record_audit(services.db, audit.event())
    names = {p.id: p.name for p in services.catalog.procedures}
    return render(
        request,
        "review.html",
        staff,
        record=record,
        signature=signature_status(record),
        waiting=waiting,
        page_number=number,
        page=next((p for p in record.pages if p.number == number), None),
        names=names,
        field_kinds=FIELD_KINDS,
        codes=[r for r in record.review_reasons if " " not in r],
        explanations=[r for r in record.review_reasons if " " in r],
    )
