"""The three OCR engines of the benchmark, each run in a fresh worker process on the same pages.

The parent writes a job (JSON) and starts `python -m bench.engines JOB RESULT` with one tesseract thread
(`OMP_THREAD_LIMIT=1`); the worker imports only what its engine needs, runs the pages one after the other and
writes per-page text and timings plus peak memory of itself and of its child processes (tesseract, and for
OCRmyPDF also unpaper and Ghostscript). Timings start after the imports.

Peak memory is VmHWM from /proc, not `getrusage(...).ru_maxrss`: Linux carries ru_maxrss over fork and exec,
so a child started by a 600 MB process reports at least 600 MB even if it is `true` (the rusage numbers are
kept in the result for reference). The worker's own VmHWM is exact; its descendants' are sampled every
`SAMPLE_SECONDS` (VmHWM only grows, so a sample misses at most the last moments of a process).

- sohoa: `ocr.decode.open_document` → `ocr.page.process_page` per page → the stored searchable PDF per
  document, as `ingest.pipeline._analyse` does (`_searchable_pdf` mirrors it: keep the two in step).
- tesseract: `tesseract IMAGE - -l LANG` per page image, text from stdout.
- ocrmypdf: its command line (`ocrmypdf.__main__.run`, what `python -m ocrmypdf` runs) in the worker
  process itself, so the worker's own peak RSS is OCRmyPDF's; `--sidecar` text split on form feeds into pages.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

EngineName = Literal["sohoa", "tesseract", "ocrmypdf"]
ENGINES: tuple[EngineName, ...] = ("sohoa", "tesseract", "ocrmypdf")
TESSERACT_TIMEOUT_SECONDS = 600
WORKER_TIMEOUT_SECONDS = 6 * 3600
OCRMYPDF_ARGS = ("--deskew", "--clean", "--rotate-pages", "--force-ocr")
SKIPPED_RE = re.compile(r"^\[OCR skipped on page\(s\) (\d+)(?:-(\d+))?\]$")
FACING_RE = re.compile(r"page is facing (\S), confidence ([\d.]+) - (.*)$")
FACING = {"⇧": 0, "⇨": 90, "⇩": 180, "⇦": 270}
SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class JobDocument:
    """One input file as sohoa receives it, and the page images plain tesseract reads for its pages."""

    path: str
    page_images: list[str]


@dataclass(frozen=True)
class JobPdf:
    """One PDF as OCRmyPDF receives it and its page count."""

    path: str
    pages: int


@dataclass(frozen=True)
class Job:
    """What one worker does: one engine over a dataset's pages, in order."""

    engine: EngineName
    lang: str
    work_dir: str
    documents: list[JobDocument]
    pdfs: list[JobPdf]


@dataclass
class PageOutput:
    """What an engine produced for one page."""

    text: str = ""
    seconds: float = 0.0
    rotation: int | None = None
    """Clockwise quarter turn the engine applied; None when the engine does not say."""
    blank: bool | None = None
    error: str | None = None


@dataclass
class EngineOutput:
    """A worker's result: pages in job order, wall time of the work, peak RSS in MB."""

    engine: str
    pages: list[PageOutput]
    seconds: float
    rss_self_mb: float
    rss_children_mb: float
    rss_trace_mb: list[float] = field(default_factory=list)
    """sohoa only: the worker's resident memory after each page (growth shows leaks)."""
    errors: list[str] = field(default_factory=list)
    code: str = ""
    """Where the engine's code came from (module folder or version)."""
    children_mb: dict[str, float] = field(default_factory=dict)
    """Peak resident memory of the worker's descendants, by program name."""
    rusage_mb: dict[str, float] = field(default_factory=dict)
    """getrusage ru_maxrss of self and children, inflated by fork inheritance (see the module docstring)."""
    notes: list[str] = field(default_factory=list)
    """What the engine said about its decisions (OCRmyPDF: orientation per page)."""


def job_to_json(job: Job) -> str:
    return json.dumps(asdict(job), ensure_ascii=False)


def job_from_json(text: str) -> Job:
    raw = json.loads(text)
    return Job(
        raw["engine"],
        raw["lang"],
        raw["work_dir"],
        [JobDocument(**d) for d in raw["documents"]],
        [JobPdf(**p) for p in raw["pdfs"]],
    )


def output_from_json(text: str) -> EngineOutput:
    raw = json.loads(text)
    pages = [PageOutput(**p) for p in raw.pop("pages")]
    return EngineOutput(pages=pages, **raw)


