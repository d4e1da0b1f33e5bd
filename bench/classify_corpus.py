"""The labelled corpus of the classification benchmark (`bench/classify.py`) and its OCR, cached per page.

`plan_corpus` decides every document without drawing a pixel; `split_corpus` holds out whole dossiers;
`ocr_corpus` renders, spoils and reads each page once with sohoa's own page pipeline in a process pool and
caches what came out. Planning and splitting are pure, so tests run them without tesseract.

A dossier is one seed of one procedure: the same people on its application form, its receipt (QR code and
printed `Mã hồ sơ:`) and, where the procedure has one, its component document (`synth.make_component`).
Every dossier is scanned at one degradation level, so no page appears in two versions:

- clean: no defect, 300 dpi;
- scan: `synth.random_degradation`, 300 dpi;
- poor: 200 dpi, blur 1.0–1.6, noise 8–14, JPEG quality 35–55, skew ±5°, specks 0.2–0.4%, yellowed paper on
  half the pages, a dark scanner border on a third, and one page in eight turned 90/180/270°.

Each page is a one-page document: a JPEG (quality 90, dpi recorded) given to `ocr.decode.open_document` and
`ocr.page.process_page`, as `ingest.pipeline._analyse` does. Text, barcode payloads and the page's ground
truth land in `CACHE/<page name>.json`, keyed by `CORPUS_VERSION`, the tesseract version and language, and
hashes of `examples/synth.py` and the `ocr/` sources (so neither a new generator nor new OCR code is
scored on stale text); a rerun only reads those files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from examples import synth

CORPUS_VERSION = 1
"""Bump when the plan or the rendering changes in a way the source hashes of the cache key do not see."""
Kind = Literal["form", "receipt", "component"]
Level = Literal["clean", "scan", "poor"]
Split = Literal["train", "test"]
KINDS: tuple[Kind, ...] = ("form", "receipt", "component")
LEVELS: tuple[Level, ...] = ("clean", "scan", "poor")
LEVEL_DPI: dict[Level, int] = {"clean": 300, "scan": 300, "poor": 200}
FAMILIES = ("serif", "sans", "dejavu")
FILE_JPEG_QUALITY = 90
DEFAULT_DOCS_PER_KIND = 24
"""Documents of each kind per procedure (8 dossiers per level): 384 documents, 192 held out."""
QUICK_DOCS_PER_KIND = 2
"""--quick: 32 documents."""
OCR_TIMEOUT_SECONDS = 180.0
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PlannedDoc:
    """One one-page document of the corpus: what to render and how to spoil it."""

    name: str
    """Unique, file-name safe: `<procedure>-d<dossier>-<level>-<kind>`; the cache file's stem."""
    procedure_id: str
    kind: Kind
    level: Level
    dossier: int
    """Ordinal of the dossier within its procedure."""
    seed: int
    """The dossier's seed: its people, shared by its form, receipt and component."""
    family: str
    dpi: int
    degradation: synth.Degradation

    @property
    def carries_code(self) -> bool:
        """Only receipts print the dossier code (and hold it in their QR code)."""
        return self.kind == "receipt"


def kinds_of(procedure_id: str) -> tuple[Kind, ...]:
    """The kinds of page a procedure's dossier holds: a component only where the procedure has one."""
    return KINDS if synth.PROCEDURES[procedure_id].components else ("form", "receipt")


def level_degradation(level: Level, rng: np.random.Generator) -> synth.Degradation:
    """The defects of one page scanned at `level` (see the module docstring)."""
    if level == "clean":
        return synth.Degradation()
    if level == "scan":
        return synth.random_degradation(rng)
    turn = int(rng.choice((0, 90, 180, 270), p=(7 / 8, 1 / 24, 1 / 24, 1 / 24)))
    return synth.Degradation(
        rotate=90 if turn == 90 else 180 if turn == 180 else 270 if turn == 270 else 0,
        skew=round(float(rng.uniform(-5.0, 5.0)), 2),
        noise=round(float(rng.uniform(8.0, 14.0)), 1),
        blur=round(float(rng.uniform(1.0, 1.6)), 2),
        jpeg_quality=int(rng.integers(35, 56)),
        border_mm=round(float(rng.uniform(3.0, 8.0)), 1) if rng.random() < 1 / 3 else 0.0,
        yellow=round(float(rng.uniform(0.3, 0.8)), 2) if rng.random() < 0.5 else 0.0,
        specks=round(float(rng.uniform(0.002, 0.004)), 4),
    )


