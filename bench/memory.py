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
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

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


def _status_mb(pid: int | str, field: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class ChildPeak(threading.Thread):
    """Samples the resident memory of this process's children (tesseract) every 20 ms.

    ru_maxrss of children is useless here: a forked child briefly counts the parent's pages.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/children") as handle:
                        children = handle.read().split()
                except OSError:
                    continue
                for pid in children:
                    try:
                        with open(f"/proc/{pid}/comm") as handle:
                            if handle.read().strip() != "tesseract":
                                continue  # not yet exec'd: still counting the parent's pages
                    except OSError:
                        continue
                    self.peak = max(self.peak, _status_mb(pid, "VmRSS"))


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
    children = ChildPeak()
    children.start()
    start, samples = time.monotonic(), []
    print(f"{'pages':>6} {'rss MB':>8} {'elapsed s':>10}")
    for number in range(1, args.pages + 1):
        data = files[number % len(files)]
        with tempfile.TemporaryDirectory() as spool:
            decoded = open_document(data)
            results = [
                process_page(p, engine=engine, options=options, spool=Path(spool)) for p in decoded.pages()
            ]
            build_searchable_pdf(image_source_pdf(data, dpi=file_dpi(data)), [r.layer for r in results])
        if number == 1 or number % 50 == 0:
            samples.append((number, current_rss_mb()))
            print(f"{number:>6} {samples[-1][1]:>8.1f} {time.monotonic() - start:>10.1f}", flush=True)
    children.stop.set()
    own = _status_mb("self", "VmHWM")
    first_50 = next(rss for n, rss in samples if n >= 50) if len(samples) > 1 else samples[0][1]
    print(
        f"\npeak RSS: worker {own:.0f} MB, largest tesseract child {children.peak:.0f} MB, "
        f"sum {own + children.peak:.0f} MB (limit 600 MB)"
    )
    print(
        f"RSS after 50 pages {first_50:.1f} MB, after {samples[-1][0]} pages {samples[-1][1]:.1f} MB "
        f"(growth {samples[-1][1] - first_50:+.1f} MB); "
        f"{args.pages / (time.monotonic() - start) * 60:.1f} pages/min"
    )


if __name__ == "__main__":
    main()
