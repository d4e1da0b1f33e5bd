"""/api/v1/account/certificate and /api/v1/users/{name}/certificate: the signing certificate a staff account
holds (a PKCS#12 upload with its password). The scanning officer's documents are signed with it at the end
of processing; the key is kept sealed under SOHOA_SECRET_KEY and never shown again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, UploadFile, status
from sqlalchemy.orm import Session

from api.audit import AuditDep
from api.auth import AdminDep, Caller, CallerDep
from api.deps import ServicesDep, SessionDep
from api.errors import IDENTITY_NOT_FOUND, ApiError, NotFound
from api.schemas import CertificateOut, ErrorOut
from ingest.services import Services
from ingest.signatures import drop_certificate, keep_certificate
from ingest.signing import CertificateFacts, common_name_of
from ingest.verify import certificate_trusted, trust_roots
from storage.access import IdentityRepository
from storage.models import Identity, SigningCertificate

router = APIRouter(prefix="/api/v1", tags=["certificates"])

MAX_PKCS12_BYTES = 64 * 1024
"""A PKCS#12 with its chain is a few kilobytes; anything far larger is not one."""
NO_CERTIFICATE = "certificate.not_found"
NOT_AN_ACCOUNT = "signing.not_an_account"


def _own_account(session: Session, caller: Caller) -> Identity:
    identity = session.get(Identity, caller.identity_id)
    if identity is None or identity.kind != "user":
        raise ApiError("only a staff account holds a signing certificate", code=NOT_AN_ACCOUNT)
    return identity


def _named_account(session: Session, name: str) -> Identity:
    identity = IdentityRepository(session).by_name("user", name)
    if identity is None:
        raise NotFound(f"no staff account {name!r}", code=IDENTITY_NOT_FOUND)
    return identity


def _upload(
    session: Session, services: Services, identity: Identity, file: UploadFile, password: str
) -> CertificateOut:
    data = file.file.read(MAX_PKCS12_BYTES + 1)
    if len(data) > MAX_PKCS12_BYTES:
        raise ApiError("that file is too large to be a PKCS#12 certificate", code="signing.bad_certificate")
    kept = keep_certificate(session, services.settings, identity, data, password.encode() or None)
    return _out(identity, kept.facts, certificate_trusted(kept.chain_pem, trust_roots(services.settings)))


def _out(identity: Identity, facts: CertificateFacts | SigningCertificate, trusted: bool) -> CertificateOut:
    return CertificateOut(
        account=identity.name,
        common_name=common_name_of(facts.subject),
        subject=facts.subject,
        issuer=facts.issuer,
        serial=facts.serial,
        fingerprint=facts.fingerprint,
        not_before=facts.not_before,
        not_after=facts.not_after,
        trusted=trusted,
    )


UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {422: {"model": ErrorOut}}


@router.put("/account/certificate", response_model=CertificateOut, responses=UPLOAD_RESPONSES)
def put_own_certificate(
    file: UploadFile,
    services: ServicesDep,
    session: SessionDep,
    caller: CallerDep,
    audit: AuditDep,
    password: Annotated[str, Form(description="The PKCS#12's password (empty for none).")] = "",
) -> CertificateOut:
    """The calling staff account's signing certificate (PKCS#12): checked (password, key, valid today) and
    kept sealed; it replaces the one before. Audited `certificate.set` with the certificate's fingerprint."""
    audit.action = "certificate.set"
    answer = _upload(session, services, _own_account(session, caller), file, password)
    audit.detail = {"account": answer.account, "fingerprint": answer.fingerprint, "trusted": answer.trusted}
    return answer


@router.get("/account/certificate", response_model=CertificateOut, responses={404: {"model": ErrorOut}})
def get_own_certificate(services: ServicesDep, session: SessionDep, caller: CallerDep) -> CertificateOut:
    """What the calling account's certificate says (never the key)."""
    identity = _own_account(session, caller)
    row = session.get(SigningCertificate, identity.id)
    if row is None:
        raise NotFound("this account holds no signing certificate", code=NO_CERTIFICATE)
    return _out(identity, row, trusted=_stored_trusted(services, session, identity))


def _stored_trusted(services: Services, session: Session, identity: Identity) -> bool:
    from ingest.signatures import account_identity

    kept = account_identity(session, services.settings, f"user:{identity.name}")
    return kept is not None and certificate_trusted(kept.chain_pem, trust_roots(services.settings))


@router.delete(
    "/account/certificate", status_code=status.HTTP_204_NO_CONTENT, responses={404: {"model": ErrorOut}}
)
def delete_own_certificate(session: SessionDep, caller: CallerDep, audit: AuditDep) -> None:
    """Forget the calling account's certificate: its next documents are signed by the station (or not)."""
    audit.action = "certificate.remove"
    if not drop_certificate(session, _own_account(session, caller)):
        raise NotFound("this account holds no signing certificate", code=NO_CERTIFICATE)


@router.put(
    "/users/{name}/certificate",
    response_model=CertificateOut,
    responses={**UPLOAD_RESPONSES, 404: {"model": ErrorOut}},
)
def put_account_certificate(
    name: str,
    file: UploadFile,
    services: ServicesDep,
    session: SessionDep,
    caller: AdminDep,
    audit: AuditDep,
    password: Annotated[str, Form(description="The PKCS#12's password (empty for none).")] = "",
) -> CertificateOut:
    """An admin sets a staff account's signing certificate (as `PUT /account/certificate` for oneself)."""
    del caller
    audit.action = "certificate.set"
    answer = _upload(session, services, _named_account(session, name), file, password)
    audit.detail = {"account": answer.account, "fingerprint": answer.fingerprint, "trusted": answer.trusted}
    return answer
