"""/admin: the sections of the admin pages, each counted in this admin's scope."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ServicesDep
from api.web.admin.common import identity_rows, live_hooks
from api.web.base import AdminPage, render
from storage.models import AuditEntry

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Counts:
    """What the index says of each section, in this admin's scope."""

    accounts: int
    """Active staff accounts."""
    locked: int
    """Active accounts locked by failed logins now."""
    keys: int
    """API keys not revoked."""
    webhooks: int
    audit: int
    """Audit entries."""


@router.get("/admin", response_class=HTMLResponse)
def admin_index(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """The sections, each with how many things it holds in this admin's scope."""
    accounts = identity_rows(services, staff, "user")
    keys = identity_rows(services, staff, "key")
    with services.db.unit_of_work() as session:
        hooks = len(live_hooks(session, staff.caller))
        entries = audit_count(session, staff.caller.scope)
    counts = Counts(
        accounts=sum(1 for a in accounts if not a.disabled),
        locked=sum(1 for a in accounts if a.locked_until and not a.disabled),
        keys=sum(1 for k in keys if not k.disabled),
        webhooks=hooks,
        audit=entries,
    )
    return render(request, "admin_index.html", staff, counts=counts)


def audit_count(session: Session, scope: str | None) -> int:
    statement = select(func.count()).select_from(AuditEntry)
    if scope is not None:
        statement = statement.where(AuditEntry.unit == scope)
    return int(session.scalar(statement) or 0)
