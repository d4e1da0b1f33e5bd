"""/api/v1/documents: upload a scan, read its record, stream what is stored for it.

Every route needs an identity (`api.auth`) and writes an audit entry; a document of another unit answers
404 as if it did not exist.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, BinaryIO, Literal
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.audit import Audit, AuditDep
from api.auth import AdminDep, Caller, ReaderDep, ReviewerDep, UploaderDep
from api.deps import RetrainerDep, ServicesDep, SessionDep, SubmitterDep
from api.errors import DOCUMENT_NOT_FOUND, DOCUMENT_NOT_READY, ApiError, NotFound
from api.schemas import (
    DocumentOut,
    DossierIn,
    ErrorOut,
    FieldIn,
    LinksOut,
    ProcedureIn,
    SignatureCheckOut,
    UploadOut,
    VerificationOut,
    WithdrawIn,
)
from api.uploads import spool_upload, upload_source
from ingest.intake import check_dossier_code
from ingest.records import DocumentRecord
from ingest.review import accept, purge, set_dossier, set_field, set_procedure, withdraw
from ingest.services import Services
from ingest.submit import Incoming, spool_dir
from ingest.verify import Verification, archival_ok, trust_roots, verify_pdf
from storage.models import Document, utcnow
from storage.objects import CHUNK
from storage.repositories import DocumentRepository

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])

CONTENT_TYPES = {"pdf": "application/pdf", "text": "text/plain; charset=utf-8"}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadOut,
    responses={413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def upload_document(
    services: ServicesDep,
    submitter: SubmitterDep,
    caller: UploaderDep,
    audit: AuditDep,
    file: UploadFile,
    dossier: Annotated[str | None, Form(description="Dossier code, when the counter knows it.")] = None,
    station: Annotated[
        str | None, Form(max_length=64, description="The scanning station or counter, for the figures.")
    ] = None,
    batch: Annotated[
        str | None,
        Form(
            max_length=100,
            description="Uploads that belong together (one dossier's pages sent one file each) share a batch "
            "name: a file without a dossier code takes the one found on the others.",
        ),
    ] = None,
) -> UploadOut:
    """Store the scan's original bytes, queue it, and return its id at once (poll GET for the result).

    A plain (not async) route on purpose: storing to S3 and the database blocks, so FastAPI runs it in its
    thread pool instead of stalling every other request on the event loop.
    """
    audit.action = "document.upload"
    source = upload_source(file.filename)
    audit.detail = {"source": source}
    limit = services.settings.max_file_bytes
    code = check_dossier_code(dossier) if dossier else None
    with tempfile.NamedTemporaryFile(prefix="sohoa-upload-", dir=spool_dir(services)) as spooled:
        spool_upload(file, spooled, limit)
        incoming = Incoming(
            source=source,
            path=Path(spooled.name),
            dossier=code,
            group=f"upload:{batch}" if batch else None,
            unit=caller.unit,
            received_by=caller.label,
            station=station.strip() or None if station else None,
        )
        taken = submitter.submit(incoming)
    first = taken.documents[0]
    audit.document_id = first.document_id
    audit.set_unit(caller.unit)
    audit.detail |= {"documents": [d.document_id for d in taken.documents], "duplicate": first.duplicate}
    return UploadOut(
        id=first.document_id,
        status=first.status.value,
        duplicate=first.duplicate,
        documents=[d.document_id for d in taken.documents],
    )


def _document_or_404(
    session: Session, document_id: str, caller: Caller, audit: Audit, *, with_pages: bool = False
) -> Document:
    """The document if it exists for this caller (its unit, or a province identity), else the coded 404."""
    audit.document_id = document_id[:32]
    document = DocumentRepository(session).get(document_id, with_pages=with_pages)
    if document is None or not caller.sees(document.unit):
        raise NotFound("no such document", code=DOCUMENT_NOT_FOUND)
    audit.about(document)
    return document


def _object_keys(document: Document) -> dict[str, str | None]:
    """The stored objects a client can fetch, by route name."""
    return {"original": document.original_key, "pdf": document.pdf_key, "text": document.text_key}


@router.get("/{document_id}", response_model=DocumentOut, responses={404: {"model": ErrorOut}})
def get_document(
    document_id: str, session: SessionDep, services: ServicesDep, caller: ReaderDep, audit: AuditDep
) -> DocumentRecord:
    """The document's export record (status, dossier, procedure, pages with text)."""
    audit.action = "document.read"
    document = _document_or_404(session, document_id, caller, audit, with_pages=True)
    return DocumentRecord.of(document, services.catalog)


