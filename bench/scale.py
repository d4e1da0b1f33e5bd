"""Throughput of production mode: pages per minute with 1 and 2 Celery workers, and the queue's overhead.

    .venv/bin/python bench/scale.py [--documents 24] [--workers 1 2] [--broker redis://127.0.0.1:6379/14]

In one run, on the same synthetic one-page scans (300 dpi, mildly degraded, all distinct):
- direct: `process_document` called in this process, one document after the other (no queue, no broker);
- celery N: a real `sohoa worker --concurrency N` process on the broker, documents enqueued on the bulk
  queue, timed from the first enqueue until the database says every document is finished.
Metadata goes to a fresh PostgreSQL database (SOHOA_BENCH_POSTGRES_URL, default the local server) and objects
to a local folder, the same for every row, so the difference between "direct" and "celery 1" is the queue:
broker round trips, task dispatch, the worker's own start-up excluded (it is warmed up first).
Not a test: numbers for the README.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import io

import psycopg
from psycopg import sql

from examples.synth import make_corpus
from ingest.celery_app import create_celery, enqueue
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository

ADMIN_URL = os.environ.get("SOHOA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Row:
    """One way of processing the same documents."""

    name: str
    pages: int
    seconds: float

    @property
    def pages_per_minute(self) -> float:
        """Throughput."""
        return 60.0 * self.pages / self.seconds

    @property
    def seconds_per_page(self) -> float:
        """Wall time per page."""
        return self.seconds / self.pages


def scans(count: int, seed: int) -> list[bytes]:
    """`count` distinct degraded one-page scans as JPEG files."""
    files = []
    for page in make_corpus(count, seed=seed, dpi=300):
        buffer = io.BytesIO()
        page.image.save(buffer, format="JPEG", quality=88, dpi=(300, 300))
        files.append(buffer.getvalue())
    return files


def fresh_database(admin: psycopg.Connection) -> tuple[str, str]:
    """A new empty PostgreSQL database; returns its name and URL."""
    name = f"sohoa_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def take_in(services: Services, files: list[bytes], label: str) -> list[str]:
    """Store the originals; returns the document ids."""
    return [intake(services, data, source=f"{label}-{i}.jpg").document_id for i, data in enumerate(files)]


def run_direct(settings: Settings, files: list[bytes]) -> Row:
    """Process every document in this process, one after the other."""
    services = build_services(settings)
    try:
        ids = take_in(services, files, "direct")
        started = time.perf_counter()
        for document_id in ids:
            process_document(services, document_id)
        return Row("direct call (no queue)", len(ids), time.perf_counter() - started)
    finally:
        services.close()


def wait_finished(services: Services, ids: list[str], timeout: float) -> None:
    """Poll the database until every document is finished."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} documents still unfinished")
        with services.db.unit_of_work() as session:
            repository = DocumentRepository(session)
            pending = {i for i in pending if not DocumentStatus(repository.get(i).status).finished}  # type: ignore[union-attr]
        time.sleep(0.1)


def run_celery(settings: Settings, files: list[bytes], concurrency: int, warmup: bytes) -> Row:
    """Start a worker with `concurrency` processes, warm it up, then time the documents through the queue."""
    services = build_services(settings)
    env = {**os.environ, **{f"SOHOA_{k.upper()}": str(v) for k, v in settings_env(settings).items()}}
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "sohoa"),
            "worker",
            f"--concurrency={concurrency}",
            "--queues=bulk",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    app = create_celery(settings)
    try:
        warm = [intake(services, warmup, source=f"warmup-{concurrency}.jpg").document_id]
        enqueue(app, warm[0])
        wait_finished(services, warm, timeout=300)
        ids = take_in(services, files, f"celery{concurrency}")
        started = time.perf_counter()
        for document_id in ids:
            enqueue(app, document_id)
        wait_finished(services, ids, timeout=3600)
        return Row(f"celery, {concurrency} worker process(es)", len(ids), time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        services.close()


def settings_env(settings: Settings) -> dict[str, object]:
    """The settings a worker subprocess needs, as SOHOA_* variables."""
    return {
        "data_dir": settings.data_dir,
        "database_url": settings.database_url,
        "broker_url": settings.broker_url,
        "workers": settings.workers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--documents", type=int, default=24, help="one-page documents per row")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker processes per row")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    print(
        f"# bench/scale.py — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, broker {args.broker}"
    )
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    made: list[str] = []
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sohoa-scale-") as tmp:
        try:
            # Distinct pages per row: a duplicate would be recognised by its SHA-256 and not processed again.
            def settings_for(label: str, broker: str | None) -> Settings:
                name, url = fresh_database(admin)
                made.append(name)
                return load_settings(
                    data_dir=Path(tmp) / label, database_url=url, broker_url=broker, workers=1
                )

            rows.append(run_direct(settings_for("direct", None), scans(args.documents, seed=1)))
            for n, concurrency in enumerate(args.workers, start=2):
                settings = settings_for(f"celery{concurrency}", args.broker)
                create_celery(settings).control.purge()
                files = scans(args.documents, seed=n)
                rows.append(run_celery(settings, files, concurrency, warmup=scans(1, seed=100 + n)[0]))
        finally:
            for name in made:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    direct = rows[0]
    print(f"\n{args.documents} one-page documents per row (300 dpi A4, mildly degraded)\n")
    print("| how | pages/min | s/page | vs direct |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.name} | {row.pages_per_minute:.1f} | {row.seconds_per_page:.2f} "
            f"| {row.pages_per_minute / direct.pages_per_minute:.2f}x |"
        )
    one = next((r for r in rows if r.name.startswith("celery, 1 ")), None)
    if one is not None:
        overhead = one.seconds_per_page / direct.seconds_per_page - 1
        print(f"\nqueue overhead per page (celery 1 worker vs direct): {100 * overhead:+.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
