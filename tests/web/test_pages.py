"""The staff web pages and the routes they stand on, without a browser: the review queue and its decisions,
page images and unsure words, search with highlights and filters, the dossier page, intake without scripts,
security headers, and that every word a template asks for exists in both languages."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.web.words import WORDS
from ingest.intake import intake
from ingest.services import Services
from ingest.settings import Settings
from storage.models import Document, DocumentStatus
from storage.search import highlight
from tests.documents import read_document
from tests.identities import ensure_unit, make_user
from tests.web.test_login import log_in, page_csrf

PASSWORD = "đúng ngựa pin kẹp giấy"
CODE = "000.00.21.H61-251201-0042"
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "web" / "templates"


@dataclass
class Desk:
    client: TestClient
    services: Services


@pytest.fixture
def desk(settings: Settings, services: Services) -> Iterator[Desk]:
    ensure_unit(services, "xa-tra-on")
    ensure_unit(services, "xa-long-ho")
    make_user(services, "lan", "reviewer", PASSWORD)
    make_user(services, "lan-tra-on", "reviewer", PASSWORD, unit="xa-tra-on")
    make_user(services, "xem", "reader", PASSWORD)
    make_user(services, "quet", "scanner", PASSWORD)
    make_user(services, "quet2", "scanner", PASSWORD)
    with TestClient(create_app(settings)) as client:
        yield Desk(client, services)


def test_the_review_queue_shows_the_oldest_first_and_skipping_moves_on(desk: Desk) -> None:
    newer = read_document(desk.services, "moi.png", text="ĐƠN MỚI", age_hours=1)
    older = read_document(desk.services, "cu.png", text="ĐƠN CŨ", age_hours=5)
    read_document(desk.services, "xong.png", text="XONG", status=DocumentStatus.DONE, reasons=(), age_hours=9)
    log_in(desk.client, "lan", PASSWORD)
    page = desk.client.get("/review")
    assert page.status_code == 200 and "2 tài liệu đang chờ duyệt" in page.text
    assert f'data-id="{older}"' in page.text and "cu.png" in page.text
    assert "Chưa nhận ra thủ tục" in page.text  # the review reason in Vietnamese
    skipped = desk.client.get(f"/review?after={older}")
    assert f'data-id="{newer}"' in skipped.text
    wrapped = desk.client.get(f"/review?after={newer}")
    assert f'data-id="{older}"' in wrapped.text  # the end of the queue wraps to its start


def test_a_unit_reviewer_sees_only_its_units_queue(desk: Desk) -> None:
    read_document(desk.services, "tinh.png", text="ĐƠN", unit="xa-long-ho")
    ours = read_document(desk.services, "xa.png", text="ĐƠN", unit="xa-tra-on")
    log_in(desk.client, "lan-tra-on", PASSWORD)
    page = desk.client.get("/review")
    assert "1 tài liệu đang chờ duyệt" in page.text and f'data-id="{ours}"' in page.text


def test_deciding_a_procedure_and_accepting_settles_the_document(desk: Desk) -> None:
    document_id = read_document(
        desk.services, "don.png", text="TỜ KHAI", reasons=("procedure.unknown", "ocr.low_confidence")
    )
    log_in(desk.client, "lan", PASSWORD)
    headers = {"X-CSRF-Token": page_csrf(desk.client, "/review")}
    chosen = desk.client.put(
        f"/api/v1/documents/{document_id}/procedure", json={"procedure": "khai-sinh"}, headers=headers
    )
    assert chosen.status_code == 200 and chosen.json()["status"] == "needs_review"  # OCR still unsure
    accepted = desk.client.post(f"/api/v1/documents/{document_id}/accept", headers=headers)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "done" and accepted.json()["review_reasons"] == []
    assert "Không còn tài liệu nào cần duyệt" in desk.client.get("/review").text
    trail = desk.client.get("/api/v1/audit", params={"document": document_id})
    assert trail.status_code == 403  # a reviewer does not read the audit trail; the admin test does


def test_accepting_a_document_still_being_read_is_refused(desk: Desk) -> None:
    queued = intake(desk.services, b"not read yet", source="cho.png").document_id
    log_in(desk.client, "lan", PASSWORD)
    headers = {"X-CSRF-Token": page_csrf(desk.client, "/review")}
    refused = desk.client.post(f"/api/v1/documents/{queued}/accept", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "review.busy"


def test_the_catalog_is_searched_without_tone_marks(desk: Desk) -> None:
    log_in(desk.client, "xem", PASSWORD)
    found = desk.client.get("/api/v1/procedures", params={"q": "dang ky ket hon"}).json()["procedures"]
    assert found and found[0]["name"] == "Đăng ký kết hôn" and found[0]["code"] == "1.000894"
    by_code = desk.client.get("/api/v1/procedures", params={"q": "1.001193"}).json()["procedures"]
    assert [p["id"] for p in by_code] == ["khai-sinh"]
    assert desk.client.get("/api/v1/procedures", params={"q": "zzzz"}).json()["procedures"] == []


def test_a_page_image_and_its_unsure_words(desk: Desk) -> None:
    document_id = read_document(desk.services, "anh.png", text="ẢNH")
    log_in(desk.client, "xem", PASSWORD)
    image = desk.client.get(f"/documents/{document_id}/pages/1.png", params={"w": 400})
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).width == 480  # the nearest served width above 400
    again = desk.client.get(
        f"/documents/{document_id}/pages/1.png",
        params={"w": 400},
        headers={"If-None-Match": image.headers["etag"]},
    )
    assert again.status_code == 304
    unsure = desk.client.get(f"/documents/{document_id}/pages/1/unsure.json").json()
    assert [w["text"] for w in unsure["words"]] == ["mờ"]  # the sure word is not marked
    box = unsure["words"][0]
    assert box["left"] == pytest.approx(200 / 1654, abs=0.002) and box["top"] == pytest.approx(
        200 / 2339, abs=0.002
    )
    assert box["width"] == pytest.approx(400 / 1654, abs=0.002)
    assert desk.client.get(f"/documents/{document_id}/pages/2.png").status_code == 422


def test_a_scanner_sees_no_page_images(desk: Desk) -> None:
    document_id = read_document(desk.services, "anh.png", text="ẢNH")
    log_in(desk.client, "quet", PASSWORD)
    assert desk.client.get(f"/documents/{document_id}/pages/1.png").status_code == 403


def test_search_highlights_words_typed_without_tone_marks_and_filters(desk: Desk) -> None:
    read_document(
        desk.services, "ks.png", text="TỜ KHAI ĐĂNG KÝ KHAI SINH của Nguyễn Văn An", procedure="khai-sinh"
    )
    read_document(
        desk.services,
        "kh.png",
        text="TỜ KHAI ĐĂNG KÝ KẾT HÔN của Nguyễn Văn An",
        procedure="ket-hon",
        age_hours=72,
    )
    log_in(desk.client, "xem", PASSWORD)
    page = desk.client.get("/search", params={"q": "nguyen van an"})
    assert "ks.png" in page.text and "kh.png" in page.text
    assert "<mark>Nguyễn</mark> <mark>Văn</mark> <mark>An</mark>" in page.text
    only = desk.client.get("/search", params={"q": "nguyen van an", "procedure": "ket-hon"})
    assert "kh.png" in only.text and "ks.png" not in only.text
    today = datetime.now(UTC).date().isoformat()
    recent = desk.client.get("/search", params={"q": "nguyen van an", "from": today})
    assert "ks.png" in recent.text and "kh.png" not in recent.text
    done = desk.client.get("/search", params={"q": "nguyen van an", "status": "done"})
    assert "Không tìm thấy" in done.text


def test_highlight_marks_every_matched_word_and_nothing_else() -> None:
    pieces = highlight("…GIẤY KHAI SINH, giấy tờ khác", "giay khai")
    assert [text for text, hit in pieces if hit] == ["GIẤY", "KHAI", "giấy"]
    assert "".join(text for text, _ in pieces) == "…GIẤY KHAI SINH, giấy tờ khác"


def test_the_dossier_page_lists_documents_their_completeness_and_downloads(desk: Desk) -> None:
    form = read_document(
        desk.services,
        "to-khai.png",
        text="TỜ KHAI ĐĂNG KÝ KHAI SINH",
        dossier=CODE,
        procedure="khai-sinh",
        kind="application_form",
    )
    read_document(
        desk.services,
        "chung-sinh.png",
        text="GIẤY CHỨNG SINH\nsố 12",
        dossier=CODE,
        procedure="khai-sinh",
        kind="birth_notice",
    )
    read_document(desk.services, "khac.png", text="ĐƠN", dossier=CODE, unit="xa-long-ho")
    make_user(desk.services, "xem-tra-on", "reader", PASSWORD, unit="xa-tra-on")
    log_in(desk.client, "xem", PASSWORD)
    page = desk.client.get(f"/dossiers/{CODE}")
    assert page.status_code == 200
    assert "1. to-khai.png" in page.text and "2. chung-sinh.png" in page.text  # in the order received
    assert "Đăng ký khai sinh" in page.text and "Thiếu thành phần" in page.text
    missing = page.text[page.text.index("Còn thiếu") : page.text.index("Đã có")]
    assert "Hộ chiếu/Thẻ căn cước" in missing  # the applicant's ID is required and not scanned
    present = page.text[page.text.index("Đã có") :]
    assert "Giấy chứng sinh" in present and "(chung-sinh.png)" in present
    assert (
        f"/api/v1/documents/{form}/pdf" in page.text and f"/documents/{form}/pages/1.png?w=160" in page.text
    )
    assert desk.client.get(f"/api/v1/documents/{form}/pdf").content[:5] == b"%PDF-"
    api = desk.client.get(f"/api/v1/dossiers/{CODE}").json()["completeness"]
    assert (
        api["status"] == "incomplete"
        and api["procedure"] == "khai-sinh"
        and api["procedure_code"] == "1.001193"
    )
    assert [c["kind"] for c in api["missing"]] == ["id_card"]
    answered = {c["document"] for c in api["present"]}
    assert form in answered and len(answered) == 2  # the form and the birth notice, each its own component
    desk.client.cookies.clear()
    log_in(desk.client, "xem-tra-on", PASSWORD)
    assert desk.client.get(f"/dossiers/{CODE}").status_code == 404  # none of its documents is theirs


def test_intake_without_scripts_makes_a_batch_only_its_scanner_follows(desk: Desk, tmp_path: Path) -> None:
    log_in(desk.client, "quet", PASSWORD)
    token = page_csrf(desk.client, "/intake")
    image = io.BytesIO()
    Image.new("L", (400, 300), 255).save(image, format="PNG")
    files = [
        ("files", ("trang-1.png", image.getvalue(), "image/png")),
        ("files", ("rong.png", b"", "image/png")),
    ]
    sent = desk.client.post(
        "/intake", data={"csrf": token, "station": "Quầy 2"}, files=files, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith("/batches/")
    batch = desk.client.get(sent.headers["location"])
    assert "trang-1.png" in batch.text and "rong.png" in batch.text
    assert "input.empty" in batch.text and "Không nhận" in batch.text  # the empty file, with its code
    with desk.services.db.unit_of_work() as session:
        stations = {d.station for d in session.query(Document)}
    assert stations == {"Quầy 2"}
    desk.client.cookies.clear()
    log_in(desk.client, "quet2", PASSWORD)
    assert desk.client.get(sent.headers["location"]).status_code == 404


def test_an_intake_form_without_its_token_is_refused(desk: Desk) -> None:
    log_in(desk.client, "quet", PASSWORD)
    files = [("files", ("a.png", b"x", "image/png"))]
    assert desk.client.post("/intake", data={"csrf": "forged"}, files=files).status_code == 403


def test_pages_carry_a_strict_content_security_policy(desk: Desk) -> None:
    page = desk.client.get("/login")
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and "style=" not in page.text


def test_every_word_a_template_asks_for_exists_in_both_languages() -> None:
    asked: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        asked |= set(
            re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", template.read_text(encoding="utf-8"))
        )
    missing = sorted(
        key for key in asked if key not in WORDS and not key.endswith(".")
    )  # "x." ~ code: dynamic
    assert not missing, f"words the templates ask for but words.py lacks: {missing}"
    untranslated = sorted(key for key, (vi, en) in WORDS.items() if not vi or not en)
    assert not untranslated
