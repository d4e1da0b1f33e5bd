"""Who signs a document and when: staff accounts' certificates (sealed in the database), the station identity,
and the signing step the pipeline and the reviewer's approval call.

The scanning officer signs: the account that handed the document in (`received_by` = `user:<name>`) when it
holds a certificate, else the station (`SOHOA_SIGNING_PKCS12` or a PKCS#11 token). With
`SOHOA_SIGN_ON=approval`
a document that goes to review is signed when a reviewer approves it, by the reviewer (or the station).
A document nobody can sign stays unsigned with `signature_error` saying why; signing failing with an
identity at hand sends the document to review (`signature.failed`) rather than letting it pass unsigned.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.services import Services
from ingest.settings import Settings
from ingest.signing import (
    EXPIRED,
    NO_IDENTITY,
    NO_SECRET,
    TIMESTAMP_UNAVAILABLE,
    SigningError,
    SigningIdentity,
    StampFacts,
    load_pkcs12,
    seal,
    sign_pdf,
    station_identity,
    unlocked_pkcs12,
    unseal,
)
from ocr.archival import claims_pdfa
from storage.models import Document, DocumentStatus, Identity, SigningCertificate, Unit, utcnow
from storage.repositories import DocumentRepository

log = logging.getLogger(__name__)

SIGNATURE_FAILED = "signature.failed"
"""Review reason: an identity was there but the document could not be signed (see `signature_error`)."""


@dataclass(frozen=True)
class SignatureOutcome:
    """What the signing step did to one PDF: who signed and when, or why nobody did."""

    signed_by: str | None = None
    signed_at: datetime | None = None
    error: str | None = None
    """`signing.*` code when unsigned (`signing.no_identity`: nobody configured to sign)."""
    pdfa: bool | None = None

    @property
    def review_reasons(self) -> list[str]:
        return [SIGNATURE_FAILED] if self.error and self.error != NO_IDENTITY else []


def server_secret(settings: Settings) -> bytes:
    """The secret sealing account certificates: SOHOA_SECRET_KEY, or in development a key made once in
    <data_dir>/secret.key (readable by its owner only). Production without one is `signing.no_secret`."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.environment == "production":
        raise SigningError(
            "SOHOA_SECRET_KEY must be set to keep signing certificates (every process needs the same one)",
            code=NO_SECRET,
        )
    path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"secret.key.{os.getpid()}.part")
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(partial, path)  # the first process to make one wins; the others read it
        except FileExistsError:
            pass
        finally:
            partial.unlink(missing_ok=True)
    return path.read_text().strip().encode()


def keep_certificate(
    session: Session, settings: Settings, identity: Identity, data: bytes, password: bytes | None
) -> SigningIdentity:
    """Check an account's PKCS#12 (password, key, validity today) and keep it sealed, replacing an older
    one."""
    if identity.kind != "user":
        raise SigningError("only staff accounts hold signing certificates", code="signing.not_an_account")
    checked = load_pkcs12(data, password, source=f"account:{identity.name}")
    sealed = seal(unlocked_pkcs12(data, password), server_secret(settings))
    facts = checked.facts
    row = session.get(SigningCertificate, identity.id) or SigningCertificate(identity_id=identity.id)
    row.sealed_pkcs12 = sealed
    row.subject, row.issuer, row.serial, row.fingerprint = (
        facts.subject,
        facts.issuer,
        facts.serial,
        facts.fingerprint,
    )
    row.not_before, row.not_after, row.uploaded_at = facts.not_before, facts.not_after, utcnow()
    session.add(row)
    session.flush()
    return checked


