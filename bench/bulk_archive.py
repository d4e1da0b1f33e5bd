"""A synthetic back-office archive for `bench/bulk.py`: `<year>/<commune>/<dossier code>/` folders of scans.

    archive = write_archive(ArchiveParams(pages=2000, seed=0), root=Path("tree"), cache_dir=Path("bench/out"))

What archive scanners write: one 200-dpi grayscale JPEG per page mostly, some dossiers as one multi-page PDF
or TIFF, a ZIP or two holding dossier folders, a receipt (with its QR code) in most dossiers, not always
first, and a blank back side here and there. Rendering thousands of distinct pages would take longer than
reading them, so a pool of distinct forms, components and blank sides is rendered once (cached under
`cache_dir`, keyed by a hash of the generator's parameters and of `examples/synth.py`) and every page file
gets unique bytes (a JPEG comment, a PDF title, a TIFF description naming the file) so that dedup by
SHA-256 keeps them apart while OCR sees the same pixels. Receipts are rendered per dossier (about 0.3 s
each), so each prints and encodes its own dossier's code. The same parameters give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import struct
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, TypeVar

import cv2
import img2pdf
import numpy as np
from PIL import Image

from examples import synth

GENERATOR_VERSION = 2
"""Bump when the pool's rendering changes, so cached pools are not reused."""
JPEG_QUALITY = 85
PoolKind = Literal["form", "component", "blank"]
PageKind = Literal["receipt", "form", "component", "blank"]
Container = Literal["jpeg", "pdf", "tiff"]
_Job = TypeVar("_Job")

COMMUNES = (
    "phuong-thanh-duc",
    "phuong-long-chau",
    "phuong-phuoc-hau",
    "xa-long-ho",
    "xa-mang-thit",
    "xa-tam-binh",
    "xa-tra-on",
    "xa-vung-liem",
)
YEARS = (2024, 2025)
RECEIPT_SHARE = 0.85
"""Dossiers with a receipt page; of those, RECEIPT_FIRST_SHARE have it first."""
RECEIPT_FIRST_SHARE = 0.75
BLANK_AFTER_SHARE = 0.08
"""Chance that a content page is followed by its blank back side."""
CONTAINER_SHARES: dict[Container, float] = {"jpeg": 0.86, "pdf": 0.07, "tiff": 0.07}
ZIP_DOSSIERS = (3, 6)
"""Dossiers per ZIP archive (low, high inclusive)."""


@dataclass(frozen=True)
class ArchiveParams:
    """What the archive is made of: the same parameters give the same files."""

    pages: int
    seed: int = 0
    pool_size: int = 48
    """Distinct rendered non-receipt pages (forms, components, blank sides) the page files reuse."""
    dpi: int = synth.EXAMPLE_DPI


@dataclass(frozen=True)
class PoolPage:
    """One distinct rendered page of the pool (JPEG bytes, grayscale)."""

    kind: PoolKind
    procedure_id: str | None
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class PlannedPage:
    """A page of a dossier: a pool page by index, or the dossier's own receipt (pool None)."""

    kind: PageKind
    pool: int | None = None


@dataclass(frozen=True)
class Dossier:
    """One dossier folder of the archive."""

    code: str
    procedure_id: str
    year: int
    commune: str
    container: Container
    pages: tuple[PlannedPage, ...]
    seed: int
    zip_name: str | None = None
    """The ZIP archive (in its commune's folder) that holds this dossier's folder, if any."""

    @property
    def has_receipt(self) -> bool:
        return any(p.kind == "receipt" for p in self.pages)


@dataclass(frozen=True)
class ArchiveFile:
    """One file sohoa will see (a ZIP member counts as a file): its source name, pages and dossier."""

    source: str
    pages: int
    dossier: str
    receipt: bool


