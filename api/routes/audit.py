"""/api/v1/audit: the audit trail, for admins (an admin of a unit sees its unit's entries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import AuditDep
from api.auth import AdminDep
from api.deps import SessionDep
from api.schemas import AuditOut
from storage.access import AuditFilter, AuditRepository
from storage.audit import audit_record

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditOut)
def list_audit(
    session: SessionDep,
    caller: AdminDep,
    audit: AuditDep,
    document: Annotated[str | None, Query(max_length=32)] = None,
    dossier: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[
        str | None, Query(max_length=160, description="key:<name>, user:<name>, cli:<user>")
    ] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, object]:
    """Entries about a document, a dossier or by an actor, newest first (reading them is recorded too)."""
    audit.action = "audit.read"
    audit.detail = {k: v for k, v in {"document": document, "dossier": dossier, "actor": actor}.items() if v}
    where = AuditFilter(document, dossier, actor, action, unit=caller.scope)
    entries = AuditRepository(session).find(where, limit=limit, offset=offset)
    return {"entries": [audit_record(entry) for entry in entries]}
