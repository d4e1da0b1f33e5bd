"""Database engine and sessions: SQLite (embedded) or PostgreSQL, same models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageUnavailable
from storage.models import Base


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
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close pooled connections (call after fork, and at shutdown)."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_database(url: str, *, create_tables: bool = True) -> Database:
    """Connect, make sure the tables exist, and return the `Database`."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create_tables:
        try:
            Base.metadata.create_all(engine)
        except OperationalError as exc:
            raise StorageUnavailable(f"cannot reach the database: {exc.orig}") from exc
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
