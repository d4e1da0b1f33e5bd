"""First procedure classifier: evidence from barcodes, form titles and the requested content.

Scores every catalog procedure, then turns the best score and its margin over the runner-up into a
confidence in [0, 1]. Two procedures sharing a form (CT01) tie unless the body says which one, and a tie
yields a low confidence, so such documents go to review instead of being assigned silently.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from classifiers.catalog import Catalog, Procedure
from classifiers.model import ProcedureModel
from classifiers.text import fold

TITLE_MIN_SIMILARITY = 0.80
NAME_MIN_SIMILARITY = 0.90
HEAD_LINES = 45
"""Titles are looked for in the first lines of each page only."""

_PROCEDURE_CODE = re.compile(r"(?<![\d.])([12]\.\d{6})(?![\d])")
_REQUEST_LABELS = ("noi dung yeu cau giai quyet", "noi dung de nghi", "yeu cau giai quyet", "ten thu tuc")


@dataclass(frozen=True)
class Candidate:
    """A procedure with its score and the evidence that produced it."""

    procedure_id: str
    score: float
    evidence: str
    decisive: bool = False
    """The page states the procedure itself (its requested content): a model's hunch cannot overrule it."""


@dataclass(frozen=True)
class Classification:
    """The verdict: a procedure id (or None) with a confidence in [0, 1] and the top-3 candidates."""

    procedure_id: str | None
    confidence: float
    candidates: tuple[Candidate, ...]


class ProcedureClassifier:
    """Assign one catalog procedure, or none, to a document's page texts and barcode payloads."""

    def __init__(
        self, catalog: Catalog, *, min_confidence: float = 0.6, model: ProcedureModel | None = None
    ) -> None:
        self.catalog = catalog
        self.min_confidence = min_confidence
        self.model = model
        self._titles = {p.id: [fold(t) for t in p.form_titles] for p in catalog.procedures}
        self._components = {p.id: [fold(t) for t in p.components] for p in catalog.procedures}
        self._all_titles = sorted(
            {t for group in (self._titles, self._components) for ts in group.values() for t in ts}
        )

    def classify(self, pages: Sequence[str], payloads: Sequence[str] = ()) -> Classification:
        """Score all procedures and keep the best one only if it is confident enough."""
        coded = self._from_payloads(payloads)
        if coded is not None:
            candidate = Candidate(coded.id, 0.99, "barcode names the procedure code")
            return Classification(coded.id, 0.99, (candidate,))
        head_lines = _head_lines(pages)
        body = fold("\n".join(pages[:3]))
        requested = _requested_content(head_lines)
        titles = _winning_titles(self._all_titles, head_lines)
        scored = sorted(
            (self._score(p, titles, body, requested) for p in self.catalog.procedures),
            key=lambda c: c.score,
            reverse=True,
        )
        top = scored[0]
        runner_up = scored[1].score if len(scored) > 1 else 0.0
        ruled = Candidate(
            top.procedure_id, _confidence(top.score, runner_up), top.evidence, decisive=top.decisive
        )
        candidates = tuple(c for c in scored[:3] if c.score > 0)
        learned = self._from_model("\n".join(pages))
        if learned is None:
            return self._verdict(ruled.procedure_id, ruled.score, candidates)
        chosen, confidence = _combine(ruled, learned, self.model.classes if self.model else ())
        ranked = sorted((learned, *candidates), key=lambda c: (c.procedure_id != chosen, -c.score))
        best_of_each: dict[str, Candidate] = {}
        for candidate in ranked:
            best_of_each.setdefault(candidate.procedure_id, candidate)
        return self._verdict(chosen, confidence, tuple(best_of_each.values())[:3])

    def _verdict(
        self, procedure_id: str, confidence: float, candidates: tuple[Candidate, ...]
    ) -> Classification:
        chosen = procedure_id if confidence >= self.min_confidence else None
        return Classification(chosen, round(confidence, 3), candidates)

    def _from_model(self, text: str) -> Candidate | None:
        """The learned model's best procedure that the catalog still knows, as a candidate."""
        if self.model is None or not text.strip():
            return None
        probabilities = self.model.probabilities(text)
        known = {k: v for k, v in probabilities.items() if self.catalog.get(k) is not None}
        if not known:
            return None
        best = max(known, key=known.__getitem__)
        return Candidate(
            best, round(known[best], 4), f"learned model ({self.model.examples} confirmed documents)"
        )

    def _from_payloads(self, payloads: Sequence[str]) -> Procedure | None:
        for payload in payloads:
            for match in _PROCEDURE_CODE.finditer(payload):
                procedure = self.catalog.by_code(match.group(1))
                if procedure is not None:
                    return procedure
        return None

    def _score(
        self, procedure: Procedure, titles: dict[str, float], body: str, requested: list[str]
    ) -> Candidate:
        title = max((titles.get(t, 0.0) for t in self._titles[procedure.id]), default=0.0)
        name_in_body = fuzz.partial_ratio(procedure.folded_name, body) / 100.0 if body else 0.0
        name_requested = max((fuzz.ratio(procedure.folded_name, r) / 100.0 for r in requested), default=0.0)
        component = max((titles.get(t, 0.0) for t in self._components[procedure.id]), default=0.0)
        score, evidence, decisive = 0.0, "no evidence", False
        if title >= TITLE_MIN_SIMILARITY:
            score, evidence = 0.75 * title, f"form title ({title:.2f})"
            if name_in_body >= NAME_MIN_SIMILARITY:
                score, evidence = score + 0.25 * name_in_body, evidence + " + requested content"
                decisive = True
        if name_requested >= NAME_MIN_SIMILARITY and 0.9 * name_requested > score:
            score, evidence = 0.9 * name_requested, f"requested content ({name_requested:.2f})"
            decisive = True
        if component >= TITLE_MIN_SIMILARITY and 0.55 * component > score:
            score, evidence, decisive = 0.55 * component, f"component document title ({component:.2f})", False
        return Candidate(procedure.id, round(score, 4), evidence, decisive)


