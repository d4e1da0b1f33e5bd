"""Signing with a PKCS#11 token (`SOHOA_SIGNING_PKCS11_*`), against a real SoftHSM2 token made per test:
the station's identity is read from the token, its key signs inside the token, and pyHanko's validator and
poppler's pdfsig both accept the result; a wrong PIN is a coded refusal, never a crash.

SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialised, and python-pkcs11 keeps one loaded
module per path for the whole process (`pkcs11.lib` caches it), so the fixture unloads the module before
pointing it at its own token folder and again afterwards, and gives the station identity cache (which holds
the token's open session) a fresh, empty dict for the test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
from pkcs11.util import biginteger

from examples.synth import EXAMPLES, write_example
from ingest import signing
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import build_services
from ingest.settings import Settings, load_settings
from ingest.signing import (
    TOKEN_UNAVAILABLE,
    SigningError,
    StampFacts,
    certificates_from_pem,
    sign_pdf,
    station_identity,
)
from ingest.verify import trust_roots, verify_pdf
from storage.models import Document, DocumentStatus
from tests.certificates import Issued, issue, make_ca
from tests.documents import pdf_page

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL, USER_PIN, SO_PIN = "sohoa-test", "1234", "5678"
KEY_LABEL, KEY_ID = "tram-quet-01", b"\x01"
SIGNER = "Trạm quét 01"
SCAN = next(s for s in EXAMPLES if s.name == "ho-so-ho-kinh-doanh.tif")


@dataclass(frozen=True)
class Token:
    """A SoftHSM2 token holding one signing key and its certificate, and the CA that issued it."""

    ca: Issued
    leaf: Issued
    tokens: Path


def _forget_the_module() -> None:
    """Drop the station identity (its session belongs to the module) and finalise and unload the module, so
    the next `pkcs11.lib` loads it again and SoftHSM2 reads the `SOFTHSM2_CONF` in force then."""
    signing._station_cache.clear()
    pkcs11.unload(str(MODULE))


def _import_key_and_certificate(leaf: Issued) -> None:
    numbers = leaf.key.private_numbers()
    public = numbers.public_numbers
    der = leaf.certificate.public_bytes(serialization.Encoding.DER)
    token = pkcs11.lib(str(MODULE)).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                Attribute.KEY_TYPE: KeyType.RSA,
                Attribute.MODULUS: biginteger(public.n),
                Attribute.PUBLIC_EXPONENT: biginteger(public.e),
                Attribute.PRIVATE_EXPONENT: biginteger(numbers.d),
                Attribute.PRIME_1: biginteger(numbers.p),
                Attribute.PRIME_2: biginteger(numbers.q),
                Attribute.EXPONENT_1: biginteger(numbers.dmp1),
                Attribute.EXPONENT_2: biginteger(numbers.dmq1),
                Attribute.COEFFICIENT: biginteger(numbers.iqmp),
                Attribute.LABEL: KEY_LABEL,
                Attribute.ID: KEY_ID,
                Attribute.SIGN: True,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
            }
        )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.VALUE: der,
                Attribute.LABEL: KEY_LABEL,
                Attribute.ID: KEY_ID,
                Attribute.SUBJECT: leaf.certificate.subject.public_bytes(),
                Attribute.TOKEN: True,  # not a session object: it must outlive this session
                Attribute.PRIVATE: False,
            }
        )


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Token]:
    """A private SoftHSM2 token for this test, with a throwaway station key and certificate in it."""
    if not MODULE.exists():
        pytest.skip(
            f"SoftHSM2 is not installed ({MODULE} is missing: Debian package softhsm2, `make system`)"
        )
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    _forget_the_module()  # a module loaded earlier in this process would keep reading another folder
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setattr(signing, "_station_cache", {})
    made = subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr or made.stdout
    ca = make_ca()
    leaf = issue(ca, SIGNER, unit="Một cửa")
    try:
        _import_key_and_certificate(leaf)
        yield Token(ca=ca, leaf=leaf, tokens=tokens)
    finally:
        _forget_the_module()


def _token_settings(tmp_path: Path, *, pin: str = USER_PIN, key_label: str = KEY_LABEL) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        workers=2,
        broker_url=None,
        database_url=None,
        signing_pkcs11_module=MODULE,
        signing_pkcs11_token=TOKEN_LABEL,
        signing_pkcs11_pin=pin,
        signing_pkcs11_key_label=key_label,
    )


def _pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout


def test_the_token_signs_a_pdf_that_both_readers_accept(token: Token, tmp_path: Path) -> None:
    identity = station_identity(_token_settings(tmp_path))
    assert identity is not None and identity.source == "pkcs11"
    assert identity.facts.common_name == SIGNER and identity.facts.organization == "Một cửa"
    assert identity.chain_pem == token.leaf.pem
    assert station_identity(_token_settings(tmp_path)) is identity, "one session per process"

    source = tmp_path / "page.pdf"
    source.write_bytes(pdf_page("Giấy tiếp nhận hồ sơ"))
    output = tmp_path / "signed.pdf"
    signed = sign_pdf(source, output, identity, stamp=StampFacts(unit=None, scanned_at=None))
    assert signed.signer == SIGNER and not signed.timestamped

    data = output.read_bytes()
    assert data.startswith(source.read_bytes()), "an incremental update of the source"
    verdict = verify_pdf(data, certificates_from_pem(token.ca.pem))
    assert verdict.valid, verdict.message
    [check] = verdict.signatures
    assert check.signer == SIGNER and check.intact and check.trusted and check.whole_file
    report = _pdfsig(output)
    assert "Signature is Valid." in report and "Total document signed" in report, report
    assert not verify_pdf(data, []).valid, "and nobody trusts it without the CA"


def test_a_wrong_pin_is_a_coded_refusal(token: Token, tmp_path: Path) -> None:
    with pytest.raises(SigningError) as refused:
        station_identity(_token_settings(tmp_path, pin="0000"))
    assert refused.value.code == TOKEN_UNAVAILABLE


def test_a_key_label_the_token_does_not_hold_is_a_coded_refusal(token: Token, tmp_path: Path) -> None:
    with pytest.raises(SigningError) as refused:
        station_identity(_token_settings(tmp_path, key_label="khong-co"))
    assert refused.value.code == TOKEN_UNAVAILABLE


def test_the_pipeline_signs_with_the_token(token: Token, tmp_path: Path) -> None:
    services = build_services(_token_settings(tmp_path))
    try:
        path = write_example(SCAN, tmp_path)
        taken = intake(services, path.read_bytes(), source=path.name)
        process_document(services, taken.document_id)
        with services.db.unit_of_work() as session:
            document = session.get(Document, taken.document_id)
            assert document is not None
            session.expunge(document)
        assert document.status == DocumentStatus.DONE, document.review_reasons
        assert document.signed_by == SIGNER and document.signature_error is None
        assert document.pdf_key is not None
        signed = services.store.get_bytes(document.pdf_key)
        assert verify_pdf(signed, trust_roots(services.settings)).valid, "the station's own trust (the API's)"
    finally:
        services.close()
    verdict = verify_pdf(signed, certificates_from_pem(token.ca.pem))
    assert verdict.valid, verdict.message
    assert verdict.signatures[0].signer == SIGNER
    stored = tmp_path / "stored.pdf"
    stored.write_bytes(signed)
    report = _pdfsig(stored)
    assert "Signature is Valid." in report and "Total document signed" in report, report
