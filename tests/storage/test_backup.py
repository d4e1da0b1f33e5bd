"""`storage.backup`: a snapshot of a real installation (documents the pipeline processed, accounts, a signing
certificate, the audit trail, a catalog import, webhooks…) restored into fresh ones — SQLite with a local
folder, PostgreSQL with S3, and back — gives every row and every object's SHA-256 back; what is not empty,
damaged or of another revision is refused with its code."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from examples.synth import EXAMPLES, write_example
from ingest.catalogs import import_catalog
from ingest.filing import refile
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import load_settings
from storage import errors as storage_errors
from storage.audit import AuditEvent, record_audit, verify_audit
from storage.backup import (
    MANIFEST,
    NOT_OBJECT_KEYS,
    OBJECT_REFERENCES,
    SKIPPED_TABLES,
    Phase,
    backup,
    find_snapshot,
    restore,
)
from storage.db import Database, create_database, current_revision, upgrade_database
from storage.errors import BackupError
from storage.models import (
    Base,
    Document,
    DocumentStatus,
    Identity,
    ImportItem,
    ImportRun,
    Page,
    PageLease,
    ProcedureCorrection,
    SigningCertificate,
    Stack,
    Unit,
    Webhook,
    WebhookDelivery,
    WebSession,
)
from storage.objects import LocalObjectStore, ObjectStore
from storage.repositories import DossierRepository
from storage.s3 import S3ObjectStore
from storage.search import search_documents
from tests.documents import read_document

DOSSIER = "000.00.21.H61-260112-0001"
MOVED_TO = "000.00.21.H61-260112-0002"
SEALED = bytes(range(256)) * 3
"""Stands in for a sealed PKCS#12: every byte value, so base64 must round-trip them all."""


def _spec(name: str) -> Any:
    return next(spec for spec in EXAMPLES if spec.name == name)


