"""/admin/audit: the audit trail in this admin's scope, filtered and paged (each look recorded as
`audit.read`, as the API does), and `/admin/audit/verify`, the whole chain checked as `sohoa audit verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ServicesDep
from api.web.admin.common import Problems
from api.web.base import AdminPage, Staff, render
from ingest.lease import aware
from storage.access import AuditFilter, AuditRepository
from storage.audit import AuditCheck, AuditEvent, record_audit, verify_audit
from storage.models import AuditEntry

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
SHOWN_PROBLEMS = 100


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as the log page shows it."""

    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    document_id: str | None
    dossier_code: str | None
    unit: str | None
    address: str | None
    detail: str


@dataclass(frozen=True)
class AuditForm:
    """The log page's filters, as sent (empty: no filter)."""

    actor: str = ""
    action: str = ""
    document: str = ""
    dossier: str = ""
    since: str = ""
    until: str = ""

    def where(self, scope: str | None, since: date | None, until: date | None) -> AuditFilter:
        """The filter of these fields; days are UTC, `until` included."""
        return AuditFilter(
            document_id=self.document or None,
            dossier_code=self.dossier or None,
            actor=self.actor or None,
            action=self.action or None,
            unit=scope,
            since=datetime.combine(since, time(), UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        )

    def query(self, page: int) -> str:
        """The page's address with these filters, on page `page`."""
        sent = {k: v for k, v in vars(self).items() if v}
        return "/admin/audit?" + urlencode({**sent, "page": page})


def day_of(text: str, problems: Problems, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.fields[name] = "admin.error.bad_date"
        return None


def audit_row(entry: AuditEntry) -> AuditRow:
    detail = ", ".join(f"{k}={v}" for k, v in sorted((entry.detail or {}).items()))
    return AuditRow(
        seq=entry.seq,
        at=f"{aware(entry.at):%Y-%m-%d %H:%M:%S}",
        actor=entry.actor,
        action=entry.action,
        outcome=entry.outcome,
        document_id=entry.document_id,
        dossier_code=entry.dossier_code,
        unit=entry.unit,
        address=entry.address,
        detail=detail[:300],
    )


def known_actions(session: Session, scope: str | None) -> list[str]:
    """The action names in this admin's part of the trail, for the filter's choice."""
    statement = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    if scope is not None:
        statement = statement.where(AuditEntry.unit == scope)
    return list(session.scalars(statement))


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    actor: Annotated[str, Query(max_length=160)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    document: Annotated[str, Query(max_length=32)] = "",
    dossier: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The trail newest first, 50 a page, filtered; reading it is recorded (`audit.read`) as the API does."""
    form = AuditForm(actor.strip(), action.strip(), document.strip(), dossier.strip(), since, until)
    problems = Problems()
    first, last = day_of(since, problems, "since"), day_of(until, problems, "until")
    rows: list[AuditRow] = []
    with services.db.unit_of_work() as session:
        if not problems:
            where = form.where(staff.caller.scope, first, last)
            found = AuditRepository(session).find(where, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
            rows = [audit_row(entry) for entry in found]
        actions = known_actions(session, staff.caller.scope)
    filters = {"document": form.document, "dossier": form.dossier, "actor": form.actor, "action": form.action}
    record_audit(services.db, audit_read(staff, {k: v for k, v in filters.items() if v}))
    return render(
        request,
        "admin_audit.html",
        staff,
        status_code=422 if problems else 200,
        entries=rows[:PAGE_SIZE],
        form=form,
        actions=actions,
        problems=problems.fields,
        previous=form.query(page - 1) if page > 1 else None,
        next=form.query(page + 1) if len(rows) > PAGE_SIZE else None,
        page=page,
    )


def audit_read(staff: Staff, detail: dict[str, str]) -> AuditEvent:
    """The entry of a look at the trail, as `GET /api/v1/audit` writes it."""
    caller = staff.caller
    return AuditEvent(
        actor=caller.label,
        actor_id=caller.identity_id,
        action="audit.read",
        unit=caller.unit,
        address=caller.address,
        detail=detail,
    )


@router.get("/admin/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """Walk the whole chain (as `sohoa audit verify`): intact, or each entry where it breaks."""
    check: AuditCheck = verify_audit(services.db)
    return render(
        request,
        "admin_audit_verify.html",
        staff,
        check=check,
        problems=check.problems[:SHOWN_PROBLEMS],
        more=max(0, len(check.problems) - SHOWN_PROBLEMS),
    )
