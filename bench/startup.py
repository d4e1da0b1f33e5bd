"""Start-up cost: the wall time of a one-page `sohoa import` against the OCR of that page alone.

    .venv/bin/python bench/startup.py [--runs 3] [--workers 2]

One synthetic receipt (`examples/synth.py`, 200 dpi JPEG) is imported with the real CLI,
`sohoa import FILE --wait`, as a subprocess into a fresh SOHOA_DATA_DIR each run (CLI start, database,
pool start, the page, the report). The same page is also read in this process through the function the
workers run (`ocr.page.process_page`, second of two reads): the OCR's own time, the floor a one-page import
cannot go under. Prints the runs, their median and its ratio to that floor. Not a test: numbers for the
README and the warm-start work of the production issue.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engines import cpu_model
from examples.synth import EXAMPLES, write_example

ROOT = Path(__file__).resolve().parent.parent
SOHOA = str(Path(sys.executable).with_name("sohoa"))
PAGE = "ket-hon-giay-tiep-nhan.jpg"


def import_once(scan: Path, workers: int) -> float:
    """Seconds of wall time of one `sohoa import SCAN --wait` into a fresh data folder."""
    data = Path(tempfile.mkdtemp(prefix="sohoa-startup-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env |= {"SOHOA_DATA_DIR": str(data), "SOHOA_WORKERS": str(workers)}
    try:
        began = time.perf_counter()
        done = subprocess.run(
            [SOHOA, "import", str(scan), "--wait"], env=env, capture_output=True, text=True, timeout=600
        )
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"the import failed:\n{done.stdout}\n{done.stderr}")
        return seconds
    finally:
        shutil.rmtree(data, ignore_errors=True)


def ocr_seconds(scan: Path) -> float:
    """The page read once here, as a worker reads it (decode, cleanup, barcodes, tesseract)."""
    from ingest.settings import load_settings
    from ocr.decode import open_document
    from ocr.page import PageOptions, process_page
    from ocr.tesseract import TesseractEngine

    settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="sohoa-startup-ocr-")))
    engine = TesseractEngine(languages=settings.ocr_languages, timeout_seconds=settings.ocr_timeout_seconds)
    spent = []
    with tempfile.TemporaryDirectory() as spool:
        for _ in range(2):  # the first read also brings tesseract's own files into the page cache
            with open_document(scan) as document:
                page = document.page(1)
                began = time.perf_counter()
                process_page(page, engine=engine, options=PageOptions(), spool=Path(spool))
                spent.append(time.perf_counter() - began)
    return spent[-1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="imports to time")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="SOHOA_WORKERS")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sohoa-startup-scan-"))
    scan = write_example(next(s for s in EXAMPLES if s.name == PAGE), folder)
    ocr = ocr_seconds(scan)
    runs = [import_once(scan, args.workers) for _ in range(args.runs)]
    median = statistics.median(runs)
    load = os.getloadavg()[0]
    print(
        f"# bench/startup.py — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({cpu_model()}), "
        f"{args.workers} workers, load average after {load:.2f}\n"
    )
    print("| what | runs (s) | median s | × OCR of the page |")
    print("|---|---|---:|---:|")
    listed = ", ".join(f"{t:.1f}" for t in runs)
    print(f"| `sohoa import` of one page | {listed} | {median:.2f} | {median / ocr:.1f} |")
    print(f"| OCR of the page alone, in this process | | {ocr:.2f} | 1.0 |")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
