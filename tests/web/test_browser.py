"""The staff web app in a real browser: Debian's Chromium driven by Playwright against a real `sohoa serve`
(embedded mode, real OCR). The tests run in file order on one server, as a working day would: a scanner sends
scans, a reviewer corrects one, a reader finds it and downloads its PDF, a manager watches the figures change,
an admin reads the audit log. Every screen is written as a PNG under `test-artifacts/web/` and checked with
axe-core for critical accessibility violations.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.services import build_services
from ingest.settings import load_settings
from tests.identities import make_user
from tests.serving import sohoa_serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test)"
)

playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")

ARTIFACTS = Path(os.environ.get("SOHOA_TEST_ARTIFACTS", "test-artifacts")) / "web"
PASSWORD = "mật khẩu đủ dài 2026"
STAFF = {"quet": "scanner", "lan": "reviewer", "xem": "reader", "quantri": "admin"}
SCANS = ("ket-hon-giay-tiep-nhan.jpg", "khai-sinh-lon-nguoc.pdf", "don-de-nghi-1.png", "don-de-nghi-2.png")
"""A receipt (it carries the dossier code), a birth registration form scanned upside down, and two letters
of no procedure the catalog knows: they wait for a person."""
LETTER = (
    "ĐƠN ĐỀ NGHỊ XÁC NHẬN THÔNG TIN",
    "Kính gửi: Ủy ban nhân dân xã Long Hồ",
    "Tôi tên là: Nguyễn Văn An, sinh năm 1985",
    "Nơi cư trú: ấp Phước Yên, xã Long Hồ, tỉnh Vĩnh Long",
    "Nay tôi làm đơn này đề nghị xác nhận thông tin",
    "của gia đình tôi như sau, để bổ sung hồ sơ.",
    "Tôi xin cam đoan những lời khai trên là đúng sự thật.",
)
FINISHED_WITHIN_MS = 420_000


@dataclass
class Site:
    base: str
    browser: object


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sample scans, generated the way `make demo` makes them."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("scans")
    synth = Path(__file__).resolve().parents[2] / "examples" / "synth.py"
    subprocess.run([sys.executable, str(synth), str(folder)], check=True, capture_output=True, timeout=600)
    for number in (1, 2):
        write_letter(folder / f"don-de-nghi-{number}.png", number)
    return folder


def write_letter(path: Path, number: int) -> None:
    """An A4 page at 200 dpi with a letter no procedure of the catalog matches."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    for line, text in enumerate((*LETTER, f"Bản số {number}")):
        draw.text((160, 220 + line * 90), text, font=font, fill=0)
    page.save(path, dpi=(200, 200))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`sohoa serve` on its own data folder and port, with one account per role, and a headless Chromium."""
    data = tmp_path_factory.mktemp("web-data")
    env = {
        "SOHOA_DATA_DIR": str(data),
        "SOHOA_WORKERS": "2",
    }
    services = build_services(load_settings(data_dir=data))
    for name, role in STAFF.items():
        make_user(services, name, role, PASSWORD)
    services.close()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sohoa_serve(env, data / "serve.log") as base, playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield Site(base, browser)
        finally:
            browser.close()


@pytest.fixture
def open_as(site: Site) -> Iterator[object]:
    """`open_as(name)`: a fresh browser context (its own cookies) signed in as that account, 1366×768."""
    contexts = []

    def signed_in(name: str) -> object:
        context = site.browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 1366, "height": 768}, base_url=site.base, locale="vi-VN", accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/login" not in page.url, f"{name} could not log in: {page.inner_text('main')}"
        return page

    yield signed_in
    for context in contexts:
        context.close()


def shoot(page: object, name: str) -> None:
    """Write the screen as a test artefact and check it with axe-core: no critical violation."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    results = axe_api.Axe().run(page)
    critical = [v for v in results.response["violations"] if v.get("impact") == "critical"]
    assert not critical, f"{name}: critical accessibility violations: " + "; ".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} node(s))" for v in critical
    )