def dossier_seed(corpus_seed: int, procedure_index: int, dossier: int) -> int:
    """A dossier's own seed (people, defects), independent of every other dossier's."""
    return int(np.random.SeedSequence([corpus_seed, procedure_index, dossier]).generate_state(1)[0])


def plan_corpus(docs_per_kind: int, *, seed: int = 2026) -> list[PlannedDoc]:
    """`docs_per_kind` dossiers per procedure, levels taking turns (shifted per procedure so a small corpus
    still covers all three), each dossier one document of each of its kinds; deterministic in the args."""
    if docs_per_kind < 2:
        raise ValueError("need at least 2 documents per kind: one to train on, one to test")
    docs: list[PlannedDoc] = []
    for p_index, procedure_id in enumerate(synth.PROCEDURES):
        for dossier in range(docs_per_kind):
            level = LEVELS[(dossier + p_index) % len(LEVELS)]
            d_seed = dossier_seed(seed, p_index, dossier)
            for kind in kinds_of(procedure_id):
                rng = np.random.default_rng([d_seed, KINDS.index(kind)])
                family = FAMILIES[int(rng.integers(len(FAMILIES)))]
                docs.append(
                    PlannedDoc(
                        f"{procedure_id}-d{dossier:02d}-{level}-{kind}",
                        procedure_id,
                        kind,
                        level,
                        dossier,
                        d_seed,
                        family,
                        LEVEL_DPI[level],
                        level_degradation(level, rng),
                    )
                )
    if len({d.seed for d in docs}) != len(synth.PROCEDURES) * docs_per_kind:
        raise ValueError("two dossiers drew the same seed; choose another corpus seed")
    return docs


def split_corpus(
    docs: Sequence[PlannedDoc], *, test_share: float = 0.5, seed: int = 2026
) -> dict[str, Split]:
    """Hold out whole dossiers (so no person is on both sides), stratified by procedure and level.

    Within a procedure the levels are visited in a random order and the held-out count follows the
    cumulative share (rounded half up), so the levels' shares stay even and a small corpus does not always
    hold out the same level; every procedure keeps at least one dossier on each side. All kinds of a
    dossier go together, so kinds are stratified as well."""
    if not 0 < test_share < 1:
        raise ValueError("test share must be strictly between 0 and 1")
    rng = np.random.default_rng([seed, 4])
    held: set[int] = set()
    for procedure_id in dict.fromkeys(d.procedure_id for d in docs):
        mine = [d for d in docs if d.procedure_id == procedure_id]
        chosen: list[int] = []
        order: list[int] = []
        count = 0
        for level in (LEVELS[i] for i in rng.permutation(len(LEVELS))):
            seeds = sorted({d.seed for d in mine if d.level == level})
            seeds = [seeds[i] for i in rng.permutation(len(seeds))]
            want = math.floor((count + len(seeds)) * test_share + 0.5) - math.floor(count * test_share + 0.5)
            chosen += seeds[:want]
            order += seeds
            count += len(seeds)
        if count >= 2 and not chosen:
            chosen = order[:1]
        if count >= 2 and len(chosen) == count:
            chosen = chosen[:-1]
        held.update(chosen)
    return {d.name: "test" if d.seed in held else "train" for d in docs}


# --- rendering and OCR (in the worker processes) ---------------------------------------------------


