"""Check a signed PDF: is every signature intact, made by a trusted certificate, and does the last one cover
the
whole file (nothing added or changed after it)? `sohoa verify FILE` and `GET /api/v1/documents/{id}/verify`
both answer with a `Verification`.

Trust: the CA certificates in `SOHOA_SIGNING_TRUST_ROOTS`, the station identity's chain and the chains of the
staff accounts' certificates (`trust_roots`). A signature that is intact but made by a certificate nobody
trusts is reported as such — never as valid.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from asn1crypto import x509 as asn1_x509

from ingest.signing import SigningError, certificates_from_pem, station_identity

if TYPE_CHECKING:
    from ingest.settings import Settings

log = logging.getLogger(__name__)

NOT_SIGNED = "verify.not_signed"
CHANGED = "verify.changed"
"""The signed bytes' digest does not match: the file was altered after signing."""
NOT_WHOLE_FILE = "verify.not_whole_file"
"""Bytes were appended after the last signature (an update nobody signed)."""
UNTRUSTED = "verify.untrusted"
UNREADABLE = "verify.unreadable"


@dataclass(frozen=True)
class SignatureCheck:
    """One signature of the file, as the validator saw it."""

    field: str
    signer: str | None
    signed_at: datetime | None
    """The signing time the signer's machine stated (or the timestamp's time when there is one)."""
    timestamped: bool
    intact: bool
    """The signed bytes are the bytes that were signed (no change since)."""
    trusted: bool
    """The signer's certificate chains up to a trusted root and was valid when it signed."""
    whole_file: bool
    """Nothing follows the signed byte range: the signature covers the whole file."""
    summary: str


@dataclass(frozen=True)
class Verification:
    """The verdict over a whole file: `valid` only when every signature is intact and trusted and the last
    one covers the whole file. `problems` carries the codes saying why not, in order of importance."""

    valid: bool
    signatures: list[SignatureCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def changed_since_signing(self) -> bool:
        return CHANGED in self.problems or NOT_WHOLE_FILE in self.problems


def trust_roots(
    settings: Settings, extra_pem: list[str] | tuple[str, ...] = ()
) -> list[asn1_x509.Certificate]:
    """Every certificate a signature may chain up to (see the module docstring)."""
    pems = list(extra_pem)
    for path in settings.signing_trust_root_paths:
        try:
            pems.append(path.read_text())
        except OSError as exc:
            log.warning("cannot read trust root %s: %s", path, exc)
    try:
        station = station_identity(settings)
    except SigningError as exc:
        log.warning("the station identity is not usable for trust: %s", exc)
        station = None
    if station is not None:
        pems.append(station.chain_pem)
    roots: list[asn1_x509.Certificate] = []
    for pem in pems:
        try:
            roots.extend(certificates_from_pem(pem))
        except ValueError as exc:
            log.warning("a trust root is not a PEM certificate: %s", exc)
    return roots


def verify_pdf(data: bytes | BinaryIO, roots: list[asn1_x509.Certificate]) -> Verification:
    """Validate every signature in `data` (bytes or a seekable file) against `roots` (offline: no revocation
    fetching)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data) if isinstance(data, bytes) else data, strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko's reader raises its own and Python's errors for broken files
        return Verification(valid=False, problems=[UNREADABLE], message=f"not a readable PDF: {exc}")
    if not signatures:
        return Verification(valid=False, problems=[NOT_SIGNED], message="the file carries no signature")
    checks = []
    for embedded in signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        try:
            status = validate_pdf_signature(embedded, context)
        except Exception as exc:  # a mangled signature dictionary or CMS blob
            checks.append(
                SignatureCheck(
                    field=embedded.field_name,
                    signer=None,
                    signed_at=None,
                    timestamped=False,
                    intact=False,
                    trusted=False,
                    whole_file=False,
                    summary=f"unreadable signature: {exc}",
                )
            )
            continue
        timestamp = status.timestamp_validity
        checks.append(
            SignatureCheck(
                field=embedded.field_name,
                signer=status.signing_cert.subject.native.get("common_name"),
                signed_at=timestamp.timestamp if timestamp is not None else status.signer_reported_dt,
                timestamped=timestamp is not None,
                intact=bool(status.intact and status.valid),
                trusted=bool(status.trusted),
                whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
                summary=status.summary(),
            )
        )
    return _verdict(checks)


def _verdict(checks: list[SignatureCheck]) -> Verification:
    problems = []
    if not all(c.intact for c in checks):
        problems.append(CHANGED)
    if not checks[-1].whole_file:
        problems.append(NOT_WHOLE_FILE)
    if not all(c.trusted for c in checks):
        problems.append(UNTRUSTED)
    last = checks[-1]
    if not problems:
        when = f" at {last.signed_at:%Y-%m-%d %H:%M:%S %Z}" if last.signed_at else ""
        return Verification(valid=True, signatures=checks, message=f"valid: signed by {last.signer}{when}")
    reasons = {
        CHANGED: "the file was changed after it was signed (the signed bytes do not match)",
        NOT_WHOLE_FILE: "the last signature does not cover the whole file (something was added after it)",
        UNTRUSTED: "the signer's certificate does not chain up to a trusted root",
    }
    return Verification(
        valid=False,
        signatures=checks,
        problems=problems,
        message="; ".join(reasons[p] for p in problems),
    )


def verify_file(path: Path, roots: list[asn1_x509.Certificate]) -> Verification:
    """`verify_pdf` of a file on disk; a missing or unreadable file is `verify.unreadable`."""
    try:
        with path.open("rb") as handle:
            return verify_pdf(handle, roots)
    except OSError as exc:
        return Verification(valid=False, problems=[UNREADABLE], message=f"cannot read {path}: {exc}")


def archival_ok(handle: BinaryIO) -> bool:
    """Whether a PDF claims PDF/A-2b and shows no structure PDF/A forbids (`ocr.archival.check_file`)."""
    from ocr.archival import check_file

    handle.seek(0)
    try:
        return not check_file(handle.read())
    except Exception:  # pikepdf refusing a broken file: certainly not archival
        return False


def certificate_trusted(chain_pem: str, roots: list[asn1_x509.Certificate]) -> bool:
    """Whether the first certificate of `chain_pem` chains up to `roots` and may sign documents today."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    leaf, *others = certificates_from_pem(chain_pem)
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    validator = CertificateValidator(leaf, intermediate_certs=others, validation_context=context)
    try:
        asyncio.run(validator.async_validate_usage({"digital_signature"}))
    except (PathBuildingError, PathValidationError, ValueError):
        return False
    return True
