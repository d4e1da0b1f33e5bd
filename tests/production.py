"""Pytest plugin: production mode on real servers — PostgreSQL, Redis, SeaweedFS S3 and real worker processes.

`production_settings` gives settings pointing at a fresh PostgreSQL database, this run's own Redis
database (claimed, so runs side by side never share one) as the broker, and a fresh S3 bucket on the
session's SeaweedFS; `rabbitmq_broker_url` is this run's own RabbitMQ vhost. `Workers` starts `sohoa
worker` processes with those settings (the same command operators run) and stops them at the end of the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from ingest.celery_app import create_celery
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository
from tests.fixtures_pg import PrivateServer, connect_admin, create_database, database_url, drop_database

REDIS_URL = os.environ.get("SOHOA_TEST_REDIS_URL", "redis://127.0.0.1:6379")
RABBITMQ_URL = os.environ.get("SOHOA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
CLAIMS_DB = 0
"""Where test runs claim their Redis database (`sohoa-test:redis-db:N` = the run), never used as a broker."""
CLAIM_SECONDS = 4 * 3600
"""A crashed run's claim lapses after this; longer than any CI run."""
SOHOA = Path(sys.executable).parent / "sohoa"


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as the SOHOA_* environment a worker or API subprocess reads."""
    values = settings.model_dump(exclude_none=True)
    for name in values:
        if isinstance(secret := getattr(settings, name), SecretStr):
            values[name] = secret.get_secret_value()
    return {f"SOHOA_{name.upper()}": str(value) for name, value in values.items()}


def run_label() -> str:
    """Names this test run among others on the machine (a developer's run beside CI's)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def redis_broker_url() -> Iterator[str]:
    """A Redis database (1–15) that this test run alone uses: claimed with SET NX in database 0, released
    at the end, so two `make test` on one machine never flush or read each other's queues."""
    claims = redis.Redis.from_url(f"{REDIS_URL}/{CLAIMS_DB}")
    run = run_label()
    try:
        free = (n for n in range(1, 16) if claims.set(_claim(n), run, nx=True, ex=CLAIM_SECONDS))
        number = next(free, None)
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); start it: `service redis-server start`")
    if number is None:
        pytest.fail("Redis databases 1–15 are all claimed by other test runs (keys sohoa-test:redis-db:*)")
    url = f"{REDIS_URL}/{number}"
    redis.Redis.from_url(url).flushdb()  # what a crashed run left behind
    yield url
    redis.Redis.from_url(url).flushdb()
    if claims.get(_claim(number)) == run.encode():
        claims.delete(_claim(number))


def _claim(number: int) -> str:
    return f"sohoa-test:redis-db:{number}"


def rabbitmqctl(*arguments: str) -> None:
    """Run `rabbitmqctl` (vhosts are made and dropped with it), failing the test with its output."""
    try:
        done = subprocess.run(
            ["rabbitmqctl", *arguments], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"rabbitmqctl {' '.join(arguments)} failed: {exc}")
    if done.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(arguments)} failed: {done.stderr or done.stdout}")


@pytest.fixture(scope="session")
def rabbitmq_broker_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test run alone (made with `rabbitmqctl`, deleted afterwards): purging
    its queues cannot touch another run's."""
    parts = urlsplit(RABBITMQ_URL)
    vhost = f"sohoa-test-{run_label()}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def production_settings(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: Any, redis_broker_url: str
) -> Iterator[Settings]:
    """Settings for production mode: PostgreSQL, this run's Redis database as the broker (emptied),
    SeaweedFS S3 (a new bucket). A test marked `own_postgres` gets a PostgreSQL server of its own
    (`private_postgres`), which it may restart without cutting off other tests."""
    client = redis.Redis.from_url(redis_broker_url)
    client.flushdb()
    own = request.node.get_closest_marker("own_postgres") is not None
    if own:
        server: PrivateServer = request.getfixturevalue("private_postgres")
        with psycopg.connect(server.admin_url, autocommit=True) as private:
            name = create_database(private)
        url = make_url(server.admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        name = create_database(request.getfixturevalue("postgres_admin"))
        url = database_url(name)
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=url,
        broker_url=redis_broker_url,
        s3_endpoint=s3_server.endpoint,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_bucket=f"faults-{os.urandom(4).hex()}",
        s3_secure=False,
        workers=2,
        retry_backoff_max_seconds=4.0,
        document_timeout_seconds=600.0,
    )
    yield settings
    client.flushdb()
    if not own:  # a private server goes with its database
        with connect_admin() as admin:  # a fault test may have restarted the server since
            drop_database(admin, name)


