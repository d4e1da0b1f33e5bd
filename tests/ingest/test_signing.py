"""Signed digitized copies: the scanning officer's (or the station's) PAdES signature with a visible stamp on
page 1, checked by pyHanko's validator and by poppler's pdfsig, refused by both after a one-byte change.

Every certificate is made per run (`tests.certificates`); the stamp's rendering is kept in
test-artifacts/signing/ for people to look at.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image
from pyhanko.pdf_utils.generic import NameObject, TextStringObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from typer.testing import CliRunner

from api.cli import app as cli_app
from examples.synth import EXAMPLES, write_example
from ingest.intake import Facts, intake
from ingest.pipeline import process_document
from ingest.review import accept
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from ingest.signatures import SIGNATURE_FAILED, keep_certificate
from ingest.signing import (
    EXPIRED,
    NOT_YET_VALID,
    WRONG_PASSWORD,
    SigningError,
    StampFacts,
    certificates_from_pem,
    load_pkcs12,
    sign_pdf,
)
from ingest.verify import CHANGED, NOT_WHOLE_FILE, UNTRUSTED, verify_pdf
from ocr.archival import check_file
from ocr.barcodes import read_barcodes
from ocr.preview import render_preview
from storage.access import IdentityRepository
from storage.models import Document, DocumentStatus
from tests.certificates import Issued, issue, make_ca, pkcs12_bytes, timestamp_server, write_pkcs12
from tests.documents import pdf_page
from tests.identities import make_user
from tests.serving import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "signing"
PASSWORD = "mật-khẩu-thử"
SCAN = next(s for s in EXAMPLES if s.name == "ho-so-ho-kinh-doanh.tif")
"""A receipt, a form and a blank back side in one TIFF: three pages, the last blank."""


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("Cơ quan chứng thực thử nghiệm sohoa")


@pytest.fixture(scope="module")
def station(ca: Issued) -> Issued:
    return issue(ca, "Trạm quét Một cửa 01", unit="Bộ phận Một cửa Vĩnh Long")


def _station_settings(tmp_path: Path, ca: Issued, station: Issued, **overrides: object) -> Settings:
    p12 = write_pkcs12(tmp_path / "station.p12", station, PASSWORD, chain=(ca,))
    return load_settings(
        data_dir=tmp_path / "data",
        workers=2,
        broker_url=None,
        database_url=None,
        signing_pkcs12=p12,
        signing_password=PASSWORD,
        **overrides,
    )


@pytest.fixture
def signing_services(tmp_path: Path, ca: Issued, station: Issued) -> Iterator[Services]:
    built = build_services(_station_settings(tmp_path, ca, station))
    yield built
    built.close()


def _process(services: Services, tmp_path: Path, *, received_by: str | None = None) -> Document:
    path = write_example(SCAN, tmp_path)
    taken = intake(services, path.read_bytes(), source=path.name, facts=Facts(received_by=received_by))
    process_document(services, taken.document_id)
    with services.db.unit_of_work() as session:
        document = session.get(Document, taken.document_id)
        assert document is not None
        session.expunge(document)
        return document


def _pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout


def _flip_one_byte_inside_the_signed_range(data: bytes) -> bytes:
    """One byte of the page content (well inside the first signed range) changed."""
    changed = bytearray(data)
    changed[len(data) // 3] ^= 0x01
    return bytes(changed)


def test_the_station_signs_at_the_end_of_processing_and_two_readers_agree(
    signing_services: Services, tmp_path: Path, ca: Issued
) -> None:
    document = _process(signing_services, tmp_path)
    assert document.status == DocumentStatus.DONE, document.review_reasons
    assert document.signed_by == "Trạm quét Một cửa 01" and document.signed_at is not None
    assert document.signature_error is None and document.pdfa is True
    assert document.pdf_key is not None
    signed = signing_services.store.get_bytes(document.pdf_key)
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    verdict = verify_pdf(signed, certificates_from_pem(ca.pem))
    assert verdict.valid, verdict.message
    [check] = verdict.signatures
    assert check.signer == "Trạm quét Một cửa 01" and check.intact and check.trusted and check.whole_file
    report = _pdfsig(path)
    assert "Signature Validation: Signature is Valid." in report, report
    assert "Total document signed" in report and "ETSI.CAdES.detached" in report, report

    assert check_file(signed) == [], "still PDF/A-2b after the signature's incremental update"
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        assert len(pdf.pages) == 3, "the blank back side stays a page"

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_flip_one_byte_inside_the_signed_range(signed))
    refused = verify_pdf(tampered.read_bytes(), certificates_from_pem(ca.pem))
    assert not refused.valid and CHANGED in refused.problems and refused.changed_since_signing
    report = _pdfsig(tampered)
    assert "Signature is Valid." not in report and "Digest Mismatch" in report, report


def test_the_stamp_shows_signer_unit_and_times_at_the_top_left_of_page_one(
    signing_services: Services, tmp_path: Path
) -> None:
    document = _process(signing_services, tmp_path)
    assert document.pdf_key is not None
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(signing_services.store.get_bytes(document.pdf_key))
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(_first_revision(signed.read_bytes()))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rendered = {}
    for name, pdf in (("signed", signed), ("unsigned", unsigned)):
        prefix = tmp_path / name
        subprocess.run(
            ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-singlefile", "-png", str(pdf), str(prefix)],
            check=True,
            timeout=60,
        )
        rendered[name] = Image.open(f"{prefix}.png").convert("L")
    rendered["signed"].save(ARTIFACTS / "page-1-signed.png")
    width, height = rendered["signed"].size
    stamp_box = (0, 0, width * 2 // 3, height // 10)  # the top left, beside the receipt's QR code
    rendered["signed"].crop(stamp_box).save(ARTIFACTS / "stamp.png")
    before = np.asarray(rendered["unsigned"].crop(stamp_box), dtype=np.int16)
    after = np.asarray(rendered["signed"].crop(stamp_box), dtype=np.int16)
    assert (np.abs(after - before) > 64).mean() > 0.01, "the stamp changes the top-left corner of page 1"
    rest = (0, height // 3, width, height)
    assert np.array_equal(
        np.asarray(rendered["signed"].crop(rest)), np.asarray(rendered["unsigned"].crop(rest))
    ), "and nothing else of the page"

    import pytesseract

    zoomed = rendered["signed"].crop(stamp_box).resize((stamp_box[2] * 3, stamp_box[3] * 3))
    words = pytesseract.image_to_string(zoomed, lang="vie", timeout=60)
    assert "Trạm quét" in words and "Thời gian quét" in words and "Thời gian ký" in words, words
    preview = render_preview(signed.read_bytes(), 1, width=width)  # pdfium, as the review page shows it
    seen = Image.open(io.BytesIO(preview.png)).convert("L").crop(stamp_box)
    seen.save(ARTIFACTS / "stamp-pdfium.png")
    read = pytesseract.image_to_string(
        seen.resize((stamp_box[2] * 3, stamp_box[3] * 3)), lang="vie", timeout=60
    )
    assert "Thời gian quét" in read and "Thời gian ký" in read, f"pdfium draws the same stamp: {read}"
    payloads = [b.text for b in read_barcodes(np.asarray(rendered["signed"]))]
    code = SCAN.dossier_code
    assert code and any(code in p for p in payloads), "the stamp leaves the receipt's QR code readable"


def _first_revision(signed: bytes) -> bytes:
    """The file as it was before the signature's incremental update (the bytes up to the first %%EOF)."""
    end = signed.index(b"%%EOF") + len(b"%%EOF")
    return signed[: end + 1] if signed[end : end + 1] == b"\n" else signed[:end]


