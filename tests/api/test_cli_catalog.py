"""`sohoa catalog import|show|versions` as a user runs them: the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers.catalog import load_catalog

SOHOA = str(Path(sys.executable).with_name("sohoa"))
PROVINCE = [
    {
        "code": "1.000894",
        "name": "Đăng ký kết hôn",
        "levels": ["Cấp xã"],
        "field": "Hộ tịch",
        "agency": "Ủy ban nhân dân cấp xã",
        "components": [
            {
                "name": "Tờ khai đăng ký kết hôn",
                "copies": 1,
                "kind": "bản chính",
                "form_files": ["TK-KH.docx"],
            },
            {"name": "Giấy tờ chứng minh nơi cư trú (nếu có)", "copies": 2, "kind": "bản sao"},
        ],
        "results": ["Giấy chứng nhận kết hôn"],
    },
    {"code": "2.002999", "name": "Cấp phép [thử] khai thác thủy sản", "levels": ["Cấp tỉnh"]},
]


def _sohoa(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "SOHOA_WORKERS": "1"}
    for name in ("SOHOA_BROKER_URL", "SOHOA_LANGUAGE", "SOHOA_CATALOG_PATH"):
        environment.pop(name, None)
    environment.update(env)
    return subprocess.run(
        [SOHOA, *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    (root / "tinh.jsonl").write_text(
        "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in PROVINCE), encoding="utf-8"
    )
    (root / "loi.csv").write_text(
        "mã,tên,lĩnh vực,cấp,thành phần\n"
        "1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,Tờ khai\n"
        ",Không có mã,Hộ tịch,Cấp xã,\n"
        "1.1193,Mã sai,Hộ tịch,Cấp thôn,\n",
        encoding="utf-8",
    )
    return root


def test_bad_rows_are_all_listed_in_vietnamese_and_nothing_is_imported(folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = _sohoa(data, "catalog", "import", str(folder / "loi.csv"))
    assert result.returncode == 2, result.stderr
    assert "Tệp danh mục có 2 dòng lỗi; chưa nhập gì:" in result.stderr
    assert "dòng 3, cột mã: để trống (bắt buộc) [catalog.missing_value]" in result.stderr
    assert "dòng 4, cột mã: «1.1193» không phải mã thủ tục dạng D.DDDDDD" in result.stderr
    assert "dòng 4, cột cấp: «Cấp thôn» không phải cấp thực hiện" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    versions = _sohoa(data, "catalog", "versions")
    assert versions.returncode == 0, versions.stderr
    assert "Chưa nhập danh mục nào." in versions.stdout and "danh mục đi kèm sohoa" in versions.stdout


def test_an_unreadable_file_is_refused_with_its_code(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "danh-muc.txt").write_text("1.001193", encoding="utf-8")
    result = _sohoa(tmp_path / "data", "catalog", "import", str(tmp_path / "danh-muc.txt"))
    assert result.returncode == 2 and "catalog.unreadable" in result.stderr, result.stderr


def test_import_show_and_versions(folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    imported = _sohoa(data, "catalog", "import", str(folder / "tinh.jsonl"))
    assert imported.returncode == 0, imported.stderr
    assert "Đã nhập danh mục từ tinh.jsonl: 2 thủ tục trong tệp" in imported.stdout
    version = imported.stdout.split("Phiên bản ", 1)[1][:12]
    again = _sohoa(data, "catalog", "import", str(folder / "tinh.jsonl"))
    assert again.returncode == 0 and f"đã được nhập trước đây (phiên bản {version}" in again.stdout

    shown = _sohoa(data, "catalog", "show", "1.000894")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Đăng ký kết hôn"
    for expected in (
        "  Mã thủ tục: 1.000894",
        "  Mã trong sohoa: ket-hon",
        "  Lĩnh vực: Hộ tịch",
        "  Cấp thực hiện: Cấp xã",
        "  Cơ quan thực hiện: Ủy ban nhân dân cấp xã",
        "    1. Tờ khai đăng ký kết hôn — 1 bản chính; mẫu: TK-KH.docx",
        "    2. Giấy tờ chứng minh nơi cư trú (nếu có) — 2 bản sao (tùy trường hợp)",
        "  Tiêu đề tờ khai: TỜ KHAI ĐĂNG KÝ KẾT HÔN",
        "  Kết quả: Giấy chứng nhận kết hôn",
        f"Phiên bản danh mục: {version}",
    ):
        assert expected in lines, (expected, shown.stdout)
    by_id = _sohoa(data, "catalog", "show", "ket-hon")
    assert by_id.returncode == 0 and by_id.stdout == shown.stdout
    bracketed = _sohoa(data, "catalog", "show", "2.002999")
    assert bracketed.returncode == 0 and "Cấp phép [thử] khai thác thủy sản" in bracketed.stdout, (
        bracketed.stderr
    )
    english = _sohoa(data, "catalog", "show", "1.000894", SOHOA_LANGUAGE="en")
    assert "  Levels: Cấp xã" in english.stdout and "(only in some cases)" in english.stdout

    missing = _sohoa(data, "catalog", "show", "1.000005")  # national, but not in the imported file
    assert missing.returncode == 2 and "catalog.not_found" in missing.stderr, missing.stderr
    assert "Không có thủ tục nào mã 1.000005" in missing.stderr
    close = _sohoa(data, "catalog", "show", "kết hôn")
    assert close.returncode == 2 and "1.000894  Đăng ký kết hôn" in close.stderr, close.stderr

    listed = _sohoa(data, "catalog", "versions")
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if version in line and "tinh.jsonl" in line]
    assert "*" in row
    assert f"Đang dùng: danh mục đã nhập, phiên bản {version}" in listed.stdout
    assert version != load_catalog().version


def test_catalog_refusals_are_the_person_s_to_fix_and_a_broken_catalog_the_operator_s() -> None:
    from api.console import EXIT_INFRASTRUCTURE, EXIT_NOTHING_RAN, exit_code
    from api.errors import http_status

    assert (http_status("catalog.invalid_rows"), exit_code("catalog.invalid_rows")) == (422, EXIT_NOTHING_RAN)
    assert (http_status("catalog.not_found"), exit_code("catalog.not_found")) == (404, EXIT_NOTHING_RAN)
    assert (http_status("catalog.unreadable"), exit_code("catalog.unreadable")) == (422, EXIT_NOTHING_RAN)
    assert (http_status("catalog.invalid"), exit_code("catalog.invalid")) == (422, EXIT_INFRASTRUCTURE)