def test_login_form_and_a_refused_page_for_a_wrong_role(site: Site, open_as: object) -> None:
    context = site.browser.new_context(viewport={"width": 1366, "height": 768}, base_url=site.base)  # type: ignore[attr-defined]
    anonymous = context.new_page()
    anonymous.goto("/review")
    assert anonymous.url.endswith("/login?next=%2Freview")
    shoot(anonymous, "01-login")
    anonymous.fill("input[name=username]", "lan")
    anonymous.fill("input[name=password]", "sai mật khẩu")
    anonymous.click("button[type=submit]")
    assert "không đúng" in anonymous.inner_text("main")
    context.close()

    scanner = open_as("quet")  # type: ignore[operator]
    assert scanner.url.endswith("/intake")
    answer = scanner.goto("/review")
    assert answer.status == 403
    assert "Không có quyền" in scanner.inner_text("main")
    assert "Duyệt" not in scanner.inner_text("header nav")  # the menu shows only what the role may open
    shoot(scanner, "02-forbidden")


def kpi(page: object, tile: str) -> int:
    """A dashboard tile's number (Vietnamese digit grouping: 10.000)."""
    text = page.inner_text(f"#kpi-{tile} strong")  # type: ignore[attr-defined]
    return int(re.sub(r"[^0-9]", "", text) or 0)


def test_the_dashboard_starts_empty(site: Site, open_as: object) -> None:
    manager = open_as("xem")  # type: ignore[operator]
    manager.goto("/dashboard")
    assert kpi(manager, "pages") == 0 and kpi(manager, "documents") == 0


def test_a_scanner_uploads_scans_and_watches_them_finish(site: Site, open_as: object, scans: Path) -> None:
    scanner = open_as("quet")  # type: ignore[operator]
    scanner.goto("/intake")
    scanner.fill("#station", "Quầy 3")
    scanner.set_input_files("#files", [str(scans / name) for name in SCANS])
    assert "4 tệp" in scanner.inner_text("#chosen")
    shoot(scanner, "03-intake")
    scanner.click("#send")
    scanner.wait_for_url(re.compile(r"/batches/[0-9a-f]+$"), timeout=120_000)
    assert "Lô tải lên" in scanner.inner_text("h1")
    for name in SCANS:
        assert name in scanner.inner_text("#batch-progress")
    scanner.wait_for_selector("#batch-progress [data-finished=true]", timeout=FINISHED_WITHIN_MS)
    progress = scanner.inner_text("#batch-progress")
    assert "Đã xử lý xong" in progress and "4/4 tệp" in progress
    assert "Cần duyệt: 2" in progress and "Xong: 2" in progress
    shoot(scanner, "04-batch")


def test_a_reviewer_corrects_an_item_and_the_next_one_appears(site: Site, open_as: object) -> None:
    reviewer = open_as("lan")  # type: ignore[operator]
    assert reviewer.url.endswith("/review")
    reviewer.wait_for_selector("#page-image")
    assert reviewer.eval_on_selector("#page-image", "img => img.complete && img.naturalWidth > 0")
    first = reviewer.get_attribute("#review", "data-id")
    waiting = int(re.search(r"(\d+) tài liệu đang chờ", reviewer.inner_text("h1")).group(1))  # type: ignore[union-attr]
    assert waiting == 2
    shoot(reviewer, "05-review")
    reviewer.fill("#procedure-search", "dang ky ket hon")  # no tone marks: the catalog search folds them
    reviewer.locator("#procedure-options option").first.wait_for(state="attached")
    reviewer.click("#procedure-form button[type=submit]")
    reviewer.wait_for_selector(f"#review:not([data-id='{first}'])", timeout=30_000)
    assert "1 tài liệu đang chờ" in reviewer.inner_text("h1")
    second = reviewer.get_attribute("#review", "data-id")
    assert second != first
    reviewer.keyboard.press("p")  # by keyboard only: P focuses the catalog search
    reviewer.keyboard.type("khai sinh")
    reviewer.locator("#procedure-options option").first.wait_for(state="attached")
    reviewer.keyboard.press("Enter")
    reviewer.wait_for_selector("text=Không còn tài liệu nào cần duyệt", timeout=30_000)


def test_the_dashboards_figures_changed_and_download_as_csv(site: Site, open_as: object) -> None:
    manager = open_as("xem")  # type: ignore[operator]
    manager.goto("/dashboard")
    assert kpi(manager, "pages") == 4 and kpi(manager, "documents") == 4  # the four one-page scans
    assert kpi(manager, "review") == 0  # both were decided
    assert "Quầy 3" in manager.inner_text("main")  # pages per station
    shoot(manager, "08-dashboard")
    with manager.expect_download() as downloaded:
        manager.locator("a[href^='/dashboard/per-station.csv']").first.click()
    table = Path(downloaded.value.path()).read_bytes().decode("utf-8-sig")
    assert "Quầy 3" in table


