"""`sohoa dossier CODE` and `sohoa report completeness`, run as a user runs them, on documents left as the
pipeline leaves them: a complete birth-registration dossier, an incomplete one, one of unknown procedure."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.services import build_services
from ingest.settings import load_settings
from tests.documents import read_document

SOHOA = str(Path(sys.executable).with_name("sohoa"))
COMPLETE, INCOMPLETE, UNKNOWN = (f"000.00.21.H61-260112-000{n}" for n in (1, 2, 3))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dossiers")
    services = build_services(load_settings(data_dir=folder))
    try:
        for code, kinds in (
            (COMPLETE, ("application_form", "birth_notice", "id_card")),
            (INCOMPLETE, ("application_form", "id_card")),
        ):
            for kind in kinds:
                read_document(
                    services, f"{code}-{kind}.png", text=kind, dossier=code, procedure="khai-sinh", kind=kind
                )
        read_document(services, "la.png", text="ĐƠN", dossier=UNKNOWN, kind="application_form")
    finally:
        services.close()
    return folder


def sohoa(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")} | {"SOHOA_DATA_DIR": str(data)}
    return subprocess.run([SOHOA, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_one_dossier_says_what_is_missing(data: Path) -> None:
    shown = sohoa(data, "dossier", INCOMPLETE)
    assert shown.returncode == 0, shown.stderr
    assert "Đăng ký khai sinh (1.001193)" in shown.stdout and "thiếu thành phần" in shown.stdout
    missing = shown.stdout[shown.stdout.index("Còn thiếu") : shown.stdout.index("Đã có")]
    assert "Giấy chứng sinh" in missing
    assert "đủ thành phần" in sohoa(data, "dossier", COMPLETE).stdout
    absent = sohoa(data, "dossier", "000.00.21.H61-260112-9999")
    assert absent.returncode == 2 and "Không có hồ sơ" in absent.stderr


def test_the_completeness_report_has_a_row_per_dossier_and_the_share_fully_digitized(
    data: Path, tmp_path: Path
) -> None:
    report = tmp_path / "day-du.csv"
    ran = sohoa(data, "report", "completeness", "--output", str(report))
    assert ran.returncode == 0, ran.stderr
    rows = {
        row["dossier"]: row for row in csv.DictReader(io.StringIO(report.read_text(encoding="utf-8-sig")))
    }
    assert {code: row["status"] for code, row in rows.items()} == {
        COMPLETE: "complete",
        INCOMPLETE: "incomplete",
        UNKNOWN: "unknown",
    }
    assert (
        rows[INCOMPLETE]["procedure_code"] == "1.001193"
        and "Giấy chứng sinh" in rows[INCOMPLETE]["missing_components"]
    )
    assert "1/3 hồ sơ đủ thành phần (33.3%)" in ran.stderr
