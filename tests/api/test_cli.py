"""The CLI contract, run as a user runs it: the installed `sohoa` command in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from examples.synth import EXAMPLES, write_example

SOHOA = str(Path(sys.executable).with_name("sohoa"))
EXPORT_KEYS = {
    "id",
    "source",
    "sha256",
    "status",
    "error",
    "dossier",
    "procedure",
    "procedure_confidence",
    "pages",
    "objects",
}
PAGE_KEYS = {"number", "text", "ocr_confidence", "blank", "rotation", "text_source"}


def _sohoa(
    data_dir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "SOHOA_WORKERS": "2", **(extra_env or {})}
    env.pop("SOHOA_BROKER_URL", None)
    return subprocess.run([SOHOA, *args], capture_output=True, text=True, env=env, timeout=900, check=False)


def _export(data_dir: Path) -> list[dict]:
    result = _sohoa(data_dir, "export")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """A folder with a subfolder, a zip, a good scan and two bad files, imported once with --wait."""
    root = tmp_path_factory.mktemp("cli")
    scans = root / "scans"
    (scans / "quay-2").mkdir(parents=True)
    for name in ("tam-tru-xoay-90.png", "ho-so-dat-dai.zip", "empty.pdf", "damaged.jpg"):
        write_example(next(s for s in EXAMPLES if s.name == name), scans)
    shutil.move(scans / "tam-tru-xoay-90.png", scans / "quay-2" / "tam-tru-xoay-90.png")
    data = root / "data"
    return scans, data, _sohoa(data, "import", str(scans), "--wait", "--report", str(root / "report.csv"))


def test_import_wait_reports_every_file_and_exits_zero_despite_failures(imported) -> None:
    scans, _data, result = imported
    assert result.returncode == 0, result.stderr
    assert "input.empty" in result.stdout and "input.unreadable" in result.stdout  # the failed files, by code
    assert "trang/phút" in result.stdout and "Kết quả nhập" in result.stdout  # Vietnamese by default
    assert "Traceback" not in result.stdout + result.stderr
    with (scans.parent / "report.csv").open(encoding="utf-8-sig") as handle:
        report = {row["source"]: row for row in csv.DictReader(handle)}
    assert set(report) == {
        "quay-2/tam-tru-xoay-90.png",
        "ho-so-dat-dai.zip/ho-so-dat-dai/01-tiep-nhan.jpg",
        "ho-so-dat-dai.zip/ho-so-dat-dai/02-don-dang-ky.jpg",
        "empty.pdf",
        "damaged.jpg",
    }
    assert report["empty.pdf"]["error_code"] == "input.empty" and report["empty.pdf"]["outcome"] == "failed"
    receipt = report["ho-so-dat-dai.zip/ho-so-dat-dai/01-tiep-nhan.jpg"]
    assert receipt["dossier"] == "000.00.21.H61-260211-0007" and receipt["outcome"] == "processed"
    assert report["ho-so-dat-dai.zip/ho-so-dat-dai/02-don-dang-ky.jpg"]["dossier_source"] == "group"


def test_messages_are_in_english_by_setting(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    write_example(next(s for s in EXAMPLES if s.name == "empty.pdf"), tmp_path / "in")
    env_language = {"SOHOA_LANGUAGE": "en"}
    result = _sohoa(tmp_path / "data", "import", str(tmp_path / "in"), extra_env=env_language)
    assert "Import summary" in result.stdout and "Kết quả" not in result.stdout, result.stdout


def test_export_follows_the_contract(imported) -> None:
    _scans, data, _ = imported
    records = {r["source"]: r for r in _export(data)}
    assert set(records) == {
        "quay-2/tam-tru-xoay-90.png",
        "ho-so-dat-dai.zip/ho-so-dat-dai/01-tiep-nhan.jpg",
        "ho-so-dat-dai.zip/ho-so-dat-dai/02-don-dang-ky.jpg",
        "empty.pdf",
        "damaged.jpg",
    }
    for record in records.values():
        assert set(record) >= EXPORT_KEYS
        assert record["status"] in {"done", "needs_review", "failed"}
        assert set(record["objects"]) == {"original", "pdf", "text", "words"}
        for page in record["pages"]:
            assert set(page) >= PAGE_KEYS and page["text_source"] in {"ocr", "pdf"}
        if record["status"] == "failed":
            assert set(record["error"]) == {"code", "message"}
        else:
            assert record["error"] is None
    receipt = records["ho-so-dat-dai.zip/ho-so-dat-dai/01-tiep-nhan.jpg"]
    assert receipt["dossier"] == "000.00.21.H61-260211-0007"
    assert receipt["procedure"] == "dang-ky-dat-dai-lan-dau"
    assert records["quay-2/tam-tru-xoay-90.png"]["pages"][0]["rotation"] == 270
    assert records["empty.pdf"]["error"]["code"] == "input.empty"


def test_importing_the_same_bytes_again_makes_no_new_document(imported) -> None:
    scans, data, _ = imported
    before = _export(data)
    again = _sohoa(data, "import", str(scans / "quay-2"), "--wait")
    assert again.returncode == 0 and "trùng tệp đã có" in again.stdout, again.stdout
    assert len(_export(data)) == len(before)


def test_nothing_to_import_is_a_non_zero_exit(tmp_path: Path) -> None:
    result = _sohoa(tmp_path / "data", "import", str(tmp_path / "missing"), "--wait")
    assert result.returncode == 2
    assert "input.not_found" in result.stderr and "Traceback" not in result.stderr
    bad_code = _sohoa(tmp_path / "data", "import", str(tmp_path), "--dossier", "../x")
    assert bad_code.returncode == 2 and "input.bad_dossier_code" in bad_code.stderr


def test_doctor_reports_tesseract_and_mode(tmp_path: Path) -> None:
    result = _sohoa(tmp_path / "data", "doctor")
    assert result.returncode == 0, result.stderr
    assert "tesseract" in result.stdout and "vie" in result.stdout and "embedded" in result.stdout


def test_review_lists_and_corrects_and_train_says_what_it_needs(imported) -> None:
    _scans, data, _ = imported
    receipt = next(r for r in _export(data) if r["source"].endswith("02-don-dang-ky.jpg"))
    listed = _sohoa(data, "review")
    assert listed.returncode == 0
    corrected = _sohoa(data, "review", receipt["id"], "--procedure", "dang-ky-dat-dai-lan-dau", "--by", "Lan")
    assert corrected.returncode == 0, corrected.stderr
    assert (
        next(r for r in _export(data) if r["id"] == receipt["id"])["procedure"] == "dang-ky-dat-dai-lan-dau"
    )
    refused = _sohoa(data, "review", receipt["id"], "--procedure", "nope", "--by", "Lan")
    assert refused.returncode == 2 and "procedure.unknown_id" in refused.stderr
    too_few = _sohoa(data, "train")
    assert too_few.returncode == 2 and "model.invalid" in too_few.stderr


def test_search_finds_text_without_tone_marks_and_reindex_rebuilds(imported) -> None:
    _scans, data, _result = imported
    found = _sohoa(data, "search", "thay doi thong tin cu tru")  # CT01's title, typed without tone marks
    assert found.returncode == 0, found.stderr
    assert "tam-tru-xoay-90.png" in found.stdout
    missing = _sohoa(data, "search", "zzqx không có")
    assert missing.returncode == 2 and "no document matches" in missing.stderr
    reindexed = _sohoa(data, "db", "reindex")
    assert reindexed.returncode == 0 and "indexed" in reindexed.stdout
    assert "tam-tru-xoay-90.png" in _sohoa(data, "search", "THAY ĐỔI").stdout


def test_db_upgrade_reports_and_is_idempotent(tmp_path: Path) -> None:
    first = _sohoa(tmp_path / "data", "db", "upgrade")
    assert first.returncode == 0 and "migrated from empty to" in first.stdout, first.stderr
    again = _sohoa(tmp_path / "data", "db", "upgrade")
    assert again.returncode == 0 and "already at" in again.stdout


def test_storage_migrate_copies_the_local_store_to_s3_and_resumes(
    imported, s3_server, tmp_path: Path
) -> None:
    _scans, data, _result = imported
    bucket = f"cli-{os.getpid()}"
    s3_env = {f"SOHOA_{k.upper()}": str(v) for k, v in s3_server.settings_overrides(bucket).items()}
    env = {**os.environ, "SOHOA_DATA_DIR": str(data), **s3_env}
    env.pop("SOHOA_BROKER_URL", None)

    def migrate(*args: str) -> subprocess.CompletedProcess[str]:
        command = [SOHOA, "storage", "migrate", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)

    local_files = {
        str(p.relative_to(data / "objects")): p.read_bytes()
        for p in (data / "objects").rglob("*")
        if p.is_file()
    }
    first = migrate("--to", "s3")
    assert first.returncode == 0, first.stderr
    assert f"copied {len(local_files)}, already there 0, failed 0" in first.stdout
    store = s3_server.store(bucket)
    for key, content in local_files.items():
        assert store.get_bytes(key) == content
    again = migrate("--to", "s3")
    assert f"copied 0, already there {len(local_files)}, failed 0" in again.stdout
    assert migrate("--to", "elsewhere").returncode == 2
    s3_server.drop_bucket(bucket)


def test_doctor_reports_an_unreachable_broker_and_hides_passwords(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SOHOA_DATA_DIR": str(tmp_path / "data"),
        "SOHOA_BROKER_URL": "amqp://guest:topsecret@127.0.0.1:1//",
    }
    result = subprocess.run(
        [SOHOA, "doctor"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 1
    assert "broker.unavailable" in result.stderr
    assert "topsecret" not in result.stdout + result.stderr
