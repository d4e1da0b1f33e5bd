"""/batches/{id}: one upload's live progress — each file's status, pages and error (in the person's
language). The page's script refreshes the table from `/batches/{id}/rows` every two seconds until done."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from api.errors import BATCH_NOT_FOUND, NotFound
from api.uploads import may_follow
from api.web.base import Staff, StaffDep, render
from ingest.batches import BatchProgress, batch_progress, find_batch
from ingest.services import Services

router = APIRouter(include_in_schema=False)


def _progress(services: Services, batch_id: str, staff: Staff) -> BatchProgress:
    run = find_batch(services, batch_id[:32])
    if run is None or not may_follow(run, staff.caller):
        raise NotFound("no such batch", code=BATCH_NOT_FOUND)
    return batch_progress(services, run)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(batch_id: str, request: Request, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    """A batch the person may follow (their own, or their unit's for readers), else 404."""
    return render(request, "batch.html", staff, batch=_progress(services, batch_id, staff))


@router.get("/batches/{batch_id}/rows", response_class=HTMLResponse)
def batch_rows(batch_id: str, request: Request, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    """The progress part of the page alone, for the refresh."""
    return render(request, "_batch_progress.html", staff, batch=_progress(services, batch_id, staff))
