"""Long documents: worker memory and time per page of a 500-page scan against a 10-page one.

    .venv/bin/python bench/longdoc.py [--pages 500] [--small 10] [--modes embedded,celery]
                                      [--broker redis://127.0.0.1:6379/14]

Two scanned PDFs, 300 dpi A4, the degraded pages of `bench/memory.py` (from `examples/synth.py`) cycled,
one image object per page, written to disk page by page. Each is processed:
- embedded: the real pipeline in the embedded pool (`LocalRunner`) with one worker process, SQLite and local
  objects, as `sohoa import` runs it;
- celery: PostgreSQL (a fresh database on SOHOA_BENCH_POSTGRES_URL) + Redis and a real
  `sohoa worker --concurrency 1`; documents of `fan_out_min_pages` pages or more go page by page through
  page tasks, then one finishing task, as in production.
Each mode warms its worker up on a one-page document first. Wall time runs from handing the document over
until the database says it is finished. Peak RSS is sampled (psutil, every 50 ms, while that document is
processed) over the worker's Python processes and, separately, its tesseract children. Prints per mode the
pages, wall time, seconds per page, peak RSS, and the large/small ratios (targets: memory and time per page
within 10%). Not a test: numbers for the README.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import psycopg
from PIL import Image
from psycopg import sql

from bench.memory import scans
from ingest.celery_app import create_celery, enqueue
from ingest.intake import intake
from ingest.runner import LocalRunner
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository

ADMIN_URL = os.environ.get("SOHOA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SAMPLE_SECONDS = 0.05
TARGET = 1.10
"""The large document may need at most 10% more memory, and 10% more time per page, than the small one."""


# --- the scans ---------------------------------------------------------------------------------------


def write_scanned_pdf(path: Path, jpegs: list[bytes], pages: int, *, dpi: float = 300.0) -> Path:
    """A PDF of `pages` pages, page n showing JPEG n mod len(jpegs) full-page at `dpi`, one image object
    per page; written object by object, so even 500 pages of 1.3 MB never sit in memory."""
    kinds = []
    for data in jpegs:
        with Image.open(io.BytesIO(data)) as image:
            kinds.append((image.width, image.height, "DeviceGray" if image.mode == "L" else "DeviceRGB"))
    offsets: dict[int, int] = {}
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

        def put(number: int, body: bytes, stream: bytes | None = None) -> None:
            offsets[number] = out.tell()
            out.write(f"{number} 0 obj\n".encode() + body)
            if stream is not None:
                out.write(b"\nstream\n" + stream + b"\nendstream")
            out.write(b"\nendobj\n")

        for index in range(pages):
            data = jpegs[index % len(jpegs)]
            width, height, space = kinds[index % len(jpegs)]
            w_pt, h_pt = width * 72.0 / dpi, height * 72.0 / dpi
            page, content, picture = 3 + 3 * index, 4 + 3 * index, 5 + 3 * index
            draw = f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Im0 Do Q".encode()
            put(
                page,
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt:.3f} {h_pt:.3f}] "
                f"/Resources << /XObject << /Im0 {picture} 0 R >> >> /Contents {content} 0 R >>".encode(),
            )
            put(content, f"<< /Length {len(draw)} >>".encode(), draw)
            put(
                picture,
                f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /{space} "
                f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(data)} >>".encode(),
                data,
            )
        kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(pages))
        put(2, f"<< /Type /Pages /Count {pages} /Kids [{kids}] >>".encode())
        put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref = out.tell()
        count = 3 + 3 * pages
        out.write(f"xref\n0 {count}\n0000000000 65535 f \n".encode())
        for number in range(1, count):
            out.write(f"{offsets[number]:010d} 00000 n \n".encode())
        out.write(f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return path


# --- measuring -----------------------------------------------------------------------------------------


class PeakRss:
    """Samples the resident memory of a process tree's Python processes and tesseract children."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.worker_mb = 0.0
        self.tesseract_mb = 0.0
        self._stop = threading.Event()

    @contextmanager
    def window(self) -> Iterator[PeakRss]:
        """Sample while the `with` block runs; peaks start from zero for each window."""
        self.worker_mb = self.tesseract_mb = 0.0
        self._stop.clear()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            for process in self._processes():
                try:
                    name, rss = process.name(), process.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                if "tesseract" in name:
                    self.tesseract_mb = max(self.tesseract_mb, rss)
                else:
                    self.worker_mb = max(self.worker_mb, rss)

    def _processes(self) -> list[psutil.Process]:
        try:
            children = self.root.children(recursive=True)
        except psutil.Error:
            return []
        # Embedded mode: the workers are our children; Celery: the worker and its pool are the root's tree.
        return children if self.root.pid == os.getpid() else [self.root, *children]


@dataclass(frozen=True)
class Row:
    """One document through one mode."""

    mode: str
    pages: int
    seconds: float
    worker_mb: float
    tesseract_mb: float

    @property
    def seconds_per_page(self) -> float:
        return self.seconds / self.pages


