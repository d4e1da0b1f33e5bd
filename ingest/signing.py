"""The one wrapper around pyHanko: sign a stored PDF for the scanning officer, PAdES baseline B-B (B-T with a
timestamp server), with a visible stamp at the top left of page 1 — who signed, their unit, when it was
scanned and signed — as Circular 01/2023 asks of a digitized copy.

Identities come from a PKCS#12 (a staff account's uploaded certificate, or the station's
`SOHOA_SIGNING_PKCS12`) or from a PKCS#11 token (`SOHOA_SIGNING_PKCS11_MODULE`). Public pieces:
`SigningIdentity`, `load_pkcs12`, `station_identity`, `sign_pdf`, `seal`/`unseal` (the account's PKCS#12 at
rest), `CertificateFacts`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from errors import SohoaError
from ocr.stamp import stamp_spot

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

    from ingest.settings import Settings

VIETNAM = timezone(timedelta(hours=7), "GMT+7")
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
"""A font with Vietnamese glyphs, embedded in the stamp (PDF/A forbids fonts that are not embedded)."""
FIELD_NAME = "ChuKySo"
STAMP_WIDTH, STAMP_HEIGHT, STAMP_MARGIN, STAMP_FONT_SIZE = 200, 50, 14, 7
"""The stamp's box in points, and its distance from the top-left corner of page 1."""


class SigningError(SohoaError):
    """A document could not be signed, or an identity could not be loaded; `code` says why."""

    code = "signing.failed"


NO_IDENTITY = "signing.no_identity"
BAD_CERTIFICATE = "signing.bad_certificate"
WRONG_PASSWORD = "signing.wrong_password"
EXPIRED = "signing.expired"
NOT_YET_VALID = "signing.not_yet_valid"
NO_FONT = "signing.no_font"
NO_SECRET = "signing.no_secret"
TIMESTAMP_UNAVAILABLE = "signing.timestamp_unavailable"
TOKEN_UNAVAILABLE = "signing.token_unavailable"


