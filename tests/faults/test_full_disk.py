"""A full data disk in embedded mode: the import stops with `storage.full`, leaves nothing half-written, and
the same command finishes the batch once space is freed.

The data folder is a small tmpfs mounted for the test (needs root, as CI here has); the real `sohoa import`
runs against it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.services import build_services
from ingest.settings import load_settings
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository
from tests.faults.test_faults import _scans

pytestmark = pytest.mark.faults

SOHOA = Path(sys.executable).parent / "sohoa"
FILES = 10


class SmallDisk:
    """A tmpfs of a chosen size at `path`, which can be grown later (space freed)."""

    def __init__(self, path: Path, size_bytes: int) -> None:
        self.path = path
        path.mkdir(parents=True)
        self._mount("-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path))

    def grow(self, size_bytes: int) -> None:
        self._mount("-o", f"remount,size={size_bytes}", str(self.path))

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)

    @staticmethod
    def _mount(*arguments: str) -> None:
        done = subprocess.run(["mount", *arguments], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here (root needed): {done.stderr.strip()}")


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    for number, data in enumerate(_scans(FILES, seed=41)):
        (folder / f"trang-{number:02d}.jpg").write_bytes(data)
    return folder


@pytest.fixture
def small_disk(tmp_path: Path, scans: Path) -> Iterator[SmallDisk]:
    """Room for the database and a part of the batch: it fills while originals are stored or read."""
    originals = sum(path.stat().st_size for path in scans.iterdir())
    disk = SmallDisk(tmp_path / "data", originals * 6 // 10 + 1_200_000)
    yield disk
    disk.unmount()


def _import(scans: Path, data: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SOHOA_DATA_DIR": str(data),
        "SOHOA_WORKERS": "2",
        "SOHOA_LANGUAGE": "vi",
        "TMPDIR": str(tmp_path),  # spool and scratch files off the small disk, as the temp folder is
        "COLUMNS": "120",
    }
    env.pop("SOHOA_BROKER_URL", None)
    env.pop("SOHOA_DATABASE_URL", None)
    return subprocess.run(
        [str(SOHOA), "import", str(scans)], env=env, capture_output=True, text=True, timeout=900, check=False
    )


def test_a_full_disk_stops_the_import_cleanly_and_a_rerun_finishes_it(
    scans: Path, small_disk: SmallDisk, tmp_path: Path
) -> None:
    data = small_disk.path
    first = _import(scans, data, tmp_path)
    said = first.stdout + first.stderr
    assert first.returncode == 1, said
    assert "storage.full" in said and "Ổ đĩa lưu dữ liệu đã đầy" in said, said
    assert "Traceback" not in said

    small_disk.grow(256 * 1024 * 1024)  # space freed
    assert not list(data.rglob(".incoming-*")), "a half-written object was left behind"
    sources = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in scans.iterdir()}
    services = build_services(load_settings(data_dir=data, broker_url=None, database_url=None))
    try:
        with services.db.unit_of_work() as session:
            stored = {d.source: d for d in DocumentRepository(session).iter_all()}
        unfinished = [d for d in stored.values() if d.status != DocumentStatus.DONE]
        print(f"disk full after {len(stored)} of {FILES} originals; {len(unfinished)} not done")
        assert stored and (len(stored) < FILES or unfinished), "the disk should fill part-way through"
        assert all(d.status != DocumentStatus.FAILED or d.error_code == "storage.full" for d in unfinished)
        referenced = set()
        for document in stored.values():
            assert services.store.sha256_of(document.original_key) == sources[document.source]
            referenced.add(document.original_key)
            if document.status in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW):
                referenced.update(k for k in (document.pdf_key, document.text_key, document.words_key) if k)
        objects = set(services.store.keys(""))
        assert objects == referenced, f"objects no row points at: {sorted(objects - referenced)}"
    finally:
        services.close()

    second = _import(scans, data, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    services = build_services(load_settings(data_dir=data, broker_url=None, database_url=None))
    try:
        with services.db.unit_of_work() as session:
            documents = list(DocumentRepository(session).iter_all())
        assert sorted(d.source for d in documents) == sorted(sources)
        for document in documents:
            assert document.status in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW), (
                document.source,
                document.status,
                document.error_code,
            )
            assert services.store.sha256_of(document.original_key) == sources[document.source]
    finally:
        services.close()
