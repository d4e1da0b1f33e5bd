"""Bulk import at scale: `sohoa import` of a whole back-office archive, timed and watched, vs a small batch.

    .venv/bin/python bench/bulk.py [--pages 2000] [--small 200] [--seed 0] [--workers N] [--keep]

For each size (the small baseline first, then `--pages`), `bench/bulk_archive.py` writes a fresh archive
tree (`<year>/<commune>/<dossier code>/`, 200-dpi grayscale JPEGs, some PDFs/TIFFs and ZIPs, receipts with
QR codes, blank backs), then the real `sohoa import TREE` runs as a subprocess in embedded mode with a fresh
`SOHOA_DATA_DIR`, `SOHOA_WORKERS` = cores and `TMPDIR`/`SOHOA_SPOOL_DIR` in a fresh folder. Every
`--interval` seconds psutil samples the resident memory of the CLI process, each pool worker and each
tesseract child, and the disk used in that temp folder. Afterwards `sohoa export` says what became of every
file. Prints a markdown table, the ratios of the big run to the baseline and the targets (memory flat within
10%, temp space < 500 MB, throughput within 10%); writes the numbers to bench/out/bulk-DATE.json.
Not a test: numbers for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench.bulk_archive import Archive, ArchiveParams, write_archive
from bench.engines import cpu_model, status_kb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MEMORY_TARGET = 1.10
"""Peak RSS of the process tree at N pages over the baseline's."""
TEMP_TARGET_MB = 500.0
THROUGHPUT_TARGET = 0.90
"""Pages per minute at N pages over the baseline's."""
RATE_RE = re.compile(r"processed (\d+) page\(s\) in ([\d.]+) s: ([\d.]+) pages/minute")
ROLES = ("cli", "worker", "tesseract", "other")
MB = 2**20


@dataclass
class Peaks:
    """What the sampler saw of one import."""

    role_mb: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    """Largest resident memory of one process of each role (max of sampled RSS and VmHWM)."""
    tree_mb: float = 0.0
    """Largest sum of the resident memory of every process of the tree at one sample."""
    tree_pss_mb: float = 0.0
    """The same with proportional set sizes (pages shared after fork counted once)."""
    temp_mb: float = 0.0
    processes: dict[str, set[int]] = field(default_factory=lambda: {r: set() for r in ROLES})
    other_names: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    trace: list[tuple[float, float, float]] = field(default_factory=list)
    """(seconds since start, tree RSS MB, temp MB) at every sample."""


class Sampler:
    """Samples the process tree under `root_pid` and the size of `temp` every `interval` seconds."""

    def __init__(self, root_pid: int, temp: Path, interval: float) -> None:
        self.root = psutil.Process(root_pid)
        self.root_cmdline = _cmdline(self.root)
        self.temp, self.interval = temp, interval
        self.peaks = Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        peaks = self.peaks
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        total = proportional = 0.0
        for process in processes:
            try:
                memory = process.memory_full_info()
                role, what = self._role(process)
            except psutil.Error:
                continue
            total += memory.rss / MB
            proportional += getattr(memory, "pss", memory.rss) / MB
            peak = max(memory.rss / MB, status_kb(process.pid, "VmHWM:") / 1024)
            peaks.role_mb[role] = max(peaks.role_mb[role], peak)
            if process.pid not in peaks.processes[role] and role == "other":
                peaks.other_names[what] += 1
            peaks.processes[role].add(process.pid)
        temp = _disk_used(self.temp) / MB
        peaks.tree_mb = max(peaks.tree_mb, total)
        peaks.tree_pss_mb = max(peaks.tree_pss_mb, proportional)
        peaks.temp_mb = max(peaks.temp_mb, temp)
        peaks.samples += 1
        peaks.trace.append((round(time.monotonic() - self._started, 1), round(total, 1), round(temp, 1)))

    def _role(self, process: psutil.Process) -> tuple[str, str]:
        """(role, what it is): the CLI, a pool worker, a tesseract child, or another helper."""
        if process.pid == self.root.pid:
            return "cli", "cli"
        name = process.name()
        if "tesseract" in name:
            return "tesseract", name
        command = " ".join(_cmdline(process))
        parent = process.ppid()
        if parent == self.root.pid and _cmdline(process) == self.root_cmdline:
            return "worker", "worker"  # a fork of the CLI
        if "multiprocessing.forkserver" in command:
            # The embedded pool's forkserver is the CLI's child; the workers are forked from it.
            return ("other", "forkserver") if parent == self.root.pid else ("worker", "worker")
        if "multiprocessing.resource_tracker" in command:
            return "other", "resource_tracker"
        return "other", name


