"""/account/certificate: *Chữ ký số*, the signed-in staff account's signing certificate — what it says
(holder, issuer, serial, validity in Vietnam time, SHA-256 fingerprint, whether this centre's roots trust
it), a PKCS#12 upload that replaces it, and its removal. Any role: scanners sign what they scan,
reviewers what they approve.

The upload goes through `ingest.signatures.keep_certificate` like `PUT /api/v1/account/certificate`, and
every change or refusal is audited the same way (`certificate.set`, `certificate.remove`, with
`"channel": "web"`). `take_certificate` is shared with the admin accounts page, which sets another
account's certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import Audit
from api.deps import ServicesDep
from api.errors import IDENTITY_NOT_FOUND, ApiError
from api.routes.certificates import MAX_PKCS12_BYTES, NO_CERTIFICATE, NOT_AN_ACCOUNT
from api.web.base import Staff, StaffDep, check_form_csrf, render
from api.web.signatures import vietnam_time
from errors import SohoaError, error_code
from ingest.services import Services
from ingest.signatures import account_identity, drop_certificate, keep_certificate
from ingest.signing import (
    BAD_CERTIFICATE,
    EXPIRED,
    NO_SECRET,
    NOT_YET_VALID,
    WRONG_PASSWORD,
    CertificateFacts,
    SigningError,
    common_name_of,
)
from ingest.verify import certificate_trusted, trust_roots
from storage.access import IdentityRepository
from storage.audit import record_audit
from storage.models import Identity, SigningCertificate

router = APIRouter(include_in_schema=False)
PAGE = "/account/certificate"
NO_FILE = "certificate.no_file"
UNCONFIRMED = "certificate.unconfirmed"

ERROR_WORDS: dict[str, str] = {
    WRONG_PASSWORD: "certificate.error.wrong_password",
    BAD_CERTIFICATE: "certificate.error.bad_certificate",
    EXPIRED: "certificate.error.expired",
    NOT_YET_VALID: "certificate.error.not_yet_valid",
    NO_SECRET: "certificate.error.no_secret",
    NOT_AN_ACCOUNT: "certificate.error.not_an_account",
    NO_FILE: "certificate.error.no_file",
    NO_CERTIFICATE: "certificate.error.not_found",
    IDENTITY_NOT_FOUND: "certificate.error.no_account",
    UNCONFIRMED: "certificate.error.unconfirmed",
}
"""A refusal's code → the sentence the page shows (anything else: `certificate.error.other`)."""

DONE_WORDS = {"set": "certificate.done.set", "remove": "certificate.done.remove"}

Csrf = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=1024)]
Pkcs12File = Annotated[UploadFile | None, File(description="The PKCS#12 (.p12, .pfx).")]


def error_word(code: str) -> str:
    """The word key for why a certificate was refused."""
    return ERROR_WORDS.get(code, "certificate.error.other")


# --- what the page shows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateView:
    """A kept certificate as the page shows it (what the row says; the key never leaves its seal)."""

    holder: str
    subject: str
    issuer: str
    serial: str
    fingerprint: str
    """SHA-256 in colon-separated pairs, as certificate viewers print it."""
    valid_from: str
    valid_to: str
    uploaded: str
    state: str
    """`valid`, `expired` or `not_yet_valid` today."""
    trusted: bool
    problem: str | None = None
    """Why the kept certificate cannot sign now (a `signing.*` code), if it cannot."""


def certificate_state(facts: CertificateFacts | SigningCertificate, now: datetime) -> str:
    """Whether a certificate is valid on `now`, for badges."""
    if _aware(now) < _aware(facts.not_before):
        return "not_yet_valid"
    return "expired" if _aware(now) > _aware(facts.not_after) else "valid"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fingerprint_pairs(fingerprint: str) -> str:
    return ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)).upper()


def certificate_view(services: Services, session: Session, identity: Identity) -> CertificateView | None:
    """The account's kept certificate with its trust, or None when it holds none. A kept certificate the
    server cannot open (another SOHOA_SECRET_KEY) or that ran out is shown with why it cannot sign."""
    row = session.get(SigningCertificate, identity.id)
    if row is None:
        return None
    trusted, problem = False, None
    try:
        kept = account_identity(session, services.settings, identity.label)
    except SigningError as exc:
        problem = exc.code
    else:
        trusted = kept is not None and certificate_trusted(kept.chain_pem, trust_roots(services.settings))
    return CertificateView(
        holder=common_name_of(row.subject),
        subject=row.subject,
        issuer=row.issuer,
        serial=row.serial,
        fingerprint=fingerprint_pairs(row.fingerprint),
        valid_from=vietnam_time(row.not_before),
        valid_to=vietnam_time(row.not_after),
        uploaded=vietnam_time(row.uploaded_at),
        state=certificate_state(row, datetime.now(UTC)),
        trusted=trusted,
        problem=problem,
    )


@dataclass(frozen=True)
class CertificateSummary:
    """What the admin accounts list says of an account's certificate."""

    until: str
    """Its last valid day, Vietnam time."""
    state: str


