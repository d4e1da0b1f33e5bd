"""Procedure classifier: evidence from barcodes, form titles and the requested content, over the whole
catalog (1,600 procedures).

Only procedures with some evidence are scored: a procedure code in a barcode, a form or component title on
the page (found in bulk by `classifiers.titles.TitleIndex`), or a requested content that names it. The best
score and its margin over the runner-up become a confidence in [0, 1]. Procedures sharing a form (CT01, the
land-change form) tie unless the body or the requested content says which one, and a tie yields a low
confidence, so such documents go to review with the candidates instead of being assigned silently.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from classifiers.catalog import Catalog, Procedure
from classifiers.model import ProcedureModel
from classifiers.text import fold
from classifiers.titles import TITLE_MIN_SIMILARITY, TitleIndex, form_titles_of

NAME_MIN_SIMILARITY = 0.90
CANDIDATES = 9
"""Candidates kept for a person to choose from (the review screen gives each a key, 1–9)."""
FUZZY_NAME_DISCOUNT = 0.9
"""A procedure name matched only fuzzily counts this much of its similarity (an exact statement counts 1)."""
UNIQUE_COMPONENT_WEIGHT = 0.8
"""A document whose title is a component of one procedure only (a death notice: khai tử) belongs to it."""
SHARED_COMPONENT_WEIGHT = 0.55
"""A component several procedures list is a hint for a person, not a verdict."""
REQUEST_WRAP = 2
"""Lines after a request label that may still be the procedure's name."""
LONG_REQUEST = 60
"""A requested content this long may be the start of a longer name (matched within names, not whole)."""
HEAD_LINES = 45
"""Titles are looked for in the first lines of each page only."""

_PROCEDURE_CODE = re.compile(r"(?<![\d.])(\d\.\d{6})(?![\d])")
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
    """The verdict: a procedure id (or None) with a confidence in [0, 1] and the best candidates."""

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
        self._titles = {p.id: form_titles_of(p) for p in catalog.procedures}
        self._components = {p.id: tuple(fold(t) for t in p.components) for p in catalog.procedures}
        self._title_owners: dict[str, set[str]] = defaultdict(set)
        self._component_owners: dict[str, set[str]] = defaultdict(set)
        for procedure_id, titles in self._titles.items():
            for title in titles:
                self._title_owners[title].add(procedure_id)
        for procedure_id, titles in self._components.items():
            for title in titles:
                self._component_owners[title].add(procedure_id)
        self._index = TitleIndex([*self._title_owners, *self._component_owners])
        self._names = [p.folded_name for p in catalog.procedures]
        self._folded = {p.id: p.folded_name for p in catalog.procedures}
        self._position = {p.id: n for n, p in enumerate(catalog.procedures)}
        """Catalog order breaks ties: the curated (most common) procedures come first."""

    def classify(self, pages: Sequence[str], payloads: Sequence[str] = ()) -> Classification:
        """Score all procedures and keep the best one only if it is confident enough."""
        coded = self._from_payloads(payloads)
        if coded is not None:
            candidate = Candidate(coded.id, 0.99, "barcode names the procedure code")
            return Classification(coded.id, 0.99, (candidate,))
        head_lines = _head_lines(pages)
        body = fold("\n".join(pages[:3]))
        requested = _requested_content(pages)
        titles = self._index.won(head_lines)
        evidenced = self._evidenced(titles, requested)
        scored = sorted(
            (self._score(p, titles, body, requested) for p in evidenced),
            key=lambda c: c.score,
            reverse=True,
        )
        scored = _most_specific(scored, self._folded) or [
            Candidate(self.catalog.procedures[0].id, 0.0, "no evidence")
        ]
        top = scored[0]
        runner_up = scored[1].score if len(scored) > 1 else 0.0
        ruled = Candidate(
            top.procedure_id, _confidence(top.score, runner_up), top.evidence, decisive=top.decisive
        )
        candidates = tuple(c for c in scored[:CANDIDATES] if c.score > 0)
        learned = self._from_model("\n".join(pages))
        if learned is None:
            return self._verdict(ruled.procedure_id, ruled.score, candidates)
        chosen, confidence = _combine(ruled, learned, self.model.classes if self.model else ())
        ranked = sorted((learned, *candidates), key=lambda c: (c.procedure_id != chosen, -c.score))
        best_of_each: dict[str, Candidate] = {}
        for candidate in ranked:
            best_of_each.setdefault(candidate.procedure_id, candidate)
        return self._verdict(chosen, confidence, tuple(best_of_each.values())[:CANDIDATES])

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

    def _evidenced(self, titles: dict[str, float], requested: list[str]) -> list[Procedure]:
        """The procedures something on the page points at: a title found, a requested content naming it."""
        ids: set[str] = set()
        for title in titles:
            ids |= self._title_owners.get(title, set()) | self._component_owners.get(title, set())
        cutoff = NAME_MIN_SIMILARITY * 100
        for line in requested:
            names = [n[: len(line)] for n in self._names] if len(line) >= LONG_REQUEST else self._names
            for _name, _score, position in process.extract(
                line, names, scorer=fuzz.ratio, score_cutoff=cutoff, limit=20
            ):
                ids.add(self.catalog.procedures[position].id)
        found = (p for p in (self.catalog.get(i) for i in ids) if p is not None)
        return sorted(found, key=lambda p: self._position[p.id])

    def _score(
        self, procedure: Procedure, titles: dict[str, float], body: str, requested: list[str]
    ) -> Candidate:
        title = max((titles.get(t, 0.0) for t in self._titles[procedure.id]), default=0.0)
        name = procedure.folded_name
        name_in_body = _name_match(name, body, fuzz.partial_ratio) if body and title else 0.0
        name_requested = max((_request_match(name, r) for r in requested), default=0.0)
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
        if component >= TITLE_MIN_SIMILARITY:
            weight = self._component_weight(procedure, titles)
            if weight * component > score:
                score, evidence = weight * component, f"component document title ({component:.2f})"
                decisive = False
        return Candidate(procedure.id, round(score, 4), evidence, decisive)

    def _component_weight(self, procedure: Procedure, titles: dict[str, float]) -> float:
        """How much a component title found on the page says: a lot when no other procedure lists it."""
        found = [t for t in self._components[procedure.id] if titles.get(t, 0.0) >= TITLE_MIN_SIMILARITY]
        unique = any(len(self._component_owners[t]) == 1 for t in found)
        return UNIQUE_COMPONENT_WEIGHT if unique else SHARED_COMPONENT_WEIGHT