class Workers:
    """`sohoa worker` processes started for one test; their output goes to a log file for failures."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 1, queues: str = "interactive,bulk") -> subprocess.Popen[bytes]:
        """Start one worker and wait until it answers a ping."""
        index = len(self.processes)
        log = (self.log_dir / f"worker-{index}.log").open("wb")
        env = {**os.environ, **settings_env(self.settings), "OMP_THREAD_LIMIT": "1"}
        process = subprocess.Popen(
            [str(SOHOA), "worker", f"--concurrency={concurrency}", f"--queues={queues}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        app = create_celery(self.settings)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited: {self.log(index)}")
            if app.control.ping(timeout=1.0):
                return process
        raise RuntimeError(f"the worker did not answer within 60 s: {self.log(index)}")

    def log(self, index: int = 0, *, tail: int | None = 6000) -> str:
        """A worker's output (its last `tail` characters; all of it with tail=None)."""
        path = self.log_dir / f"worker-{index}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text if tail is None else text[-tail:]

    @staticmethod
    def children(process: subprocess.Popen[bytes]) -> list[int]:
        """The pool processes of a worker (the ones that run tasks)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == process.pid:
                    found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """Stop every worker: a warm shutdown, then SIGKILL for any that hangs."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def workers(production_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    """Start workers with `workers.start()`; all are stopped after the test."""
    started = Workers(production_settings, tmp_path)
    yield started
    started.stop()


@pytest.fixture
def production_services(production_settings: Settings) -> Iterator[Services]:
    """This process's services on the production servers (for intake and checks)."""
    services = build_services(production_settings)
    yield services
    services.close()


def wait_until_finished(services: Services, ids: list[str], *, timeout: float) -> dict[str, DocumentStatus]:
    """Poll until every document is finished; survives the database going away for a while."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, DocumentStatus] = {}
    while time.monotonic() < deadline:
        try:
            with services.db.unit_of_work() as session:
                repository = DocumentRepository(session)
                for document_id in ids:
                    document = repository.get(document_id)
                    statuses[document_id] = (
                        DocumentStatus(document.status) if document else DocumentStatus.FAILED
                    )
        except Exception:  # the database restarting: try again
            time.sleep(1)
            continue
        if all(status.finished for status in statuses.values()) and len(statuses) == len(ids):
            return statuses
        time.sleep(0.5)
    unfinished = {k: v for k, v in statuses.items() if not v.finished}
    raise AssertionError(f"{len(unfinished)} documents unfinished after {timeout:.0f} s: {unfinished}")


class PrivateRedis:
    """A Redis server of one test (its own port and folder), which the test may kill and start again
    without touching the machine's shared Redis. `aof`: with the append-only file, as a persistent broker."""

    def __init__(self, directory: Path, *, aof: bool) -> None:
        from tests.serving import free_port

        self.directory = directory
        self.aof = aof
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        arguments += ["--save", "", "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec"]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(["redis-server", *arguments], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Die as a crash would: SIGKILL, no shutdown save."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PrivateRedis]:
    """This test's own Redis (AOF when the test is parametrized with `aof=True` via `request.param`)."""
    server = PrivateRedis(tmp_path / "redis", aof=bool(getattr(request, "param", False)))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def fresh_rabbitmq_vhost() -> Iterator[str]:
    """A vhost for one test that closes its connections (the session's vhost stays usable for the rest)."""
    parts = urlsplit(RABBITMQ_URL)
    vhost = f"sohoa-test-{run_label()}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))
    finally:
        rabbitmqctl("delete_vhost", vhost)