def _cmdline(process: psutil.Process) -> tuple[str, ...]:
    try:
        return tuple(process.cmdline())
    except psutil.Error:
        return ()


def _disk_used(folder: Path) -> int:
    """Bytes of disk the files under `folder` take (allocated blocks), tolerant of files vanishing."""
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:
                continue
    return total


@dataclass
class Row:
    """One size: the archive, the import, what the export says."""

    label: str
    archive: dict[str, Any]
    workers: int
    wall_seconds: float
    exit_code: int
    cli_rate: dict[str, float] | None
    pages_imported: int
    documents: int
    statuses: dict[str, int]
    failures: dict[str, int]
    review_reasons: dict[str, int]
    with_code: int
    right_code: int
    wrong_code: int
    files_without_document: list[str]
    peak_mb: dict[str, float]
    peak_tree_mb: float
    peak_tree_pss_mb: float
    temp_peak_mb: float
    data_mb: float
    processes_seen: dict[str, int]
    other_processes: dict[str, int]
    samples: int
    trace: list[tuple[float, float, float]] = field(repr=False)

    @property
    def pages_per_minute(self) -> float:
        return 60.0 * self.pages_imported / self.wall_seconds if self.wall_seconds else 0.0


def sohoa_env(data: Path, temp: Path, workers: int) -> dict[str, str]:
    """This environment without any SOHOA_* setting (no broker: embedded), plus the run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(
        SOHOA_DATA_DIR=str(data),
        SOHOA_WORKERS=str(workers),
        SOHOA_SPOOL_DIR=str(temp),
        SOHOA_LANGUAGE="en",
        TMPDIR=str(temp),
    )
    return env


def sohoa() -> str:
    return str(Path(sys.executable).parent / "sohoa")


def run_import(
    tree: Path, run: Path, workers: int, interval: float, timeout: float
) -> tuple[Peaks, float, int, str]:
    """`sohoa import TREE` watched by a `Sampler`; returns its peaks, wall time, exit code and stdout."""
    data, temp = run / "data", run / "tmp"
    data.mkdir(parents=True)
    temp.mkdir(parents=True)
    env = sohoa_env(data, temp, workers)
    stdout, stderr = run / "import.stdout.txt", run / "import.stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sohoa(), "import", str(tree)], env=env, cwd=run, stdout=out, stderr=err, start_new_session=True
        )
        try:
            with Sampler(process.pid, temp, interval) as sampler:
                code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
            raise
        wall = time.perf_counter() - started
    return sampler.peaks, wall, code, stdout.read_text(encoding="utf-8", errors="replace")


def export_records(run: Path, workers: int) -> list[dict[str, Any]]:
    """Every document of the run's data folder, from `sohoa export`."""
    target = run / "export.jsonl"
    subprocess.run(
        [sohoa(), "export", "-o", str(target)],
        env=sohoa_env(run / "data", run / "tmp", workers),
        cwd=run,
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )
    with target.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def measure(label: str, folder: str, params: ArchiveParams, base: Path, args: argparse.Namespace) -> Row:
    """Generate the archive under `base/folder`, import it, read the export back: one row."""
    run = base / folder
    tree = run / "tree"
    print(f"[{label}] generating {params.pages} pages into {tree} ...", flush=True)
    archive = write_archive(params, tree, cache_dir=OUT, processes=args.workers)
    summary = archive.summary()
    pool = "cached" if archive.pool_cached else f"rendered in {archive.pool_seconds:.1f} s"
    print(
        f"[{label}] {summary['files']} files, {summary['dossiers']} dossiers in {archive.seconds:.1f} s "
        f"(pool {pool}); importing ...",
        flush=True,
    )
    timeout = max(3600.0, 30.0 * params.pages)
    peaks, wall, code, stdout = run_import(tree, run, args.workers, args.interval, timeout)
    match = RATE_RE.search(stdout)
    records = export_records(run, args.workers)
    row = _row(label, archive, summary, records, peaks, wall, code, args.workers)
    row.cli_rate = (
        {"pages": float(match[1]), "seconds": float(match[2]), "pages_per_minute": float(match[3])}
        if match
        else None
    )
    row.data_mb = round(_disk_used(run / "data") / MB, 1)
    print(
        f"[{label}] exit {code}, {row.pages_imported} pages in {wall:.1f} s = {row.pages_per_minute:.1f} "
        f"pages/min; peak tree RSS {row.peak_tree_mb:.0f} MB, temp {row.temp_peak_mb:.1f} MB",
        flush=True,
    )
    if not args.keep:
        shutil.rmtree(run, ignore_errors=True)
    return row


