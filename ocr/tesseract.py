"""The one wrapper around tesseract (through pytesseract): recognition and a version probe.

Every call has a timeout and keyword-only options; process failures become `EngineError` with a code.
The engine runs tesseract single-threaded (OMP_THREAD_LIMIT=1): parallelism comes from one process per core.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import cv2
import numpy as np
import pytesseract

from ocr import errors
from ocr.errors import EngineError

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@dataclass(frozen=True)
class Word:
    """One recognised word with its box in the OCR image's pixels."""

    text: str
    confidence: float
    """Tesseract's word confidence scaled to [0, 1]."""
    left: int
    top: int
    width: int
    height: int
    line_key: tuple[int, int, int]
    """(block, paragraph, line) numbers: words sharing it are on one line."""


class WordTable(Sequence[Word]):
    """A page's words packed flat: the texts in one string, the numbers in arrays.

    About 50 bytes a word instead of about 400 as `Word` objects, so a 500-page document can keep every
    page's words until its words file is written. Reads like a tuple of `Word` (made on access).
    """

    __slots__ = ("_confidences", "_ends", "_numbers", "_text")
    _FIELDS = 7
    """left, top, width, height and the three numbers of the line key."""

    def __init__(self, words: Iterable[Word] = ()) -> None:
        texts: list[str] = []
        self._ends = array("I")
        self._numbers = array("i")
        self._confidences = array("d")
        end = 0
        for word in words:
            texts.append(word.text)
            end += len(word.text)
            self._ends.append(end)
            self._confidences.append(word.confidence)
            self._numbers.extend((word.left, word.top, word.width, word.height, *word.line_key))
        self._text = "".join(texts)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> Word: ...
    @overload
    def __getitem__(self, index: slice) -> WordTable: ...
    def __getitem__(self, index: int | slice) -> Word | WordTable:
        if isinstance(index, slice):
            return WordTable(self[i] for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("word index out of range")
        start = self._ends[index - 1] if index else 0
        n = self._numbers[self._FIELDS * index : self._FIELDS * (index + 1)]
        text = self._text[start : self._ends[index]]
        return Word(text, self._confidences[index], n[0], n[1], n[2], n[3], (n[4], n[5], n[6]))

    def __iter__(self) -> Iterator[Word]:
        return (self[index] for index in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WordTable):
            return self._key() == other._key()
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"WordTable({len(self)} words)"

    def _key(self) -> tuple[str, bytes, bytes, bytes]:
        return self._text, self._ends.tobytes(), self._numbers.tobytes(), self._confidences.tobytes()


@dataclass(frozen=True)
class Recognition:
    """What tesseract read on one page."""

    text: str
    """Lines joined with newlines, paragraphs separated by a blank line."""
    words: tuple[Word, ...]
    mean_confidence: float | None
    """Mean word confidence in [0, 1]; None when no word was found."""
    text_pdf: bytes
    """A one-page PDF holding only the invisible text layer, sized to the image at its dpi."""


@dataclass(frozen=True)
class TesseractInfo:
    """What `probe` found: the version and installed languages."""

    version: str
    languages: tuple[str, ...]


def probe(*, required_languages: str = "vie") -> TesseractInfo:
    """Check tesseract and its language data once at start-up; raise a clear `ocr.unavailable` if missing."""
    try:
        version = str(pytesseract.get_tesseract_version())
        languages = tuple(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError) as exc:
        raise EngineError(
            "tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng",
            code=errors.OCR_UNAVAILABLE,
        ) from exc
    missing = [lang for lang in required_languages.split("+") if lang not in languages]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise EngineError(
            f"tesseract has no language data for {', '.join(missing)}: apt-get install {packages}",
            code=errors.OCR_UNAVAILABLE,
        )
    return TesseractInfo(version=version, languages=languages)


class TesseractEngine:
    """Runs tesseract on page images held in memory; one instance per worker process."""

    def __init__(self, *, languages: str = "vie", timeout_seconds: float = 120.0) -> None:
        self.languages = languages
        self.timeout_seconds = timeout_seconds

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3) -> Recognition:
        """OCR a grayscale or RGB page once, returning text, word boxes and a text-only PDF layer.

        `psm` is tesseract's page segmentation mode: 3 finds columns and blocks, 4 reads one column of
        lines of varying size (forms: it keeps list numbers and ignores stray marks in the margins).
        """
        with tempfile.TemporaryDirectory(prefix="sohoa-tess-") as tmp:
            source = Path(tmp) / "page.pgm"
            _write_image(source, image)
            base = Path(tmp) / "out"
            config = f"--dpi {round(dpi)} --psm {psm} -c tessedit_create_tsv=1 -c textonly_pdf=1"
            self._run(source, base, extension="pdf", lang=self.languages, config=config)
            tsv = (base.with_suffix(".tsv")).read_text(encoding="utf-8", errors="replace")
            text_pdf = base.with_suffix(".pdf").read_bytes()
        words = tuple(word for word in _parse_tsv(tsv) if not is_noise(word))
        confidences = [w.confidence for w in words]
        mean = sum(confidences) / len(confidences) if confidences else None
        return Recognition(text=_words_to_text(words), words=words, mean_confidence=mean, text_pdf=text_pdf)

    def _run(self, source: Path, base: Path, *, extension: str, lang: str, config: str) -> None:
        try:
            pytesseract.pytesseract.run_tesseract(
                str(source), str(base), extension, lang, config=config, timeout=self.timeout_seconds
            )
        except RuntimeError as exc:  # pytesseract signals its timeout this way
            if "timeout" in str(exc).lower():
                raise EngineError(
                    f"tesseract ran longer than {self.timeout_seconds:.0f} s on one page",
                    code=errors.OCR_TIMEOUT,
                ) from exc
            raise EngineError(f"tesseract failed: {exc}") from exc
        except pytesseract.TesseractNotFoundError as exc:
            raise EngineError("tesseract is not installed", code=errors.OCR_UNAVAILABLE) from exc
        except pytesseract.TesseractError as exc:
            raise EngineError(f"tesseract failed: {exc.message}") from exc


