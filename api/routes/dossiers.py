"""/api/v1/dossiers: a dossier's documents, for the provincial procedure information system."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.audit import AuditDep
from api.auth import ReaderDep
from api.deps import ServicesDep, SessionDep
from api.errors import DOSSIER_NOT_FOUND, REQUEST_INVALID, ApiError, NotFound
from api.schemas import DossierListOut, DossierOut, ErrorOut, completeness_out
from ingest.dossiers import check_dossier
from ingest.records import DocumentRecord
from storage.repositories import DocumentRepository, DossierFilter, DossierRepository

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

Status = Literal["queued", "processing", "done", "needs_review", "failed"]
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _day(value: str | None) -> date | None:
    """A calendar date from YYYY-MM-DD (the pattern let only that shape through), else a coded 422."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(f"no such day: {value}", code=REQUEST_INVALID) from exc


@router.get("", response_model=DossierListOut)
def list_dossiers(
    session: SessionDep,
    caller: ReaderDep,
    audit: AuditDep,
    procedure: Annotated[str | None, Query(max_length=64, description="Catalog id of a document.")] = None,
    document_status: Annotated[Status | None, Query(alias="status")] = None,
    unit: Annotated[str | None, Query(max_length=64, description="Province identities only.")] = None,
    received_from: Annotated[str | None, Query(pattern=ISO_DATE, description="YYYY-MM-DD")] = None,
    received_to: Annotated[str | None, Query(pattern=ISO_DATE, description="YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, object]:
    """Dossiers with a document matching every filter, most recently changed first. An identity of a unit
    lists only its unit's dossiers and documents (its `unit` filter cannot widen that)."""
    scope = caller.scope if caller.scope is not None else unit
    if caller.scope is not None and unit not in (None, caller.scope):
        scope = "\x00"  # another unit: nothing, as if it had no dossiers
    audit.action = "dossier.list"
    audit.detail = {
        k: str(v)
        for k, v in {
            "procedure": procedure,
            "status": document_status,
            "unit": unit,
            "offset": offset,
        }.items()
        if v
    }
    where = DossierFilter(procedure, document_status, scope, _day(received_from), _day(received_to))
    summaries = DossierRepository(session).summaries(where, limit=limit, offset=offset)
    return {
        "dossiers": [
            {
                **vars(s),
                "received_on": s.received_on.isoformat() if s.received_on else None,
                "last_change": s.last_change.isoformat() if s.last_change else None,
            }
            for s in summaries
        ],
        "limit": limit,
        "offset": offset,
    }


@router.get("/{code}", response_model=DossierOut, responses={404: {"model": ErrorOut}})
def get_dossier(
    code: str, session: SessionDep, services: ServicesDep, caller: ReaderDep, audit: AuditDep
) -> DossierOut:
    """Every document filed under this dossier code that the caller's unit may see, oldest first, and the
    dossier's completeness: what its procedure requires that is present, missing, optional or cannot be
    checked (`complete | incomplete | unknown`); 404 when there is none (a dossier of another unit does not
    exist for this caller)."""
    audit.action, audit.dossier_code = "dossier.read", code[:64]
    visible = []
    if DossierRepository(session).get(code) is not None:
        visible = [d for d in DocumentRepository(session).in_dossier(code) if caller.sees(d.unit)]
    if not visible:
        raise NotFound("no such dossier", code=DOSSIER_NOT_FOUND)
    audit.detail = {"documents": len(visible)}
    records = [DocumentRecord.of(d, services.catalog) for d in visible]
    check = check_dossier(code, records, services.catalog)
    return DossierOut(code=code, documents=records, completeness=completeness_out(check))
