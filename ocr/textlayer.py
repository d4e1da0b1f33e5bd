"""Decide per PDF page whether its text layer can stand in for OCR (pdfplumber).

`TextLayerReader` opens one PDF once, lazily, and reads one page at a time: a 500-page document is parsed
once, not once per page, the page tree is walked once and only as far as the pages asked for (page 3 of
5,000 does not build the other 4,997), and what pdfplumber and pdfminer cache for a page is dropped after it.
"""

from __future__ import annotations

import io
import itertools
import logging
import unicodedata
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pdfplumber
import pdfplumber.page
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import PDFStream

log = logging.getLogger(__name__)

_Stream = io.BufferedReader | io.BytesIO

MIN_USABLE_CHARS = 20
"""Pages with fewer letters are treated as scans (a header alone does not make a page born-digital)."""


class TextLayerReader:
    """The text layers of one PDF (a path, or bytes for small inputs), pdfplumber opened on first use."""

    def __init__(self, source: Path | bytes) -> None:
        self._source = source
        self._doc: _OpenPdf | None = None
        self._closer: weakref.finalize[[_OpenPdf], TextLayerReader] | None = None
        self._broken = False

    def text_of(self, index: int) -> str | None:
        """The text of page `index` (0-based) if it looks like real text, else None (OCR it).

        Garbage layers (unmapped fonts yielding (cid:12) runs or replacement characters) count as unusable;
        a file or page pdfminer cannot parse counts as having no layer.
        """
        doc = self._open()
        if doc is None or index < 0:
            return None
        cached = _cache_size(doc.pdf)
        try:
            found = doc.page(index)
            if found is None:
                return None
            page = pdfplumber.page.Page(doc.pdf, found, page_number=index + 1)
            try:
                text = page.extract_text() or ""
            finally:
                page.close()
        except Exception as exc:  # pdfminer raises many unrelated types on hostile files
            log.info("text layer of page %d unreadable (%s): will OCR", index + 1, type(exc).__name__)
            return None
        finally:
            _forget_streams(doc.pdf, cached)
        text = unicodedata.normalize("NFC", text)
        return text if is_usable_text(text) else None

    def close(self) -> None:
        """Close the PDF if it was opened; the reader may be used again (it reopens)."""
        if self._closer is not None:
            self._closer()
        self._doc = self._closer = None

    def __enter__(self) -> TextLayerReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> _OpenPdf | None:
        if self._doc is None and not self._broken:
            source = self._source
            stream: _Stream = source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
            try:
                self._doc = _OpenPdf(stream, pdfplumber.open(stream))
            except Exception as exc:  # as in text_of: hostile files raise anything
                stream.close()
                log.info("text layer unreadable (%s): will OCR", type(exc).__name__)
                self._broken = True
                return None
            # A reader dropped without close() still closes its file (the finalizer holds the PDF, not us).
            self._closer = weakref.finalize(self, _OpenPdf.close, self._doc)
        return self._doc


class _OpenPdf:
    """pdfplumber's view of one open file, with the page tree walked only as far as pages were asked for.

    `pdfplumber.PDF.pages` (and `PDF.close`, which goes through it) builds every page of the document at
    once; a page task reading page 3 of a 5,000-page PDF would pay for all of them, so the pages are found
    by pdfminer's own walk, kept as it goes, and the file is closed here rather than by `PDF.close`.
    """

    def __init__(self, stream: _Stream, pdf: pdfplumber.PDF) -> None:
        self.pdf = pdf
        self._stream = stream
        self._walk: Iterator[PDFPage] | None = None
        self._found: list[PDFPage] = []

    def page(self, index: int) -> PDFPage | None:
        """pdfminer's page `index` (0-based), None past the last page; walking errors propagate."""
        if self._walk is None:
            self._walk = PDFPage.create_pages(self.pdf.doc)
        while len(self._found) <= index:
            found = next(self._walk, None)
            if found is None:
                self._walk = iter(())  # exhausted (or broken): the pages found so far are all there is
                return None
            self._found.append(found)
        return self._found[index]

    def close(self) -> None:
        """Close the file (pdfplumber holds nothing else that needs closing)."""
        self._found.clear()
        self._walk = None
        try:
            self.pdf.flush_cache()
        finally:
            self._stream.close()


def _cache_size(pdf: pdfplumber.PDF) -> int:
    cache = getattr(pdf.doc, "_cached_objs", None)
    return len(cache) if isinstance(cache, dict) else 0


def _forget_streams(pdf: pdfplumber.PDF, before: int) -> None:
    """Drop the streams pdfminer cached while reading a page (scanned images: megabytes each).

    Parsed dictionaries stay cached: they are small, and re-reading object streams for each would make
    a long document slow. Only what the page added is looked at (pdfminer appends to its cache and never
    removes): going through the whole cache for every page would make a long document quadratic. pdfminer
    has no public switch for this, so a changed cache leaves it alone.
    """
    cache = getattr(pdf.doc, "_cached_objs", None)
    if not isinstance(cache, dict) or len(cache) <= before:
        return
    added = list(itertools.islice(reversed(cache), len(cache) - before))
    for objid in added:
        entry = cache.get(objid)
        if isinstance(entry, tuple) and entry and isinstance(entry[0], PDFStream):
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