def drop_certificate(session: Session, identity: Identity) -> bool:
    """Forget an account's certificate (it signs nothing more); False when it held none."""
    row = session.get(SigningCertificate, identity.id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def account_identity(session: Session, settings: Settings, label: str | None) -> SigningIdentity | None:
    """The signing identity of the account an audit label names (`user:<name>`), if it holds a certificate."""
    if not label or not label.startswith("user:"):
        return None
    row = session.execute(
        select(SigningCertificate)
        .join(Identity, Identity.id == SigningCertificate.identity_id)
        .where(
            Identity.kind == "user",
            Identity.name == label.removeprefix("user:"),
            Identity.disabled_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    data, password = unseal(row.sealed_pkcs12, server_secret(settings))
    return load_pkcs12(data, password, source=label)


def choose_identity(session: Session, settings: Settings, label: str | None) -> SigningIdentity | None:
    """The account's identity when it holds one, else the station's, else None."""
    return account_identity(session, settings, label) or station_identity(settings)


def sign_document_pdf(
    pdf: Path,
    identity: SigningIdentity | None,
    settings: Settings,
    *,
    unit: str | None,
    scanned_at: datetime | None,
    scratch: Path,
) -> SignatureOutcome:
    """Sign `pdf` in place for `identity` (None: leave it unsigned, `signing.no_identity`).

    A timestamp server that does not answer leaves a B-B signature and the code
    `signing.timestamp_unavailable`
    on the document; any other signing failure leaves the file as it was.
    """
    if identity is None:
        return SignatureOutcome(error=NO_IDENTITY, pdfa=_claims(pdf))
    if problem := identity.facts.usable_at(datetime.now(UTC)):
        return SignatureOutcome(error=problem or EXPIRED, pdfa=_claims(pdf))
    stamp = StampFacts(unit=unit, scanned_at=scanned_at)
    note: str | None = None
    try:
        try:
            signed = sign_pdf(
                pdf,
                scratch,
                identity,
                stamp=stamp,
                timestamp_url=settings.signing_timestamp_url,
                timeout_seconds=settings.signing_timeout_seconds,
            )
        except SigningError as exc:
            if exc.code != TIMESTAMP_UNAVAILABLE:
                raise
            log.warning("signing without a timestamp: %s", exc.message)
            note = TIMESTAMP_UNAVAILABLE
            signed = sign_pdf(pdf, scratch, identity, stamp=stamp)
    except SigningError as exc:
        scratch.unlink(missing_ok=True)
        log.warning("could not sign %s as %s: %s", pdf.name, identity.source, exc.message)
        return SignatureOutcome(error=exc.code, pdfa=_claims(pdf))
    os.replace(scratch, pdf)
    return SignatureOutcome(
        signed_by=signed.signer, signed_at=signed.signed_at, error=note, pdfa=_claims(pdf)
    )


def _claims(pdf: Path) -> bool:
    with pikepdf.open(pdf) as opened:
        return claims_pdfa(opened)


def sign_finished_pdf(
    services: Services, document: Document, pdf: Path, *, signer: str | None
) -> SignatureOutcome:
    """The signing step for a document's PDF file: the identity of `signer` (an audit label: the scanning
    officer at processing, the reviewer at approval) or the station's signs it, stamped with the document's
    unit and its scan time. Identity problems (a sealed certificate the server cannot open, an unreadable
    station file) are outcomes with their code, never a failed document."""
    settings = services.settings
    try:
        with services.db.unit_of_work() as session:
            identity = choose_identity(session, settings, signer)
            unit = session.get(Unit, document.unit) if document.unit else None
            unit_name = unit.name if unit is not None else None
    except SigningError as exc:
        log.warning("no usable signing identity for %s: %s", document.id, exc.message)
        return SignatureOutcome(error=exc.code, pdfa=_claims(pdf))
    if identity is None:
        return SignatureOutcome(error=NO_IDENTITY, pdfa=_claims(pdf))
    scratch = services.scratch_file(".signed.pdf")
    try:
        return sign_document_pdf(
            pdf, identity, settings, unit=unit_name, scanned_at=document.created_at, scratch=scratch
        )
    finally:
        scratch.unlink(missing_ok=True)


def record_outcome(document: Document, outcome: SignatureOutcome) -> None:
    """Write what signing did onto the document's row (the caller's unit of work commits it)."""
    document.signed_by, document.signed_at = outcome.signed_by, outcome.signed_at
    document.signature_error = outcome.error
    document.pdfa = outcome.pdfa


def sign_on_approval(services: Services, document_id: str, *, by: str | None) -> SignatureOutcome | None:
    """A reviewer's decision made the document done: sign its stored PDF now if it is not signed yet
    (`SOHOA_SIGN_ON=approval`, or signing failed at processing). None when there was nothing to sign."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if (
            document is None
            or document.status != DocumentStatus.DONE
            or document.signed_by is not None
            or document.pdf_key is None
            or (services.settings.sign_on != "approval" and document.signature_error in (None, NO_IDENTITY))
        ):
            return None
        pdf = services.scratch_file(".pdf")
        try:
            with services.store.open(document.pdf_key) as stored, pdf.open("wb") as local:
                shutil.copyfileobj(stored, local)
            outcome = sign_finished_pdf(services, document, pdf, signer=by)
            if outcome.signed_by is not None:
                services.store.put_file(document.pdf_key, pdf, content_type="application/pdf")
            record_outcome(document, outcome)
        finally:
            pdf.unlink(missing_ok=True)
    return outcome
