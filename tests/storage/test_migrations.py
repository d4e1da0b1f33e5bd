"""Alembic migrations on real SQLite and PostgreSQL: schema equals the models, reruns, legacy data, races."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ForeignKeyConstraint, MetaData, Table, inspect, text

from storage.db import create_database, current_revision, make_engine, upgrade_database
from storage.errors import StorageUnavailable
from storage.migrations import HEAD_REVISION, alembic_config, head_revision, include_name
from storage.models import Base, Document
from storage.search import index_document, search_documents
from tests import fixtures_pg

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with nothing in it yet, on each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sohoa.db'}"
    return str(request.getfixturevalue("pg_database"))


def schema_diff(url: str) -> list[Any]:
    """What autogenerate would change to make the database match the models (search tables ignored)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": include_name, "compare_type": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


LATER_TABLES = (
    "stacks",
    "imports",
    "import_items",
    "units",
    "identities",
    "audit_entries",
    "webhooks",
    "webhook_deliveries",
    "page_leases",
    "web_sessions",
    "catalog_versions",
    "signing_certificates",
)
LATER_DOCUMENT_COLUMNS = (
    "group_key",
    "stack_id",
    "given_procedure",
    "received_on",
    "applicant",
    "unit",
    "received_by",
    "withdrawn_at",
    "withdrawn_reason",
    "claimed_process",
    "heartbeat_at",
    "station",
    "catalog_version",
    "document_kind",
    "signed_by",
    "signed_at",
    "signature_error",
    "pdfa",
)
LATER_DOCUMENT_INDEXES = ("finished_at",)
"""Columns an old release had without the index a later revision gave them."""
"""What the models gained after the last release that used `create_all` (revisions 0003 to 0005)."""