def populate(services: Services, folder: Path) -> None:
    """Two documents through the real pipeline (one filed under the dossier its receipt names), two as the
    pipeline leaves them, and a row in every other table."""
    for name in ("ket-hon-ban-dien-tu.pdf", "ho-so-ho-kinh-doanh.tif"):
        path = write_example(_spec(name), folder)
        taken = intake(services, path.read_bytes(), source=path.name)
        assert process_document(services, taken.document_id) == DocumentStatus.DONE
    with services.db.unit_of_work() as session:
        session.add(Unit(code="xa-an-binh", name="UBND xã An Bình"))
    birth = read_document(
        services, "khai-sinh.png", text="GIẤY KHAI SINH Nguyễn Văn An", dossier=DOSSIER, unit="xa-an-binh"
    )
    read_document(services, "tam-tru.png", text="tờ khai thay đổi thông tin cư trú", age_hours=30)
    stack_key = "stacks/5e30aa/original.pdf"
    services.store.put_bytes(stack_key, b"%PDF-1.4 stack", content_type="application/pdf")
    services.store.put_bytes("work/big/blob.bin", os.urandom(3 * 1024 * 1024 + 17), content_type="x/y")
    with services.db.unit_of_work() as session:
        user = Identity(
            id="u1", kind="user", name="lan", role="reviewer", unit="xa-an-binh", password_hash="$a"
        )
        session.add(user)
        session.flush()
        session.add(
            SigningCertificate(
                identity_id="u1",
                sealed_pkcs12=SEALED,
                subject="CN=Trần Thị Lan",
                issuer="CN=CA",
                serial="01",
                fingerprint="ab" * 32,
                not_before=datetime(2026, 1, 1, tzinfo=UTC),
                not_after=datetime(2028, 1, 1, tzinfo=UTC),
            )
        )
        session.add(
            WebSession(
                token_hash="cd" * 32,
                identity_id="u1",
                csrf_token="x",
                expires_at=datetime.now(UTC) + timedelta(hours=8),
            )
        )
        session.add(
            Stack(
                id="5e30aa",
                source="chong.pdf",
                sha256="ef" * 32,
                size_bytes=14,
                original_key=stack_key,
                page_count=3,
            )
        )
        document = session.get(Document, birth)
        assert document is not None
        document.received_on = date(2026, 1, 12)
        document.applicant = "Nguyễn Văn An"
        session.add(PageLease(document_id=birth, number=1, done=True))
        session.add(
            ProcedureCorrection(
                document_id=birth, old_procedure=None, new_procedure="khai-sinh", corrected_by="user:lan"
            )
        )
        session.add(
            ImportRun(id="imp1", request={"paths": ["/scans"], "dry_run": False}, state="finished", runs=2)
        )
        session.flush()
        session.add(ImportItem(import_id="imp1", source="khai-sinh.png", document_id=birth, pages=1))
        session.add(
            Webhook(id="h1", url="https://hcc.example/hook", secret="s" * 32, events=[], owner_id="u1")
        )
        session.flush()
        session.add(
            WebhookDelivery(
                hook_id="h1",
                event="document.done",
                event_key=f"{birth}:1",
                payload={"id": birth, "score": 0.125},
            )
        )
    catalog = folder / "tinh.jsonl"
    catalog.write_text(
        json.dumps({"code": "1.000894", "name": "Đăng ký kết hôn", "levels": ["Cấp xã"]}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    import_catalog(services.db, services.store, catalog, actor="cli:test")
    for action in ("document.read", "search", "procedure.correct"):
        record_audit(
            services.db,
            AuditEvent(actor="user:lan", action=action, document_id=birth, detail={"q": "khai sinh"}),
        )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A populated embedded installation, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("source")
    services = build_services(
        load_settings(data_dir=folder / "data", broker_url=None, database_url=None, workers=2)
    )
    try:
        populate(services, folder)
        yield services
    finally:
        services.close()


@pytest.fixture
def empty_install(tmp_path: Path) -> Iterator[Callable[[str], tuple[Database, LocalObjectStore]]]:
    """Makes fresh, empty SQLite + local-folder installations (nothing migrated yet)."""
    made: list[Database] = []

    def make(name: str) -> tuple[Database, LocalObjectStore]:
        folder = tmp_path / name
        folder.mkdir(parents=True)
        db = create_database(f"sqlite:///{folder / 'sohoa.db'}", create_tables=False)
        made.append(db)
        return db, LocalObjectStore(folder / "objects")

    yield make
    for db in made:
        db.dispose()


def table_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model table, in key order, datetimes as aware UTC (SQLite gives naive ones)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value

    with db.engine.connect() as connection:
        return {
            table.name: [
                tuple(plain(v) for v in row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def object_digests(store: ObjectStore) -> dict[str, str]:
    return {key: hashlib.sha256(store.get_bytes(key)).hexdigest() for key in store.keys(prefix="")}


def assert_same_installation(original: Services, db: Database, store: ObjectStore) -> None:
    """Every object's SHA-256, every row (sign-in sessions aside), search and the audit chain as before."""
    assert object_digests(store) == object_digests(original.store)
    before, after = table_rows(original.db), table_rows(db)
    assert before["web_sessions"] and after["web_sessions"] == []
    for name in before:
        if name not in SKIPPED_TABLES:
            assert after[name] == before[name], name
    with db.unit_of_work() as session:
        hits = search_documents(session, "giay khai sinh")
        assert [hit.document_id for hit in hits] == [_birth(original)]
        assert search_documents(session, "KẾT HÔN"), "the pipeline's documents are searchable too"
    restored, kept = verify_audit(db), verify_audit(original.db)
    assert restored.intact and (restored.entries, restored.head) == (kept.entries, kept.head)


def _birth(services: Services) -> str:
    with services.db.unit_of_work() as session:
        return session.scalars(select(Document.id).where(Document.source == "khai-sinh.png")).one()


def test_a_snapshot_restored_into_a_fresh_installation_gives_every_row_and_object_back(
    source: Services, tmp_path: Path, empty_install: Callable[[str], tuple[Database, LocalObjectStore]]
) -> None:
    phases: list[Phase] = []
    report = backup(source.db, source.store, tmp_path / "backup", progress=lambda p, _d, _t: phases.append(p))
    assert report.complete and report.attempts == 1 and report.revision and report.dialect == "sqlite"
    assert report.objects == len(list(source.store.keys())) and report.rows["documents"] == 4
    assert "web_sessions" not in report.rows and report.rows["signing_certificates"] == 1
    assert {"tables", "objects"} <= set(phases)
    assert report.snapshot.parent == tmp_path / "backup" and report.snapshot.name.endswith("Z")
    manifest = json.loads((report.snapshot / MANIFEST).read_text())
    assert manifest["revision"] == report.revision and manifest["skipped_tables"] == ["web_sessions"]
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == dict(report.rows)
    assert manifest["search"]["rows"] == 4 and manifest["problems"] == []
    with gzip.open(report.snapshot / "db" / "signing_certificates.jsonl.gz", "rt") as rows:
        [certificate] = [json.loads(line) for line in rows]
    assert certificate["not_after"] == "2028-01-01T00:00:00+00:00" and isinstance(
        certificate["sealed_pkcs12"], str
    )
    stored = list((tmp_path / "backup" / "objects").glob("*/*"))
    assert all(path.name == hashlib.sha256(path.read_bytes()).hexdigest() for path in stored)

    db, store = empty_install("restored")
    restored = restore(report.snapshot, db, store)
    assert restored.objects == report.objects and dict(restored.rows) == dict(report.rows)
    assert restored.indexed == 4 and restored.sequences == 0 and not restored.problems
    assert_same_installation(source, db, store)
    with db.unit_of_work() as session:
        certificate_row = session.get(SigningCertificate, "u1")
        assert certificate_row is not None and certificate_row.sealed_pkcs12 == SEALED
        session.add(Page(document_id=_birth(source), number=2, text="trang 2", text_source="ocr"))
        session.flush()  # a new row takes the next id: nothing restored collides with it


def test_a_second_backup_into_the_same_folder_copies_no_object_again(
    services: Services, tmp_path: Path, empty_install: Callable[[str], tuple[Database, LocalObjectStore]]
) -> None:
    read_document(services, "a.png", text="giấy khai sinh", dossier=DOSSIER)
    folder = tmp_path / "backup"
    first = backup(services.db, services.store, folder)
    held = sorted(path.name for path in (folder / "objects").glob("*/*"))
    second = backup(services.db, services.store, folder)
    assert (second.copied, second.copied_bytes) == (0, 0)
    assert second.objects == first.objects and second.snapshot != first.snapshot
    assert sorted(path.name for path in (folder / "objects").glob("*/*")) == held

    new = read_document(services, "b.png", text="đăng ký thường trú")
    third = backup(services.db, services.store, folder)
    assert third.copied == 2, "the new original and its searchable PDF (its words file has known bytes)"
    assert third.objects == first.objects + 3
    assert find_snapshot(folder) == third.snapshot

    db, store = empty_install("from-the-first")
    restore(first.snapshot, db, store)  # an older snapshot restores alone, objects shared or not
    assert object_digests(store) == {k: v for k, v in object_digests(services.store).items() if new not in k}


def test_an_object_moved_while_the_objects_are_copied_makes_the_backup_read_the_database_again(
    services: Services, tmp_path: Path, empty_install: Callable[[str], tuple[Database, LocalObjectStore]]
) -> None:
    document_id = read_document(services, "a.png", text="giấy khai sinh")
    moved: list[str] = []

    def file_it_meanwhile(phase: Phase, done: int, _total: int) -> None:
        """What the pipeline does when a document's dossier is found: copy, repoint the row, delete."""
        if phase != "objects" or done != 0 or moved:
            return
        with services.db.unit_of_work() as session:
            document = session.get(Document, document_id)
            assert document is not None
            DossierRepository(session).ensure(MOVED_TO)
            moves = refile(services, document, MOVED_TO)
            document.dossier_code = MOVED_TO
        for old, new in moves:
            services.store.delete(old)
            moved.append(new)

    report = backup(services.db, services.store, tmp_path / "backup", progress=file_it_meanwhile)
    assert moved and report.attempts == 2 and report.complete
    db, store = empty_install("restored")
    restore(report.snapshot, db, store)
    with db.unit_of_work() as session:
        document = session.get(Document, document_id)
        assert document is not None and document.original_key.startswith(f"dossiers/{MOVED_TO}/")
    assert all(store.exists(key) for key in moved)
    assert object_digests(store) == object_digests(services.store)


def test_an_object_missing_from_the_store_is_reported_in_the_snapshot_not_hidden(
    services: Services, tmp_path: Path, empty_install: Callable[[str], tuple[Database, LocalObjectStore]]
) -> None:
    document_id = read_document(services, "a.png", text="giấy khai sinh")
    words = f"documents/{document_id}/words.tsv"
    services.store.delete(words)  # lost behind sohoa's back
    report = backup(services.db, services.store, tmp_path / "backup")
    assert not report.complete and report.attempts == 3
    [problem] = report.problems
    assert (problem.key, problem.code) == (words, storage_errors.BACKUP_MISSING_OBJECT)
    assert f"documents.words_key of {document_id}" in problem.message
    manifest = json.loads((report.snapshot / MANIFEST).read_text())
    assert manifest["problems"] == [{"key": words, "code": problem.code, "message": problem.message}]
    db, store = empty_install("restored")
    restored = restore(report.snapshot, db, store)
    assert restored.problems == report.problems and not store.exists(words)


@pytest.mark.parametrize("what", ["database", "store"])
def test_a_restore_refuses_a_database_or_store_that_is_not_empty(
    source: Services,
    tmp_path: Path,
    what: str,
    empty_install: Callable[[str], tuple[Database, LocalObjectStore]],
) -> None:
    snapshot = backup(source.db, source.store, tmp_path / "backup").snapshot
    db, store = empty_install("busy")
    if what == "database":
        upgrade_database(db.engine)
        with db.unit_of_work() as session:
            session.add(Unit(code="xa-khac", name="xã khác"))
    else:
        store.put_bytes("inbox/x/original.pdf", b"%PDF", content_type="application/pdf")
    with pytest.raises(BackupError) as refused:
        restore(snapshot, db, store)
    assert refused.value.code == storage_errors.BACKUP_NOT_EMPTY
    if what == "database":
        rows = {name: len(found) for name, found in table_rows(db).items() if found}
        assert rows == {"units": 1} and list(store.keys()) == []
    else:
        assert list(store.keys()) == ["inbox/x/original.pdf"]
        assert current_revision(db.engine) is None, "refused before migrating anything"


@pytest.mark.parametrize("damage", ["flipped_byte", "truncated", "missing", "table_file", "manifest"])
def test_a_damaged_snapshot_is_refused_as_corrupt_and_leaves_nothing_behind(
    source: Services,
    tmp_path: Path,
    damage: str,
    empty_install: Callable[[str], tuple[Database, LocalObjectStore]],
) -> None:
    report = backup(source.db, source.store, tmp_path / "backup")
    objects = sorted((tmp_path / "backup" / "objects").glob("*/*"), key=lambda p: p.stat().st_size)
    victim = objects[-1]  # the largest object (uploaded after others: the refusal must take those back)
    if damage == "flipped_byte":
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:-1])
    elif damage == "missing":
        victim.unlink()
    elif damage == "table_file":
        (report.snapshot / "db" / "pages.jsonl.gz").write_bytes(gzip.compress(b'{"id": 1}\n'))
    else:
        manifest = json.loads((report.snapshot / MANIFEST).read_text())
        (report.snapshot / MANIFEST).write_text(json.dumps({**manifest, "objects": {"count": 3}}))
    db, store = empty_install("restored")
    for _ in range(2):  # nothing half-done stays: running it again refuses the same way, not as "not empty"
        with pytest.raises(BackupError) as refused:
            restore(tmp_path / "backup", db, store)
        assert refused.value.code == storage_errors.BACKUP_CORRUPT
        assert list(store.keys()) == []
    if damage == "flipped_byte":  # found while uploading: the schema is there, without a row
        assert all(rows == [] for rows in table_rows(db).values())
    else:  # found before anything was written
        assert current_revision(db.engine) is None


def test_a_snapshot_of_another_revision_is_refused(
    source: Services, tmp_path: Path, empty_install: Callable[[str], tuple[Database, LocalObjectStore]]
) -> None:
    snapshot = backup(source.db, source.store, tmp_path / "backup").snapshot
    manifest = json.loads((snapshot / MANIFEST).read_text())
    (snapshot / MANIFEST).write_text(json.dumps({**manifest, "revision": "0001"}))
    db, store = empty_install("restored")
    with pytest.raises(BackupError) as refused:
        restore(snapshot, db, store)
    assert refused.value.code == storage_errors.BACKUP_REVISION_MISMATCH
    with pytest.raises(BackupError) as absent:
        restore(tmp_path / "nowhere", db, store)
    assert absent.value.code == storage_errors.BACKUP_NOT_FOUND


def test_a_backup_folder_overlapping_the_object_folder_is_refused(services: Services) -> None:
    for target in (
        services.settings.data_dir,
        services.settings.objects_dir,
        services.settings.objects_dir / "b",
    ):
        with pytest.raises(BackupError) as refused:
            backup(services.db, services.store, target)
        assert refused.value.code == storage_errors.BACKUP_BAD_TARGET
    assert not (services.settings.objects_dir / "objects").exists()


def test_every_key_column_is_known_to_name_an_object_or_not() -> None:
    key_columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_key")
    }
    assert key_columns == OBJECT_REFERENCES | NOT_OBJECT_KEYS, (
        "say in storage.backup whether it names an object"
    )


def test_from_sqlite_to_postgresql_and_s3_and_back(
    source: Services,
    tmp_path: Path,
    pg_database: str,
    s3_store: S3ObjectStore,
    empty_install: Callable[[str], tuple[Database, LocalObjectStore]],
) -> None:
    snapshot = backup(source.db, source.store, tmp_path / "from-sqlite").snapshot
    postgres = create_database(pg_database, create_tables=False)
    try:
        restored = restore(snapshot, postgres, s3_store)
        assert restored.source_dialect == "sqlite" and restored.sequences == 4
        assert_same_installation(source, postgres, s3_store)
        with postgres.unit_of_work() as session:
            largest = max(session.scalars(select(Page.id)))
            page = Page(document_id=_birth(source), number=9, text="thêm", text_source="ocr")
            session.add(page)
            session.flush()
            assert page.id == largest + 1, "the id sequence was moved past the restored ids"
            session.rollback()

        back = backup(postgres, s3_store, tmp_path / "from-postgresql")
        assert back.dialect == "postgresql" and back.complete and dict(back.rows) == dict(restored.rows)
    finally:
        postgres.dispose()
    db, store = empty_install("back-on-sqlite")
    restore(back.snapshot, db, store)
    assert_same_installation(source, db, store)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_rows_written_while_the_tables_are_read_are_not_in_the_snapshot(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_database") if dialect == "postgresql" else None
    services = build_services(load_settings(data_dir=tmp_path / "data", database_url=url, broker_url=None))
    try:
        read_document(services, "a.png", text="giấy khai sinh", dossier=DOSSIER)
        record_audit(services.db, AuditEvent(actor="cli:test", action="document.read"))
        written: list[str] = []

        def write_meanwhile(phase: Phase, done: int, _total: int) -> None:
            """Right after the first table (the audit trail) was read, commit rows into later ones."""
            if phase == "tables" and done == 1 and not written:
                record_audit(services.db, AuditEvent(actor="cli:test", action="search"))
                with services.db.unit_of_work() as session:
                    session.add(Unit(code="xa-moi", name="xã mới"))
                    DossierRepository(session).ensure(MOVED_TO)
                written.append("yes")

        report = backup(services.db, services.store, tmp_path / "backup", progress=write_meanwhile)
        assert written and report.dialect == dialect
        assert (report.rows["audit_entries"], report.rows["units"], report.rows["dossiers"]) == (1, 0, 1)
    finally:
        services.close()
