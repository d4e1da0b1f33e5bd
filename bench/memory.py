"""Memory of one OCR worker over many pages: peak RSS on 300-dpi A4 pages, and whether it grows.

    .venv/bin/python bench/memory.py [--pages 500] [--documents-of 5]

Runs the real page path (decode → cleanup → OCR → searchable PDF) in this one process, single-threaded,
on synthetic 300-dpi A4 scans (a few distinct pages repeated), and prints the worker's resident memory
every 50 pages, its peak, and the peak of the tesseract child processes. Not a test: numbers for README.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.engines import ChildPeaks, status_kb
from examples.synth import Degradation, degrade, make_page, make_receipt
from ocr.decode import file_dpi, open_document
from ocr.page import PageOptions, process_page
from ocr.searchable_pdf import build_searchable_pdf, image_source_pdf
from ocr.tesseract import TesseractEngine


def current_rss_mb() -> float:
    """Resident set size of this process now, from /proc."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def scans(count: int) -> list[bytes]:
    """A few distinct degraded 300-dpi A4 JPEG scans."""
    out = []
    for seed in range(count):
        make = make_receipt if seed % 3 == 2 else make_page
        page = make(("khai-sinh", "thuong-tru", "ket-hon", "ho-kinh-doanh")[seed % 4], seed=seed, dpi=300)
        image = degrade(
            page.image,
            Degradation(skew=2.0 * (seed % 3 - 1), noise=4, rotate=90 if seed == 3 else 0),
            np.random.default_rng(seed),
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85, dpi=(300, 300))
        out.append(buffer.getvalue())
    return out


def del_generation_peak() -> None:
    """Forget the memory peak of making the sample scans (not the worker's): resets VmHWM."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def run_page(
    data: bytes, number: int, engine: TesseractEngine, options: PageOptions
) -> list[tuple[int, float]]:
    """Process one scan the way the pipeline does; returns an RSS sample every 50 pages."""
    with tempfile.TemporaryDirectory() as spool:
        decoded = open_document(data)
        results = [
            process_page(p, engine=engine, options=options, spool=Path(spool)) for p in decoded.pages()
        ]
        build_searchable_pdf(image_source_pdf(data, dpi=file_dpi(data)), [r.layer for r in results])
    return [(number, current_rss_mb())] if number == 1 or number % 50 == 0 else []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--distinct", type=int, default=6)
    args = parser.parse_args()
    engine, options = TesseractEngine(languages="vie"), PageOptions()
    files = scans(args.distinct)
    del_generation_peak()
    start, samples = time.monotonic(), []
    print(f"{'pages':>6} {'rss MB':>8} {'elapsed s':>10}")
    with ChildPeaks() as children:
        for number in range(1, args.pages + 1):
            samples.extend(run_page(files[number % len(files)], number, engine, options))
            if number == 1 or number % 50 == 0:
                print(f"{number:>6} {samples[-1][1]:>8.1f} {time.monotonic() - start:>10.1f}", flush=True)
    own = status_kb("self", "VmHWM:") / 1024
    tesseract = children.by_name_mb().get("tesseract", 0.0)
    first_50 = next(rss for n, rss in samples if n >= 50) if len(samples) > 1 else samples[0][1]
    print(
        f"\npeak RSS: worker {own:.0f} MB, largest tesseract child {tesseract:.0f} MB, "
        f"sum {own + tesseract:.0f} MB (limit 600 MB)"
    )
    print(
        f"RSS after 50 pages {first_50:.1f} MB, after {samples[-1][0]} pages {samples[-1][1]:.1f} MB "
        f"(growth {samples[-1][1] - first_50:+.1f} MB); "
        f"{args.pages / (time.monotonic() - start) * 60:.1f} pages/min"
    )


if __name__ == "__main__":
    main()
