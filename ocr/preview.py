"""Page images for people: one page of a stored PDF rendered in colour to a PNG of a given width, for the
review screen and the dossier thumbnails (the OCR path renders in grayscale at its own resolution)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium

from ocr import errors
from ocr.errors import InputError

MAX_PREVIEW_WIDTH = 2400
"""Wider asks are served at this width: enough to zoom on a 200-dpi A4 page, bounded in memory."""


@dataclass(frozen=True)
class Preview:
    """A rendered page and the page's size, so word boxes can be placed on it."""

    png: bytes
    width_pt: float
    height_pt: float
    page_count: int


def render_preview(pdf: bytes, number: int, *, width: int) -> Preview:
    """Page `number` (1-based) of `pdf` as a PNG `width` pixels wide (capped at MAX_PREVIEW_WIDTH)."""
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise InputError(f"the PDF cannot be opened: {exc}", code=errors.UNREADABLE) from exc
    try:
        document.init_forms()  # draws form fields' appearances: the signature stamp on page 1
        count = len(document)
        if not 1 <= number <= count:
            raise InputError(f"the PDF has {count} page(s), not {number}", code=errors.UNREADABLE)
        page = document[number - 1]
        width_pt, height_pt = page.get_size()
        scale = max(16, min(width, MAX_PREVIEW_WIDTH)) / width_pt
        image = page.render(scale=scale, fill_color=(255, 255, 255, 255), may_draw_forms=True).to_pil()
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=False, compress_level=3)
        return Preview(buffer.getvalue(), width_pt, height_pt, count)
    finally:
        document.close()
