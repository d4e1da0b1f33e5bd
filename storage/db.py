"""Database engine and sessions: SQLite (embedded) or PostgreSQL, same models, schema kept by Alembic."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.errors import StorageFull, StorageUnavailable, is_disk_full
from storage.migrations import HEAD_REVISION, alembic_config

MIGRATION_LOCK_KEY = 0x736F686F61_6462
"""PostgreSQL advisory lock ("sohoadb") held while one process migrates; the others wait, then see it done."""


def normalise_url(url: str) -> str:
    """Accept a plain `postgresql://` URL and pick the psycopg 3 driver for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass
class Database:
    """An engine plus its session factory; one per process."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            if is_disk_full(exc):
                raise StorageFull(f"the database has no space left: {exc}") from exc
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (call after fork, and at shutdown)."""
        self.engine.dispose()


SQLITE_POOL_SIZE = 20
"""SQLite connections kept open per process: enough for the API's busy threads, so a burst of requests
reuses connections instead of opening (and schema-loading) new ones and closing them again."""
SQLITE_WAL_SWITCH_SECONDS = 30.0
"""How long a new connection keeps trying to turn a fresh database to WAL while others open it too."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode, retrying while another process holds it.

    The switch needs an exclusive lock and SQLite answers "database is locked" at once, without its busy
    handler, when several processes open a fresh database together (four workers starting at once did).
    """
    deadline = time.monotonic() + SQLITE_WAL_SWITCH_SECONDS
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """An engine for this URL: SQLite with WAL, foreign keys and a busy timeout; others with pre-ping.

    `pooled=False` keeps no connection open between units of work: for a process that forks children
    (a Celery worker's main process), which must not inherit a live connection.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        pool: dict[str, Any] = (
            {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}
            if pooled
            else {"poolclass": NullPool}
        )
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not pooled:
        return create_engine(url, poolclass=NullPool)
    return create_engine(url, pool_pre_ping=True)


def create_database(url: str, *, create_tables: bool = True, pooled: bool = True) -> Database:
    """Connect, bring the schema up to date (unless told not to), and return the `Database`."""
    engine = make_engine(url, pooled=pooled)
    if create_tables:
        upgrade_database(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def upgrade_database(target: str | Engine | Connection, *, revision: str = "head") -> None:
    """Migrate to `revision`, first stamping a database `create_all` made before migrations existed.

    Safe to call from several processes at once: they take turns (advisory lock on PostgreSQL, write lock
    on SQLite) and the later ones find nothing left to do. A given Connection is migrated inside its own
    transaction, which the caller commits; an engine or URL gets a transaction committed here.
    """
    if isinstance(target, Connection):
        _upgrade_on(target, revision)
        return
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as connection:
            _upgrade_on(connection, revision)
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach or migrate the database: {exc.orig}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def current_revision(target: str | Engine | Connection) -> str | None:
    """The migration the database is at, or None for an empty (or pre-migration) database."""
    if isinstance(target, Connection):
        return _revision_on(target)
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect() as connection:
            return _revision_on(connection)
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


def _upgrade_on(connection: Connection, revision: str) -> None:
    if revision == "head" and _at_head(connection):
        return  # the usual start-up: nothing to do, so no lock to wait for and no alembic to import
    from alembic import command

    from storage.migrations.legacy import adopt_legacy_schema

    _take_migration_lock(connection)
    adopt_legacy_schema(connection)
    command.upgrade(alembic_config(connection), revision)


def _at_head(connection: Connection) -> bool:
    """Whether the database is at the shipped head, read with one query (no alembic)."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return versions == [HEAD_REVISION]


def _revision_on(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _take_migration_lock(connection: Connection) -> None:
    """Serialise migrations across processes until this transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            # sqlite3 opens transactions lazily (not for DDL); take the write lock before reading the version.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