def worker_env() -> dict[str, str]:
    """The environment of a worker: one OpenMP thread for tesseract, the repository importable."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONPATH=str(repo_root()))
    return env


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def run_worker(job: Job, *, python: str = sys.executable) -> EngineOutput:
    """Run `job` in a fresh interpreter and return what it wrote; a crash becomes an output with an error."""
    work = Path(job.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    job_path, result_path, log_path = (work / f"{job.engine}.{s}" for s in ("job.json", "result.json", "log"))
    job_path.write_text(job_to_json(job), encoding="utf-8")
    result_path.unlink(missing_ok=True)
    with log_path.open("w") as log:
        done = subprocess.run(
            [python, "-m", "bench.engines", str(job_path), str(result_path)],
            cwd=repo_root(),
            env=worker_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=WORKER_TIMEOUT_SECONDS,
            check=False,
        )
    if done.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace")[-2000:]
        count = sum(len(d.page_images) for d in job.documents)
        return EngineOutput(
            job.engine,
            [PageOutput(error="worker failed") for _ in range(count)],
            0.0,
            0.0,
            0.0,
            errors=[f"worker exited with {done.returncode}: {tail}"],
        )
    return output_from_json(result_path.read_text(encoding="utf-8"))


# --- in the worker --------------------------------------------------------------------------------


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def status_kb(pid: int | str, key: str) -> int:
    """A kB figure (VmRSS:, VmHWM:, …) from /proc/PID/status; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


class ChildPeaks:
    """Samples the peak resident memory (VmHWM) of this process's descendants while in its `with` block."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        self.interval = interval
        self.peaks_kb: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            for pid in _descendants(me):
                peak = status_kb(pid, "VmHWM:")
                name = _status_name(pid)
                if peak and name and peak > self.peaks_kb.get(pid, ("", 0))[1]:
                    self.peaks_kb[pid] = (name, peak)

    def by_name_mb(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, kb in self.peaks_kb.values():
            out[name] = max(out.get(name, 0.0), round(kb / 1024, 1))
        return out


def _status_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _finish(output: EngineOutput, peaks: ChildPeaks) -> EngineOutput:
    """Fill in the memory figures of a finished run."""
    output.rss_self_mb = round(status_kb("self", "VmHWM:") / 1024, 1)
    output.children_mb = peaks.by_name_mb()
    output.rss_children_mb = max(output.children_mb.values(), default=0.0)
    output.rusage_mb = {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    return output


def _searchable_pdf(data: bytes, decoded: Any, results: list[Any]) -> bytes:
    """The stored PDF of one document, built as `ingest.pipeline._analyse` builds it."""
    from ocr.decode import MediaType, file_dpi
    from ocr.searchable_pdf import build_searchable_pdf, image_source_pdf

    if decoded.media_type is MediaType.PDF:
        source_pdf = data
    else:
        frames = (page.image for page in decoded.pages())
        source_pdf = image_source_pdf(data, dpi=file_dpi(data), frames=frames)
    return build_searchable_pdf(source_pdf, [page.layer for page in results])


def _run_sohoa(job: Job) -> EngineOutput:
    import ocr
    from ocr.decode import open_document
    from ocr.errors import OcrError
    from ocr.page import PageOptions, PageResult, process_page
    from ocr.tesseract import TesseractEngine

    engine, options = TesseractEngine(languages=job.lang), PageOptions()
    pages: list[PageOutput] = []
    errors: list[str] = []
    trace: list[float] = []
    start = time.perf_counter()
    for document in job.documents:
        expected = len(document.page_images)
        done: list[PageOutput] = []
        data = Path(document.path).read_bytes()
        try:
            with tempfile.TemporaryDirectory(prefix="bench-sohoa-", dir=job.work_dir) as spool:
                decoded = open_document(data, dpi=300)
                results: list[PageResult] = []
                tick = time.perf_counter()
                for source in decoded.pages():
                    result = process_page(source, engine=engine, options=options, spool=Path(spool))
                    results.append(result)
                    now = time.perf_counter()
                    done.append(PageOutput(result.text, now - tick, result.rotation, result.blank))
                    trace.append(round(_rss_now_mb(), 1))
                    tick = now
                _searchable_pdf(data, decoded, results)
        except OcrError as exc:
            errors.append(f"{document.path}: {exc}")
            done += [PageOutput(error=str(exc)) for _ in range(expected - len(done))]
        if len(done) != expected:
            errors.append(f"{document.path}: {len(done)} pages read, {expected} expected")
            done = (done + [PageOutput(error="page missing") for _ in range(expected)])[:expected]
        pages += done
    seconds = time.perf_counter() - start
    return EngineOutput("sohoa", pages, seconds, 0.0, 0.0, trace, errors, str(Path(ocr.__file__).parent))


def _run_tesseract(job: Job) -> EngineOutput:
    pages: list[PageOutput] = []
    errors: list[str] = []
    start = time.perf_counter()
    for image in (i for d in job.documents for i in d.page_images):
        tick = time.perf_counter()
        done = subprocess.run(
            ["tesseract", image, "-", "-l", job.lang],
            capture_output=True,
            timeout=TESSERACT_TIMEOUT_SECONDS,
            check=False,
        )
        error = None
        if done.returncode != 0:
            error = f"tesseract exited with {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}"
            errors.append(f"{image}: {error}")
        pages.append(
            PageOutput(done.stdout.decode("utf-8", errors="replace"), time.perf_counter() - tick, error=error)
        )
    seconds = time.perf_counter() - start
    return EngineOutput("tesseract", pages, seconds, 0.0, 0.0, [], errors, _tesseract_version())


def _tesseract_version() -> str:
    done = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, timeout=60, check=False)
    return (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "tesseract"


def split_sidecar(text: str, pages: int) -> list[str]:
    """Per-page texts of an OCRmyPDF sidecar: pages are separated by form feeds, and a run of pages without
    OCR is one `[OCR skipped on page(s) A-B]` chunk (those pages get empty text)."""
    out: list[str] = []
    for chunk in text.split("\f"):
        match = SKIPPED_RE.match(chunk.strip())
        if match:
            first, last = int(match[1]), int(match[2] or match[1])
            out += [""] * (last - first + 1)
        else:
            out.append(chunk)
    if len(out) > pages and not "".join(out[pages:]).strip():
        out = out[:pages]  # a trailing form feed
    return out


class _RotationLog(logging.Handler):
    """Collects OCRmyPDF's "page is facing …" decisions: page number → clockwise turn it applied.

    OCRmyPDF 17 bakes the turn into the page (no /Rotate left to read), so its log is the only record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.turns: dict[int, int] = {}
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = FACING_RE.search(record.getMessage())
        try:
            page = int(str(getattr(record, "pageno", "")).strip())
        except ValueError:
            return
        if match:
            facing = FACING.get(match[1], 0)
            self.turns[page] = (360 - facing) % 360 if match[3].startswith("will rotate") else 0
            self.lines.append(f"page {page}: {record.getMessage()}")


