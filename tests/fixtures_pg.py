"""Pytest plugin: real PostgreSQL databases for tests, made fresh and dropped afterwards.

`postgres_url` is one database for the whole session; `pg_database` a new empty one per test (creating
one from template0 takes 15-60 ms here, dropping it about 25 ms). The server is the one at
SOHOA_TEST_POSTGRES_URL (default `postgresql://postgres@127.0.0.1:5432/postgres`), whose user must be
allowed to create databases. No server means failing tests, not skipped ones: we test against real servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

ADMIN_URL_VARIABLE = "SOHOA_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_START = (
    "start one (Debian: `pg_ctlcluster 15 main start`; Docker: `docker run -d -p 5432:5432 "
    "-e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) or set {variable} to a server where this user may "
    "create databases"
)


def admin_url() -> str:
    """Where test databases are created: a libpq URL (`postgresql://...`) to an existing database."""
    url = make_url(os.environ.get(ADMIN_URL_VARIABLE, DEFAULT_ADMIN_URL)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def database_url(name: str) -> str:
    """The admin URL pointed at database `name`."""
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def connect_admin() -> psycopg.Connection:
    """An autocommit connection to the admin database, or a test failure saying how to get one."""
    url = admin_url()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = HOW_TO_START.format(variable=ADMIN_URL_VARIABLE)
        pytest.fail(f"PostgreSQL is not reachable at {url} ({exc}); {message}", pytrace=False)


def create_database(admin: psycopg.Connection, prefix: str = "sohoa_test") -> str:
    """A new empty database with a random name; returns the name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name))
    )
    return name


def drop_database(admin: psycopg.Connection, name: str) -> None:
    """Drop the database, first ending any connection a test left open."""
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def postgres_admin() -> Iterator[psycopg.Connection]:
    """An admin connection for creating and dropping databases, new per test (connecting takes ~5 ms):
    a test that restarts the server must not leave later tests a dead connection."""
    admin = connect_admin()
    yield admin
    admin.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database shared by the whole session (tests must not rely on it being empty)."""
    with connect_admin() as admin:
        name = create_database(admin)
    yield database_url(name)
    with connect_admin() as admin:
        drop_database(admin, name)


@pytest.fixture
def pg_database(postgres_admin: psycopg.Connection) -> Iterator[str]:
    """A fresh, empty database for one test (no tables, no migrations)."""
    name = create_database(postgres_admin)
    yield database_url(name)
    drop_database(postgres_admin, name)
