"""Assemble the stored searchable PDF: each page image with tesseract's invisible text layer on top.

Scanned pages become a JPEG of the (rotated, deskewed) colour original at its own resolution; born-digital
pages are copied from the source PDF untouched. Page parts are spooled to files so a long document never
holds all its page images in memory at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf

from ocr import errors
from ocr.errors import OcrError

JPEG_QUALITY = 80
"""Quality of the stored page images: visually lossless for scans at 200–300 dpi."""


@dataclass(frozen=True)
class ScannedPagePart:
    """A page made from an image file plus an optional text-only PDF page of the same physical size."""

    image_path: Path
    dpi: float
    text_pdf_path: Path | None


@dataclass(frozen=True)
class CopiedPagePart:
    """A page copied as is from the source PDF (born-digital, its own text layer kept)."""

    source_index: int


PagePart = ScannedPagePart | CopiedPagePart


def write_page_image(image: np.ndarray, path: Path, *, quality: int = JPEG_QUALITY) -> Path:
    """Encode an RGB or gray page as JPEG at `path` (gray stays one channel, a third of the size)."""
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(
        ".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
    )
    if not ok:
        raise OcrError("could not encode the page image as JPEG", code=errors.UNREADABLE)
    path.write_bytes(encoded.tobytes())
    return path


def build_searchable_pdf(parts: Sequence[PagePart], *, source_pdf: bytes | None = None) -> bytes:
    """Join the page parts, in order, into one PDF (version ≥ 1.5) and return its bytes."""
    output = pikepdf.new()
    source = pikepdf.open(io.BytesIO(source_pdf)) if source_pdf is not None else None
    try:
        for part in parts:
            if isinstance(part, CopiedPagePart):
                if source is None:
                    raise ValueError("a copied page needs the source PDF")
                output.pages.append(source.pages[part.source_index])
            else:
                _append_scanned_page(output, part)
        buffer = io.BytesIO()
        output.save(
            buffer,
            min_version="1.5",
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
        return buffer.getvalue()
    finally:
        output.close()
        if source is not None:
            source.close()


def _append_scanned_page(output: pikepdf.Pdf, part: ScannedPagePart) -> None:
    layout = img2pdf.get_fixed_dpi_layout_fun((part.dpi, part.dpi))
    image_pdf_bytes = img2pdf.convert(str(part.image_path), layout_fun=layout)
    if image_pdf_bytes is None:
        raise OcrError("img2pdf produced no page", code=errors.UNREADABLE)
    with pikepdf.open(io.BytesIO(image_pdf_bytes)) as image_pdf:
        output.pages.append(image_pdf.pages[0])
    if part.text_pdf_path is None:
        return
    page = output.pages[-1]
    with pikepdf.open(part.text_pdf_path) as text_pdf:
        text_page = output.copy_foreign(text_pdf.pages[0].obj)
        page.add_overlay(pikepdf.Page(text_page), pikepdf.Rectangle(*page.mediabox))
