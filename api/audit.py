"""The audit entry of one request: a route says what it does, the outcome is filled in when it ends.

    def get_document(document_id: str, caller: ReaderDep, audit: AuditDep) -> ...:
        audit.action, audit.document_id = "document.read", document_id

Whatever the route raises (a 404, a 409, an unexpected error) becomes the entry's outcome; the entry is
written in its own transaction after the route, so refusals and failures are recorded too. A route that
writes through `SessionDep` commits before it returns: the request's session closes only after the audit
entry is written, and SQLite takes one writer at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException

from api.auth import Caller, CallerDep
from api.deps import ServicesDep
from ingest.errors import error_code
from storage.audit import AuditEvent, record_audit
from storage.models import Document


@dataclass
class Audit:
    """What the current request does, for its audit entry; no entry when `action` stays None."""

    caller: Caller
    action: str | None = None
    document_id: str | None = None
    dossier_code: str | None = None
    unit: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    unit_known: bool = False
    """`unit` was set from what the request touched; else the entry takes the caller's unit."""

    def about(self, document: Document) -> None:
        """The request touches this document: its id, dossier and unit go in the entry."""
        self.document_id, self.dossier_code = document.id, document.dossier_code
        self.set_unit(document.unit)

    def set_unit(self, unit: str | None) -> None:
        self.unit, self.unit_known = unit, True

    def event(self) -> AuditEvent:
        assert self.action is not None
        return AuditEvent(
            actor=self.caller.label,
            actor_id=self.caller.identity_id,
            action=self.action,
            outcome=self.outcome,
            document_id=self.document_id,
            dossier_code=self.dossier_code,
            unit=self.unit if self.unit_known else self.caller.unit,
            address=self.caller.address,
            detail=self.detail,
        )


def get_audit(caller: CallerDep, services: ServicesDep) -> Iterator[Audit]:
    audit = Audit(caller)
    try:
        yield audit
    except HTTPException as exc:  # Starlette's own refusals (a malformed body); ours are SohoaErrors
        audit.outcome = f"http.{exc.status_code}"
        raise
    except Exception as exc:
        audit.outcome = error_code(exc)
        raise
    finally:
        if audit.action is not None:
            record_audit(services.db, audit.event())


AuditDep = Annotated[Audit, Depends(get_audit)]