def _write_image(path: Path, image: np.ndarray) -> None:
    """Write pixels as uncompressed PNM (`path` should end .pgm): 20× faster to write than PNG."""
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if not cv2.imwrite(str(path), pixels):
        raise EngineError("could not write the page image for tesseract")


NOISE_CONFIDENCE = 0.6
"""Below this, a "word" made mostly of symbols is a signature stroke, stamp edge or speck, not text."""


def is_noise(word: Word) -> bool:
    """True for low-confidence words with little alphanumeric content (what OCR makes of scribbles)."""
    if word.confidence >= NOISE_CONFIDENCE:
        return False
    alphanumeric = sum(1 for ch in word.text if ch.isalnum())
    return alphanumeric <= 0.5 * len(word.text)


def _parse_tsv(tsv: str) -> tuple[Word, ...]:
    words: list[Word] = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        text = (row.get("text") or "").strip()
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            continue
        if row.get("level") != "5" or not text or confidence < 0:
            continue
        words.append(
            Word(
                text=text,
                confidence=confidence / 100.0,
                left=int(row["left"]),
                top=int(row["top"]),
                width=int(row["width"]),
                height=int(row["height"]),
                line_key=(int(row["block_num"]), int(row["par_num"]), int(row["line_num"])),
            )
        )
    return tuple(words)


def _words_to_text(words: tuple[Word, ...]) -> str:
    lines: list[str] = []
    current: tuple[int, int, int] | None = None
    for word in words:
        if word.line_key != current:
            if current is not None and word.line_key[:2] != current[:2]:
                lines.append("")
            lines.append(word.text)
            current = word.line_key
        else:
            lines[-1] += " " + word.text
    return "\n".join(lines)
