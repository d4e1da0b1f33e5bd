"""Finding printed titles among a page's first lines, against thousands of titles at once.

A catalog of 1,600 procedures holds several thousand form and document titles; comparing every head line
with every title one pair at a time costs most of a second a page. `TitleIndex` compares them in bulk:
rapidfuzz's `cdist` scores every line against every title of similar length in C++, and a sparse token
count finds the few long lines that may hold a title inside them, which alone get the slower partial match.
Each line then votes for the title(s) it matches best, so near-identical titles do not share the credit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from rapidfuzz import fuzz, process
from scipy.sparse import csr_matrix

from classifiers.catalog import Procedure
from classifiers.text import fold

TITLE_MIN_SIMILARITY = 0.80
SHORTEST = 0.6
"""A line shorter than this share of a title cannot be it."""
LONGEST = 1.3
"""A line longer than this share of a title may hold it with other words: partial match."""
CONTAINED = 0.75
"""Share of a title's words a long line must hold before the partial match is tried."""
TIE = 0.02
"""Titles within this of a line's best match share its vote."""

_FORM_START = re.compile(
    r"^(to khai|don |giay de nghi|phieu de nghi|ban khai|van ban de nghi|phieu yeu cau|phieu dang ky"
    r"|giay dang ky)"
)
_FORM_TAIL = re.compile(
    r"\s(theo mau|mau so|mau\s|theo quy dinh|quy dinh tai|ban hanh kem|ban chinh|ban sao|neu co|kem theo"
    r"|doi voi|truong hop|trong do|co xac nhan|co chu ky)\b"
)
_MERGED = re.compile(r"\s(?=(?:to khai|don de nghi|giay de nghi|phieu de nghi|ban khai)\s)")
MIN_FORM_WORDS = 5
"""A form title taken from a catalog component needs this many words: "Đơn đề nghị" alone says nothing."""


def form_titles_of(procedure: Procedure) -> tuple[str, ...]:
    """The folded titles of the procedure's application forms: the curated ones, and those its national
    components name ("Tờ khai đăng ký khai sinh theo mẫu …" → "to khai dang ky khai sinh")."""
    titles = [fold(title) for title in procedure.form_titles]
    for component in procedure.dossier_components:
        head = fold(re.split(r"[(;:]", component.name, maxsplit=1)[0])
        for part in _MERGED.split(head):  # the crawl ran some forms' names together
            if not _FORM_START.match(part):
                continue
            title = _FORM_TAIL.split(part, maxsplit=1)[0].strip()
            if len(title.split()) >= MIN_FORM_WORDS and title not in titles:
                titles.append(title)
    return tuple(t for t in titles if t)


class TitleIndex:
    """Folded titles to look for on pages, each known by the procedures it belongs to."""

    def __init__(self, titles: Iterable[str]) -> None:
        self.titles = sorted({t for t in titles if t})
        self._lengths = np.array([len(t) for t in self.titles], dtype=np.float64)
        self._vocabulary: dict[str, int] = {}
        rows, columns = [], []
        for row, title in enumerate(self.titles):
            for token in set(title.split()):
                rows.append(row)
                columns.append(self._vocabulary.setdefault(token, len(self._vocabulary)))
        shape = (len(self.titles), max(1, len(self._vocabulary)))
        self._tokens = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
        self._token_counts = np.asarray(self._tokens.sum(axis=1)).ravel()

    def won(self, lines: Sequence[str]) -> dict[str, float]:
        """Each title some line matches (similarity ≥ TITLE_MIN_SIMILARITY) with its best similarity,
        counting a line only for the title(s) it matches best."""
        if not lines or not self.titles:
            return {}
        similarity = self._similarities(lines)
        won: dict[str, float] = {}
        for row in range(len(lines)):
            best = float(similarity[row].max())
            if best < TITLE_MIN_SIMILARITY:
                continue
            for column in np.flatnonzero(similarity[row] >= best - TIE):
                title = self.titles[int(column)]
                won[title] = max(won.get(title, 0.0), float(similarity[row, column]))
        return won

    def _similarities(self, lines: Sequence[str]) -> np.ndarray:
        """Lines × titles similarity in [0, 1]: whole-line ratio for lines of a title's length, partial
        ratio for long lines that hold most of its words, 0 elsewhere."""
        ratio = process.cdist(lines, self.titles, scorer=fuzz.ratio, dtype=np.float64) / 100.0
        line_lengths = np.array([len(line) for line in lines], dtype=np.float64)[:, None]
        similar_length = (line_lengths >= SHORTEST * self._lengths) & (
            line_lengths <= LONGEST * self._lengths
        )
        similarity = np.where(similar_length, ratio, 0.0)
        for row, column in zip(
            *np.nonzero(self._contained(lines) & (line_lengths > LONGEST * self._lengths)), strict=True
        ):
            similarity[row, column] = fuzz.partial_ratio(self.titles[column], lines[row]) / 100.0
        return similarity

    def _contained(self, lines: Sequence[str]) -> np.ndarray:
        """Lines × titles: whether the line holds at least CONTAINED of the title's distinct words."""
        rows, columns = [], []
        for row, line in enumerate(lines):
            for token in set(line.split()):
                column = self._vocabulary.get(token)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
        present = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(lines), self._tokens.shape[1]))
        shared = (present @ self._tokens.T).toarray()
        return shared >= CONTAINED * self._token_counts[None, :]