def _name_match(name: str, text: str, scorer: Callable[[str, str], float]) -> float:
    """How well `text` states the procedure `name`: 1 when it holds the name as whole words, else the
    fuzzy score discounted, so "đăng ký thường trú" written out beats "xóa đăng ký thường trú" nearly
    matching, and an OCR-damaged name can still count."""
    if f" {name} " in f" {text} ":
        return 1.0
    return FUZZY_NAME_DISCOUNT * scorer(name, text) / 100.0


def _request_match(name: str, requested: str) -> float:
    """How well a requested content states the procedure `name`: a whole match, or — for a long request
    that is the start of a longer name cut where the line wrapped — a match with the name's start,
    discounted like a fuzzy one."""
    whole = _name_match(name, requested, fuzz.ratio)
    if len(requested) < LONG_REQUEST or len(name) <= len(requested):
        return whole
    return max(whole, FUZZY_NAME_DISCOUNT * fuzz.ratio(name[: len(requested)], requested) / 100.0)


def _most_specific(scored: list[Candidate], names: dict[str, str]) -> list[Candidate]:
    """Drop a candidate stated by a name that a better-or-equal candidate's longer name holds: a page that
    says "xóa đăng ký thường trú" states that procedure, not "đăng ký thường trú" too."""
    exact = [c for c in scored if c.decisive]
    kept = []
    for candidate in scored:
        name = f" {names[candidate.procedure_id]} "
        shadowed = candidate.decisive and any(
            other is not candidate
            and other.score >= candidate.score - 0.05
            and len(names[other.procedure_id]) > len(name) - 2
            and name in f" {names[other.procedure_id]} "
            for other in exact
        )
        if not shadowed:
            kept.append(candidate)
    return kept


def _head_lines(pages: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for text in pages[:3]:
        page_lines = [fold(line) for line in text.splitlines() if line.strip()][:HEAD_LINES]
        lines.extend(page_lines)
        # A title wrapped over two lines is matched against the pair joined.
        lines.extend(f"{a} {b}" for a, b in itertools.pairwise(page_lines))
    return [line for line in lines if line]


def _requested_content(pages: Sequence[str]) -> list[str]:
    """Text after a "Nội dung yêu cầu giải quyết:" style label (receipts, CT01's requested content): the
    rest of its line, and that with the next lines joined (a long procedure name wraps)."""
    found: list[str] = []
    for text in pages[:3]:
        lines = [fold(line) for line in text.splitlines() if line.strip()][:HEAD_LINES]
        for number, line in enumerate(lines):
            for label in _REQUEST_LABELS:
                position = line.find(label)
                if position < 0:
                    continue
                rest = line[position + len(label) :].strip()
                following = lines[number + 1 : number + 1 + REQUEST_WRAP]
                wrapped = [" ".join([rest, *following[:n]]).strip() for n in range(len(following) + 1)]
                found.extend(t for t in dict.fromkeys(wrapped) if t)
                break
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
