"""/api/v1/search: full-text search over every document's text, with or without tone marks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import AuditDep
from api.auth import ReaderDep
from api.deps import SessionDep
from api.schemas import SearchOut
from storage.repositories import DocumentRepository
from storage.search import MAX_LIMIT, MAX_OFFSET, search_documents

router = APIRouter(prefix="/api/v1/search", tags=["search"])


@router.get("", response_model=SearchOut)
def search(
    session: SessionDep,
    caller: ReaderDep,
    audit: AuditDep,
    q: Annotated[str, Query(max_length=500, description='Words (all must match), "quoted phrases".')],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, object]:
    """Documents whose text contains every word of `q`; "giay khai sinh" finds "GIẤY KHAI SINH". An
    identity of a unit finds only its unit's documents."""
    audit.action, audit.detail = "search", {"q": q[:200], "offset": offset}
    repository = DocumentRepository(session)
    hits = []
    for hit in search_documents(session, q, limit=limit, offset=offset, unit=caller.scope):
        document = repository.get(hit.document_id)
        if document is None or not caller.sees(document.unit):
            continue
        hits.append(
            {
                "id": document.id,
                "rank": hit.rank,
                "snippet": hit.snippet,
                "source": document.source,
                "status": document.status,
                "dossier": document.dossier_code,
                "procedure": document.procedure_id,
            }
        )
    audit.detail["hits"] = len(hits)
    return {"query": q, "hits": hits}