@dataclass
class Archive:
    """What `write_archive` wrote, and how long it took."""

    root: Path
    params: ArchiveParams
    dossiers: list[Dossier]
    files: list[ArchiveFile]
    seconds: float = 0.0
    pool_seconds: float = 0.0
    pool_cached: bool = False
    bytes_written: int = 0

    @property
    def pages(self) -> int:
        return sum(f.pages for f in self.files)

    def summary(self) -> dict[str, object]:
        """Counts for the report (JSON-ready)."""
        kinds = Counter(p.kind for d in self.dossiers for p in d.pages)
        return {
            "pages": self.pages,
            "files": len(self.files),
            "dossiers": len(self.dossiers),
            "dossiers_with_receipt": sum(d.has_receipt for d in self.dossiers),
            "receipts_not_first": sum(d.has_receipt and d.pages[0].kind != "receipt" for d in self.dossiers),
            "page_kinds": dict(kinds),
            "containers": dict(Counter(d.container for d in self.dossiers)),
            "zips": len({(d.year, d.commune, d.zip_name) for d in self.dossiers if d.zip_name}),
            "zipped_dossiers": sum(d.zip_name is not None for d in self.dossiers),
            "bytes": self.bytes_written,
            "seconds": round(self.seconds, 2),
            "pool_seconds": round(self.pool_seconds, 2),
            "pool_cached": self.pool_cached,
            "params": asdict(self.params),
        }


# --- the pool of distinct pages ------------------------------------------------------------------------


