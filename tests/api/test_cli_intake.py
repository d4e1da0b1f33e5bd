"""`sohoa import` with manifests, Ctrl-C and resume, `sohoa separator` and `sohoa watch`, run as users run
them: the installed command in a subprocess, embedded mode, real scans."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from examples import synth
from ingest.intake import file_digest
from ocr.barcodes import read_barcodes

SOHOA = str(Path(sys.executable).with_name("sohoa"))
DPI = 150
CODES = ("000.00.21.H61-250401-0001", "000.20.31.H61-250402-0002", "000.24.35.H61-250403-0003")


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "SOHOA_DATA_DIR": str(data), "SOHOA_WORKERS": "2", **extra}
    env.pop("SOHOA_BROKER_URL", None)
    return env


def _sohoa(data: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOHOA, *args], capture_output=True, text=True, env=_env(data, **extra), timeout=900, check=False
    )


def _export(data: Path) -> list[dict]:
    result = _sohoa(data, "export")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _scan(path: Path, n: int, kind: str = "form") -> Path:
    maker = synth.make_receipt if kind == "receipt" else synth.make_page
    page = maker(("ho-kinh-doanh", "khai-sinh", "tam-tru")[n % 3], seed=n, dpi=DPI, dossier_code=CODES[n % 3])
    path.parent.mkdir(parents=True, exist_ok=True)
    page.image.convert("L").save(path, "JPEG", quality=80, dpi=(DPI, DPI))
    return path


def _manifest(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "dossier", "procedure", "received"])
        writer.writerows(rows)
    return path


def test_a_manifest_with_errors_is_refused_with_every_bad_row_and_nothing_imported(tmp_path: Path) -> None:
    root = tmp_path / "kho"
    _scan(root / "a.jpg", 0)
    _scan(root / "sub" / "b.jpg", 1)
    manifest = _manifest(
        tmp_path / "bang-ke.csv",
        [
            ("a.jpg", CODES[0], "ho-kinh-doanh", "2025-03-15"),
            ("khong-co.jpg", CODES[1], "", ""),  # line 3: no such file
            ("sub/b.jpg", "../../etc", "", ""),  # line 4: not a dossier code
            ("a.jpg", CODES[0], "thu-tuc-la", "31/02/2025"),  # line 5: duplicate, unknown procedure, bad date
        ],
    )
    data = tmp_path / "data"
    checked = _sohoa(data, "import", str(root), "--manifest", str(manifest), "--dry-run")
    assert checked.returncode != 0
    for line, code in (
        (3, "manifest.file_missing"),
        (4, "manifest.bad_dossier"),
        (5, "manifest.duplicate_file"),
        (5, "manifest.unknown_procedure"),
        (5, "manifest.bad_date"),
    ):
        assert re.search(rf"dòng {line}: .*{code}", checked.stderr), (line, code, checked.stderr)
    assert "Traceback" not in checked.stderr
    refused = _sohoa(data, "import", str(root), "--manifest", str(manifest))
    assert refused.returncode == 2 and "manifest.file_missing" in refused.stderr
    assert _export(data) == [], "a refused manifest imports nothing"


def test_a_good_manifest_dry_run_imports_nothing_and_the_real_run_follows_it(tmp_path: Path) -> None:
    root = tmp_path / "kho"
    _scan(root / "a.jpg", 0)
    _scan(root / "b.jpg", 1)
    manifest = _manifest(
        tmp_path / "m.csv",
        [("a.jpg", CODES[1], "khai-sinh", "15/03/2025"), ("b.jpg", CODES[1], "", "")],
    )
    data = tmp_path / "data"
    dry = _sohoa(data, "import", str(root), "--manifest", str(manifest), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _export(data) == []
    report = tmp_path / "report.json"
    run = _sohoa(data, "import", str(root), "--manifest", str(manifest), "--report", str(report))
    assert run.returncode == 0, run.stderr
    records = {r["source"]: r for r in _export(data)}
    assert {r["dossier"] for r in records.values()} == {CODES[1]}
    assert records["a.jpg"]["dossier_source"] == "manifest" and records["a.jpg"]["procedure"] == "khai-sinh"
    outcomes = {row["source"]: row for row in json.loads(report.read_text(encoding="utf-8"))}
    assert set(outcomes) == {"a.jpg", "b.jpg"}
    assert all(row["dossier"] == CODES[1] and row["error_code"] is None for row in outcomes.values())


def _done_count(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            row = connection.execute("SELECT count(*) FROM documents WHERE status = 'done'").fetchone()
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return 0
    return int(row[0])


def test_ctrl_c_stops_cleanly_and_the_resumed_import_takes_every_file_exactly_once(tmp_path: Path) -> None:
    root = tmp_path / "kho"
    files = [
        _scan(root / f"ho-so-{n // 2}" / f"trang-{n}.jpg", n, "receipt" if n % 2 else "form")
        for n in range(10)
    ]
    data = tmp_path / "data"
    process = subprocess.Popen(
        [SOHOA, "import", str(root)],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 300
    while _done_count(data / "sohoa.db") < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no document finished in 5 minutes"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: workers and tesseract too
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    match = re.search(r"sohoa import --resume ([0-9a-f]{12})", stderr)
    assert match, stderr
    interrupted = _export(data)
    assert all(r["status"] in ("done", "needs_review", "queued") for r in interrupted), (
        "nothing half-recorded"
    )
    assert any(r["status"] == "queued" for r in interrupted), "the stop came before every file was read"

    resumed = _sohoa(data, "import", "--resume", match.group(1))
    assert resumed.returncode == 0, resumed.stderr
    assert "đã xong ở lần chạy trước" in resumed.stdout and "đã xử lý lần này" in resumed.stdout
    records = _export(data)
    assert sorted(r["source"] for r in records) == sorted(str(f.relative_to(root)) for f in files)
    assert all(r["status"] == "done" for r in records), [(r["source"], r["status"]) for r in records]
    with sqlite3.connect(data / "sohoa.db") as connection:
        attempts = connection.execute("SELECT max(attempts) FROM documents").fetchone()[0]
    assert attempts == 1, "no document was read twice"


def test_separator_command_prints_a_sheet_whose_qr_starts_the_dossier(tmp_path: Path) -> None:
    target = tmp_path / "to-phan-cach.pdf"
    result = _sohoa(tmp_path / "data", "separator", CODES[0], "-o", str(target))
    assert result.returncode == 0, result.stderr
    document = pdfium.PdfDocument(target)
    try:
        image = document[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    import numpy as np

    assert [b.text for b in read_barcodes(np.asarray(image))] == [f"SOHOA-SEPARATOR:{CODES[0]}"]
    bad = _sohoa(tmp_path / "data", "separator", "../x")
    assert bad.returncode == 2 and "input.bad_dossier_code" in bad.stderr


SLOW_WRITER = """
import sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    step = max(1, len(data) // 8)
    for start in range(0, len(data), step):
        out.write(data[start:start + step]); out.flush(); time.sleep(0.4)
    time.sleep(1.5)  # finished writing but still holding the file open, as scanners do
"""


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.timeout(400)
def test_watch_takes_a_slowly_written_scan_once_when_complete_and_files_it(tmp_path: Path) -> None:
    folder, data = tmp_path / "may-quet", tmp_path / "data"
    folder.mkdir()
    watcher = subprocess.Popen(
        [SOHOA, "watch", str(folder)],
        env=_env(data, SOHOA_WATCH_SETTLE_SECONDS="1", SOHOA_WATCH_POLL_SECONDS="0.3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        source = _scan(tmp_path / "src" / "phieu.jpg", 1, "receipt")
        target = folder / "quay-1" / "phieu.jpg"
        target.parent.mkdir()
        writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(source), str(target)])
        while writer.poll() is None:  # while it is being written, nothing is taken
            assert not (folder / "processing" / "quay-1" / "phieu.jpg").exists()
            time.sleep(0.1)
        done = folder / "done" / "quay-1" / "phieu.jpg"
        _wait_for(done.exists, 240, "the scan never reached done/")
        (folder / "hong.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
        failed = folder / "failed" / "hong.jpg.error.json"
        _wait_for(failed.exists, 120, "the damaged file never reached failed/")
        shutil_copy = folder / "quay-2" / "phieu-lai.jpg"  # the same bytes dropped again: nothing new
        shutil_copy.parent.mkdir()
        shutil_copy.write_bytes(source.read_bytes())
        _wait_for((folder / "done" / "quay-2" / "phieu-lai.jpg").exists, 120, "the duplicate was not moved")
    finally:
        watcher.send_signal(signal.SIGTERM)
        stdout, stderr = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, stderr
    error = json.loads(failed.read_text(encoding="utf-8"))
    assert error["code"] == "input.unreadable" and "hỏng" in error["message"]
    records = _export(data)
    assert len(records) == 2, [r["source"] for r in records]
    receipt = next(r for r in records if r["source"] == "quay-1/phieu.jpg")
    assert receipt["sha256"] == file_digest(source)[0], "taken once, complete"
    assert receipt["status"] == "done" and receipt["dossier"] == CODES[1]
    assert not any((folder / "processing").rglob("*.jpg"))
    assert "Đã nhận quay-1/phieu.jpg" in stdout


def test_the_embedded_worker_processes_what_an_interrupted_run_left_queued(tmp_path: Path) -> None:
    from ingest.services import build_services
    from ingest.settings import load_settings
    from ingest.submit import Incoming, open_submitter

    data = tmp_path / "data"
    services = build_services(load_settings(data_dir=data, workers=1))
    try:
        with open_submitter(services) as submitter:  # stored and recorded, never sent: as a killed import
            taken = submitter.take(Incoming(source="don.jpg", path=_scan(tmp_path / "don.jpg", 0)))
    finally:
        services.close()
    assert [d.status.value for d in taken.documents] == ["queued"]
    result = _sohoa(data, "worker")
    assert result.returncode == 0, result.stderr
    assert "processing 1 queued document(s)" in result.stdout
    assert [r["status"] for r in _export(data)] == ["done"]


def test_retry_sends_passing_failures_back_and_refuses_lasting_ones(tmp_path: Path) -> None:
    data = tmp_path / "data"
    scans = [_scan(tmp_path / "in" / f"p{n}.jpg", n) for n in range(2)]
    assert _sohoa(data, "import", *map(str, scans)).returncode == 0
    with sqlite3.connect(data / "sohoa.db") as db:  # as a long S3 outage leaves them
        db.execute(
            "UPDATE documents SET status='failed', error_code='storage.unavailable', error_message='S3 down'"
        )

    refused = _sohoa(data, "retry", "--failed", "input.unreadable")
    assert refused.returncode == 2 and "input.unreadable" in refused.stderr, refused.stderr
    nothing = _sohoa(data, "retry", "--failed", "processing")
    assert nothing.returncode == 0 and "Đã gửi lại 0 tài liệu" in nothing.stdout, nothing.stdout

    retried = _sohoa(data, "retry", "--failed", "storage")
    assert retried.returncode == 0, retried.stderr
    assert "Đã gửi lại 2 tài liệu" in retried.stdout, retried.stdout
    records = _export(data)
    assert len(records) == 2 and {r["status"] for r in records} <= {"done", "needs_review"}, records
    assert all(r["error"] is None for r in records)
    audit = _sohoa(data, "audit", "show", "--json")
    assert '"documents.retry"' in audit.stdout, audit.stdout