@dataclass(frozen=True)
class PageRecord:
    """What the benchmark keeps of one page: the pipeline's reading and the page's ground truth."""

    text: str
    payloads: tuple[str, ...]
    """Barcode/QR payloads the page pipeline decoded."""
    ocr_confidence: float | None
    rotation: int
    seconds: float
    """Wall time of decode → cleanup → OCR of this page (rendering not included)."""
    truth_lines: tuple[str, ...]
    """The lines drawn on the page (`SynthPage.lines`)."""
    dossier_code: str | None
    """The dossier code printed on the page (receipts only), else None."""
    error: str | None = None
    """The OcrError code when the page could not be read."""


def render(doc: PlannedDoc) -> tuple[bytes, synth.SynthPage]:
    """The page as a scanner would deliver it (JPEG bytes) and its synthetic truth."""
    make = {"form": synth.make_page, "receipt": synth.make_receipt, "component": synth.make_component}[
        doc.kind
    ]
    page = make(doc.procedure_id, seed=doc.seed, dpi=doc.dpi, family=doc.family)
    defects = np.random.default_rng([doc.seed, KINDS.index(doc.kind), 7])
    image = synth.degrade(page.image, doc.degradation, defects)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=FILE_JPEG_QUALITY, dpi=(doc.dpi, doc.dpi))
    return buffer.getvalue(), page


@dataclass(frozen=True)
class Reading:
    """What sohoa's page pipeline read of a one-page scan."""

    text: str
    payloads: tuple[str, ...]
    ocr_confidence: float | None
    rotation: int
    seconds: float
    error: str | None = None


def read_scan(data: bytes, lang: str) -> Reading:
    """Read a scanner's file (its bytes) with sohoa's page pipeline, as `ingest.pipeline` does: decode,
    clean up, OCR, barcodes; an unreadable page gives its OcrError code."""
    from ocr.decode import open_document
    from ocr.errors import OcrError
    from ocr.page import PageOptions, process_page
    from ocr.tesseract import TesseractEngine

    engine = TesseractEngine(languages=lang, timeout_seconds=OCR_TIMEOUT_SECONDS)
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-read-") as spool:
            results = [
                process_page(source, engine=engine, options=PageOptions(), spool=Path(spool))
                for source in open_document(data, dpi=300).pages()
            ]
    except OcrError as exc:
        return Reading("", (), None, 0, time.perf_counter() - start, exc.code)
    seconds = time.perf_counter() - start
    first = results[0]
    payloads = tuple(b.text for r in results for b in r.barcodes)
    return Reading(first.text, payloads, first.ocr_confidence, first.rotation, seconds)


def read_page(doc: PlannedDoc, lang: str) -> PageRecord:
    """Render one planned page and read it with sohoa's page pipeline (runs in a worker process)."""
    data, page = render(doc)
    code = page.dossier_code if doc.carries_code else None
    got = read_scan(data, lang)
    return PageRecord(
        got.text, got.payloads, got.ocr_confidence, got.rotation, got.seconds, page.lines, code, got.error
    )


def _worker_init() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"  # tesseract, started by this worker, uses one thread


# --- the cache -------------------------------------------------------------------------------------


def _sources_hash(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def tesseract_version() -> str:
    """The first line of `tesseract --version` (part of the cache key and of the report header)."""
    import subprocess

    try:
        done = subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def cache_key_base(lang: str) -> dict[str, Any]:
    """What every cached reading depends on besides its own plan entry."""
    return {
        "corpus": CORPUS_VERSION,
        "tesseract": tesseract_version(),
        "lang": lang,
        "synth": _sources_hash([REPO / "examples" / "synth.py"]),
        "ocr": _sources_hash((REPO / "ocr").glob("*.py")),
    }


def _key(base: dict[str, Any], doc: PlannedDoc) -> dict[str, Any]:
    return {**base, "doc": json.loads(json.dumps(asdict(doc)))}


def _record_from_json(raw: dict[str, Any]) -> PageRecord:
    return PageRecord(
        raw["text"],
        tuple(raw["payloads"]),
        raw["ocr_confidence"],
        raw["rotation"],
        raw["seconds"],
        tuple(raw["truth_lines"]),
        raw["dossier_code"],
        raw.get("error"),
    )


def load_cached(path: Path, key: dict[str, Any]) -> PageRecord | None:
    """The cached reading at `path` if it was made under `key`, else None."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return _record_from_json(saved["record"])


def store(path: Path, key: dict[str, Any], record: PageRecord) -> None:
    """Write one reading atomically (an interrupted run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"key": key, "record": asdict(record)}, ensure_ascii=False), encoding="utf-8"
    )
    temporary.replace(path)