def legacy_metadata() -> MetaData:
    """The models as `create_all` knew them before migrations: without what revisions 0003 to 0008 added."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name in LATER_TABLES:
            continue
        if table.name != "documents":
            table.to_metadata(metadata)
            continue
        columns = [c._copy() for c in table.columns if c.name not in LATER_DOCUMENT_COLUMNS]
        for column in columns:
            column.index = column.index and column.name not in LATER_DOCUMENT_INDEXES
        keys = [
            ForeignKeyConstraint(fk.column_keys, [e.target_fullname for e in fk.elements])
            for fk in table.foreign_key_constraints
            if not set(fk.column_keys) & set(LATER_DOCUMENT_COLUMNS)
        ]
        Table(table.name, metadata, *columns, *keys)
    return metadata


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _document(document_id: str, **fields: Any) -> Document:
    return Document(
        id=document_id,
        source=f"{document_id}.tif",
        sha256=document_id * 64,
        size_bytes=3,
        original_key=f"inbox/{document_id}/original.tif",
        **fields,
    )


def test_head_is_the_signing_revision_and_the_constant_says_so() -> None:
    assert HEAD == "0008"
    assert HEAD_REVISION == HEAD == head_revision(), "storage.migrations.HEAD_REVISION lags the scripts"


def test_fresh_database_is_migrated_to_head_and_matches_the_models(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade_database(empty_url)
    assert current_revision(empty_url) == HEAD
    assert {"dossiers", "documents", "pages", "procedure_corrections", "search_text"} <= table_names(
        empty_url
    )
    assert schema_diff(empty_url) == []


def test_the_comparison_does_see_differences(empty_url: str) -> None:
    upgrade_database(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_documents_status"))
    engine.dispose()
    [difference] = schema_diff(empty_url)
    assert difference[0] == "add_index" and difference[1].name == "ix_documents_status"


def test_upgrading_twice_changes_nothing(empty_url: str) -> None:
    first = create_database(empty_url)
    with first.unit_of_work() as session:
        session.add(_document("a"))
    first.dispose()
    tables = table_names(empty_url)
    second = create_database(empty_url)
    upgrade_database(second.engine)
    with second.unit_of_work() as session:
        assert session.get(Document, "a") is not None
        versions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    second.dispose()
    assert versions == [HEAD]
    assert table_names(empty_url) == tables


def test_downgrade_to_nothing_and_back(empty_url: str) -> None:
    upgrade_database(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(empty_url) <= {"alembic_version"}
    upgrade_database(engine)
    engine.dispose()
    assert current_revision(empty_url) == HEAD
    assert schema_diff(empty_url) == []


def test_a_create_all_database_is_stamped_and_upgraded_keeping_its_data(empty_url: str) -> None:
    engine = make_engine(empty_url)
    metadata = legacy_metadata()
    metadata.create_all(engine)  # what create_database did before migrations
    row = {c.key: getattr(_document("a"), c.key, None) for c in metadata.tables["documents"].columns}
    now = datetime.now(UTC)
    row.update(
        fields=[{"kind": "cccd", "value": "001203004567"}],
        status="queued",
        attempts=0,
        review_reasons=[],
        procedure_candidates=[],
        created_at=now,
        updated_at=now,
    )
    with engine.begin() as connection:  # rows as the old release wrote them (the ORM now has more columns)
        connection.execute(metadata.tables["documents"].insert().values(row))
        connection.execute(
            metadata.tables["pages"]
            .insert()
            .values(
                document_id="a",
                number=1,
                text="GIẤY KHAI SINH",
                text_source="ocr",
                blank=False,
                rotation=0,
                skew=0.0,
            )
        )
    engine.dispose()
    assert current_revision(empty_url) is None

    db = create_database(empty_url)
    assert current_revision(db.engine) == HEAD
    with db.unit_of_work() as session:
        document = session.get(Document, "a")
        assert document is not None
        assert document.fields == [{"kind": "cccd", "value": "001203004567"}]
        assert [page.text for page in document.pages] == ["GIẤY KHAI SINH"]
        index_document(session, "a", document.pages[0].text)
    with db.unit_of_work() as session:
        assert [hit.document_id for hit in search_documents(session, "giay khai sinh")] == ["a"]
    db.dispose()
    assert schema_diff(empty_url) == []


def test_a_database_from_an_older_release_gets_the_columns_it_missed(empty_url: str) -> None:
    engine = make_engine(empty_url)
    metadata = legacy_metadata()
    metadata.create_all(engine, tables=[metadata.tables[name] for name in ("dossiers", "documents", "pages")])
    with engine.begin() as connection:
        for column in ("words_key", "fields", "claimed_by"):
            connection.execute(text(f"ALTER TABLE documents DROP COLUMN {column}"))
        connection.execute(
            text(
                "INSERT INTO documents (id, source, sha256, size_bytes, status, review_reasons,"
                " procedure_candidates, original_key, attempts, created_at, updated_at)"
                " VALUES ('old', 'old.tif', :sha, 3, 'done', '[]', '[]', 'inbox/old/original.tif', 1,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"sha": "0" * 64},
        )
    engine.dispose()

    db = create_database(empty_url)
    with db.unit_of_work() as session:
        document = session.get(Document, "old")
        assert document is not None
        assert (document.fields, document.words_key, document.claimed_by) == ([], None, None)
    db.dispose()
    assert current_revision(empty_url) == HEAD
    assert schema_diff(empty_url) == []


def _migrate_in_child(url: str, barrier: Any, results: Any) -> None:
    """One worker process starting up: build the database as the services do, report the outcome."""
    try:
        barrier.wait(timeout=60)
        db = create_database(url)
        results.put(("ok", current_revision(db.engine)))
        db.dispose()
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_four_processes_migrating_one_fresh_database_at_once(empty_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_migrate_in_child, args=(empty_url, barrier, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert outcomes == [("ok", HEAD)] * 4
    engine = make_engine(empty_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    engine.dispose()
    assert schema_diff(empty_url) == []


def test_an_unreachable_database_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        create_database("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    assert caught.value.code == "storage.unavailable"


def test_the_session_database_is_ready_to_migrate(postgres_url: str) -> None:
    upgrade_database(postgres_url)
    assert current_revision(postgres_url) == HEAD


def test_no_postgresql_server_fails_saying_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fixtures_pg.ADMIN_URL_VARIABLE, "postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)PostgreSQL is not reachable.*start one"):
        fixtures_pg.connect_admin()


def test_a_new_connection_waits_for_a_writer_to_turn_a_fresh_sqlite_file_to_wal(tmp_path: Path) -> None:
    """The race behind a flaky start-up: SQLite refuses the WAL switch at once while another writes."""
    path = tmp_path / "fresh.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE scanner_notes (line TEXT)")
    writer.execute("BEGIN")
    writer.execute("INSERT INTO scanner_notes VALUES ('still writing')")
    release = threading.Timer(0.5, writer.execute, args=("COMMIT",))
    release.start()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("SELECT line FROM scanner_notes").scalar() == "still writing"
    finally:
        release.join()
        engine.dispose()
        writer.close()
