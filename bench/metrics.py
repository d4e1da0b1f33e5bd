"""Text accuracy measures for OCR output against ground truth; pure functions.

Texts are compared after `normalise` (NFC, all whitespace collapsed to single spaces, stripped), so line
breaks and layout spacing never count as errors. Corpus-level rates sum edits and reference lengths over
pages (a long page weighs more than a short one); a page with an empty reference adds the length of whatever
was read as edits, so text invented on a blank page is an error.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein


def normalise(text: str) -> str:
    """NFC, every run of whitespace (line breaks, tabs, form feeds) as one space, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def words(text: str) -> list[str]:
    """The word tokens of `text` (whitespace-separated, after `normalise`)."""
    return normalise(text).split()


@dataclass(frozen=True)
class Counts:
    """Edits against reference length, summed over pages; `rate` is their ratio."""

    edits: int
    reference: int

    @property
    def rate(self) -> float:
        """Edits per reference unit; with an empty reference, 0.0 if nothing was read else the edit count."""
        if self.reference == 0:
            return float(self.edits)
        return self.edits / self.reference

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.edits + other.edits, self.reference + other.reference)


def char_counts(reference: str, hypothesis: str) -> Counts:
    """Levenshtein distance between the normalised texts, and the normalised reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    return Counts(Levenshtein.distance(ref, hyp), len(ref))


def word_counts(reference: str, hypothesis: str) -> Counts:
    """Word-level Levenshtein distance (substituted, inserted, deleted words) and reference word count."""
    ref, hyp = words(reference), words(hypothesis)
    return Counts(Levenshtein.distance(ref, hyp), len(ref))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of one page."""
    return char_counts(reference, hypothesis).rate


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one page."""
    return word_counts(reference, hypothesis).rate


@dataclass(frozen=True)
class BagCounts:
    """Order-free word matches: multiset intersection size, and the two bag sizes."""

    matched: int
    reference: int
    hypothesis: int

    @property
    def precision(self) -> float:
        return self.matched / self.hypothesis if self.hypothesis else float(self.reference == 0)

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else float(self.hypothesis == 0)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; 1.0 when both bags are empty."""
        if self.reference == 0 and self.hypothesis == 0:
            return 1.0
        total = self.reference + self.hypothesis
        return 2 * self.matched / total

    def __add__(self, other: BagCounts) -> BagCounts:
        return BagCounts(
            self.matched + other.matched, self.reference + other.reference, self.hypothesis + other.hypothesis
        )


def bag_counts(reference: str, hypothesis: str) -> BagCounts:
    """Bag-of-words overlap: each reference word can be matched once by an equal hypothesis word, anywhere."""
    ref, hyp = Counter(words(reference)), Counter(words(hypothesis))
    return BagCounts(sum((ref & hyp).values()), sum(ref.values()), sum(hyp.values()))


def word_f1(reference: str, hypothesis: str) -> float:
    """Order-free word F1 of one page: reading order (columns, table cells) does not matter."""
    return bag_counts(reference, hypothesis).f1


@dataclass(frozen=True)
class Scores:
    """Corpus-level accuracy of one engine on one dataset."""

    pages: int
    cer: float
    wer: float
    word_f1: float
    chars: Counts
    words: Counts
    bag: BagCounts


def score(pairs: Iterable[tuple[str, str]]) -> Scores:
    """Corpus-level CER, WER and word F1 over (reference, hypothesis) page pairs."""
    chars, word_total, bag, n = Counts(0, 0), Counts(0, 0), BagCounts(0, 0, 0), 0
    for reference, hypothesis in pairs:
        chars += char_counts(reference, hypothesis)
        word_total += word_counts(reference, hypothesis)
        bag += bag_counts(reference, hypothesis)
        n += 1
    return Scores(n, chars.rate, word_total.rate, bag.f1, chars, word_total, bag)