def certificate_summaries(session: Session) -> dict[str, CertificateSummary]:
    """Every staff account holding a certificate, by login name."""
    now = datetime.now(UTC)
    statement = (
        select(Identity.name, SigningCertificate)
        .join(SigningCertificate, SigningCertificate.identity_id == Identity.id)
        .where(Identity.kind == "user")
    )
    return {
        name: CertificateSummary(vietnam_time(row.not_after, date_only=True), certificate_state(row, now))
        for name, row in session.execute(statement).all()
    }


# --- the changes, shared with the admin page ----------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """A certificate just kept for an account."""

    account: str
    facts: CertificateFacts
    trusted: bool


def _read(upload: UploadFile | None) -> bytes:
    if upload is None or not upload.filename:
        raise ApiError("choose a PKCS#12 file", code=NO_FILE)
    data = upload.file.read(MAX_PKCS12_BYTES + 1)
    if not data:
        raise ApiError("the chosen file is empty", code=NO_FILE)
    if len(data) > MAX_PKCS12_BYTES:
        raise SigningError("that file is too large to be a PKCS#12 certificate", code=BAD_CERTIFICATE)
    return data


def take_certificate(
    services: Services, staff: Staff, account: str, upload: UploadFile | None, password: str
) -> Kept:
    """Check and keep `account`'s PKCS#12 (one this person sees: their own, or one of the unit they
    administer), audited `certificate.set` whatever the outcome; a refusal raises with its code and keeps
    nothing."""
    audit = Audit(staff.caller, action="certificate.set", detail={"account": account, "channel": "web"})
    try:
        data = _read(upload)
        with services.db.unit_of_work() as session:
            identity = IdentityRepository(session).by_name("user", account)
            if identity is None or not staff.caller.sees(identity.unit):
                raise ApiError(f"no staff account {account!r}", code=IDENTITY_NOT_FOUND)
            audit.set_unit(identity.unit)
            kept = keep_certificate(session, services.settings, identity, data, password.encode() or None)
    except SohoaError as exc:
        audit.outcome = error_code(exc)
        record_audit(services.db, audit.event())
        raise
    trusted = certificate_trusted(kept.chain_pem, trust_roots(services.settings))
    audit.detail |= {"fingerprint": kept.facts.fingerprint, "trusted": trusted}
    record_audit(services.db, audit.event())
    return Kept(account, kept.facts, trusted)


# --- the page -----------------------------------------------------------------------------------------------


def certificate_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with services.db.unit_of_work() as session:
        identity = session.get(Identity, staff.caller.identity_id)
        view = certificate_view(services, session, identity) if identity is not None else None
    done = DONE_WORDS.get(request.query_params.get("done", ""))
    return render(
        request,
        "certificate.html",
        staff,
        status_code=status_code,
        certificate=view,
        problem=problem,
        problem_word=error_word(problem) if problem else None,
        error_word=error_word,
        done=done,
    )


@router.get(PAGE, response_class=HTMLResponse)
def show_certificate(request: Request, services: ServicesDep, staff: StaffDep) -> HTMLResponse:
    """The account's certificate (or that it holds none), the upload form and the remove button."""
    return certificate_page(request, services, staff)


@router.post(PAGE, response_class=HTMLResponse)
def upload_certificate(
    request: Request,
    services: ServicesDep,
    staff: StaffDep,
    file: Pkcs12File = None,
    csrf: Csrf = "",
    password: Password = "",
) -> Response:
    """Keep the uploaded PKCS#12 as this account's certificate (it replaces the one before); a refusal shows
    the page again with its sentence (422)."""
    check_form_csrf(staff, csrf)
    try:
        take_certificate(services, staff, staff.name, file, password)
    except SohoaError as exc:
        return certificate_page(request, services, staff, problem=error_code(exc), status_code=422)
    return RedirectResponse(f"{PAGE}?done=set", status_code=303)


@router.post(PAGE + "/remove", response_class=HTMLResponse)
def remove_certificate(
    request: Request,
    services: ServicesDep,
    staff: StaffDep,
    csrf: Csrf = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Forget this account's certificate once the person ticked that they mean it (audited
    `certificate.remove`); its next documents are signed by the station, or not at all."""
    check_form_csrf(staff, csrf)
    if confirm != "yes":
        return certificate_page(request, services, staff, problem=UNCONFIRMED, status_code=422)
    audit = Audit(staff.caller, action="certificate.remove", detail={"account": staff.name, "channel": "web"})
    with services.db.unit_of_work() as session:
        identity = session.get(Identity, staff.caller.identity_id)
        row = session.get(SigningCertificate, identity.id) if identity is not None else None
        if row is not None:
            audit.detail["fingerprint"] = row.fingerprint
        removed = identity is not None and drop_certificate(session, identity)
    if not removed:
        audit.outcome = NO_CERTIFICATE
    record_audit(services.db, audit.event())
    if not removed:
        return certificate_page(request, services, staff, problem=NO_CERTIFICATE, status_code=404)
    return RedirectResponse(f"{PAGE}?done=remove", status_code=303)