@dataclass(frozen=True)
class CertificateFacts:
    """What a signing certificate says, for lists and the stamp (read without the private key)."""

    common_name: str
    subject: str
    issuer: str
    serial: str
    fingerprint: str
    """SHA-256 (hex) of the certificate's DER."""
    not_before: datetime
    not_after: datetime
    organization: str | None

    @classmethod
    def of(cls, certificate: x509.Certificate) -> CertificateFacts:
        def first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
            values = name.get_attributes_for_oid(oid)
            return str(values[0].value) if values else None

        subject = certificate.subject
        return cls(
            common_name=first(subject, x509.NameOID.COMMON_NAME) or subject.rfc4514_string(),
            subject=subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            serial=format(certificate.serial_number, "x"),
            fingerprint=certificate.fingerprint(_sha256()).hex(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            organization=first(subject, x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
            or first(subject, x509.NameOID.ORGANIZATION_NAME),
        )

    def usable_at(self, moment: datetime) -> str | None:
        """None when the certificate is valid at `moment`, else the code saying why not."""
        if moment < self.not_before:
            return NOT_YET_VALID
        if moment > self.not_after:
            return EXPIRED
        return None


@dataclass(frozen=True)
class SigningIdentity:
    """Who signs: a pyHanko signer, what its certificate says, and the chain a verifier should trust."""

    signer: Signer
    facts: CertificateFacts
    chain_pem: str
    """The signer's certificate and the CA certificates that came with it, PEM."""
    source: str
    """`account:<name>`, `station` or `pkcs11`: where the identity came from (shown in logs and the audit)."""


@dataclass(frozen=True)
class StampFacts:
    """What the visible stamp on page 1 says besides the signer's name."""

    unit: str | None
    scanned_at: datetime | None


@dataclass(frozen=True)
class Signed:
    """What signing produced."""

    signer: str
    signed_at: datetime
    timestamped: bool


def _sha256() -> hashes.SHA256:
    return hashes.SHA256()


def load_pkcs12(data: bytes, password: bytes | None, *, source: str) -> SigningIdentity:
    """A signing identity from PKCS#12 bytes; a wrong password, a file without a key or a certificate that is
    not valid today is refused with its code (so an upload is refused at once, not at the first document)."""
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        wrong = "password" in str(exc).lower() or "mac" in str(exc).lower()
        raise SigningError(
            "the PKCS#12 password is wrong" if wrong else f"not a readable PKCS#12 file: {exc}",
            code=WRONG_PASSWORD if wrong else BAD_CERTIFICATE,
        ) from exc
    if key is None or certificate is None:
        raise SigningError("the PKCS#12 file holds no private key and certificate", code=BAD_CERTIFICATE)
    facts = CertificateFacts.of(certificate)
    if problem := facts.usable_at(datetime.now(UTC)):
        raise SigningError(
            f"the certificate of {facts.common_name} is valid from {facts.not_before:%Y-%m-%d} "
            f"to {facts.not_after:%Y-%m-%d}",
            code=problem,
        )
    chain = [certificate, *others]
    return SigningIdentity(
        signer=_loaded_key_signer(key, chain),
        facts=facts,
        chain_pem="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
        source=source,
    )


def _loaded_key_signer(key: PrivateKeyTypes, chain: list[x509.Certificate]) -> Signer:
    """A pyHanko signer holding `key` parsed once (its SimpleSigner parses the key at every signature:
    about 55 ms for RSA, twice a document)."""
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class LoadedKeySigner(SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
            if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return key.sign(data, padding.PKCS1v15(), hash_algorithm)
            if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return key.sign(data, ec.ECDSA(hash_algorithm))
            return super().sign_raw(data, digest_algorithm)  # PSS, EdDSA: pyHanko's own path

    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    asn1_chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
    return LoadedKeySigner(
        signing_cert=asn1_chain[0],
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs(asn1_chain[1:]),
    )


_station_lock = threading.Lock()
_station_cache: dict[tuple[object, ...], SigningIdentity | SigningError] = {}
"""The station identity of this process, or why it could not be loaded, by the settings that name it. A
failure is kept too: a token locks its PIN after a few wrong tries, so a wrong PIN is tried once per
process and setting, not once per document."""


def station_identity(settings: Settings) -> SigningIdentity | None:
    """The unattended station's identity (`SOHOA_SIGNING_PKCS12` or a PKCS#11 token), or None when unset.

    Loaded once per process and file version; the file is read again when it changes.
    """
    if settings.signing_pkcs11_module:
        pin = settings.signing_pkcs11_pin.get_secret_value() if settings.signing_pkcs11_pin else None
        token: tuple[object, ...] = (
            "pkcs11",
            str(settings.signing_pkcs11_module),
            settings.signing_pkcs11_token,
            settings.signing_pkcs11_key_label,
            settings.signing_pkcs11_cert_label,
            hashlib.sha256((pin or "").encode()).hexdigest(),
        )
        return _cached(token, lambda: _pkcs11_identity(settings))
    path = settings.signing_pkcs12
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError as exc:
        raise SigningError(f"cannot read SOHOA_SIGNING_PKCS12 ({path}): {exc}", code=BAD_CERTIFICATE) from exc
    password = settings.signing_password.get_secret_value().encode() if settings.signing_password else None
    version: tuple[object, ...] = ("pkcs12", str(path), stat.st_mtime_ns, stat.st_size, password)
    return _cached(version, lambda: load_pkcs12(path.read_bytes(), password, source="station"))


def _cached(key: tuple[object, ...], load: Callable[[], SigningIdentity]) -> SigningIdentity:
    with _station_lock:
        if key not in _station_cache:
            _station_cache.clear()
            try:
                _station_cache[key] = load()
            except SigningError as exc:
                _station_cache[key] = exc
        kept = _station_cache[key]
    if isinstance(kept, SigningError):
        raise kept
    return kept


def _pkcs11_identity(settings: Settings) -> SigningIdentity:
    """A signer whose key never leaves its token (a USB token or an HSM), found by the labels in settings."""
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as hanko_pkcs11

    pin = settings.signing_pkcs11_pin.get_secret_value() if settings.signing_pkcs11_pin else None
    try:
        session = hanko_pkcs11.open_pkcs11_session(
            str(settings.signing_pkcs11_module),
            token_criteria=TokenCriteria(label=settings.signing_pkcs11_token),
            user_pin=pin,
        )
        signer = hanko_pkcs11.PKCS11Signer(
            session,
            key_label=settings.signing_pkcs11_key_label,
            cert_label=settings.signing_pkcs11_cert_label or settings.signing_pkcs11_key_label,
        )
        certificate_der = signer.signing_cert.dump()
    except Exception as exc:  # python-pkcs11 raises many unrelated types; all mean the token can't sign
        raise SigningError(f"the PKCS#11 token cannot be used: {exc!r}", code=TOKEN_UNAVAILABLE) from exc
    certificate = x509.load_der_x509_certificate(certificate_der)
    facts = CertificateFacts.of(certificate)
    if problem := facts.usable_at(datetime.now(UTC)):
        raise SigningError(f"the token's certificate of {facts.common_name} is not valid today", code=problem)
    return SigningIdentity(
        signer=signer,
        facts=facts,
        chain_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        source="pkcs11",
    )


STAMP_CHARACTERS = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư"
    + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))  # Latin Extended Additional: ạ ả ấ … ỹ
    + "°–—‘’“”…"
)


