"""/api/v1/dossiers: a dossier's documents, for the provincial procedure information system."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.audit import AuditDep
from api.auth import ReaderDep
from api.deps import SessionDep
from api.schemas import DossierOut, ErrorOut
from ingest.records import document_record
from storage.repositories import DocumentRepository, DossierRepository

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get("/{code}", response_model=DossierOut, responses={404: {"model": ErrorOut}})
def get_dossier(code: str, session: SessionDep, caller: ReaderDep, audit: AuditDep) -> dict[str, object]:
    """Every document filed under this dossier code that the caller's unit may see, oldest first; 404 when
    there is none (a dossier of another unit does not exist for this caller)."""
    audit.action, audit.dossier_code = "dossier.read", code[:64]
    visible = []
    if DossierRepository(session).get(code) is not None:
        visible = [d for d in DocumentRepository(session).in_dossier(code) if caller.sees(d.unit)]
    if not visible:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, {"code": "dossier.not_found", "message": "no such dossier"}
        )
    audit.detail = {"documents": len(visible)}
    return {"code": code, "documents": [document_record(d) for d in visible]}
