"""Which of a procedure's component documents a dossier seems to hold, by their titles in the text read.

A first, honest approximation until documents carry their kind: a component counts as seen when its title
(tone marks and OCR damage forgiven) stands in the text of some document of the dossier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from classifiers.text import fold

SEEN_SCORE = 90.0
"""rapidfuzz partial ratio (0–100) of a folded title within a folded text that counts as the title."""
HEAD_CHARS = 400
"""A title stands at the top of its document (a receipt lists component names further down): only this much
of each text is compared."""


@dataclass(frozen=True)
class ComponentSeen:
    title: str
    seen: bool
    document_index: int | None
    """Which of the texts holds it (0-based), when seen."""


def components_seen(titles: Sequence[str], texts: Sequence[str]) -> list[ComponentSeen]:
    """For each component title, whether (and where) one of `texts` holds it."""
    heads = [fold(text[:HEAD_CHARS]) for text in texts]
    found: list[ComponentSeen] = []
    for title in titles:
        folded = fold(title)
        where = next(
            (i for i, head in enumerate(heads) if folded and fuzz.partial_ratio(folded, head) >= SEEN_SCORE),
            None,
        )
        found.append(ComponentSeen(title, where is not None, where))
    return found