def test_an_admin_sees_the_correction_in_the_audit_log(site: Site, open_as: object) -> None:
    admin = open_as("quantri")  # type: ignore[operator]
    admin.goto("/admin/audit?action=procedure.correct")
    log = admin.inner_text("main")
    assert "procedure.correct" in log and "user:lan" in log and "ket-hon" in log
    shoot(admin, "09-audit")


def test_a_reader_finds_the_document_without_tone_marks_and_downloads_its_pdf(
    site: Site, open_as: object
) -> None:
    reader = open_as("xem")  # type: ignore[operator]
    reader.goto("/search?q=giay+tiep+nhan")
    hits = reader.locator(".hits li")
    assert hits.count() >= 1
    assert reader.locator(".hits mark").count() >= 1  # matched words highlighted
    assert "ket-hon-giay-tiep-nhan.jpg" in reader.inner_text(".hits")
    shoot(reader, "06-search")
    hits.first.locator("a[href^='/dossiers/']").first.click()
    reader.wait_for_url(re.compile(r"/dossiers/"))
    assert "Hồ sơ" in reader.inner_text("h1")
    assert reader.locator(".thumbs img").count() >= 2
    shoot(reader, "07-dossier")
    with reader.expect_download() as downloaded:
        reader.locator("a", has_text="Tải PDF").first.click()
    path = downloaded.value.path()
    assert Path(path).read_bytes()[:5] == b"%PDF-"
    assert downloaded.value.suggested_filename.endswith(".pdf")


def test_every_admin_screen_renders_and_passes_the_accessibility_check(site: Site, open_as: object) -> None:
    admin = open_as("quantri")  # type: ignore[operator]
    for number, (path, heading) in enumerate(
        (
            ("/admin", "Quản trị"),
            ("/admin/accounts", "Tài khoản"),
            ("/admin/keys", "Khóa API"),
            ("/admin/webhooks", "Webhook"),
            ("/admin/audit/verify", "Kiểm tra chuỗi nhật ký"),
        ),
        start=10,
    ):
        answer = admin.goto(path)
        assert answer.status == 200, path
        assert heading.lower() in admin.inner_text("main").lower(), path
        shoot(admin, f"{number}-{path.strip('/').replace('/', '-')}")
    admin.goto("/admin/accounts")
    assert all(name in admin.inner_text("main") for name in STAFF)


def test_the_pages_speak_english_after_the_switch(site: Site, open_as: object) -> None:
    reader = open_as("xem")  # type: ignore[operator]
    reader.goto("/search")
    reader.click("header a.lang")
    reader.wait_for_load_state("networkidle")
    assert "Search documents" in reader.inner_text("h1")
    reader.goto("/dashboard")
    assert "Tra cứu" not in reader.inner_text("header nav") and "Search" in reader.inner_text("header nav")
    shoot(reader, "15-dashboard-en")


def test_a_scanner_keeps_a_signing_certificate_from_the_header_link(
    site: Site, open_as: object, tmp_path: Path
) -> None:
    from tests.certificates import issue, make_ca, write_pkcs12

    leaf = issue(make_ca("CA thử nghiệm trình duyệt"), "Nguyễn Thị Thu Hà", unit="Một cửa")
    p12 = write_pkcs12(tmp_path / "thu-ha.p12", leaf, "password")
    scanner = open_as("quet")  # type: ignore[operator]
    scanner.click("header a.certificate-link")
    scanner.wait_for_url(re.compile(r"/account/certificate$"))
    assert "chưa có chứng thư số" in scanner.inner_text("main")
    scanner.set_input_files("#certificate-file", str(p12))
    scanner.fill("#certificate-password", "sai")
    scanner.click("form[action='/account/certificate'] button[type=submit]")
    assert "Mật khẩu của tệp chứng thư số không đúng" in scanner.inner_text("main")
    scanner.set_input_files("#certificate-file", str(p12))
    scanner.fill("#certificate-password", "password")
    scanner.click("form[action='/account/certificate'] button[type=submit]")
    scanner.wait_for_url(re.compile(r"/account/certificate\?done=set$"))
    main = scanner.inner_text("main")
    assert "Nguyễn Thị Thu Hà" in main and "Còn hiệu lực" in main
    assert "Cảnh báo" in main  # nobody here trusts that CA: its signatures would not verify
    shoot(scanner, "16-certificate")