@dataclass
class OcrRun:
    """The readings of a corpus and how they were obtained."""

    records: dict[str, PageRecord]
    read: int = 0
    """Pages OCR'd in this run."""
    cached: int = 0
    seconds: float = 0.0
    """Wall time of the OCR stage of this run (all workers)."""
    key: dict[str, Any] = field(default_factory=dict)


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, every ~5% in a log file."""

    def __init__(self, total: int, cached: int, stream: TextIO) -> None:
        self.total, self.cached, self.stream = total, cached, stream
        self.done, self.start, self.last_step = 0, time.perf_counter(), -1

    def tick(self, name: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        line = (
            f"  OCR {self.done}/{self.total} pages ({self.cached} more from cache), {elapsed:.0f} s, "
            f"~{left:.0f} s left: {name}"
        )
        if self.stream.isatty():
            print(
                f"\r{line[:120]:<120}",
                end="" if self.done < self.total else "\n",
                file=self.stream,
                flush=True,
            )
            return
        step = self.done * 20 // self.total
        if step != self.last_step or self.done == self.total:
            self.last_step = step
            print(line, file=self.stream, flush=True)


def ocr_corpus(
    docs: Sequence[PlannedDoc],
    cache_dir: Path,
    *,
    lang: str = "vie",
    workers: int | None = None,
    refresh: bool = False,
    stream: TextIO = sys.stderr,
) -> OcrRun:
    """Every page's reading: from the cache where it was made under the same key, else OCR'd now in a pool
    of `workers` processes (default: one per core, each tesseract single-threaded) and cached."""
    base = cache_key_base(lang)
    run = OcrRun({}, key=base)
    todo: list[PlannedDoc] = []
    for doc in docs:
        cached = None if refresh else load_cached(cache_dir / f"{doc.name}.json", _key(base, doc))
        if cached is None:
            todo.append(doc)
        else:
            run.records[doc.name] = cached
    run.cached = len(docs) - len(todo)
    start = time.perf_counter()
    if todo:
        progress = _Progress(len(todo), run.cached, stream)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, mp_context=context, initializer=_worker_init
        ) as pool:
            futures = {pool.submit(read_page, doc, lang): doc for doc in todo}
            for future in as_completed(futures):
                doc = futures[future]
                record = future.result()
                store(cache_dir / f"{doc.name}.json", _key(base, doc), record)
                run.records[doc.name] = record
                progress.tick(doc.name)
    run.read, run.seconds = len(todo), time.perf_counter() - start
    return run


def composition(docs: Sequence[PlannedDoc], splits: dict[str, Split]) -> list[str]:
    """Lines describing the corpus: documents per kind and level, the split, the poor level's turns."""
    lines = [
        f"corpus: {len(docs)} one-page documents of {len({d.procedure_id for d in docs})} procedures "
        f"({', '.join(f'{sum(d.kind == k for d in docs)} {k}s' for k in KINDS)}), "
        f"{len({d.seed for d in docs})} dossiers (seeds)"
    ]
    per_level = ", ".join(
        f"{level} {sum(d.level == level for d in docs)} ({LEVEL_DPI[level]} dpi)" for level in LEVELS
    )
    turned = sum(d.degradation.rotate != 0 for d in docs)
    lines.append(f"levels: {per_level}; {turned} pages turned 90/180/270°")
    test = [d for d in docs if splits[d.name] == "test"]
    lines.append(
        f"split: {len(docs) - len(test)} train / {len(test)} test documents, whole dossiers held out "
        f"({len({d.seed for d in test})} of {len({d.seed for d in docs})} dossiers), stratified by "
        "procedure and level"
    )
    return lines