def wait_finished(services: Services, document_id: str, timeout: float) -> DocumentStatus:
    """Poll the database until the document is finished; returns its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is not None and DocumentStatus(document.status).finished:
                return DocumentStatus(document.status)
        time.sleep(0.2)
    raise TimeoutError(f"document {document_id} not finished after {timeout:.0f} s")


def take_in(services: Services, path: Path) -> str:
    """Store one original (the bench process reads it; the worker never holds it whole)."""
    return intake(services, path.read_bytes(), source=path.name).document_id


def measure(
    mode: str, services: Services, peaks: PeakRss, path: Path, pages: int, run: Callable[[str], None]
) -> Row:
    """Hand one document over with `run` and time it until finished, sampling memory meanwhile."""
    document_id = take_in(services, path)
    with peaks.window():
        started = time.perf_counter()
        run(document_id)
        status = wait_finished(services, document_id, timeout=24 * 3600)
        seconds = time.perf_counter() - started
    if status is DocumentStatus.FAILED:
        raise RuntimeError(f"{path.name} failed in {mode} mode")
    print(f"  {mode}: {pages} pages in {seconds:.1f} s ({status.value})", flush=True)
    return Row(mode, pages, seconds, peaks.worker_mb, peaks.tesseract_mb)


# --- the two modes ---------------------------------------------------------------------------------------


def run_embedded(data_dir: Path, warmup: Path, documents: list[tuple[Path, int]]) -> list[Row]:
    """The embedded pool with one worker process, warmed up, then each document in turn."""
    settings = load_settings(data_dir=data_dir, workers=1, broker_url=None, database_url=None)
    services = build_services(settings)
    peaks = PeakRss(os.getpid())
    try:
        with LocalRunner(services) as runner:

            def run(document_id: str) -> None:
                runner.settle(document_id, runner.submit(document_id))

            run(take_in(services, warmup))
            return [measure("embedded", services, peaks, path, pages, run) for path, pages in documents]
    finally:
        services.close()


def run_celery(data_dir: Path, broker: str, warmup: Path, documents: list[tuple[Path, int]]) -> list[Row]:
    """A real `sohoa worker --concurrency 1` on a fresh PostgreSQL database, warmed up, then each document."""
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    name = f"sohoa_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = load_settings(data_dir=data_dir, database_url=url, broker_url=broker, workers=1)
    app = create_celery(settings)
    app.control.purge()
    services = build_services(settings)
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "sohoa"), "worker", "--concurrency=1", "--queues=bulk"],
        env={**os.environ, **worker_env(settings)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        peaks = PeakRss(worker.pid)

        def run(document_id: str) -> None:
            enqueue(app, document_id)

        warm = take_in(services, warmup)
        run(warm)
        wait_finished(services, warm, timeout=300)
        return [measure("celery", services, peaks, path, pages, run) for path, pages in documents]
    finally:
        worker.terminate()
        worker.wait(timeout=120)
        services.close()
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


def worker_env(settings: Settings) -> dict[str, str]:
    """The settings a worker subprocess needs, as SOHOA_* variables."""
    values = {
        "data_dir": settings.data_dir,
        "database_url": settings.database_url,
        "broker_url": settings.broker_url,
        "workers": settings.workers,
    }
    return {f"SOHOA_{key.upper()}": str(value) for key, value in values.items() if value is not None}


# --- report ------------------------------------------------------------------------------------------------


def report(rows: list[Row], small: int, large: int) -> None:
    """One table of every row, then the large/small ratios per mode against the targets."""
    print("\n| mode | pages | wall s | s/page | peak RSS MB (worker / tesseract) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.mode} | {row.pages} | {row.seconds:.1f} | {row.seconds_per_page:.2f} "
            f"| {row.worker_mb:.0f} / {row.tesseract_mb:.0f} |"
        )
    print()
    for mode in dict.fromkeys(row.mode for row in rows):
        short = next(r for r in rows if r.mode == mode and r.pages == small)
        long = next(r for r in rows if r.mode == mode and r.pages == large)
        memory = long.worker_mb / short.worker_mb
        pace = long.seconds_per_page / short.seconds_per_page
        print(
            f"- {mode}, {large} / {small} pages: worker peak RSS {memory:.3f} "
            f"(target ≤ {TARGET:.2f}: {'met' if memory <= TARGET else 'not met'}), "
            f"s/page {pace:.3f} (target ≤ {TARGET:.2f}: {'met' if pace <= TARGET else 'not met'})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=500, help="pages of the long document")
    parser.add_argument("--small", type=int, default=10, help="pages of the short document")
    parser.add_argument("--modes", default="embedded,celery", help="comma-separated: embedded, celery")
    parser.add_argument("--distinct", type=int, default=6, help="distinct scans the pages cycle through")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - {"embedded", "celery"}:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")

    print(
        f"# bench/longdoc.py — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{args.small} vs {args.pages} pages, modes {', '.join(modes)}"
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sohoa-longdoc-") as tmp:
        folder = Path(tmp)
        jpegs = scans(args.distinct)
        warmup = write_scanned_pdf(folder / "warmup.pdf", jpegs[-1:], 1)
        documents = [
            (write_scanned_pdf(folder / f"scan-{n}.pdf", jpegs, n), n) for n in (args.small, args.pages)
        ]
        size = documents[1][0].stat().st_size / 2**20
        print(f"long document: {args.pages} pages, {size:.0f} MB on disk", flush=True)
        for mode in modes:
            if mode == "embedded":
                rows += run_embedded(folder / "embedded", warmup, documents)
            else:
                rows += run_celery(folder / "celery", args.broker, warmup, documents)
    report(rows, args.small, args.pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
