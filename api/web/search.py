"""/search?q=…: find documents by their text (tone marks optional), matched words highlighted, filtered by
procedure, status, date received and (for province staff) unit; 20 per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.audit import Audit
from api.deps import ServicesDep
from api.web.base import ReaderPage, render
from storage.access import UnitRepository
from storage.audit import record_audit
from storage.models import Document, DocumentStatus
from storage.repositories import DocumentRepository
from storage.search import MAX_OFFSET, SearchFilter, highlight, search_documents

router = APIRouter(include_in_schema=False)
PER_PAGE = 20


@dataclass(frozen=True)
class Found:
    """One hit as the page shows it."""

    document: Document
    pieces: list[tuple[str, bool]]
    """The snippet, pieces marked where the query matched."""


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    services: ServicesDep,
    staff: ReaderPage,
    q: str = Query("", max_length=500),
    procedure: str = Query("", max_length=64),
    status: str = Query("", max_length=16),
    unit: str = Query("", max_length=64),
    since: str = Query("", alias="from", max_length=10),
    until: str = Query("", alias="to", max_length=10),
    page: int = Query(1, ge=1, le=MAX_OFFSET // PER_PAGE),
) -> HTMLResponse:
    """The search form and, with a query, a page of hits (audited `search` like the API's)."""
    first, last = _day(since), _day(until)
    where = SearchFilter(
        procedure=procedure or None,
        status=status if status in set(DocumentStatus) else None,
        since=_start_of(first),
        until=_start_of(last + timedelta(days=1)) if last else None,
    )
    scope = staff.caller.scope or (unit or None)
    found: list[Found] = []
    more = False
    with services.db.unit_of_work() as session:
        units = [] if staff.caller.scope else UnitRepository(session).all()
        if q.strip():
            hits = search_documents(
                session, q, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE, unit=scope, where=where
            )
            more = len(hits) > PER_PAGE
            documents = {d.id: d for d in DocumentRepository(session).many([h.document_id for h in hits])}
            for hit in hits[:PER_PAGE]:
                document = documents.get(hit.document_id)
                if document is not None and staff.caller.sees(document.unit):
                    found.append(Found(document, highlight(hit.snippet, q)))
            session.expunge_all()
    if q.strip():
        detail = {"q": q[:200], "hits": len(found), "channel": "web"}
        record_audit(services.db, Audit(staff.caller, action="search", detail=detail).event())
    names = {p.id: p.name for p in services.catalog.procedures}
    return render(
        request,
        "search.html",
        staff,
        q=q,
        found=found,
        page=page,
        more=more,
        names=names,
        procedures=services.catalog.procedures,
        statuses=list(DocumentStatus),
        units=units,
        chosen={"procedure": procedure, "status": status, "unit": unit, "from": since, "to": until},
    )
