"""Errors raised by `ocr/`, each with a stable machine code the pipeline stores on the document."""

from __future__ import annotations

from errors import SohoaError


class OcrError(SohoaError):
    """Base of every error `ocr/` raises; `code` is stable, `message` is for people."""

    code = "ocr.failed"


class InputError(OcrError):
    """The input file itself is bad: empty, unknown format, truncated, encrypted, too large."""

    code = "input.unreadable"


class EngineError(OcrError):
    """Tesseract is missing, failed, or ran past its timeout."""

    code = "ocr.failed"


EMPTY = "input.empty"
UNSUPPORTED = "input.unsupported"
UNREADABLE = "input.unreadable"
ENCRYPTED = "input.encrypted"
TOO_LARGE = "input.too_large"
NO_PAGES = "input.no_pages"
OCR_TIMEOUT = "ocr.timeout"
OCR_UNAVAILABLE = "ocr.unavailable"
