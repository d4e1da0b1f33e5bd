"""Classification among the whole catalog: receipts and forms of procedures nobody tuned the rules on.

    .venv/bin/python bench/catalog.py [--procedures 40] [--seed 2026] [--split test|dev] [--workers N]

Procedures are drawn from the national entries of the shipped catalog that have no curated entry (the rules
were written against the curated twenty; these were never looked at), in two disjoint halves by seed: `dev`
for whoever tunes the rules, `test` (the default) held out and reported. For each procedure one dossier is
drawn: a receipt ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", its QR code carrying the dossier code and the
procedure code, the printed "Nội dung yêu cầu giải quyết:" with the procedure's name and the first
components it lists) and the application form (the title its own catalog components name — "Tờ khai …",
"Đơn đề nghị …" — else "ĐƠN ĐỀ NGHỊ", and its request in the procedure's own words under one of three
labels). Pages are rendered at 200 dpi by `examples/synth.py`, spoiled by `synth.random_degradation`, saved
as JPEG and read by sohoa's page pipeline (`bench.classify_corpus.read_scan`), in a process pool.

Scored: sohoa's rules (`ProcedureClassifier` over the full catalog, no learned model: no confirmations yet),
against a baseline that picks the procedure whose name is nearest the page's text by plain fuzzy matching
(rapidfuzz `partial_ratio` over the folded text, no abstention). Prints accuracy of accepted documents, the
share sent to review, receipts right, and the classifier's time per page against the OCR's, and writes
bench/out/catalog-DATE.json. Not a test: numbers for the README.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from rapidfuzz import fuzz, process

from bench.classify_corpus import Reading, read_scan
from classifiers.catalog import Catalog, Procedure, load_catalog
from classifiers.procedure import ProcedureClassifier
from classifiers.text import fold
from classifiers.titles import form_titles_of
from examples import synth

OUT = Path(__file__).resolve().parent / "out"
DPI = 200
REQUEST_LABELS = ("Nội dung đề nghị", "Nội dung yêu cầu giải quyết", "Tên thủ tục hành chính")
PEOPLE = ("Nguyễn Văn An", "Trần Thị Bích Ngọc", "Lê Hoàng Phúc", "Phạm Thị Thu Hà", "Võ Minh Tuấn")


@dataclass(frozen=True)
class Page:
    """One page of the corpus: which procedure it is of, what kind, its seed."""

    procedure_id: str
    kind: str
    seed: int


@dataclass(frozen=True)
class Scored:
    page: Page
    reading: Reading
    verdict: str | None
    confidence: float
    baseline: str
    classify_ms: float


def held_out(catalog: Catalog, count: int, seed: int, split: str) -> list[Procedure]:
    """`count` national procedures without a curated entry, from the `split` half of a seeded shuffle."""
    pool = [p for p in catalog.procedures if p.levels and not p.form_titles and len(p.name.split()) >= 3]
    order = np.random.default_rng(seed).permutation(len(pool))
    half = (
        [pool[i] for i in order[: len(order) // 2]]
        if split == "dev"
        else [pool[i] for i in order[len(order) // 2 :]]
    )
    return half[:count]


def printed_title(procedure: Procedure) -> str:
    """The form's title as printed: the words of its first catalog form title, in the catalog's own
    spelling (with tone marks), upper-case; "ĐƠN ĐỀ NGHỊ" when the catalog names no form."""
    titles = form_titles_of(procedure)
    if not titles:
        return "ĐƠN ĐỀ NGHỊ"
    words = titles[0].split()
    for component in procedure.dossier_components:
        spelled = component.name.replace("(", " ").replace(";", " ").replace(":", " ").split()
        folded = [fold(w) for w in spelled]
        for start in range(len(folded)):
            if folded[start : start + len(words)] == words:
                return " ".join(spelled[start : start + len(words)]).upper()
    return titles[0].upper()


def form_items(procedure: Procedure, rng: np.random.Generator) -> list[synth.Item | str]:
    printed = printed_title(procedure)
    label = REQUEST_LABELS[int(rng.integers(len(REQUEST_LABELS)))]
    person = PEOPLE[int(rng.integers(len(PEOPLE)))]
    return [
        synth.Item(synth.NATIONAL_NAME, "head", "center"),
        synth.Item(synth.MOTTO, "head_rule", "center"),
        synth.Item(printed, "title", "center", gap=1.5),
        synth.Item(
            f"Kính gửi: {procedure.agency or 'Ủy ban nhân dân tỉnh Vĩnh Long'}", "body", "center", gap=0.5
        ),
        synth.Item(f"Tôi tên là: {person}", gap=1),
        "Nơi cư trú: ấp Phước Yên, xã Long Hồ, tỉnh Vĩnh Long",
        synth.Item(f"{label}: {procedure.name}", gap=0.5),
        "Tôi xin cam đoan những thông tin trên là đúng sự thật.",
        synth.Item("NGƯỜI LÀM ĐƠN", "bold", "right", gap=1.5),
        synth.Item(person, "body", "right", gap=3),
    ]


def receipt_items(procedure: Procedure, dossier: str) -> list[synth.Item | str]:
    listed = [f"- {c.name[:90]}" for c in procedure.dossier_components[:4]]
    return [
        synth.Item("UBND TỈNH VĨNH LONG", "head", "center"),
        synth.Item("TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "head_rule", "center"),
        synth.Item(synth.RECEIPT_TITLE, "title", "center", gap=1.5),
        synth.Item(f"Mã hồ sơ: {dossier}", gap=1),
        f"Nội dung yêu cầu giải quyết: {procedure.name}",
        "Thành phần hồ sơ gồm:",
        *listed,
        synth.Item("NGƯỜI TIẾP NHẬN", "bold", "right", gap=1.5),
    ]


def render_and_read(page: Page, procedure: Procedure) -> Reading:
    """Draw the page, spoil it like a scanner, read it as sohoa does (runs in a worker process)."""
    rng = np.random.default_rng([page.seed, 1 if page.kind == "receipt" else 2])
    dossier = f"000.00.21.H61-260112-{page.seed % 10_000:04d}"
    if page.kind == "receipt":
        payload = synth.qr_payload(dossier, procedure.code or "", "086095001234", synth.RECEIPT_TITLE)
        image, _ = synth._render_image(
            receipt_items(procedure, dossier), dpi=DPI, family="sans", rng=rng, qr_payload=payload
        )
    else:
        image, _ = synth._render_image(form_items(procedure, rng), dpi=DPI, family="serif", rng=rng)
    spoiled = synth.degrade(image, synth.random_degradation(rng), rng)
    buffer = io.BytesIO()
    spoiled.save(buffer, format="JPEG", quality=90, dpi=(DPI, DPI))
    return read_scan(buffer.getvalue(), "vie")


def nearest_name(names: list[str], ids: list[str], text: str) -> str:
    """The baseline: the procedure whose folded name best matches somewhere in the page's text."""
    best = process.extractOne(fold(text)[:3000], names, scorer=fuzz.partial_ratio)
    return ids[best[2]] if best else ids[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--procedures", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    catalog = load_catalog()
    procedures = held_out(catalog, args.procedures, args.seed, args.split)
    pages = [
        Page(p.id, kind, args.seed * 1000 + n)
        for n, p in enumerate(procedures)
        for kind in ("receipt", "form")
    ]
    by_id = {p.id: p for p in procedures}
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        readings = list(pool.map(render_and_read, pages, [by_id[p.procedure_id] for p in pages]))
    ocr_wall = time.perf_counter() - started
    classifier = ProcedureClassifier(catalog)
    names, ids = [p.folded_name for p in catalog.procedures], [p.id for p in catalog.procedures]
    scored = []
    for page, reading in zip(pages, readings, strict=True):
        tick = time.perf_counter()
        verdict = classifier.classify([reading.text], reading.payloads)
        classify_ms = (time.perf_counter() - tick) * 1000
        scored.append(
            Scored(
                page,
                reading,
                verdict.procedure_id,
                verdict.confidence,
                nearest_name(names, ids, reading.text),
                classify_ms,
            )
        )
    report(scored, args, ocr_wall, catalog)


def report(scored: list[Scored], args: argparse.Namespace, ocr_wall: float, catalog: Catalog) -> None:
    forms = [s for s in scored if s.page.kind == "form"]
    receipts = [s for s in scored if s.page.kind == "receipt"]
    accepted = [s for s in forms if s.verdict is not None]
    right = [s for s in accepted if s.verdict == s.page.procedure_id]
    receipts_right = sum(s.verdict == s.page.procedure_id for s in receipts)
    baseline_forms = sum(s.baseline == s.page.procedure_id for s in forms)
    baseline_receipts = sum(s.baseline == s.page.procedure_id for s in receipts)
    ocr_ms = statistics.mean(s.reading.seconds for s in scored) * 1000
    classify_ms = statistics.mean(s.classify_ms for s in scored)
    print(
        f"\n{len(forms)} procedures of the {args.split} half ({len(catalog.procedures)} in the catalog), "
        f"seed {args.seed}, {date.today()}; OCR wall {ocr_wall:.0f} s with {args.workers} workers\n"
    )
    print("| | receipts right | forms: accepted right | forms sent to review | forms right overall |")
    print("|---|---:|---:|---:|---:|")
    share = len(right) / len(accepted) if accepted else 0.0
    print(
        f"| sohoa rules | {receipts_right}/{len(receipts)} | {share:.1%} ({len(right)}/{len(accepted)}) | "
        f"{1 - len(accepted) / len(forms):.1%} | {len(right)}/{len(forms)} |"
    )
    print(
        f"| nearest name (fuzzy, no abstention) | {baseline_receipts}/{len(receipts)} | "
        f"{baseline_forms / len(forms):.1%} ({baseline_forms}/{len(forms)}) | — | "
        f"{baseline_forms}/{len(forms)} |"
    )
    print(
        f"\nper page: OCR {ocr_ms:.0f} ms, classification {classify_ms:.1f} ms "
        f"= {classify_ms / ocr_ms:.1%} of OCR"
    )
    wrong = [s for s in accepted if s.verdict != s.page.procedure_id]
    for s in wrong:
        print(f"  wrong: {s.page.procedure_id} → {s.verdict} ({s.confidence:.2f})")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"catalog-{date.today():%Y%m%d}-{args.split}.json"
    path.write_text(
        json.dumps(
            {
                "split": args.split,
                "seed": args.seed,
                "pages": [
                    {
                        **asdict(s.page),
                        "verdict": s.verdict,
                        "confidence": s.confidence,
                        "baseline": s.baseline,
                        "ocr_ms": s.reading.seconds * 1000,
                        "classify_ms": s.classify_ms,
                        "error": s.reading.error,
                    }
                    for s in scored
                ],
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