def _run_ocrmypdf(job: Job) -> EngineOutput:
    from ocrmypdf import __version__
    from ocrmypdf.__main__ import run

    rotation_log = _RotationLog()
    logging.getLogger("ocrmypdf").addHandler(rotation_log)

    pages: list[PageOutput] = []
    errors: list[str] = []
    start = time.perf_counter()
    for index, pdf in enumerate(job.pdfs):
        out, sidecar = (Path(job.work_dir) / f"ocrmypdf-{index}.{s}" for s in ("pdf", "txt"))
        sidecar.unlink(missing_ok=True)
        args = [*OCRMYPDF_ARGS, "-l", job.lang, "--jobs", "1", "--sidecar", str(sidecar), pdf.path, str(out)]
        tick = time.perf_counter()
        rotation_log.turns.clear()
        rotation_log.lines.append(f"{Path(pdf.path).name}:")
        streams = sys.stdout, sys.stderr  # run() swaps them for its own console; the next run needs them
        try:
            code = run(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout, sys.stderr = streams
        seconds = time.perf_counter() - tick
        texts = split_sidecar(sidecar.read_text(encoding="utf-8"), pdf.pages) if sidecar.is_file() else []
        if code != 0 or len(texts) != pdf.pages:
            errors.append(f"{pdf.path}: exit {code}, {len(texts)} sidecar pages for {pdf.pages}")
        texts = (texts + [""] * pdf.pages)[: pdf.pages]
        rotations = [rotation_log.turns.get(page) for page in range(1, pdf.pages + 1)]
        pages += [
            PageOutput(text, seconds / pdf.pages, rotation)
            for text, rotation in zip(texts, rotations, strict=True)
        ]
    seconds = time.perf_counter() - start
    return EngineOutput(
        "ocrmypdf", pages, seconds, 0.0, 0.0, [], errors, f"ocrmypdf {__version__}", notes=rotation_log.lines
    )


RUNNERS: dict[str, Callable[[Job], EngineOutput]] = {
    "sohoa": _run_sohoa,
    "tesseract": _run_tesseract,
    "ocrmypdf": _run_ocrmypdf,
}


def main(argv: list[str]) -> int:
    """Worker entry point: `python -m bench.engines JOB.json RESULT.json`."""
    job = job_from_json(Path(argv[0]).read_text(encoding="utf-8"))
    with ChildPeaks() as peaks:
        output = RUNNERS[job.engine](job)
    output = _finish(output, peaks)
    payload: dict[str, Any] = asdict(output)
    Path(argv[1]).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


def cpu_model() -> str:
    """The CPU model name, for benchmark headers."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
