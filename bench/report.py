"""Scoring engine outputs against a dataset's truth, and printing them as Markdown tables and ratio lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import metrics
from bench.datasets import Dataset
from bench.engines import EngineOutput

BLANK_COST_TARGET = 0.05
RSS_TARGET_MB = 600.0


@dataclass(frozen=True)
class Result:
    """One engine on one dataset, scored."""

    engine: str
    scores: metrics.Scores
    seconds: float
    pages_per_minute: float
    rss_self_mb: float
    rss_children_mb: float
    turned: tuple[int, int]
    """Pages that needed a quarter turn: (turned right, total); (0, 0) when the engine does not say."""
    kept_upright: tuple[int, int]
    """Upright pages left upright: (kept, total); (0, 0) when the engine does not say."""
    blanks: tuple[int, int, int]
    """(blank pages flagged, blank pages, text pages wrongly flagged blank); zeros when not reported."""
    blank_seconds: float | None
    ocr_seconds: float | None
    rss_trace_mb: list[float]
    children_mb: dict[str, float]
    code: str
    notes: list[str]
    groups: dict[str, metrics.Scores]
    errors: list[str]
    pages: list[dict[str, Any]] = field(repr=False)

    @property
    def reports_rotation(self) -> bool:
        return self.turned[1] + self.kept_upright[1] > 0


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def evaluate(dataset: Dataset, output: EngineOutput) -> Result:
    """Score `output` page by page against the dataset's truth (pages in the same order)."""
    truth = dataset.pages
    if len(output.pages) != len(truth):
        raise ValueError(f"{output.engine}: {len(output.pages)} pages for {len(truth)} truth pages")
    pairs = list(zip(truth, output.pages, strict=True))
    known = [(t, o) for t, o in pairs if t.upright_turn is not None and o.rotation is not None]
    turned = [(t, o) for t, o in known if t.upright_turn]
    upright = [(t, o) for t, o in known if not t.upright_turn]
    flagged = [(t, o) for t, o in pairs if o.blank is not None]
    groups: dict[str, list[tuple[str, str]]] = {}
    for t, o in pairs:
        groups.setdefault(t.group, []).append((t.truth, o.text))
    rows = [
        {
            "id": t.id,
            "group": t.group,
            "cer": round(metrics.cer(t.truth, o.text), 4),
            "wer": round(metrics.wer(t.truth, o.text), 4),
            "word_f1": round(metrics.word_f1(t.truth, o.text), 4),
            "seconds": round(o.seconds, 3),
            "expected_turn": t.upright_turn,
            "rotation": o.rotation,
            "blank_truth": t.blank,
            "blank": o.blank,
            "error": o.error,
        }
        for t, o in pairs
    ]
    return Result(
        engine=output.engine,
        scores=metrics.score((t.truth, o.text) for t, o in pairs),
        seconds=output.seconds,
        pages_per_minute=60 * len(pairs) / output.seconds if output.seconds else 0.0,
        rss_self_mb=output.rss_self_mb,
        rss_children_mb=output.rss_children_mb,
        turned=(sum(o.rotation == t.upright_turn for t, o in turned), len(turned)),
        kept_upright=(sum(o.rotation == 0 for _, o in upright), len(upright)),
        blanks=(
            sum(bool(o.blank) for t, o in flagged if t.blank),
            sum(t.blank for t, _ in flagged),
            sum(bool(o.blank) for t, o in flagged if not t.blank),
        ),
        blank_seconds=_mean([o.seconds for _, o in flagged if o.blank]),
        ocr_seconds=_mean([o.seconds for _, o in flagged if o.blank is False]),
        rss_trace_mb=output.rss_trace_mb,
        children_mb=output.children_mb,
        code=output.code,
        notes=output.notes,
        groups={name: metrics.score(group) for name, group in groups.items()},
        errors=output.errors,
        pages=rows,
    )


def _fraction(pair: tuple[int, int]) -> str:
    return f"{pair[0]}/{pair[1]}" if pair[1] else "–"


def _blank_cell(result: Result) -> str:
    flagged, total, false = result.blanks
    if not total and not false:
        return "–"
    return f"{flagged}/{total}" + (f" (+{false} text pages)" if false else "")


