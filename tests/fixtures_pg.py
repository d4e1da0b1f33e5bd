"""Pytest plugin: real PostgreSQL databases for tests, made fresh and dropped afterwards.

`postgres_url` is one database for the whole session; `pg_database` a new empty one per test (creating
one from template0 takes 15-60 ms here, dropping it about 25 ms). The server is the one at
SOHOA_TEST_POSTGRES_URL (default `postgresql://postgres@127.0.0.1:5432/postgres`), whose user must be
allowed to create databases. No server means failing tests, not skipped ones: we test against real servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.serving import free_port

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


class PrivateServer:
    """A PostgreSQL server of one test's own (initdb in a temporary folder, a free port), for tests that
    restart their server: restarting the machine's shared one would cut off any other test run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = _postgres_bin()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres user
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "60", "start")

    def restart(self) -> None:
        """Stop and start again on the same port (the options are kept in postmaster.opts; the log file
        is not, and without it the new server would hold this call's output pipes open)."""
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop", check=False)

    def _run(self, tool: str, *arguments: str, check: bool = True) -> None:
        command = [str(self.bin / tool), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{tool} failed: {done.stderr or done.stdout}")


def _postgres_bin() -> Path:
    """The newest PostgreSQL server binaries installed (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
    return found[-1].parent


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    """A PostgreSQL server of this test's own, started; stopped and removed afterwards. Its folder is
    directly under the temp dir: pytest's own is closed to the postgres user the server runs as."""
    folder = Path(tempfile.mkdtemp(prefix="sohoa-test-postgres-"))
    server = PrivateServer(folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
