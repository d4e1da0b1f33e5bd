"""The page *Chữ ký số* (`/account/certificate`) without a browser: a PKCS#12 uploaded and its facts shown,
refusals in Vietnamese that keep nothing, an untrusted certificate's warning, removal, CSRF, an admin setting
another account's certificate, and the signature status of a really processed (station-signed) document on
the dossier and review pages.

The station identity and the officers' certificates come from one throwaway CA made per run
(`tests.certificates`); the station's chain is a trust root, so the officers' certificates are trusted and
one from another CA is not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.web.certificate import error_word
from api.web.signatures import vietnam_time
from api.web.words import word
from examples.synth import EXAMPLES, write_example
from ingest.intake import Facts, intake
from ingest.pipeline import process_document
from ingest.services import Services
from ingest.settings import Settings, load_settings
from ingest.signing import NO_SECRET, CertificateFacts
from storage.access import AuditFilter, AuditRepository
from storage.models import AuditEntry, Document, DocumentStatus, Identity, SigningCertificate
from tests.certificates import Issued, issue, make_ca, pkcs12_bytes, write_pkcs12
from tests.documents import read_document
from tests.identities import ensure_unit, make_user
from tests.web.test_login import log_in, page_csrf

PASSWORD = "mật-khẩu-đăng-nhập-dài"
P12_PASSWORD = "password"
STATION_PASSWORD = "mật-khẩu-trạm"
SCAN = next(s for s in EXAMPLES if s.name == "ho-so-ho-kinh-doanh.tif")
"""A receipt (with its dossier code's QR), a form and a blank back side in one TIFF."""


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("Cơ quan chứng thực thử nghiệm sohoa")


@pytest.fixture(scope="module")
def officer(ca: Issued) -> Issued:
    return issue(ca, "Nguyễn Thị Thu Hà", unit="Một cửa")


@pytest.fixture
def settings(tmp_path: Path, ca: Issued) -> Settings:
    """Embedded settings with a station identity of the test CA (so the CA is trusted)."""
    station = issue(ca, "Trạm quét Một cửa 01", unit="Bộ phận Một cửa Vĩnh Long")
    p12 = write_pkcs12(tmp_path / "station.p12", station, STATION_PASSWORD, chain=(ca,))
    return load_settings(
        data_dir=tmp_path / "data",
        workers=2,
        broker_url=None,
        database_url=None,
        signing_pkcs12=p12,
        signing_password=STATION_PASSWORD,
    )


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    """A browser; the accounts `thuha` (scanner), `lan` (reviewer), `xem` (reader), `quan-tri` (admin of the
    province) and `quan-tri-xa` (admin of a unit) exist."""
    make_user(services, "thuha", "scanner", PASSWORD)
    make_user(services, "lan", "reviewer", PASSWORD)
    make_user(services, "xem", "reader", PASSWORD)
    make_user(services, "quan-tri", "admin", PASSWORD)
    make_user(services, "quan-tri-xa", "admin", PASSWORD, unit=ensure_unit(services, "xa-tra-on"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def upload(
    client: TestClient,
    data: bytes,
    password: str,
    *,
    path: str = "/account/certificate",
    csrf: bool = True,
    filename: str = "chu-ky.p12",
    **fields: str,
) -> httpx.Response:
    form = {"password": password, **fields}
    if csrf:
        form["csrf"] = page_csrf(client, "/account/certificate")
    files = {"file": (filename, data, "application/x-pkcs12")}
    return client.post(path, data=form, files=files, follow_redirects=False)


def kept_certificate(services: Services, name: str) -> SigningCertificate | None:
    with services.db.unit_of_work() as session:
        row = session.execute(
            select(SigningCertificate)
            .join(Identity, Identity.id == SigningCertificate.identity_id)
            .where(Identity.name == name)
        ).scalar_one_or_none()
        if row is not None:
            session.expunge(row)
        return row


def audit_entries(services: Services, action: str) -> list[AuditEntry]:
    with services.db.unit_of_work() as session:
        entries = AuditRepository(session).find(AuditFilter(action=action), limit=50)
        session.expunge_all()
        return list(entries)


def text_of(page: httpx.Response) -> str:
    """The page's text with tags and entities gone (for sentences split by markup)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_an_officer_uploads_a_certificate_and_sees_what_it_says(
    client: TestClient, services: Services, ca: Issued, officer: Issued
) -> None:
    assert log_in(client, "thuha", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    empty = client.get("/account/certificate")
    assert empty.status_code == 200 and "Tài khoản này chưa có chứng thư số." in empty.text
    assert 'href="/account/certificate"' in client.get("/intake").text  # the header's link, beside the name
    assert 'enctype="multipart/form-data"' in empty.text

    answer = upload(client, pkcs12_bytes(officer, P12_PASSWORD, chain=(ca,)), P12_PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/account/certificate?done=set"
    page = client.get(answer.headers["location"])
    facts = CertificateFacts.of(officer.certificate)
    shown = text_of(page)
    assert "Đã lưu chứng thư số của “thuha”." in shown
    assert "Nguyễn Thị Thu Hà" in shown and "Một cửa" in shown
    assert "Cơ quan chứng thực thử nghiệm sohoa" in shown  # the issuer
    assert facts.serial in shown
    pairs = ":".join(facts.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert pairs in shown
    assert vietnam_time(facts.not_before) in shown and vietnam_time(facts.not_after) in shown
    assert "Còn hiệu lực" in shown and "trung tâm tin cậy cấp: chữ ký của bạn sẽ được xác thực" in shown
    assert "Cảnh báo" not in shown
    assert "Xóa chứng thư số" in shown  # the remove form appears once there is one

    row = kept_certificate(services, "thuha")
    assert row is not None and row.fingerprint == facts.fingerprint
    (entry,) = audit_entries(services, "certificate.set")
    assert entry.actor == "user:thuha" and entry.outcome == "ok"
    assert entry.detail["channel"] == "web" and entry.detail["fingerprint"] == facts.fingerprint
    assert entry.detail["trusted"] is True
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_refusals_are_said_in_vietnamese_and_keep_nothing(
    client: TestClient, services: Services, ca: Issued, officer: Issued
) -> None:
    log_in(client, "thuha", PASSWORD)
    wrong = upload(client, pkcs12_bytes(officer, P12_PASSWORD, chain=(ca,)), "sai-mật-khẩu")
    assert wrong.status_code == 422
    assert "Mật khẩu của tệp chứng thư số không đúng. Chưa lưu gì." in wrong.text
    assert "signing.wrong_password" in wrong.text and "Traceback" not in wrong.text
    assert kept_certificate(services, "thuha") is None
    assert [e.outcome for e in audit_entries(services, "certificate.set")] == ["signing.wrong_password"]

    junk = upload(client, b"%PDF-1.7 not a certificate", "", filename="don.pdf")
    assert junk.status_code == 422 and "không phải chứng thư số PKCS#12" in junk.text
    expired = issue(ca, "Hết hạn", days=10, starts_in_days=-30)
    late = upload(client, pkcs12_bytes(expired, P12_PASSWORD), P12_PASSWORD)
    assert late.status_code == 422 and "Chứng thư số đã hết hạn" in late.text
    early = issue(ca, "Chưa tới", days=10, starts_in_days=5)
    soon = upload(client, pkcs12_bytes(early, P12_PASSWORD), P12_PASSWORD)
    assert soon.status_code == 422 and "chưa đến ngày có hiệu lực" in soon.text
    nothing = client.post(
        "/account/certificate",
        data={"csrf": page_csrf(client, "/account/certificate"), "password": ""},
        follow_redirects=False,
    )
    assert nothing.status_code == 422 and "Xin chọn tệp chứng thư số" in nothing.text
    assert kept_certificate(services, "thuha") is None
    english = client.get("/lang/en?back=/account/certificate")
    assert "This account holds no signing certificate." in english.text


def test_a_server_without_its_secret_is_said_in_vietnamese() -> None:
    sentence = word(error_word(NO_SECRET), "vi")
    assert "SOHOA_SECRET_KEY" in sentence and "quản trị hệ thống" in sentence
    assert word(error_word("signing.something_new"), "vi") == "Không dùng được chứng thư số này."


def test_a_certificate_nobody_here_trusts_is_kept_with_a_warning(client: TestClient) -> None:
    stranger = make_ca("CA lạ")
    leaf = issue(stranger, "Trần Văn Bình")
    log_in(client, "lan", PASSWORD)  # any role holds one: a reviewer signs what they approve
    assert upload(client, pkcs12_bytes(leaf, None), "").status_code == 303
    page = client.get("/account/certificate")
    assert "Trần Văn Bình" in page.text
    assert 'id="untrusted"' in page.text and "chữ ký sẽ không được xác thực là hợp lệ" in page.text


def test_removing_needs_the_tick_and_ends_the_certificate(
    client: TestClient, services: Services, officer: Issued
) -> None:
    log_in(client, "thuha", PASSWORD)
    upload(client, pkcs12_bytes(officer, P12_PASSWORD), P12_PASSWORD)
    csrf = page_csrf(client, "/account/certificate")
    unticked = client.post("/account/certificate/remove", data={"csrf": csrf}, follow_redirects=False)
    assert unticked.status_code == 422 and "Xin đánh dấu ô xác nhận" in unticked.text
    assert kept_certificate(services, "thuha") is not None
    removed = client.post(
        "/account/certificate/remove", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert removed.status_code == 303
    page = client.get(removed.headers["location"])
    assert "Đã xóa chứng thư số." in page.text and "Tài khoản này chưa có chứng thư số." in page.text
    assert kept_certificate(services, "thuha") is None
    (entry,) = audit_entries(services, "certificate.remove")
    assert entry.actor == "user:thuha" and entry.outcome == "ok" and entry.detail["channel"] == "web"
    again = client.post(
        "/account/certificate/remove", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert again.status_code == 404 and "Tài khoản chưa có chứng thư số." in again.text


def test_forms_without_the_sessions_csrf_token_are_refused(
    client: TestClient, services: Services, officer: Issued
) -> None:
    log_in(client, "thuha", PASSWORD)
    data = pkcs12_bytes(officer, P12_PASSWORD)
    assert upload(client, data, P12_PASSWORD, csrf=False).status_code == 403
    forged = client.post(
        "/account/certificate",
        data={"csrf": "đoán-bừa", "password": P12_PASSWORD},
        files={"file": ("a.p12", data, "application/x-pkcs12")},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert kept_certificate(services, "thuha") is None
    assert upload(client, data, P12_PASSWORD).status_code == 303
    refused = client.post("/account/certificate/remove", data={"confirm": "yes"}, follow_redirects=False)
    assert refused.status_code == 403 and kept_certificate(services, "thuha") is not None
    anonymous = TestClient(client.app).get("/account/certificate", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_an_admin_sets_another_accounts_certificate(
    client: TestClient, services: Services, ca: Issued, officer: Issued
) -> None:
    log_in(client, "quan-tri", PASSWORD)
    listing = client.get("/admin/accounts")
    assert (
        "Chứng thư số của nhân viên" in listing.text
        and 'action="/admin/accounts/certificate"' in listing.text
    )
    chosen = client.get("/admin/accounts", params={"certificate": "thuha"})
    assert '<option value="thuha" selected>' in chosen.text
    data = pkcs12_bytes(officer, P12_PASSWORD, chain=(ca,))
    csrf = page_csrf(client, "/admin/accounts")
    wrong = client.post(
        "/admin/accounts/certificate",
        data={"csrf": csrf, "name": "thuha", "password": "sai"},
        files={"file": ("thuha.p12", data, "application/x-pkcs12")},
        follow_redirects=False,
    )
    assert wrong.status_code == 422 and "Mật khẩu của tệp chứng thư số không đúng" in wrong.text
    assert 'id="cert_password" name="password" type="password"' in wrong.text
    assert '<option value="thuha" selected>' in wrong.text  # the form keeps the account chosen
    kept = client.post(
        "/admin/accounts/certificate",
        data={"csrf": csrf, "name": "thuha", "password": P12_PASSWORD},
        files={"file": ("thuha.p12", data, "application/x-pkcs12")},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    page = client.get(kept.headers["location"])
    assert "Đã lưu chứng thư số của “thuha”." in page.text
    row = page.text[page.text.index("<td>thuha") :]
    row = row[: row.index("</tr>")]
    until = vietnam_time(officer.certificate.not_valid_after_utc, date_only=True)
    assert "Còn hiệu lực" in row and f"đến {until}" in row
    lan_row = page.text[page.text.index("<td>lan") :]
    assert "chưa có" in lan_row[: lan_row.index("</tr>")]
    stored = kept_certificate(services, "thuha")
    assert stored is not None and stored.fingerprint == CertificateFacts.of(officer.certificate).fingerprint
    entries = audit_entries(services, "certificate.set")
    assert [(e.actor, e.outcome, e.detail["account"]) for e in entries] == [
        ("user:quan-tri", "ok", "thuha"),
        ("user:quan-tri", "signing.wrong_password", "thuha"),
    ]
    # the officer sees it on their own page
    officer_browser = TestClient(client.app)
    log_in(officer_browser, "thuha", PASSWORD)
    assert "Nguyễn Thị Thu Hà" in officer_browser.get("/account/certificate").text


def test_a_unit_admin_cannot_set_a_province_accounts_certificate(
    client: TestClient, services: Services, officer: Issued
) -> None:
    log_in(client, "quan-tri-xa", PASSWORD)
    assert '<option value="thuha"' not in client.get("/admin/accounts").text
    refused = client.post(
        "/admin/accounts/certificate",
        data={"csrf": page_csrf(client, "/admin/accounts"), "name": "thuha", "password": P12_PASSWORD},
        files={"file": ("thuha.p12", pkcs12_bytes(officer, P12_PASSWORD), "application/x-pkcs12")},
        follow_redirects=False,
    )
    assert refused.status_code == 404 and "Không tìm thấy tài khoản này" in refused.text
    assert kept_certificate(services, "thuha") is None
    scanner = TestClient(client.app)
    log_in(scanner, "thuha", PASSWORD)
    assert scanner.get("/admin/accounts").status_code == 403  # a scanner has no admin page


def test_the_dossier_and_review_pages_show_each_documents_signature(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    path = write_example(SCAN, tmp_path)
    taken = intake(services, path.read_bytes(), source=path.name, facts=Facts(received_by="user:thuha"))
    process_document(services, taken.document_id)
    with services.db.unit_of_work() as session:
        document = session.get(Document, taken.document_id)
        assert document is not None and document.dossier_code is not None
        code, signed_at = document.dossier_code, document.signed_at
        assert document.signed_by == "Trạm quét Một cửa 01" and document.pdfa is True
    unsigned = read_document(services, "chua-ky.png", text="ĐƠN", dossier=code, status=DocumentStatus.DONE)
    failed = read_document(services, "loi-ky.png", text="ĐƠN", dossier=code, reasons=("signature.failed",))
    with services.db.unit_of_work() as session:
        for document_id, error in ((unsigned, "signing.no_identity"), (failed, "signing.expired")):
            row = session.get(Document, document_id)
            assert row is not None
            row.signature_error, row.pdfa = error, False

    log_in(client, "lan", PASSWORD)
    page = client.get(f"/dossiers/{code}")
    assert page.status_code == 200
    articles = text_of(page).split(" Tải PDF ")
    signed_text = next(a for a in articles if SCAN.name in a)
    assert f"Đã ký số bởi Trạm quét Một cửa 01, lúc {vietnam_time(signed_at)} (GMT+7)" in signed_text
    assert "PDF/A" in signed_text and "Không phải PDF/A" not in signed_text
    unsigned_text = next(a for a in articles if "chua-ky.png" in a)
    assert "Chưa ký số · chưa có chứng thư số để ký" in unsigned_text and "Không phải PDF/A" in unsigned_text
    failed_text = next(a for a in articles if "loi-ky.png" in a)
    assert "Chưa ký số · chứng thư số đã hết hạn" in failed_text
    assert 'class="badge failed">Chưa ký số' in page.text  # a failure is red, nobody-to-sign is not

    review = client.get("/review", params={"id": failed})
    shown = text_of(review)
    assert "Ký số không thành công" in shown  # the review reason `signature.failed`
    assert "Chưa ký số · chứng thư số đã hết hạn" in shown
    english = client.get("/lang/en", params={"back": f"/dossiers/{code}"})
    assert "Signed by Trạm quét Một cửa 01" in text_of(english)
