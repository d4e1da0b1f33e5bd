"""/dossiers/{code}: one dossier — its documents in order with page thumbnails, downloads and whether each
stored PDF is signed (and PDF/A), and its completeness: which components its procedure requires are present,
missing, optional or cannot be checked."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.audit import Audit
from api.deps import ServicesDep
from api.errors import DOSSIER_NOT_FOUND, NotFound
from api.web.base import ReaderPage, language_of, render
from api.web.signatures import signature_status
from classifiers.kinds import KINDS
from ingest.dossiers import check_dossier
from ingest.records import DocumentRecord
from storage.audit import record_audit
from storage.repositories import DocumentRepository

router = APIRouter(include_in_schema=False)
THUMBNAILS = 12
"""Thumbnails shown per document (a 300-page register shows its first pages)."""


@router.get("/dossiers/{code}", response_class=HTMLResponse)
def dossier_page(code: str, request: Request, services: ServicesDep, staff: ReaderPage) -> HTMLResponse:
    """The dossier's documents this person may see, oldest first, and its completeness; 404 when there is
    none (audited `dossier.read` like the API's)."""
    with services.db.unit_of_work() as session:
        documents = [
            d for d in DocumentRepository(session).in_dossier(code[:64]) if staff.caller.sees(d.unit)
        ]
        records = [DocumentRecord.of(d, services.catalog) for d in documents]
    audit = Audit(staff.caller, action="dossier.read", dossier_code=code[:64], detail={"channel": "web"})
    if not records:
        audit.outcome = DOSSIER_NOT_FOUND
        record_audit(services.db, audit.event())
        raise NotFound("no such dossier", code=DOSSIER_NOT_FOUND)
    audit.detail["documents"] = len(records)
    record_audit(services.db, audit.event())
    check = check_dossier(code, records, services.catalog)
    names = {p.id: p.name for p in services.catalog.procedures}
    return render(
        request,
        "dossier.html",
        staff,
        code=code,
        records=records,
        signatures={r.id: signature_status(r) for r in records},
        procedure=check.procedure,
        completeness=check.completeness,
        kinds={k.id: (k.vi if language_of(request) == "vi" else k.en) for k in KINDS},
        names=names,
        thumbnails=THUMBNAILS,
        pages_total=sum(r.page_count or 0 for r in records),
    )