@router.get(
    "/{document_id}/links",
    response_model=LinksOut,
    responses={404: {"model": ErrorOut}},
)
def get_document_links(
    document_id: str,
    session: SessionDep,
    services: ServicesDep,
    caller: ReaderDep,
    audit: AuditDep,
    expires: Annotated[
        int, Query(ge=60, le=7 * 24 * 3600, description="Seconds the links stay valid.")
    ] = 3600,
) -> dict[str, object]:
    """Download links for the original, PDF and text: presigned S3 URLs valid for `expires` seconds when the
    objects are on S3 (large files then bypass the API), else this API's own streaming routes."""
    audit.action = "document.links"
    document = _document_or_404(session, document_id, caller, audit)
    keys = _object_keys(document)
    presign = getattr(services.store, "presigned_url", None)
    if presign is None:
        links = {kind: f"{router.prefix}/{document.id}/{kind}" if key else None for kind, key in keys.items()}
        return {**links, "direct": False, "expires_at": None}
    lifetime = timedelta(seconds=expires)
    links = {kind: presign(key, lifetime) if key else None for kind, key in keys.items()}
    return {**links, "direct": True, "expires_at": utcnow() + lifetime}


@router.get(
    "/{document_id}/verify",
    response_model=VerificationOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def verify_document(
    document_id: str, session: SessionDep, services: ServicesDep, caller: ReaderDep, audit: AuditDep
) -> VerificationOut:
    """Check the stored PDF's signature as it is now: valid, who signed and when, whether the file changed
    since (any byte of the signed range, or anything appended), and whether it is PDF/A-2b."""
    audit.action = "document.verify"
    document = _document_or_404(session, document_id, caller, audit)
    if document.pdf_key is None:
        raise ApiError("the document has no PDF yet", code=DOCUMENT_NOT_READY)
    with tempfile.TemporaryFile() as local:
        with services.store.open(document.pdf_key) as stored:
            shutil.copyfileobj(stored, local, CHUNK)
        local.seek(0)
        report = verify_pdf(local, trust_roots(services.settings))
        pdfa = archival_ok(local)
    audit.detail = {"valid": report.valid, "problems": report.problems}
    return verification_out(report, document.id, pdfa)


def verification_out(report: Verification, document_id: str | None, pdfa: bool | None) -> VerificationOut:
    """The API's answer for a `Verification`."""
    last = report.signatures[-1] if report.signatures else None
    return VerificationOut(
        document=document_id,
        valid=report.valid,
        message=report.message,
        problems=report.problems,
        signer=last.signer if last else None,
        signed_at=last.signed_at if last else None,
        changed_since_signing=report.changed_since_signing,
        pdfa=pdfa,
        signatures=[
            SignatureCheckOut(
                field=c.field,
                signer=c.signer,
                signed_at=c.signed_at,
                timestamped=c.timestamped,
                intact=c.intact,
                trusted=c.trusted,
                whole_file=c.whole_file,
            )
            for c in report.signatures
        ],
    )


ObjectKind = Literal["original", "pdf", "text"]
DOWNLOADS: dict[ObjectKind, str] = {
    "original": "The original bytes as received, never changed.",
    "pdf": "The searchable PDF.",
    "text": "The text, pages separated by form feeds.",
}


def _download_route(kind: ObjectKind) -> Callable[..., StreamingResponse]:
    def download(
        document_id: str, services: ServicesDep, caller: ReaderDep, audit: AuditDep
    ) -> StreamingResponse:
        return get_document_object(document_id, kind, services, caller, audit)

    download.__doc__ = (
        f"{DOWNLOADS[kind]} A download named for people (`<dossier code>.<n>.…`): never shown inline, never "
        "sniffed, no scripts; the database session is closed before the first byte, so slow clients hold "
        "no connection."
    )
    return download


def get_document_object(
    document_id: str, kind: ObjectKind, services: Services, caller: Caller, audit: Audit
) -> StreamingResponse:
    """Stream one stored object of the document (one route per kind, so a wrong method on a sibling
    path such as `…/procedure` is a 405, not a 422)."""
    audit.action, audit.detail = "document.download", {"kind": kind}
    with services.db.unit_of_work() as session:
        document = _document_or_404(session, document_id, caller, audit)
        key = _object_keys(document)[kind]
        if key is None:
            raise ApiError(
                f"the {kind} is not available (status: {document.status})", code=DOCUMENT_NOT_READY
            )
        media_type = (
            document.media_type or "application/octet-stream" if kind == "original" else CONTENT_TYPES[kind]
        )
        name = download_name(session, document, kind, key)
    stream = services.store.open(key)
    headers = {
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return StreamingResponse(_chunks(stream), media_type=media_type, headers=headers)


for _kind in DOWNLOADS:
    router.add_api_route(
        f"/{{document_id}}/{_kind}",
        _download_route(_kind),
        methods=["GET"],
        name=f"get_document_{_kind}",
        responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
        response_class=StreamingResponse,
    )


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream in 1 MiB pieces (iterating a binary file would cut it at every newline byte)."""
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def download_name(session: Session, document: Document, kind: str, key: str) -> str:
    """`<dossier code>.<n>.<ext>` (n: the document's place in its dossier), else the source file's stem."""
    extension = {"pdf": ".pdf", "text": ".txt"}.get(kind) or PurePosixPath(key).suffix or ".bin"
    suffix = ".original" + extension if kind == "original" else extension
    if document.dossier_code:
        ids = [d.id for d in DocumentRepository(session).in_dossier(document.dossier_code, with_pages=False)]
        number = ids.index(document.id) + 1 if document.id in ids else 1
        return f"{document.dossier_code}.{number}{suffix}"
    stem = PurePosixPath(document.source.replace("\\", "/")).stem or document.id
    return f"{stem}{suffix}"


def content_disposition(name: str) -> str:
    """An attachment header with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = re.sub(
        r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    )
    return f"attachment; filename=\"{ascii_name or 'download'}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.put(
    "/{document_id}/procedure",
    response_model=DocumentOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def put_procedure(
    document_id: str,
    body: ProcedureIn,
    services: ServicesDep,
    session: SessionDep,
    caller: ReviewerDep,
    audit: AuditDep,
    retrainer: RetrainerDep,
    background: BackgroundTasks,
) -> DocumentRecord:
    """Set the document's procedure as the calling reviewer decided it; audited under the caller's name
    (never a name the client sends), and the model retrains when due."""
    audit.action, audit.detail = "procedure.correct", {"procedure": body.procedure}
    audit.detail["old"] = _checked(session, document_id, caller, audit).procedure_id
    set_procedure(services, document_id, body.procedure, by=caller.label)
    background.add_task(retrainer.retrain_if_due)
    return _fresh_record(services, document_id)


@router.put(
    "/{document_id}/dossier",
    response_model=DocumentOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def put_dossier(
    document_id: str,
    body: DossierIn,
    services: ServicesDep,
    session: SessionDep,
    caller: ReviewerDep,
    audit: AuditDep,
) -> DocumentRecord:
    """File the document under the dossier the calling reviewer states (null: under none); its objects
    move under the dossier, the dossier review reasons are settled; audited with old and new code."""
    audit.action = "dossier.correct"
    _checked(session, document_id, caller, audit)
    change = set_dossier(services, document_id, body.dossier, by=caller.label)
    audit.detail = {"old": change.old, "new": change.new}
    audit.dossier_code = change.new or change.old
    return _fresh_record(services, document_id)


@router.put(
    "/{document_id}/fields",
    response_model=DocumentOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def put_field(
    document_id: str,
    body: FieldIn,
    services: ServicesDep,
    session: SessionDep,
    caller: ReviewerDep,
    audit: AuditDep,
) -> DocumentRecord:
    """Set a key field (citizen ID, name, date, …) as the calling reviewer read it on the page; the value
    must pass the same check the extractor applies; audited with old and new value."""
    audit.action = "field.correct"
    _checked(session, document_id, caller, audit)
    change = set_field(services, document_id, body.kind, body.value, replaces=body.replaces, by=caller.label)
    audit.detail = {"kind": body.kind, "old": change.old, "new": change.new}
    return _fresh_record(services, document_id)


@router.post(
    "/{document_id}/accept",
    response_model=DocumentOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def accept_document(
    document_id: str,
    services: ServicesDep,
    session: SessionDep,
    caller: ReviewerDep,
    audit: AuditDep,
) -> DocumentRecord:
    """The calling reviewer accepts the reading as it stands: every review reason left (low OCR confidence,
    a blank page, the dossier it is filed under) is settled and the document is done. Decide the procedure
    first with `PUT …/procedure`; audited `review.accept` with the reasons settled."""
    audit.action = "review.accept"
    _checked(session, document_id, caller, audit)
    audit.detail = {"settled": accept(services, document_id, by=caller.label)}
    return _fresh_record(services, document_id)


@router.post(
    "/{document_id}/withdraw",
    response_model=DocumentOut,
    responses={404: {"model": ErrorOut}},
)
def withdraw_document(
    document_id: str,
    body: WithdrawIn,
    services: ServicesDep,
    session: SessionDep,
    caller: ReviewerDep,
    audit: AuditDep,
) -> DocumentRecord:
    """Withdraw a mistaken scan: hidden from dossiers, listings and search, kept with its audit trail (an
    admin may purge it later)."""
    audit.action, audit.detail = "document.withdraw", {"reason": body.reason[:200]}
    _checked(session, document_id, caller, audit)
    withdraw(services, document_id, body.reason)
    return _fresh_record(services, document_id)


@router.delete(
    "/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def purge_document(
    document_id: str, services: ServicesDep, session: SessionDep, caller: AdminDep, audit: AuditDep
) -> Response:
    """Delete a withdrawn document for good (objects, pages, text, record); `409` unless withdrawn first.
    Its audit entries stay."""
    audit.action = "document.purge"
    _checked(session, document_id, caller, audit)
    keys = purge(services, document_id)
    audit.detail = {"objects": len(keys)}
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _checked(session: Session, document_id: str, caller: Caller, audit: Audit) -> Document:
    """The document if the caller sees it (else 404), with this session's transaction ended: the change
    that follows commits in its own unit of work."""
    document = _document_or_404(session, document_id, caller, audit)
    session.rollback()
    return document


def _fresh_record(services: Services, document_id: str) -> DocumentRecord:
    """The record after a correction, read in a new unit of work."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id, with_pages=True)
        if document is None:  # purged between the two steps
            raise NotFound("no such document", code=DOCUMENT_NOT_FOUND)
        return DocumentRecord.of(document, services.catalog)