def _append_an_unsigned_update(signed: Path, target: Path) -> None:
    with signed.open("rb") as handle:
        writer = IncrementalPdfFileWriter(handle, strict=False)
        writer.set_info(None)
        writer.root[NameObject("/Lang")] = TextStringObject("en")
        writer.update_root()
        with target.open("wb") as out:
            writer.write(out)


def test_a_file_changed_after_its_signature_is_refused(
    signing_services: Services, tmp_path: Path, ca: Issued, station: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _process(signing_services, tmp_path)
    assert document.pdf_key is not None
    good = tmp_path / "good.pdf"
    good.write_bytes(signing_services.store.get_bytes(document.pdf_key))
    appended = tmp_path / "appended.pdf"
    _append_an_unsigned_update(good, appended)
    verdict = verify_pdf(appended.read_bytes(), certificates_from_pem(ca.pem))
    assert not verdict.valid and verdict.problems == [NOT_WHOLE_FILE]
    assert "Total document signed" not in _pdfsig(appended)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_flip_one_byte_inside_the_signed_range(good.read_bytes()))

    runner = CliRunner()
    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SOHOA_SIGNING_PKCS12", str(signing_services.settings.signing_pkcs12))
    monkeypatch.setenv("SOHOA_SIGNING_PASSWORD", PASSWORD)
    ok = runner.invoke(cli_app, ["verify", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "hợp lệ" in ok.output and "Trạm quét Một cửa 01" in ok.output and "PDF/A-2b: có" in ok.output
    for bad, code in ((appended, NOT_WHOLE_FILE), (tampered, CHANGED)):
        refused = runner.invoke(cli_app, ["verify", str(bad)])
        assert refused.exit_code == 1 and "KHÔNG hợp lệ" in refused.output and code in refused.output
    missing = runner.invoke(cli_app, ["verify", str(tmp_path / "nowhere.pdf")])
    assert missing.exit_code == 2

    monkeypatch.delenv("SOHOA_SIGNING_PKCS12")
    untrusted = runner.invoke(cli_app, ["verify", str(good)])
    assert untrusted.exit_code == 1 and UNTRUSTED in untrusted.output, "no trust configured: not valid"
    ca_file = ca.write_pem(tmp_path / "ca.pem")
    trusted = runner.invoke(cli_app, ["verify", "--trust", str(ca_file), str(good)])
    assert trusted.exit_code == 0, trusted.output
    monkeypatch.setenv("SOHOA_SIGNING_TRUST_ROOTS", str(ca_file))
    monkeypatch.setenv("SOHOA_LANGUAGE", "en")
    english = runner.invoke(cli_app, ["verify", str(good)])
    assert english.exit_code == 0 and "The signature is valid" in english.output


def test_a_staff_accounts_certificate_signs_what_they_scanned(
    tmp_path: Path, ca: Issued, station: Issued
) -> None:
    services = build_services(_station_settings(tmp_path, ca, station))
    try:
        make_user(services, "thuha", "scanner", "mat-khau-dai-du-12")
        officer = issue(ca, "Nguyễn Thị Thu Hà", unit="Bộ phận Một cửa")
        with services.db.unit_of_work() as session:
            account = IdentityRepository(session).by_name("user", "thuha")
            assert account is not None
            with pytest.raises(SigningError) as wrong:
                keep_certificate(session, services.settings, account, pkcs12_bytes(officer, PASSWORD), b"sai")
            assert wrong.value.code == WRONG_PASSWORD
            kept = keep_certificate(
                session,
                services.settings,
                account,
                pkcs12_bytes(officer, PASSWORD, chain=(ca,)),
                PASSWORD.encode(),
            )
            assert kept.facts.common_name == "Nguyễn Thị Thu Hà"
        document = _process(services, tmp_path, received_by="user:thuha")
        assert document.signed_by == "Nguyễn Thị Thu Hà", "the officer signs, not the station"
        assert document.pdf_key is not None
        verdict = verify_pdf(services.store.get_bytes(document.pdf_key), certificates_from_pem(ca.pem))
        assert verdict.valid and verdict.signatures[0].signer == "Nguyễn Thị Thu Hà"
        sealed = (services.settings.data_dir / "sohoa.db").read_bytes()
        assert officer.key.private_numbers().d.to_bytes(256, "big")[:32] not in sealed
    finally:
        services.close()


def test_certificates_that_are_not_valid_today_are_refused(ca: Issued) -> None:
    for leaf, code in (
        (issue(ca, "Hết hạn", days=10, starts_in_days=-30), EXPIRED),
        (issue(ca, "Chưa hiệu lực", days=10, starts_in_days=5), NOT_YET_VALID),
    ):
        with pytest.raises(SigningError) as refused:
            load_pkcs12(pkcs12_bytes(leaf, None), None, source="test")
        assert refused.value.code == code


def test_a_timestamp_server_makes_it_b_t_and_one_that_is_down_leaves_b_b(
    tmp_path: Path, ca: Issued, station: Issued
) -> None:
    identity = load_pkcs12(pkcs12_bytes(station, PASSWORD, chain=(ca,)), PASSWORD.encode(), source="test")
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf_page("Giấy tiếp nhận hồ sơ"))
    with timestamp_server(ca) as url:
        signed = sign_pdf(
            source, tmp_path / "b-t.pdf", identity, stamp=StampFacts(None, None), timestamp_url=url
        )
    assert signed.timestamped
    verdict = verify_pdf((tmp_path / "b-t.pdf").read_bytes(), certificates_from_pem(ca.pem))
    assert verdict.valid and verdict.signatures[0].timestamped, verdict.message
    assert "Signature is Valid." in _pdfsig(tmp_path / "b-t.pdf")

    down = f"http://127.0.0.1:{free_port()}/"
    services = build_services(_station_settings(tmp_path, ca, station, signing_timestamp_url=down))
    try:
        document = _process(services, tmp_path)
        assert (
            document.signed_by == "Trạm quét Một cửa 01"
            and document.signature_error == "signing.timestamp_unavailable"
        )
        assert document.pdf_key is not None
        verdict = verify_pdf(services.store.get_bytes(document.pdf_key), certificates_from_pem(ca.pem))
        assert verdict.valid and not verdict.signatures[0].timestamped
    finally:
        services.close()


def test_with_sign_on_approval_the_reviewer_signs_what_went_to_review(
    tmp_path: Path, ca: Issued, station: Issued
) -> None:
    services = build_services(
        _station_settings(tmp_path, ca, station, sign_on="approval", min_ocr_confidence=1.0)
    )
    try:
        document = _process(services, tmp_path)
        assert document.status == DocumentStatus.NEEDS_REVIEW, (
            "every page read below certainty goes to review"
        )
        assert document.signed_by is None and document.signature_error is None, "waits for approval"
        assert document.pdf_key is not None
        assert not verify_pdf(services.store.get_bytes(document.pdf_key), []).signatures

        make_user(services, "reviewer", "reviewer", "mat-khau-dai-du-12")
        with services.db.unit_of_work() as session:
            account = IdentityRepository(session).by_name("user", "reviewer")
            assert account is not None
            reviewer = issue(ca, "Lê Văn Duyệt", unit="Tổ kiểm tra")
            keep_certificate(session, services.settings, account, pkcs12_bytes(reviewer, None), None)
        accept(services, document.id, by="user:reviewer")
        with services.db.unit_of_work() as session:
            approved = session.get(Document, document.id)
            assert approved is not None and approved.status == DocumentStatus.DONE
            assert approved.signed_by == "Lê Văn Duyệt" and approved.pdfa is True
        verdict = verify_pdf(services.store.get_bytes(document.pdf_key), certificates_from_pem(ca.pem))
        assert verdict.valid and verdict.signatures[0].signer == "Lê Văn Duyệt"
    finally:
        services.close()


def test_an_expired_station_certificate_sends_the_document_to_review_unsigned(
    tmp_path: Path, ca: Issued
) -> None:
    stale = issue(ca, "Trạm cũ", days=10, starts_in_days=-30)
    services = build_services(_station_settings(tmp_path, ca, stale))
    try:
        document = _process(services, tmp_path)
        assert document.status == DocumentStatus.NEEDS_REVIEW
        assert SIGNATURE_FAILED in document.review_reasons and document.signature_error == EXPIRED
        assert document.signed_by is None and document.pdf_key is not None
        assert services.store.exists(document.pdf_key), "the PDF is kept, unsigned, for a person to decide"
    finally:
        services.close()


def test_nobody_to_sign_leaves_the_document_done_and_says_so(services: Services, tmp_path: Path) -> None:
    document = _process(services, tmp_path)
    assert document.status == DocumentStatus.DONE
    assert document.signed_by is None and document.signature_error == "signing.no_identity"
    assert document.pdfa is True


def test_the_import_commands_worker_processes_sign_with_the_stations_password(
    tmp_path: Path, ca: Issued, station: Issued
) -> None:
    """The embedded pool's processes get the settings as JSON: the PKCS#12 password must reach them in the
    clear (pydantic masks a SecretStr in JSON — `make_demo` found every document unsigned once)."""
    p12 = write_pkcs12(tmp_path / "station.p12", station, PASSWORD, chain=(ca,))
    scans = tmp_path / "scans"
    scans.mkdir()
    write_example(SCAN, scans)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")},
        "SOHOA_DATA_DIR": str(tmp_path / "data"),
        "SOHOA_WORKERS": "2",
        "SOHOA_SIGNING_PKCS12": str(p12),
        "SOHOA_SIGNING_PASSWORD": PASSWORD,
    }
    sohoa = str(Path(sys.executable).with_name("sohoa"))
    done = subprocess.run(
        [sohoa, "import", str(scans), "--wait"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [signed] = list((tmp_path / "data" / "objects").rglob("searchable.pdf"))
    verified = subprocess.run(
        [sohoa, "verify", str(signed)], env=env, capture_output=True, text=True, timeout=120
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Trạm quét Một cửa 01" in verified.stdout
