"""/intake: scanning staff drop files or a whole folder, with an optional dossier code and station; each
upload becomes a batch and the browser goes to its live progress page (`/batches/{id}`).

The page's script sends the files to `POST /api/v1/batches` (upload progress shown); without scripts the
form posts here and the same `take_batch` runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.audit import Audit
from api.deps import ServicesDep, SubmitterDep
from api.errors import TOO_MANY_FILES, ApiError
from api.routes.batches import MAX_FILES
from api.uploads import take_batch
from api.web.base import UploaderPage, check_form_csrf, language_of, render
from errors import SohoaError, error_code, error_message
from ingest.intake import check_dossier_code
from ingest.messages import error_text
from storage.audit import record_audit

router = APIRouter(include_in_schema=False)


@router.get("/intake", response_class=HTMLResponse)
def intake_page(request: Request, staff: UploaderPage) -> HTMLResponse:
    return render(request, "intake.html", staff, max_files=MAX_FILES, problem=None)


@router.post("/intake", response_class=HTMLResponse)
def intake_submit(
    request: Request,
    services: ServicesDep,
    submitter: SubmitterDep,
    staff: UploaderPage,
    files: Annotated[list[UploadFile], File()],
    csrf: Annotated[str, Form(max_length=100)] = "",
    dossier: Annotated[str, Form(max_length=64)] = "",
    station: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The form without scripts: take the files in as one batch (audited `batch.create`), then show it."""
    check_form_csrf(staff, csrf)
    audit = Audit(staff.caller, action="batch.create")
    try:
        files = [f for f in files if f.filename]
        if not files:
            raise ApiError("choose at least one file", code="request.invalid")
        if len(files) > MAX_FILES:
            raise ApiError(f"at most {MAX_FILES} files per upload", code=TOO_MANY_FILES)
        code = check_dossier_code(dossier.strip()) if dossier.strip() else None
        batch_id = take_batch(
            services, submitter, staff.caller, files, name=name or None, dossier=code, station=station
        )
    except SohoaError as exc:
        audit.outcome = error_code(exc)
        record_audit(services.db, audit.event())
        problem = error_text(error_code(exc), error_message(exc), language_of(request))
        return render(request, "intake.html", staff, max_files=MAX_FILES, problem=problem, status_code=422)
    audit.detail = {"batch": batch_id, "files": len(files), "channel": "web"}
    audit.set_unit(staff.caller.unit)
    record_audit(services.db, audit.event())
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)