FONT_RECIPE = "2"
"""Changes when `_cut_font` cuts differently, so machines make the font again."""


def stamp_font() -> Path:
    """The stamp's font: DejaVu Sans cut to the Vietnamese alphabet at 1,000 units per em, made once per
    machine in the temporary folder (embedding the whole font costs 0.6 s a document; pyHanko writes widths
    in font units, so a 2,048-unit font would print its letters spaced out)."""
    import tempfile

    source = next((c for c in FONT_CANDIDATES if c.exists()), None)
    if source is None:
        raise SigningError("DejaVu Sans is missing (Debian package fonts-dejavu-core)", code=NO_FONT)
    stat = source.stat()
    recipe = f"{FONT_RECIPE}:{source}:{stat.st_size}:{stat.st_mtime_ns}:{STAMP_CHARACTERS}"
    tag = hashlib.sha256(recipe.encode()).hexdigest()
    target = Path(tempfile.gettempdir()) / f"sohoa-stamp-font-{tag[:16]}.ttf"
    if not target.exists():
        _cut_font(source, target)
    return target


def _cut_font(source: Path, target: Path) -> None:
    import logging
    import os

    from fontTools import subset
    from fontTools.ttLib.scaleUpem import scale_upem

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF"]
    options.hinting = False  # its instructions do not survive the change of units: pdfium lost the dots of i
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=STAMP_CHARACTERS)
    subsetter.subset(font)
    scale_upem(font, 1000)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    font.save(str(partial))
    os.replace(partial, target)  # two processes making it at once both end with a whole file


def stamp_lines(identity: SigningIdentity, stamp: StampFacts, signed_at: datetime) -> str:
    """The stamp's text, Vietnamese (it is a legal mark on the page, read by the archive and the citizen)."""
    lines = [f"Ký số bởi: {identity.facts.common_name}"]
    if unit := (stamp.unit or identity.facts.organization):
        lines.append(f"Đơn vị: {unit}")
    if stamp.scanned_at is not None:
        lines.append(f"Thời gian quét: {_vietnam_time(stamp.scanned_at)}")
    lines.append(f"Thời gian ký: {_vietnam_time(signed_at)}")
    return "\n".join(lines)


def _vietnam_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S (GMT+7)")


def sign_pdf(
    source: Path,
    output: Path,
    identity: SigningIdentity,
    *,
    stamp: StampFacts,
    timestamp_url: str | None = None,
    timeout_seconds: float = 10.0,
) -> Signed:
    """Sign `source` into `output` (an incremental update: the signed bytes start with the source's bytes).

    PAdES B-B, or B-T when `timestamp_url` names an RFC 3161 server (one that does not answer is
    `signing.timestamp_unavailable`). The stamp sits at the top left of page 1.
    """
    from pyhanko import stamp as hanko_stamp
    from pyhanko.pdf_utils import text
    from pyhanko.pdf_utils.content import RawContent
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.layout import (
        AxisAlignment,
        BoxConstraints,
        InnerScaling,
        Margins,
        SimpleBoxLayoutRule,
    )
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    signed_at = datetime.now(UTC)
    style = hanko_stamp.TextStampStyle(
        stamp_text=stamp_lines(identity, stamp, signed_at),
        text_box_style=text.TextBoxStyle(
            font=GlyphAccumulatorFactory(str(stamp_font()), font_size=STAMP_FONT_SIZE),
            font_size=STAMP_FONT_SIZE,
            leading=STAMP_FONT_SIZE + 2,
        ),
        border_width=1,
        background=RawContent(b"1 g 0 0 10 10 re f", box=BoxConstraints(width=10, height=10)),
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins(),
            inner_content_scaling=InnerScaling.STRETCH_FILL,
        ),
        background_opacity=1.0,
    )
    timestamper = RequestsHTTPTimeStamper(timestamp_url, timeout=timeout_seconds) if timestamp_url else None
    with source.open("rb") as incoming, output.open("wb") as outgoing:
        writer = IncrementalPdfFileWriter(incoming, strict=False)
        box = _stamp_box(writer, source)
        signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=FIELD_NAME,
                subfilter=fields.SigSeedSubFilter.PADES,
                md_algorithm="sha256",
                reason="Ký số bản số hóa (Thông tư 01/2023/TT-VPCP)",
                name=identity.facts.common_name,
            ),
            signer=identity.signer,
            timestamper=timestamper,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=box),
        )
        try:
            signer.sign_pdf(writer, output=outgoing)
        except Exception as exc:  # pyHanko wraps the TSA's transport errors in several types
            if timestamp_url and _is_timestamp_failure(exc):
                raise SigningError(
                    f"the timestamp server {timestamp_url} did not answer: {exc}", code=TIMESTAMP_UNAVAILABLE
                ) from exc
            raise SigningError(f"signing failed: {exc}") from exc
    return Signed(signer=identity.facts.common_name, signed_at=signed_at, timestamped=timestamper is not None)