def _row(
    label: str,
    archive: Archive,
    summary: dict[str, Any],
    records: list[dict[str, Any]],
    peaks: Peaks,
    wall: float,
    code: int,
    workers: int,
) -> Row:
    expected = {f.source: f.dossier for f in archive.files}
    statuses = Counter(r["status"] for r in records)
    failures = Counter((r.get("error") or {}).get("code", "?") for r in records if r["status"] == "failed")
    reasons = Counter(reason for r in records for reason in r.get("review_reasons") or [])
    seen: set[str] = set()
    right = wrong = 0
    for record in records:
        source = str(record["source"]).split("#pages=", 1)[0]
        seen.add(source)
        dossier, own = record.get("dossier"), expected.get(source)
        if dossier and own:
            right += dossier == own
            wrong += dossier != own
    return Row(
        label=label,
        archive=summary,
        workers=workers,
        wall_seconds=round(wall, 2),
        exit_code=code,
        cli_rate=None,
        pages_imported=sum(
            r.get("page_count") or 0 for r in records if r["status"] in ("done", "needs_review")
        ),
        documents=len(records),
        statuses=dict(statuses),
        failures=dict(failures),
        review_reasons=dict(reasons),
        with_code=sum(bool(r.get("dossier")) for r in records),
        right_code=right,
        wrong_code=wrong,
        files_without_document=sorted(set(expected) - seen),
        peak_mb={role: round(mb, 1) for role, mb in peaks.role_mb.items()},
        peak_tree_mb=round(peaks.tree_mb, 1),
        peak_tree_pss_mb=round(peaks.tree_pss_mb, 1),
        temp_peak_mb=round(peaks.temp_mb, 1),
        data_mb=0.0,
        processes_seen={role: len(pids) for role, pids in peaks.processes.items()},
        other_processes=dict(peaks.other_names),
        samples=peaks.samples,
        trace=peaks.trace,
    )


