"""Migrating objects between the local folder and S3 (real SeaweedFS), and the local store's listing."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from storage.errors import StorageError
from storage.migrate import Outcome, migrate
from storage.objects import LocalObjectStore
from storage.s3 import SHA256_HEADER, S3ObjectStore
from tests.fixtures_s3 import SeaweedServer

OBJECTS = {
    "dossiers/A-1/d1/original.pdf": b"%PDF-1.4 dossier A-1",
    "dossiers/A-1/d1/text.txt": "Giấy chứng nhận".encode(),
    "dossiers/B-2/d2/original.tif": os.urandom(300_000),
    "inbox/d3/empty.bin": b"",
    "models/procedure-model.json": b'{"version": 1}',
}


def filled_local(root: Path) -> LocalObjectStore:
    store = LocalObjectStore(root)
    for key, data in OBJECTS.items():
        store.put_bytes(key, data, content_type="application/octet-stream")
    return store


def contents(store: LocalObjectStore | S3ObjectStore) -> dict[str, bytes]:
    return {key: store.get_bytes(key) for key in sorted(store.keys())}


def test_local_to_s3_to_local_round_trip(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    source = filled_local(tmp_path / "before")
    there = migrate(source, s3_store)
    assert (there.copied, there.skipped, there.failed) == (len(OBJECTS), 0, 0)
    assert contents(s3_store) == OBJECTS
    for key, data in OBJECTS.items():
        assert s3_store.sha256_of(key) == hashlib.sha256(data).hexdigest()

    back_store = LocalObjectStore(tmp_path / "after")
    back = migrate(s3_store, back_store)
    assert (back.copied, back.skipped, back.failed) == (len(OBJECTS), 0, 0)
    assert contents(back_store) == OBJECTS


def test_large_objects_pass_through_a_temporary_file(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    source = LocalObjectStore(tmp_path / "objects")
    big = os.urandom(6 * 1024 * 1024 + 5)
    source.put_bytes("inbox/big/original.tif", big, content_type="image/tiff")
    source.put_bytes("inbox/small/text.txt", b"small", content_type="text/plain")
    work = tmp_path / "work"
    work.mkdir()
    report = migrate(source, s3_store, memory_limit=1024 * 1024, work_dir=work)
    assert (report.copied, report.failed) == (2, 0)
    assert s3_store.get_bytes("inbox/big/original.tif") == big
    assert list(work.iterdir()) == [], "the scratch folder is removed afterwards"


def test_second_run_skips_everything(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    source = filled_local(tmp_path / "objects")
    migrate(source, s3_store)
    seen: list[tuple[str, Outcome]] = []
    again = migrate(source, s3_store, progress=lambda key, outcome: seen.append((key, outcome)))
    assert (again.copied, again.skipped, again.failed) == (0, len(OBJECTS), 0)
    assert sorted(seen) == sorted((key, "skipped") for key in OBJECTS)


def test_interrupted_migration_resumes(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    source = filled_local(tmp_path / "objects")
    first = migrate(source, s3_store, prefix="dossiers/A-1/")
    assert first.copied == 2
    rest = migrate(source, s3_store)
    assert (rest.copied, rest.skipped) == (len(OBJECTS) - 2, 2)
    assert contents(s3_store) == OBJECTS


def test_corrupted_local_target_is_copied_again(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    for key, data in OBJECTS.items():
        s3_store.put_bytes(key, data, content_type="application/octet-stream")
    target = LocalObjectStore(tmp_path / "objects")
    migrate(s3_store, target)
    (tmp_path / "objects" / "dossiers/A-1/d1/original.pdf").write_bytes(b"bit rot")
    report = migrate(s3_store, target)
    assert (report.copied, report.skipped) == (1, len(OBJECTS) - 1)
    assert target.get_bytes("dossiers/A-1/d1/original.pdf") == OBJECTS["dossiers/A-1/d1/original.pdf"]


def test_tampered_s3_target_needs_deep_verification(
    s3_server: SeaweedServer, s3_store: S3ObjectStore, tmp_path: Path
) -> None:
    source = filled_local(tmp_path / "objects")
    migrate(source, s3_store)
    key = "dossiers/A-1/d1/original.pdf"
    recorded = {SHA256_HEADER: s3_store.sha256_of(key)}
    s3_server.client().put_object(s3_store.bucket, key, io.BytesIO(b"forged"), 6, metadata=recorded)
    shallow = migrate(source, s3_store)
    assert shallow.copied == 0, "the recorded digest still matches: only reading the bytes can tell"
    deep = migrate(source, s3_store, deep_verify=True)
    assert (deep.copied, deep.skipped) == (1, len(OBJECTS) - 1)
    assert s3_store.get_bytes(key) == OBJECTS[key]


def test_one_bad_object_does_not_stop_the_rest(
    s3_server: SeaweedServer, s3_store: S3ObjectStore, tmp_path: Path
) -> None:
    for key, data in OBJECTS.items():
        s3_store.put_bytes(key, data, content_type="application/octet-stream")
    bad = "dossiers/B-2/d2/original.tif"
    recorded = {SHA256_HEADER: s3_store.sha256_of(bad)}
    s3_server.client().put_object(s3_store.bucket, bad, io.BytesIO(b"rotten"), 6, metadata=recorded)
    target = LocalObjectStore(tmp_path / "objects")
    seen: dict[str, Outcome] = {}
    report = migrate(s3_store, target, progress=lambda key, outcome: seen.__setitem__(key, outcome))
    assert (report.copied, report.skipped, report.failed) == (len(OBJECTS) - 1, 0, 1)
    assert [(failure.key, failure.code) for failure in report.failures] == [(bad, "storage.corrupt")]
    assert seen[bad] == "failed"
    assert not target.exists(bad), "a corrupt source is never copied"
    assert set(target.keys()) == set(OBJECTS) - {bad}


def test_local_keys_skip_temporaries_and_filter_by_prefix(tmp_path: Path) -> None:
    store = filled_local(tmp_path / "objects")
    (tmp_path / "objects" / "inbox" / "d3" / ".incoming-abc").write_bytes(b"half written")
    assert sorted(store.keys()) == sorted(OBJECTS)
    assert sorted(store.keys("dossiers/A-1/")) == ["dossiers/A-1/d1/original.pdf", "dossiers/A-1/d1/text.txt"]
    assert sorted(store.keys("dossiers/")) == sorted(k for k in OBJECTS if k.startswith("dossiers/"))
    assert sorted(store.keys("dossiers/A")) == ["dossiers/A-1/d1/original.pdf", "dossiers/A-1/d1/text.txt"]
    assert list(store.keys("absent/folder/")) == []
    with pytest.raises(StorageError) as caught:
        list(store.keys("../outside/"))
    assert caught.value.code == "storage.invalid_key"