def _is_timestamp_failure(exc: BaseException) -> bool:
    import requests
    from pyhanko.sign.timestamps import TimestampRequestError

    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, TimestampRequestError | requests.RequestException):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def _stamp_box(writer: object, source: Path) -> tuple[int, int, int, int]:
    """The stamp's box on page 1 in default user space: at the top left, moved to the first spot that
    covers nothing (`ocr.stamp`), whatever the media box's origin."""
    page_ref, _ = writer.find_page_for_modification(0)  # type: ignore[attr-defined]
    page = page_ref.get_object()
    left, bottom, right, top = (float(v) for v in page.get("/CropBox", page["/MediaBox"]))
    width = min(STAMP_WIDTH, right - left - 2 * STAMP_MARGIN)
    height = min(STAMP_HEIGHT, top - bottom - 2 * STAMP_MARGIN)
    spot = stamp_spot(str(source), width_pt=width, height_pt=height, margin_pt=STAMP_MARGIN)
    x, y = spot if spot is not None else (STAMP_MARGIN, STAMP_MARGIN)
    x1, y2 = left + x, top - y
    return int(x1), int(y2 - height), int(x1 + width), int(y2)


def seal(data: bytes, secret: bytes) -> bytes:
    """Encrypt an account's PKCS#12 (re-wrapped with a random password, both sealed) for the database."""
    password = secrets.token_urlsafe(24).encode()
    key, certificate, others = pkcs12.load_key_and_certificates(data, None)
    assert key is not None and certificate is not None
    rewrapped = pkcs12.serialize_key_and_certificates(
        name=None,
        key=key,  # type: ignore[arg-type]
        cert=certificate,
        cas=others or None,
        encryption_algorithm=serialization.BestAvailableEncryption(password),
    )
    return _fernet(secret).encrypt(password + b"\n" + rewrapped)


def unseal(sealed: bytes, secret: bytes) -> tuple[bytes, bytes]:
    """The PKCS#12 bytes and their password from `seal`; a different server secret is `signing.no_secret`."""
    try:
        opened = _fernet(secret).decrypt(sealed)
    except InvalidToken as exc:
        raise SigningError(
            "the stored certificate was sealed with another SOHOA_SECRET_KEY", code=NO_SECRET
        ) from exc
    password, _, data = opened.partition(b"\n")
    return data, password


def unlocked_pkcs12(data: bytes, password: bytes | None) -> bytes:
    """The same key and certificates without a password, for `seal` (which wraps them again)."""
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        raise SigningError("the PKCS#12 password is wrong", code=WRONG_PASSWORD) from exc
    if key is None or certificate is None:
        raise SigningError("the PKCS#12 file holds no private key and certificate", code=BAD_CERTIFICATE)
    return pkcs12.serialize_key_and_certificates(
        name=None,
        key=key,  # type: ignore[arg-type]
        cert=certificate,
        cas=others or None,
        encryption_algorithm=serialization.NoEncryption(),
    )


def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"sohoa-signing\0" + secret).digest()))


def certificates_from_pem(pem: str) -> list[asn1_x509.Certificate]:
    """asn1crypto certificates (what pyHanko's validator takes) from concatenated PEM."""
    return [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in x509.load_pem_x509_certificates(pem.encode())
    ]


def common_name_of(subject: str) -> str:
    """The common name in an RFC 4514 subject (`CN=…,OU=…`), or the whole subject when it names none."""
    try:
        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    except ValueError:
        return subject
    return str(names[0].value) if names else subject
