"""Decide per PDF page whether its text layer can stand in for OCR (pdfplumber).

`TextLayerReader` opens one PDF once, lazily, and reads one page at a time: a 500-page document is parsed
once, not once per page, and what pdfplumber and pdfminer cache for a page is dropped after it.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import weakref
from pathlib import Path
from types import TracebackType

import pdfplumber
from pdfminer.pdftypes import PDFStream

log = logging.getLogger(__name__)

MIN_USABLE_CHARS = 20
"""Pages with fewer letters are treated as scans (a header alone does not make a page born-digital)."""


class TextLayerReader:
    """The text layers of one PDF (a path, or bytes for small inputs), pdfplumber opened on first use."""

    def __init__(self, source: Path | bytes) -> None:
        self._source = source
        self._pdf: pdfplumber.PDF | None = None
        self._closer: weakref.finalize[[pdfplumber.PDF], TextLayerReader] | None = None
        self._broken = False

    def text_of(self, index: int) -> str | None:
        """The text of page `index` (0-based) if it looks like real text, else None (OCR it).

        Garbage layers (unmapped fonts yielding (cid:12) runs or replacement characters) count as unusable;
        a file or page pdfminer cannot parse counts as having no layer.
        """
        pdf = self._open()
        if pdf is None:
            return None
        try:
            pages = pdf.pages
            if not 0 <= index < len(pages):
                return None
            page = pages[index]
            try:
                text = page.extract_text() or ""
            finally:
                page.close()
                _forget_streams(pdf)
        except Exception as exc:  # pdfminer raises many unrelated types on hostile files
            log.info("text layer of page %d unreadable (%s): will OCR", index + 1, type(exc).__name__)
            return None
        text = unicodedata.normalize("NFC", text)
        return text if is_usable_text(text) else None

    def close(self) -> None:
        """Close the PDF if it was opened; the reader may be used again (it reopens)."""
        if self._closer is not None:
            self._closer()
        self._pdf = self._closer = None

    def __enter__(self) -> TextLayerReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> pdfplumber.PDF | None:
        if self._pdf is None and not self._broken:
            source = self._source
            try:
                self._pdf = pdfplumber.open(source if isinstance(source, Path) else io.BytesIO(source))
            except Exception as exc:  # as in text_of: hostile files raise anything
                log.info("text layer unreadable (%s): will OCR", type(exc).__name__)
                self._broken = True
                return None
            # A reader dropped without close() still closes its file (the finalizer holds the PDF, not us).
            self._closer = weakref.finalize(self, _close_quietly, self._pdf)
        return self._pdf


def _close_quietly(pdf: pdfplumber.PDF) -> None:
    try:
        pdf.close()
    except Exception as exc:  # closing walks the page tree, which may be what was broken
        log.info("closing a PDF failed (%s)", type(exc).__name__)


def _forget_streams(pdf: pdfplumber.PDF) -> None:
    """Drop the streams pdfminer cached while reading a page (scanned images: megabytes each).

    Parsed dictionaries stay cached: they are small, and re-reading object streams for each would make
    a long document slow. pdfminer has no public switch for this, so a changed cache leaves it alone.
    """
    cache = getattr(pdf.doc, "_cached_objs", None)
    if isinstance(cache, dict):
        for objid in [key for key, entry in cache.items() if isinstance(entry[0], PDFStream)]:
            del cache[objid]


def extract_text_layer(data: bytes | Path, index: int) -> str | None:
    """The usable text of one page (see `TextLayerReader.text_of`); opens the PDF for this page only."""
    with TextLayerReader(data) as reader:
        return reader.text_of(index)


MAX_FOREIGN_LETTERS = 0.3
"""Vietnamese records are in Latin script; a layer mostly of other scripts is a broken font mapping."""


def _latin(ch: str) -> bool:
    code = ord(ch)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def is_usable_text(text: str) -> bool:
    """True when the text has enough letters and few signs of broken font mappings.

    Broken layers show up as `(cid:NN)` runs, replacement characters, or letters of unrelated scripts
    (unmapped fonts decode to CJK ideographs, for instance).
    """
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < MIN_USABLE_CHARS:
        return False
    foreign = sum(1 for ch in letters if not _latin(ch))
    if foreign / len(letters) > MAX_FOREIGN_LETTERS:
        return False
    broken = text.count("(cid:") * 5 + text.count("\ufffd")
    visible = sum(1 for ch in text if not ch.isspace())
    return broken / max(visible, 1) < 0.1