def table(results: Sequence[Result]) -> list[str]:
    """The dataset's Markdown table: one row per engine."""
    lines = [
        "| engine | pages | CER | WER | word F1 | pages/min | peak RSS MB (worker / children) "
        "| turned pages upright | upright pages kept | blank pages flagged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.scores
        lines.append(
            f"| {r.engine} | {s.pages} | {s.cer:.4f} | {s.wer:.4f} | {s.word_f1:.4f} "
            f"| {r.pages_per_minute:.1f} "
            f"| {r.rss_self_mb:.0f} / {r.rss_children_mb:.0f} | {_fraction(r.turned)} "
            f"| {_fraction(r.kept_upright)} | {_blank_cell(r)} |"
        )
    return lines


def group_table(results: Sequence[Result]) -> list[str]:
    """CER and word F1 per group (difficulty, page category or file), engines side by side."""
    names = list(dict.fromkeys(g for r in results for g in r.groups))
    if len(names) < 2:
        return []
    head = " | ".join([*(f"CER {r.engine}" for r in results), *(f"F1 {r.engine}" for r in results)])
    lines = [f"| group | pages | {head} |", "|---|---:|" + "---:|" * (2 * len(results))]
    for name in names:
        cells = [f"{r.groups[name].cer:.4f}" if name in r.groups else "–" for r in results]
        cells += [f"{r.groups[name].word_f1:.4f}" if name in r.groups else "–" for r in results]
        pages = max(r.groups[name].pages for r in results if name in r.groups)
        lines.append(f"| {name} | {pages} | {' | '.join(cells)} |")
    return lines


@dataclass(frozen=True)
class Ratio:
    """A sohoa / baseline ratio and the target it is checked against later."""

    label: str
    value: float | None
    target: str

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        op, bound = self.target.split()
        return self.value <= float(bound) if op == "≤" else self.value >= float(bound)

    def line(self) -> str:
        if self.value is None:
            return f"- {self.label}: n/a"
        verdict = {True: "met", False: "not met", None: ""}[self.met]
        return f"- {self.label}: {self.value:.3f} (target {self.target}: {verdict})"


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def ratios(results: Sequence[Result], *, synthetic: bool) -> list[Ratio]:
    """CER and speed of sohoa against each baseline present (targets: the issue's acceptance numbers)."""
    by = {r.engine: r for r in results}
    sohoa = by.get("sohoa")
    if sohoa is None:
        return []
    out: list[Ratio] = []
    if (ocrmypdf := by.get("ocrmypdf")) is not None:
        out.append(
            Ratio(
                "CER sohoa/ocrmypdf",
                _div(sohoa.scores.cer, ocrmypdf.scores.cer),
                "≤ 0.5" if synthetic else "≤ 1.0",
            )
        )
    if (tesseract := by.get("tesseract")) is not None:
        out.append(
            Ratio(
                "CER sohoa/tesseract",
                _div(sohoa.scores.cer, tesseract.scores.cer),
                "≤ 0.2" if synthetic else "≤ 1.0",
            )
        )
        if not synthetic:
            out.append(
                Ratio(
                    "word F1 sohoa/tesseract", _div(sohoa.scores.word_f1, tesseract.scores.word_f1), "≥ 1.0"
                )
            )
    if ocrmypdf is not None:
        out.append(
            Ratio("speed sohoa/ocrmypdf", _div(sohoa.pages_per_minute, ocrmypdf.pages_per_minute), "≥ 4")
        )
    if tesseract is not None:
        out.append(
            Ratio("speed sohoa/tesseract", _div(sohoa.pages_per_minute, tesseract.pages_per_minute), "≥ 0.85")
        )
    return out


def sohoa_lines(results: Sequence[Result]) -> list[str]:
    """Blank-page cost, memory growth and errors of sohoa; errors of the others."""
    lines: list[str] = []
    for r in results:
        if r.engine == "sohoa":
            if r.blank_seconds is not None and r.ocr_seconds:
                share = r.blank_seconds / r.ocr_seconds
                lines.append(
                    f"- sohoa blank page: {r.blank_seconds:.3f} s mean vs {r.ocr_seconds:.2f} s "
                    f"per OCR'd page = {share:.1%} (target < {BLANK_COST_TARGET:.0%}: "
                    f"{'met' if share < BLANK_COST_TARGET else 'not met'})"
                )
            if r.rss_trace_mb:
                trace = r.rss_trace_mb
                lines.append(
                    f"- sohoa worker RSS after page 1 → max → last: {trace[0]:.0f} → "
                    f"{max(trace):.0f} → {trace[-1]:.0f} MB; peak {r.rss_self_mb:.0f} MB worker, "
                    f"{r.rss_children_mb:.0f} MB tesseract (target < {RSS_TARGET_MB:.0f})"
                )
        if len(r.children_mb) > 1:
            peaks = ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(r.children_mb.items()))
            lines.append(f"- {r.engine} child processes, peak RSS MB: {peaks}")
        for error in r.errors[:5]:
            lines.append(f"- {r.engine} error: {error.strip()[:300]}")
        if len(r.errors) > 5:
            lines.append(f"- {r.engine}: {len(r.errors) - 5} more errors (see the JSON)")
    return lines


