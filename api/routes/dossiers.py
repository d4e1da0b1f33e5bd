"""/api/v1/dossiers: a dossier's documents, for the provincial procedure information system."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import SessionDep
from api.schemas import DossierOut, ErrorOut
from ingest.records import document_record
from storage.repositories import DocumentRepository, DossierRepository

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])


@router.get("/{code}", response_model=DossierOut, responses={404: {"model": ErrorOut}})
def get_dossier(code: str, session: SessionDep) -> dict[str, object]:
    """Every document filed under this dossier code, oldest first."""
    if DossierRepository(session).get(code) is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, {"code": "dossier.not_found", "message": "no such dossier"}
        )
    documents = DocumentRepository(session).in_dossier(code)
    return {"code": code, "documents": [document_record(d) for d in documents]}