def pool_key(params: ArchiveParams) -> str:
    """Hash of everything the pool's pixels depend on."""
    synth_source = Path(synth.__file__).read_bytes()
    canonical = json.dumps(
        {
            "version": GENERATOR_VERSION,
            "seed": params.seed,
            "pool_size": params.pool_size,
            "dpi": params.dpi,
            "quality": JPEG_QUALITY,
            "synth": hashlib.sha256(synth_source).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def pool_plan(params: ArchiveParams) -> list[tuple[PoolKind, str | None, int]]:
    """(kind, procedure, sub-seed) of each pool page: forms and components of every procedure, blanks."""
    procedures = list(synth.PROCEDURES)
    blanks = max(2, params.pool_size // 12)
    plan: list[tuple[PoolKind, str | None, int]] = []
    for i in range(params.pool_size - blanks):
        procedure = procedures[i % len(procedures)]
        has_component = bool(synth.PROCEDURES[procedure].components)
        kind: PoolKind = "component" if (i // len(procedures)) % 3 == 2 and has_component else "form"
        plan.append((kind, procedure, _sub_seed(params.seed, "pool", i)))
    plan += [("blank", None, _sub_seed(params.seed, "blank", i)) for i in range(blanks)]
    return plan


def _render_pool_page(job: tuple[PoolKind, str | None, int, int]) -> bytes:
    kind, procedure, seed, dpi = job
    if kind == "blank":
        page = synth.make_blank(seed=seed, dpi=dpi)
        spec = synth.Degradation(noise=1.5, jpeg_quality=90)
    else:
        make = synth.make_component if kind == "component" else synth.make_page
        page = make(procedure or "", seed=seed, dpi=dpi)
        # Scanner software cleans its output: keep the geometry and blur, less grain than the OCR corpus.
        spec = replace(
            (drawn := synth.random_degradation(np.random.default_rng([seed, 1]))),
            noise=min(drawn.noise, 2.0),
            specks=min(drawn.specks, 0.0005),
        )
    image = synth.degrade(page.image, spec, np.random.default_rng([seed, 2])).convert("L")
    return _jpeg(image, dpi)


def load_pool(params: ArchiveParams, cache_dir: Path, processes: int) -> tuple[list[PoolPage], bool]:
    """The pool, from the cache when it is there; returns it and whether it was cached."""
    folder = cache_dir / f"bulk-pool-{pool_key(params)}"
    plan = pool_plan(params)
    paths = [
        folder / f"{i:03d}-{kind}-{procedure or 'none'}.jpg" for i, (kind, procedure, _) in enumerate(plan)
    ]
    cached = all(p.is_file() for p in paths)
    if not cached:
        jobs = [(kind, procedure, seed, params.dpi) for kind, procedure, seed in plan]
        rendered = _map(_render_pool_page, jobs, processes)
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in zip(paths, rendered, strict=True):
            temporary = path.with_suffix(".part")
            temporary.write_bytes(data)
            temporary.replace(path)
    pool = [
        PoolPage(kind, procedure, path.read_bytes())
        for (kind, procedure, _), path in zip(plan, paths, strict=True)
    ]
    return pool, cached


# --- the plan: which dossiers, which pages ---------------------------------------------------------------


def plan_archive(params: ArchiveParams, pool: Sequence[PoolPage]) -> list[Dossier]:
    """Dossiers until exactly `params.pages` pages; deterministic for the seed."""
    rng = np.random.default_rng([params.seed, 7])
    by_procedure: dict[str, dict[str, list[int]]] = {}
    for index, page in enumerate(pool):
        if page.procedure_id is not None:
            by_procedure.setdefault(page.procedure_id, {}).setdefault(page.kind, []).append(index)
    blanks = [i for i, p in enumerate(pool) if p.kind == "blank"]
    procedures = sorted(by_procedure)
    codes: set[str] = set()
    dossiers: list[Dossier] = []
    left = params.pages
    while left > 0:
        procedure = procedures[int(rng.integers(len(procedures)))]
        pages = _dossier_pages(rng, by_procedure[procedure], blanks)[:left]
        left -= len(pages)
        year = YEARS[int(rng.integers(len(YEARS)))]
        commune_index = int(rng.integers(len(COMMUNES)))
        code = _dossier_code(rng, year, commune_index, codes)
        container = _choice(rng, CONTAINER_SHARES) if len(pages) > 1 else "jpeg"
        seed = _sub_seed(params.seed, "dossier", len(dossiers))
        dossiers.append(Dossier(code, procedure, year, COMMUNES[commune_index], container, pages, seed))
    return _zip_some(rng, dossiers)


def _dossier_pages(
    rng: np.random.Generator, own: dict[str, list[int]], blanks: list[int]
) -> tuple[PlannedPage, ...]:
    """A form, 0–3 more papers (components or further form pages), blank backs, a receipt mostly."""
    forms, components = own.get("form", []), own.get("component", [])
    content = [PlannedPage("form", forms[int(rng.integers(len(forms)))])]
    for _ in range(int(rng.integers(0, 4))):
        kind: PageKind = "component" if components and rng.random() < 0.6 else "form"
        choices = components if kind == "component" else forms
        content.append(PlannedPage(kind, choices[int(rng.integers(len(choices)))]))
    pages: list[PlannedPage] = []
    for page in content:
        pages.append(page)
        if rng.random() < BLANK_AFTER_SHARE:
            pages.append(PlannedPage("blank", blanks[int(rng.integers(len(blanks)))]))
    if rng.random() < RECEIPT_SHARE:
        at = 0 if rng.random() < RECEIPT_FIRST_SHARE else int(rng.integers(1, len(pages) + 1))
        pages.insert(at, PlannedPage("receipt"))
    return tuple(pages)


def _dossier_code(rng: np.random.Generator, year: int, commune_index: int, taken: set[str]) -> str:
    """A new `AAA.BB.CC.Xnn-YYMMDD-NNNN` code: the commune's agency, a day of the year, a number."""
    agency = synth.AGENCY_CODES[commune_index % len(synth.AGENCY_CODES)]
    while True:
        day = date(year, 1, 1) + timedelta(int(rng.integers(0, 365)))
        code = f"{agency}-{day:%y%m%d}-{int(rng.integers(1, 400)):04d}"
        if code not in taken:
            taken.add(code)
            return code


def _zip_some(rng: np.random.Generator, dossiers: list[Dossier]) -> list[Dossier]:
    """Put runs of consecutive dossiers into a ZIP or two (more for big archives), in one commune's folder."""
    pages = sum(len(d.pages) for d in dossiers)
    wanted = max(1, min(4, pages // 1000))
    low, high = ZIP_DOSSIERS
    if len(dossiers) < 2 * high:
        wanted = 1 if len(dossiers) >= low + 1 else 0
    out = list(dossiers)
    slot = len(dossiers) // max(wanted, 1)
    for k in range(wanted):
        size = int(rng.integers(low, high + 1))
        start = k * slot + int(rng.integers(0, max(1, slot - size)))
        first = out[start]
        name = f"lo-{first.year}-{k + 1:02d}.zip"
        for i in range(start, min(start + size, len(out))):
            d = out[i]
            out[i] = Dossier(
                d.code, d.procedure_id, first.year, first.commune, d.container, d.pages, d.seed, name
            )
    return out


# --- writing ---------------------------------------------------------------------------------------------


def write_archive(
    params: ArchiveParams, root: Path, *, cache_dir: Path, processes: int | None = None
) -> Archive:
    """Render (or reuse) the pool, plan the dossiers and write the tree under `root` (created)."""
    processes = processes or os.cpu_count() or 1
    started = time.perf_counter()
    pool, cached = load_pool(params, cache_dir, processes)
    pool_seconds = time.perf_counter() - started
    dossiers = plan_archive(params, pool)
    receipts = dict(
        zip(
            [d.code for d in dossiers if d.has_receipt],
            _map(_render_receipt, [(d, params.dpi) for d in dossiers if d.has_receipt], processes),
            strict=True,
        )
    )
    archive = Archive(root, params, dossiers, [], pool_seconds=pool_seconds, pool_cached=cached)
    root.mkdir(parents=True, exist_ok=True)
    zips: dict[Path, zipfile.ZipFile] = {}
    try:
        for dossier in dossiers:
            folder = Path(str(dossier.year), dossier.commune)
            for name, data, pages, receipt in _dossier_files(
                dossier, pool, receipts.get(dossier.code), params
            ):
                if dossier.zip_name is None:
                    path = root / folder / dossier.code / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    source = (folder / dossier.code / name).as_posix()
                else:
                    zip_path = root / folder / dossier.zip_name
                    if zip_path not in zips:
                        zip_path.parent.mkdir(parents=True, exist_ok=True)
                        zips[zip_path] = zipfile.ZipFile(zip_path, "w")
                    member = zipfile.ZipInfo(
                        f"{dossier.code}/{name}", date_time=(dossier.year, 12, 30, 8, 0, 0)
                    )
                    zips[zip_path].writestr(member, data, compress_type=zipfile.ZIP_STORED)
                    source = (folder / dossier.zip_name / dossier.code / name).as_posix()
                archive.bytes_written += len(data)
                archive.files.append(ArchiveFile(source, pages, dossier.code, receipt))
    finally:
        for handle in zips.values():
            handle.close()
    archive.seconds = time.perf_counter() - started
    return archive


def _dossier_files(
    dossier: Dossier, pool: Sequence[PoolPage], receipt: bytes | None, params: ArchiveParams
) -> list[tuple[str, bytes, int, bool]]:
    """(file name, bytes, pages, holds the receipt) of each file of the dossier."""
    jpegs = [receipt if p.pool is None else pool[p.pool].data for p in dossier.pages]
    if any(data is None for data in jpegs):
        raise ValueError(f"dossier {dossier.code} has a receipt page but no rendered receipt")
    pages = [data for data in jpegs if data is not None]
    has_receipt = dossier.has_receipt
    if dossier.container == "pdf":
        marked = [_with_comment(data, f"{dossier.code}/ho-so.pdf#{n}") for n, data in enumerate(pages, 1)]
        return [("ho-so.pdf", _pdf(marked, dossier, params.dpi), len(pages), has_receipt)]
    if dossier.container == "tiff":
        return [("ho-so.tif", _tiff(pages, dossier, params.dpi), len(pages), has_receipt)]
    width = max(2, len(str(len(pages))))
    files = []
    for n, (page, data) in enumerate(zip(dossier.pages, pages, strict=True), 1):
        name = f"{n:0{width}d}.jpg"
        unique = data if page.kind == "receipt" else _with_comment(data, f"{dossier.code}/{name}")
        files.append((name, unique, 1, page.kind == "receipt"))
    return files


def _render_receipt(job: tuple[Dossier, int]) -> bytes:
    """The dossier's own receipt (its code printed and in the QR), lightly skewed and noised, grayscale."""
    dossier, dpi = job
    page = synth.make_receipt(dossier.procedure_id, seed=dossier.seed, dpi=dpi, dossier_code=dossier.code)
    rng = np.random.default_rng([dossier.seed, 3])
    paper = np.asarray(page.image.convert("L"), dtype=np.uint8)
    h, w = paper.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-1.5, 1.5)), 1.0)
    laid = cv2.warpAffine(paper, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=(248,))
    noise = rng.integers(-2, 3, size=laid.shape, dtype=np.int16)
    gray = np.clip(laid.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return _jpeg(Image.fromarray(gray), dpi)


def _pdf(pages: Sequence[bytes], dossier: Dossier, dpi: int) -> bytes:
    """The JPEG pages wrapped as they are (what a scanner's PDF mode writes)."""
    stamp = datetime(dossier.year, 12, 30, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    return bytes(
        img2pdf.convert(
            list(pages),
            engine=img2pdf.Engine.internal,
            title=dossier.code,
            creationdate=stamp,
            moddate=stamp,
            layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi)),
        )
    )


def _tiff(pages: Sequence[bytes], dossier: Dossier, dpi: int) -> bytes:
    """A multi-page TIFF, JPEG-compressed frames, the dossier code in its description."""
    images = [Image.open(io.BytesIO(data)) for data in pages]
    out = io.BytesIO()
    images[0].save(
        out,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        compression="jpeg",
        quality=JPEG_QUALITY,
        dpi=(dpi, dpi),
        tiffinfo={270: f"{dossier.code}/ho-so.tif"},
    )
    return _zero_padding(out.getvalue())


_TIFF_TYPE_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}


def _zero_padding(data: bytes) -> bytes:
    """Zero the bytes no IFD, tag value or strip covers: libtiff leaves the pad byte after data of odd
    length uninitialised, so the same frames would not always give the same file."""
    if data[:4] != b"II*\x00":
        raise ValueError("expected a little-endian TIFF")
    covered = np.zeros(len(data), dtype=bool)
    covered[:8] = True
    offset = struct.unpack_from("<I", data, 4)[0]
    while offset:
        count = struct.unpack_from("<H", data, offset)[0]
        size = 2 + 12 * count + 4
        covered[offset : offset + size] = True
        entries: dict[int, tuple[int, ...]] = {}
        for i in range(count):
            tag, kind, number, value = struct.unpack_from("<HHII", data, offset + 2 + 12 * i)
            length = _TIFF_TYPE_BYTES.get(kind, 1) * number
            if length > 4:
                covered[value : value + length] = True
            if tag in (273, 279):  # strip offsets and byte counts: 4-byte or 2-byte values
                width, code = (4, "I") if kind == 4 else (2, "H")
                place = value if number * width > 4 else offset + 2 + 12 * i + 8
                entries[tag] = struct.unpack_from(f"<{number}{code}", data, place)
        for strip, length in zip(entries.get(273, ()), entries.get(279, ()), strict=True):
            covered[strip : strip + length] = True
        offset = struct.unpack_from("<I", data, offset + 2 + 12 * count)[0]
    out = np.frombuffer(data, dtype=np.uint8).copy()
    out[~covered] = 0
    return out.tobytes()


def _jpeg(image: Image.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, dpi=(dpi, dpi))
    return out.getvalue()


def _with_comment(data: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment after its JFIF header: new bytes, the same pixels."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    at = 2
    if data[2:4] == b"\xff\xe0":  # keep APP0 (JFIF) right after SOI, as the standard wants
        at = 4 + struct.unpack(">H", data[4:6])[0]
    payload = f"sohoa-bench {text}".encode()
    return data[:at] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + data[at:]


def _choice(rng: np.random.Generator, shares: dict[Container, float]) -> Container:
    keys = list(shares)
    return keys[int(rng.choice(len(keys), p=[shares[k] for k in keys]))]


def _sub_seed(seed: int, *keys: str | int) -> int:
    digest = hashlib.sha256(json.dumps([seed, *keys]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _map(function: Callable[[_Job], bytes], jobs: list[_Job], processes: int) -> list[bytes]:
    """`function` over `jobs`, in order, on `processes` processes (in this one when 1 or few jobs)."""
    if processes <= 1 or len(jobs) < 4:
        return [function(job) for job in jobs]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as workers:
        return list(workers.imap(function, jobs, chunksize=4))