def machine() -> dict[str, Any]:
    """Cores, CPU model, tesseract and python versions."""
    try:
        version = subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        version = "tesseract ?"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "tesseract": version,
        "python": platform.python_version(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def print_report(rows: list[Row], host: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The table, the ratio lines and the target lines; returns the target lines."""
    print(
        f"\n# bench/bulk.py — {time.strftime('%Y-%m-%d %H:%M')}, {host['cores']} cores ({host['cpu']}), "
        f"{host['memory_gb']} GB; {host['tesseract']}, python {host['python']}; embedded mode, "
        f"{args.workers} workers, seed {args.seed}, sampled every {args.interval} s\n"
    )
    print(
        "| run | pages | files | dossiers | generate s | import s | pages imported | pages/min | documents "
        "| done / review / failed | with dossier code (right) | peak RSS MB cli / worker / tesseract "
        "| peak RSS MB tree | temp peak MB |"
    )
    print("|---|" + "---:|" * 13)
    for r in rows:
        s = r.statuses
        print(
            f"| {r.label} | {r.archive['pages']} | {r.archive['files']} | {r.archive['dossiers']} "
            f"| {r.archive['seconds']:.0f} | {r.wall_seconds:.0f} | {r.pages_imported} "
            f"| {r.pages_per_minute:.1f} "
            f"| {r.documents} | {s.get('done', 0)} / {s.get('needs_review', 0)} / {s.get('failed', 0)} "
            f"| {r.with_code} ({r.right_code}) "
            f"| {r.peak_mb['cli']:.0f} / {r.peak_mb['worker']:.0f} / {r.peak_mb['tesseract']:.0f} "
            f"| {r.peak_tree_mb:.0f} | {r.temp_peak_mb:.1f} |"
        )
    print()
    for r in rows:
        per_1000 = 1000 * r.archive["seconds"] / max(1, r.archive["pages"])
        cli = r.cli_rate["pages_per_minute"] if r.cli_rate else float("nan")
        print(
            f"- {r.label}: exit {r.exit_code}; {r.archive['dossiers_with_receipt']} receipts "
            f"({r.archive['receipts_not_first']} not first), containers {r.archive['containers']}, "
            f"{r.archive['zips']} ZIP(s) with {r.archive['zipped_dossiers']} dossiers; generation "
            f"{per_1000:.0f} s per 1000 pages (pool {'cached' if r.archive['pool_cached'] else 'rendered'}); "
            f"sohoa's own rate {cli:.1f} pages/min; "
            f"files without a document: {len(r.files_without_document)}; "
            f"wrong dossier code: {r.wrong_code}; failures {r.failures or 'none'}; review reasons "
            f"{r.review_reasons or 'none'}; processes seen {r.processes_seen}; objects {r.data_mb:.0f} MB"
        )
    targets: list[str] = []
    if len(rows) == 2:
        small, big = rows
        speed = big.pages_per_minute / small.pages_per_minute if small.pages_per_minute else 0.0
        memory = big.peak_tree_mb / small.peak_tree_mb if small.peak_tree_mb else 0.0
        role_ratios = ", ".join(
            f"{role} {big.peak_mb[role] / small.peak_mb[role]:.2f}"
            for role in ("cli", "worker", "tesseract")
            if small.peak_mb[role]
        )
        print(f"\n- pages/min {big.label} / {small.label}: {speed:.3f}")
        pss = big.peak_tree_pss_mb / small.peak_tree_pss_mb if small.peak_tree_pss_mb else 0.0
        print(
            f"- peak RSS of the tree {big.label} / {small.label}: {memory:.3f} ({role_ratios}); "
            f"peak PSS of the tree {big.peak_tree_pss_mb:.0f} / {small.peak_tree_pss_mb:.0f} MB = {pss:.3f}"
        )
        print(
            f"- temp space at peak: {small.temp_peak_mb:.1f} MB ({small.label}), "
            f"{big.temp_peak_mb:.1f} MB ({big.label})"
        )
        targets = [
            _target(
                f"memory flat: peak RSS of the tree at {big.label} / {small.label} = {memory:.3f}",
                f"≤ {MEMORY_TARGET:.2f}",
                memory <= MEMORY_TARGET,
            ),
            _target(
                f"temp space at peak at {big.label}: {big.temp_peak_mb:.1f} MB",
                f"< {TEMP_TARGET_MB:.0f} MB",
                big.temp_peak_mb < TEMP_TARGET_MB,
            ),
            _target(
                f"throughput: pages/min at {big.label} / {small.label} = {speed:.3f}",
                f"≥ {THROUGHPUT_TARGET:.2f}",
                speed >= THROUGHPUT_TARGET,
            ),
            _target(
                "every file became a document",
                "0 missing",
                all(not r.files_without_document for r in rows),
            ),
        ]
        print()
        for line in targets:
            print(line)
    print(
        "\nReceipts are rendered per dossier: each prints and encodes its own dossier's code. The other "
        f"pages reuse a pool of {args.pool} distinct rendered pages; each file's bytes are made unique (JPEG "
        "comment, PDF title, TIFF description) so SHA-256 dedup keeps them apart while OCR sees the same "
        f"pixels. Tesseract children live about a second and are sampled every {args.interval} s: their peak "
        "is a floor."
    )
    return targets


def _target(what: str, target: str, met: bool) -> str:
    return f"- {what} (target {target}: {'met' if met else 'not met'})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000, help="pages of the big archive")
    parser.add_argument("--small", type=int, default=200, help="pages of the baseline archive (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="SOHOA_WORKERS")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees (and data, temp, logs)")
    parser.add_argument("--pool", type=int, default=48, help="distinct rendered non-receipt pages")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    args = parser.parse_args()
    if args.pages < 1 or args.small < 0 or args.pool < 8:
        parser.error("--pages ≥ 1, --small ≥ 0, --pool ≥ 8")

    host = machine()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = OUT / f"bulk-{stamp}"
    sizes = [(f"baseline {args.small} pages", args.small)] if args.small else []
    sizes.append((f"{args.pages} pages", args.pages))
    rows: list[Row] = []
    for n, (label, pages) in enumerate(sizes):
        # Each size has its own data folder, so the same seed (the same pool) is no duplicate across sizes.
        params = ArchiveParams(pages=pages, seed=args.seed, pool_size=args.pool)
        rows.append(measure(label, f"{n}-{pages}", params, base, args))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    targets = print_report(rows, host, args)
    OUT.mkdir(parents=True, exist_ok=True)
    target_file = OUT / f"bulk-{time.strftime('%Y-%m-%d')}.json"
    payload = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": host,
        "args": vars(args),
        "rows": [asdict(r) | {"pages_per_minute": round(r.pages_per_minute, 2)} for r in rows],
        "targets": targets,
        "kept": str(base) if args.keep else None,
    }
    target_file.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nwritten {target_file}" + (f"; trees kept under {base}" if args.keep else ""))
    return 0 if all(r.exit_code == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
