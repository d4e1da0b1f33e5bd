"""`sohoa archive export DOSSIER DIR` and `sohoa archive export --since DATE DIR`, run as an operator runs
them, on documents left as the pipeline leaves them (`tests.documents`): one dossier with a failed file
beside a processed one, and one finished later."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from ingest.archive import NAMESPACE
from ingest.services import Services, build_services
from ingest.settings import load_settings
from storage.models import AuditEntry, Document, DocumentStatus
from tests.conftest import REPO
from tests.documents import read_document

SOHOA = str(Path(sys.executable).with_name("sohoa"))
XSD = REPO / "ingest" / "schemas" / "archive-1.xsd"
NS = {"a": NAMESPACE}
EARLY, LATE = "000.00.21.H61-260115-0001", "000.00.21.H61-260120-0001"


def _finish(services: Services, document_id: str, at: datetime, *, failed: bool = False) -> None:
    with services.db.unit_of_work() as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.status, document.finished_at = DocumentStatus.DONE.value, at
        if failed:
            document.status, document.error_code, document.pdf_key = "failed", "input.empty", None


def _make(folder: Path) -> None:
    services = build_services(load_settings(data_dir=folder))
    try:
        form = read_document(
            services,
            "to-khai.png",
            text="TỜ KHAI",
            dossier=EARLY,
            procedure="khai-sinh",
            kind="application_form",
        )
        _finish(services, form, datetime(2026, 1, 15, 3, tzinfo=UTC))
        empty = read_document(services, "rong.pdf", text="", dossier=EARLY)
        _finish(services, empty, datetime(2026, 1, 15, 3, 5, tzinfo=UTC), failed=True)
        later = read_document(services, "giay-khai-sinh.png", text="GIẤY KHAI SINH", dossier=LATE)
        _finish(services, later, datetime(2026, 1, 20, 3, tzinfo=UTC))
    finally:
        services.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive-cli")
    _make(folder)
    return folder


def sohoa(data: Path, *args: str, language: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")} | {"SOHOA_DATA_DIR": str(data)}
    if language:
        env["SOHOA_LANGUAGE"] = language
    return subprocess.run([SOHOA, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def _metadata(folder: Path, code: str) -> etree._ElementTree:
    tree = etree.parse(str(folder / code / f"{code}.xml"))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(tree)
    return tree


def test_one_dossier_is_exported_with_what_was_left_out_and_audited(data: Path, tmp_path: Path) -> None:
    ran = sohoa(data, "archive", "export", EARLY, str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert f"Đã xuất hồ sơ {EARLY}: 1 tài liệu, 1 trang → {tmp_path / EARLY}" in ran.stdout
    assert "Không xuất tài liệu số 2 (rong.pdf): lỗi khi xử lý (input.empty)" in ran.stdout
    assert (tmp_path / EARLY / f"{EARLY}.1.pdf").is_file() and not (
        tmp_path / EARLY / f"{EARLY}.2.pdf"
    ).exists()
    tree = _metadata(tmp_path, EARLY)
    assert tree.findtext("a:DocumentCount", None, NS) == "1"
    assert tree.findtext("a:Title", None, NS) == "Hồ sơ đăng ký khai sinh"
    services = build_services(load_settings(data_dir=data))
    try:
        with services.db.unit_of_work() as session:
            entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "dossier.archive")))
    finally:
        services.close()
    mine = [e for e in entries if e.detail.get("folder") == str(tmp_path / EARLY)]
    assert len(mine) == 1 and mine[0].dossier_code == EARLY and mine[0].outcome == "ok"
    assert mine[0].actor.startswith("cli:") and mine[0].detail["left_out"] == 1


def test_english_output_and_options_in_the_metadata(data: Path, tmp_path: Path) -> None:
    ran = sohoa(
        data,
        "archive",
        "export",
        EARLY,
        str(tmp_path),
        "--retention",
        "20 năm",
        "--creator",
        "UBND xã Mỏ Cày",
        "--rights",
        "Công khai",
        language="en",
    )
    assert ran.returncode == 0, ran.stderr
    assert f"Exported dossier {EARLY}: 1 documents, 1 pages" in ran.stdout
    assert "Left out document 2 (rong.pdf): failed to process (input.empty)" in ran.stdout
    tree = _metadata(tmp_path, EARLY)
    assert tree.findtext("a:Retention", None, NS) == "20 năm"
    assert tree.findtext("a:Creator", None, NS) == "UBND xã Mỏ Cày"
    assert tree.findtext("a:Rights", None, NS) == "Công khai"


def test_since_exports_the_dossiers_finished_from_that_day(data: Path, tmp_path: Path) -> None:
    ran = sohoa(data, "archive", "export", "--since", "2026-01-16", str(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert f"Đã xuất hồ sơ {LATE}" in ran.stdout and EARLY not in ran.stdout
    assert "Đã xuất 1 hồ sơ có tài liệu xử lý xong từ ngày 2026-01-16; lỗi: 0." in ran.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [LATE]
    _metadata(tmp_path, LATE)
    again = sohoa(data, "archive", "export", "--since", "2026-01-10", str(tmp_path))
    assert again.returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == [EARLY, LATE]
    nothing = sohoa(data, "archive", "export", "--since", "2027-01-01", str(tmp_path), language="en")
    assert nothing.returncode == 0, nothing.stderr
    assert "No dossier has a document finished since 2027-01-01." in nothing.stdout


def test_unknown_dossier_says_so_and_exits_2(data: Path, tmp_path: Path) -> None:
    ran = sohoa(data, "archive", "export", "000.00.21.H61-260101-9999", str(tmp_path / "out"))
    assert ran.returncode == 2
    assert (
        "archive.unknown_dossier" in ran.stderr and "Không có hồ sơ 000.00.21.H61-260101-9999." in ran.stderr
    )
    assert "Traceback" not in ran.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((EARLY,), "Cần: sohoa archive export HỒ_SƠ THƯ_MỤC"),
        (("--since", "2026-01-16", EARLY, "out"), "Cần: sohoa archive export HỒ_SƠ THƯ_MỤC"),
        (("--since", "16/01/2026", "out"), "Ngày không hợp lệ: 16/01/2026"),
        (("--since", "2026-02-30", "out"), "Ngày không hợp lệ: 2026-02-30"),
        ((EARLY, "out", "--retention", " "), "archive.bad_option"),
    ],
)
def test_bad_usage_exits_2(data: Path, args: tuple[str, ...], said: str) -> None:
    ran = sohoa(data, "archive", "export", *args)
    assert ran.returncode == 2 and said in ran.stderr, ran.stderr


def test_a_changed_original_exits_1_and_since_goes_on(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    _make(data)
    services = build_services(load_settings(data_dir=data))
    try:
        with services.db.unit_of_work() as session:
            [document] = session.scalars(
                select(Document).where(Document.dossier_code == EARLY, Document.status == "done")
            )
            services.store.put_bytes(document.original_key, b"changed", content_type="image/png")
    finally:
        services.close()
    one = sohoa(data, "archive", "export", EARLY, str(out))
    assert one.returncode == 1 and "storage.corrupt" in one.stderr, one.stderr
    since = sohoa(data, "archive", "export", "--since", "2026-01-01", str(out))
    assert since.returncode == 1, since.stderr
    assert "storage.corrupt" in since.stderr and f"Không xuất được hồ sơ {EARLY}" in since.stderr
    assert f"Đã xuất hồ sơ {LATE}" in since.stdout and "lỗi: 1." in since.stdout
    assert sorted(p.name for p in out.iterdir()) == [LATE]