def dataset_section(name: str, title: str, results: Sequence[Result]) -> list[str]:
    """Everything printed for one dataset."""
    lines = [f"### {title}", "", *table(results), ""]
    groups = group_table(results)
    if groups:
        lines += [*groups, ""]
    lines += [r.line() for r in ratios(results, synthetic=name == "synthetic")]
    lines += sohoa_lines(results)
    return [*lines, ""]


def result_json(result: Result) -> dict[str, Any]:
    """A Result as plain JSON values."""
    s = result.scores
    return {
        "engine": result.engine,
        "pages": s.pages,
        "cer": s.cer,
        "wer": s.wer,
        "word_f1": s.word_f1,
        "char_edits": s.chars.edits,
        "ref_chars": s.chars.reference,
        "word_edits": s.words.edits,
        "ref_words": s.words.reference,
        "seconds": round(result.seconds, 2),
        "pages_per_minute": round(result.pages_per_minute, 2),
        "rss_self_mb": round(result.rss_self_mb, 1),
        "rss_children_mb": round(result.rss_children_mb, 1),
        "turned_right": list(result.turned),
        "upright_kept": list(result.kept_upright),
        "blanks_flagged": list(result.blanks),
        "blank_seconds": result.blank_seconds,
        "ocr_seconds": result.ocr_seconds,
        "rss_trace_mb": result.rss_trace_mb,
        "children_mb": result.children_mb,
        "code": result.code,
        "notes": result.notes,
        "groups": {
            name: {"pages": g.pages, "cer": g.cer, "wer": g.wer, "word_f1": g.word_f1}
            for name, g in result.groups.items()
        },
        "bag": [s.bag.matched, s.bag.reference, s.bag.hypothesis],
        "errors": result.errors,
        "page_results": result.pages,
    }


def _saved_scores(raw: dict[str, Any]) -> metrics.Scores:
    chars = metrics.Counts(raw.get("char_edits", 0), raw.get("ref_chars", 0))
    words = metrics.Counts(raw.get("word_edits", 0), raw.get("ref_words", 0))
    bag = metrics.BagCounts(*raw.get("bag", (0, 0, 0)))
    return metrics.Scores(raw["pages"], raw["cer"], raw["wer"], raw["word_f1"], chars, words, bag)


def result_from_json(raw: dict[str, Any]) -> Result:
    """A Result back from `result_json` (to print a saved run again)."""
    blanks = raw["blanks_flagged"]
    return Result(
        engine=raw["engine"],
        scores=_saved_scores(raw),
        seconds=raw["seconds"],
        pages_per_minute=raw["pages_per_minute"],
        rss_self_mb=raw["rss_self_mb"],
        rss_children_mb=raw["rss_children_mb"],
        turned=(raw["turned_right"][0], raw["turned_right"][1]),
        kept_upright=(raw["upright_kept"][0], raw["upright_kept"][1]),
        blanks=(blanks[0], blanks[1], blanks[2]),
        blank_seconds=raw["blank_seconds"],
        ocr_seconds=raw["ocr_seconds"],
        rss_trace_mb=raw["rss_trace_mb"],
        children_mb=raw["children_mb"],
        code=raw["code"],
        notes=raw["notes"],
        groups={name: _saved_scores(g) for name, g in raw["groups"].items()},
        errors=raw["errors"],
        pages=raw["page_results"],
    )
