"""`sohoa backup DIR` and `sohoa restore SNAPSHOT|DIR` as an operator runs them: the installed command in a
subprocess, on an embedded installation holding documents as the pipeline leaves them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.services import build_services
from ingest.settings import load_settings
from storage.audit import AuditEvent, record_audit
from tests.documents import read_document

SOHOA = str(Path(sys.executable).with_name("sohoa"))
DOSSIER = "000.00.21.H61-260112-0001"


def sohoa(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    environment |= {"SOHOA_DATA_DIR": str(data), "SOHOA_WORKERS": "1", **env}
    return subprocess.run(
        [SOHOA, *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def installation(folder: Path, *, lose_words_file: bool = False) -> Path:
    """A data folder with two documents (one in a dossier) and an audit entry."""
    services = build_services(load_settings(data_dir=folder, broker_url=None, database_url=None))
    try:
        birth = read_document(services, "khai-sinh.png", text="GIẤY KHAI SINH", dossier=DOSSIER)
        read_document(services, "tam-tru.png", text="tờ khai thay đổi thông tin cư trú")
        record_audit(services.db, AuditEvent(actor="cli:test", action="document.read", document_id=birth))
        if lose_words_file:
            services.store.delete(f"documents/{birth}/words.tsv")
    finally:
        services.close()
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installation(tmp_path_factory.mktemp("cli-backup") / "data")


def test_backup_then_restore_into_a_new_data_folder_in_vietnamese(data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sao-luu"
    made = sohoa(data, "backup", str(folder))
    assert made.returncode == 0, made.stderr
    [snapshot] = [p for p in folder.iterdir() if p.name != "objects"]
    assert f"Đã sao lưu vào {snapshot}: " in made.stdout and "6 tệp lưu trữ" in made.stdout
    assert "Phiên đăng nhập web không được sao lưu" in made.stdout
    again = sohoa(data, "backup", str(folder))
    assert again.returncode == 0, again.stderr
    assert "Chép mới 0 tệp (0 B); 6 tệp không cần chép" in again.stdout

    new = tmp_path / "may-moi"
    restored = sohoa(new, "restore", str(folder))  # a backup folder: its newest snapshot
    assert restored.returncode == 0, restored.stderr
    newest = max(p for p in folder.iterdir() if p.name != "objects")
    assert f"Đã khôi phục {newest} " in restored.stdout and "từ sqlite" in restored.stdout
    assert "mọi tệp khớp SHA-256; chỉ mục tìm kiếm: 2 tài liệu" in restored.stdout
    found = sohoa(new, "search", "giay khai sinh")
    assert found.returncode == 0 and "khai-sinh.png" in found.stdout
    verified = sohoa(new, "audit", "verify")
    assert verified.returncode == 0, verified.stderr

    refused = sohoa(new, "restore", str(snapshot))
    assert refused.returncode == 2
    assert "backup.not_empty: Nơi khôi phục chưa trống" in refused.stderr


def test_english_output_and_coded_refusals(data: Path, tmp_path: Path) -> None:
    made = sohoa(data, "backup", str(tmp_path / "backup"), SOHOA_LANGUAGE="en")
    assert made.returncode == 0, made.stderr
    assert "Backed up to " in made.stdout and "Copied 5 new objects" in made.stdout

    busy = sohoa(data, "restore", str(tmp_path / "backup"), SOHOA_LANGUAGE="en")
    assert busy.returncode == 2 and "backup.not_empty:" in busy.stderr and "not empty" in busy.stderr
    absent = sohoa(tmp_path / "empty", "restore", str(tmp_path / "nowhere"), SOHOA_LANGUAGE="en")
    assert absent.returncode == 2 and "backup.not_found:" in absent.stderr
    inside = sohoa(data, "backup", str(data), SOHOA_LANGUAGE="en")
    assert inside.returncode == 2 and "backup.bad_target:" in inside.stderr
    assert "Traceback" not in busy.stderr + absent.stderr + inside.stderr


def test_a_backup_lacking_objects_is_written_says_so_and_exits_1(tmp_path: Path) -> None:
    data = installation(tmp_path / "data", lose_words_file=True)
    made = sohoa(data, "backup", str(tmp_path / "backup"))
    assert made.returncode == 1
    assert "thiếu 1 tệp lưu trữ" in made.stderr and "backup.missing_object: documents/" in made.stderr
    [snapshot] = [p for p in (tmp_path / "backup").iterdir() if p.name != "objects"]
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert [problem["code"] for problem in manifest["problems"]] == ["backup.missing_object"]

    restored = sohoa(tmp_path / "new", "restore", str(snapshot))
    assert restored.returncode == 0, restored.stderr
    assert "vốn thiếu 1 tệp lưu trữ" in restored.stderr


def test_a_corrupt_snapshot_is_refused_and_the_restore_can_run_again(data: Path, tmp_path: Path) -> None:
    made = sohoa(data, "backup", str(tmp_path / "backup"))
    assert made.returncode == 0, made.stderr
    largest = max((tmp_path / "backup" / "objects").glob("*/*"), key=lambda p: p.stat().st_size)
    damaged = bytearray(largest.read_bytes())
    damaged[100] ^= 0x01
    largest.write_bytes(bytes(damaged))
    new = tmp_path / "new"
    for _ in range(2):
        refused = sohoa(new, "restore", str(tmp_path / "backup"))
        assert refused.returncode == 2 and "backup.corrupt: Bản sao lưu bị hỏng" in refused.stderr
    assert not any((new / "objects").rglob("*.*")), "no object stays behind"
