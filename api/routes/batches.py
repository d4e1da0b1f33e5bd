"""/api/v1/batches: many files sent as one batch, and its progress (counts by status, pages, errors)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from api.audit import AuditDep
from api.auth import CallerDep, UploaderDep
from api.deps import ServicesDep, SubmitterDep
from api.errors import BATCH_NOT_FOUND, TOO_MANY_FILES, ApiError, NotFound
from api.schemas import BatchOut
from api.uploads import may_follow, take_batch
from ingest.batches import batch_progress, find_batch
from ingest.intake import check_dossier_code
from ingest.services import Services
from storage.models import ImportRun

router = APIRouter(prefix="/api/v1/batches", tags=["batches"])

MAX_FILES = 1000
"""Files in one request (Starlette's multipart limit); send bigger batches as several."""


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=BatchOut)
def create_batch(
    services: ServicesDep,
    submitter: SubmitterDep,
    caller: UploaderDep,
    audit: AuditDep,
    files: Annotated[list[UploadFile], File(description="The scans; up to 1,000 per request.")],
    name: Annotated[str | None, Form(max_length=100, description="A label people recognise.")] = None,
    dossier: Annotated[
        str | None, Form(max_length=64, description="Dossier code of every file, when the client knows it.")
    ] = None,
    station: Annotated[
        str | None, Form(max_length=64, description="The scanning station or counter, for the figures.")
    ] = None,
) -> dict[str, object]:
    """Take every file in (each stored first, then queued) and return the batch with its first counts;
    follow it with GET. A file that cannot be taken in (empty, too large) is listed with its error; the
    others go on. Files without a dossier code take the one found on the others (a receipt, a QR)."""
    audit.action = "batch.create"
    code = check_dossier_code(dossier) if dossier else None
    if len(files) > MAX_FILES:
        raise ApiError(f"at most {MAX_FILES} files per request", code=TOO_MANY_FILES)
    batch_id = take_batch(services, submitter, caller, files, name=name, dossier=code, station=station)
    audit.detail = {"batch": batch_id, "files": len(files)}
    audit.set_unit(caller.unit)
    run = find_batch(services, batch_id)
    assert run is not None
    return _out(services, run)


@router.get("/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: str, services: ServicesDep, caller: CallerDep, audit: AuditDep) -> dict[str, object]:
    """A batch's progress: a scanner sees the batches it sent; readers, reviewers and admins those of their
    unit (all of them at province level). Any other batch is 404."""
    audit.action, audit.detail = "batch.read", {"batch": batch_id[:32]}
    run = find_batch(services, batch_id)
    if run is None or not may_follow(run, caller):
        raise NotFound("no such batch", code=BATCH_NOT_FOUND)
    audit.set_unit(run.unit)
    return _out(services, run)


def _out(services: Services, run: ImportRun) -> dict[str, object]:
    return asdict(batch_progress(services, run))