def _head_lines(pages: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for text in pages[:3]:
        page_lines = [fold(line) for line in text.splitlines() if line.strip()][:HEAD_LINES]
        lines.extend(page_lines)
        # A title wrapped over two lines is matched against the pair joined.
        lines.extend(f"{a} {b}" for a, b in itertools.pairwise(page_lines))
    return [line for line in lines if line]


def _line_similarity(title: str, line: str) -> float:
    if len(line) < 0.6 * len(title):
        return 0.0
    similarity = fuzz.ratio(title, line) if len(line) <= 1.3 * len(title) else fuzz.partial_ratio(title, line)
    return similarity / 100.0


def _winning_titles(titles: list[str], lines: list[str]) -> dict[str, float]:
    """Each line votes for the title(s) it matches best, so near-identical titles do not share the credit.

    "ĐƠN ĐĂNG KÝ ĐẤT ĐAI…" and "ĐƠN ĐĂNG KÝ BIẾN ĐỘNG ĐẤT ĐAI…" are 88% alike: only the closer one scores.
    """
    won: dict[str, float] = {}
    for line in lines:
        similarities = {title: _line_similarity(title, line) for title in titles}
        best = max(similarities.values(), default=0.0)
        if best < TITLE_MIN_SIMILARITY:
            continue
        for title, similarity in similarities.items():
            if similarity >= best - 0.02:
                won[title] = max(won.get(title, 0.0), similarity)
    return won


def _requested_content(lines: list[str]) -> list[str]:
    """Text after a "Nội dung yêu cầu giải quyết:" style label (receipts, CT01's requested content)."""
    found: list[str] = []
    for line in lines:
        for label in _REQUEST_LABELS:
            position = line.find(label)
            if position >= 0:
                rest = line[position + len(label) :].strip()
                if rest:
                    found.append(rest)
    return found


def _combine(ruled: Candidate, learned: Candidate, known: Sequence[str]) -> tuple[str, float]:
    """One procedure and confidence from the rules' verdict and the learned model's calibrated one.

    Agreement is two independent pieces of evidence (noisy-OR); disagreement keeps the stronger verdict,
    discounted by the weaker's belief, so a document the two read differently goes to a person — unless the
    page itself states the procedure (requested content) and the rules are at least as sure. The model
    cannot vote against a procedure it never saw confirmed: then the rules decide, and the model only helps
    where the rules found nothing convincing.
    """
    if ruled.score <= 0:
        return learned.procedure_id, learned.score
    if ruled.procedure_id == learned.procedure_id:
        return ruled.procedure_id, min(0.999, 1 - (1 - ruled.score) * (1 - learned.score))
    if ruled.procedure_id not in known:
        return max((ruled, learned), key=lambda c: c.score).procedure_id, max(ruled.score, learned.score)
    if ruled.decisive and ruled.score >= learned.score:
        return ruled.procedure_id, ruled.score
    stronger, weaker = sorted((ruled, learned), key=lambda c: c.score, reverse=True)
    return stronger.procedure_id, stronger.score * (1 - weaker.score)


def _confidence(top: float, runner_up: float) -> float:
    """Best score discounted when the runner-up is close: a tie halves it."""
    if top <= 0:
        return 0.0
    margin = top - runner_up
    return top * min(1.0, 0.5 + margin / 0.5)
