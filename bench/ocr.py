"""OCR benchmark: sohoa's pipeline against plain tesseract and OCRmyPDF on the same pages (not a test).

    .venv/bin/python bench/ocr.py [--pages 48] [--quick] [--skip-ocrmypdf] [--out bench/out]

Datasets: a synthetic corpus of degraded Vietnamese forms and receipts with exact ground truth (see
`bench/corpus.py`), the scribeocr-benchmark real pages and OCRmyPDF's skewed/rotated test PDFs (from
../shared/testdata, skipped with a note when absent). Each engine runs in its own fresh worker process, one
tesseract thread, over the same pages one after the other. Prints Markdown tables (CER, WER, order-free word
F1, pages/minute, peak RSS, orientation and blank-page checks) and sohoa/baseline ratios, and writes all of it
with per-page results to OUT/ocr-DATE.json; engine texts go to OUT/work/DATASET/ENGINE/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/ itself
    sys.path[:1] = [str(Path(__file__).resolve().parent.parent)]

from bench import datasets, engines, report
from bench.datasets import Dataset
from bench.engines import EngineName, EngineOutput, Job, JobDocument, JobPdf, cpu_model

DEFAULT_TESTDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "testdata"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=48, help="synthetic pages (default 48)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 synthetic pages, no real pages")
    parser.add_argument("--skip-ocrmypdf", action="store_true", help="leave OCRmyPDF out (it is slow)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="output folder")
    parser.add_argument("--lang", default="vie", help="tesseract language of the synthetic pages")
    parser.add_argument("--real-lang", default="eng", help="tesseract language of the real pages")
    parser.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA, help="shared test data folder")
    parser.add_argument("--seed", type=int, default=2026, help="synthetic corpus seed")
    parser.add_argument("--report", type=Path, metavar="JSON", help="print a saved run again, run nothing")
    args = parser.parse_args(argv)
    args.out, args.testdata = args.out.resolve(), args.testdata.resolve()  # workers run in the repository
    if args.quick:
        args.pages = 8
    return args


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def environment(skip_ocrmypdf: bool) -> dict[str, str]:
    """What the numbers depend on: date, cores, CPU, tool versions."""
    info = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "tesseract": _first_line(["tesseract", "--version"]),
        "python": platform.python_version(),
    }
    if not skip_ocrmypdf:
        info["ocrmypdf"] = _first_line([sys.executable, "-m", "ocrmypdf", "--version"])
        info["unpaper"] = _first_line(["unpaper", "--version"])
        info["ghostscript"] = _first_line(["gs", "--version"])
    return info


def header(info: dict[str, str]) -> list[str]:
    tools = ", ".join(
        v if v.lower().startswith(k) else f"{k} {v}"
        for k, v in info.items()
        if k not in ("date", "nproc", "cpu")
    )
    return [
        f"## OCR benchmark {info['date']}",
        "",
        f"{info['nproc']} cores ({info['cpu']}); {tools}; one tesseract thread per worker "
        f"(OMP_THREAD_LIMIT=1), engines run one after the other.",
        "",
    ]


def load_datasets(args: argparse.Namespace) -> tuple[list[Dataset], list[str]]:
    """The synthetic corpus, then the real page sets unless --quick; notes say what was skipped."""
    synthetic, summary = datasets.synthetic(args.out, args.pages, lang=args.lang, seed=args.seed)
    found, notes = [synthetic], [summary]
    if not args.quick:
        for loader in (datasets.scribe, datasets.resources):
            dataset, note = loader(args.testdata, args.out, lang=args.real_lang)
            notes.append(note)
            if dataset is not None:
                found.append(dataset)
    return found, notes


def make_job(dataset: Dataset, engine: EngineName) -> Job:
    documents = [JobDocument(str(d.path), [str(p.image) for p in d.pages]) for d in dataset.documents]
    pdfs = [JobPdf(str(path), count) for path, count in dataset.pdfs]
    return Job(engine, dataset.lang, str(dataset.work_dir / engine), documents, pdfs)


def save_texts(dataset: Dataset, output: EngineOutput) -> None:
    """Each page's text as the engine read it, for eyeballing: WORK/ENGINE/PAGE.txt."""
    folder = dataset.work_dir / output.engine
    folder.mkdir(parents=True, exist_ok=True)
    for page, result in zip(dataset.pages, output.pages, strict=True):
        (folder / f"{page.id.replace('/', '_')}.txt").write_text(result.text, encoding="utf-8")


def run_dataset(dataset: Dataset, names: Sequence[EngineName]) -> list[report.Result]:
    results = []
    for name in names:
        print(
            f"  {dataset.name}: running {name} on {len(dataset.pages)} pages …", file=sys.stderr, flush=True
        )
        output = engines.run_worker(make_job(dataset, name))
        save_texts(dataset, output)
        result = report.evaluate(dataset, output)
        print(
            f"  {dataset.name}: {name} done in {result.seconds:.0f} s, CER {result.scores.cer:.4f}",
            file=sys.stderr,
            flush=True,
        )
        results.append(result)
    return results


def reprint(path: Path) -> int:
    """Print the tables of a saved run (OUT/ocr-DATE.json) as the run printed them."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    for line in header(saved["environment"]):
        print(line)
    for note in saved["notes"]:
        print(f"- {note}")
    print()
    for name, dataset in saved["datasets"].items():
        results = [report.result_from_json(raw) for raw in dataset["engines"]]
        for line in report.dataset_section(name, dataset["title"], results):
            print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report is not None:
        return reprint(args.report)
    names: list[EngineName] = [e for e in engines.ENGINES if not (e == "ocrmypdf" and args.skip_ocrmypdf)]
    info = environment(args.skip_ocrmypdf)
    for line in header(info):
        print(line, flush=True)
    found, notes = load_datasets(args)
    for note in notes:
        print(f"- {note}", flush=True)
    print(flush=True)
    sections: dict[str, list[report.Result]] = {}
    for dataset in found:
        sections[dataset.name] = results = run_dataset(dataset, names)
        for line in report.dataset_section(dataset.name, dataset.title, results):
            print(line, flush=True)
    path = write_json(args, info, notes, found, sections)
    print(f"written {path}")
    return 0


def write_json(
    args: argparse.Namespace,
    info: dict[str, str],
    notes: list[str],
    found: list[Dataset],
    sections: dict[str, list[report.Result]],
) -> Path:
    stamp = info["date"][:10] + ("-quick" if args.quick else "")
    path = args.out / f"ocr-{stamp}.json"
    payload = {
        "environment": info,
        "notes": notes,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "datasets": {
            d.name: {
                "title": d.title,
                "lang": d.lang,
                "engines": [report.result_json(r) for r in sections[d.name]],
                "ratios": {
                    r.label: r.value for r in report.ratios(sections[d.name], synthetic=d.name == "synthetic")
                },
            }
            for d in found
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
