"""Decide per PDF page whether its text layer can stand in for OCR (pdfplumber)."""

from __future__ import annotations

import io
import logging
import unicodedata

import pdfplumber

log = logging.getLogger(__name__)

MIN_USABLE_CHARS = 20
"""Pages with fewer letters are treated as scans (a header alone does not make a page born-digital)."""


def extract_text_layer(data: bytes, index: int) -> str | None:
    """Return the page's text if it looks like real text, else None (OCR it).

    Garbage layers (unmapped fonts yielding (cid:12) runs or replacement characters) count as unusable.
    """
    try:
        with pdfplumber.open(io.BytesIO(data), pages=[index + 1]) as pdf:
            if not pdf.pages:
                return None
            text = pdf.pages[0].extract_text() or ""
    except Exception as exc:  # pdfminer raises many unrelated types on hostile files
        log.info("text layer of page %d unreadable (%s): will OCR", index + 1, type(exc).__name__)
        return None
    text = unicodedata.normalize("NFC", text)
    return text if is_usable_text(text) else None


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
