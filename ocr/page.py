"""The page composer: the one place that knows the order of the cleanup and OCR stages.

decode → (born-digital text layer? use it) → grayscale → blank check → orientation → deskew → OCR → barcodes.
The colour original gets the same rotation and deskew, and is what the stored PDF shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ocr import cleanup
from ocr.barcodes import Barcode, read_barcodes
from ocr.decode import SourcePage
from ocr.searchable_pdf import ScannedPagePart, write_page_image
from ocr.tesseract import TesseractEngine

TextSource = Literal["ocr", "pdf"]


@dataclass(frozen=True)
class PageOptions:
    """How to treat each page; built from settings by the pipeline."""

    min_osd_confidence: float = 2.0
    """Below this OSD confidence the page is left as it is (tesseract's own guidance is ~2)."""
    min_skew_degrees: float = 0.3
    """Smaller angles are left alone: rotating costs sharpness for no OCR gain."""
    max_skew_degrees: float = 15.0


@dataclass(frozen=True)
class PageResult:
    """Everything the pipeline keeps about one page."""

    number: int
    """1-based page number in the document."""
    text: str
    text_source: TextSource
    """"ocr" (scanned page: tesseract, or skipped when blank) or "pdf" (born-digital text layer)."""
    ocr_confidence: float | None
    """Mean word confidence in [0, 1]; None for PDF-text and blank pages."""
    blank: bool
    rotation: int
    """Clockwise quarter turn applied to make the page upright: 0, 90, 180 or 270."""
    skew: float
    """Degrees of deskew applied (the page's measured text angle)."""
    dpi: float
    barcodes: tuple[Barcode, ...]
    part: ScannedPagePart | None
    """Spooled image + text layer for the searchable PDF; None for born-digital pages (copied as is)."""


def process_page(
    source: SourcePage, *, engine: TesseractEngine, options: PageOptions, spool: Path
) -> PageResult:
    """Clean up and read one page; page images for the stored PDF are written under `spool`."""
    gray = cleanup.to_gray(source.image)
    if source.text_layer is not None:
        return PageResult(
            number=source.number,
            text=source.text_layer,
            text_source="pdf",
            ocr_confidence=None,
            blank=False,
            rotation=0,
            skew=0.0,
            dpi=source.dpi,
            barcodes=read_barcodes(gray),
            part=None,
        )

    verdict = cleanup.detect_blank(gray)
    if verdict.blank:
        image_path = write_page_image(source.image, spool / f"page-{source.number:05d}.jpg")
        return PageResult(
            number=source.number,
            text="",
            text_source="ocr",
            ocr_confidence=None,
            blank=True,
            rotation=0,
            skew=0.0,
            dpi=source.dpi,
            barcodes=(),
            part=ScannedPagePart(image_path=image_path, dpi=source.dpi, text_pdf_path=None),
        )

    rotation = _orientation(gray, source.dpi, engine=engine, options=options)
    gray = cleanup.rotate_quarter(gray, rotation)
    colour = cleanup.rotate_quarter(source.image, rotation)

    skew = cleanup.estimate_skew(gray, max_angle=options.max_skew_degrees)
    angle = skew.angle if abs(skew.angle) >= options.min_skew_degrees else 0.0
    if angle:
        gray = cleanup.rotate_by(gray, -angle)
        colour = cleanup.rotate_by(colour, -angle)

    recognition = engine.recognize(gray, dpi=source.dpi)
    image_path = write_page_image(colour, spool / f"page-{source.number:05d}.jpg")
    text_pdf_path = spool / f"page-{source.number:05d}.text.pdf"
    text_pdf_path.write_bytes(recognition.text_pdf)
    return PageResult(
        number=source.number,
        text=recognition.text,
        text_source="ocr",
        ocr_confidence=recognition.mean_confidence,
        blank=False,
        rotation=rotation,
        skew=round(angle, 2),
        dpi=source.dpi,
        barcodes=read_barcodes(gray),
        part=ScannedPagePart(image_path=image_path, dpi=source.dpi, text_pdf_path=text_pdf_path),
    )


def _orientation(gray: np.ndarray, dpi: float, *, engine: TesseractEngine, options: PageOptions) -> int:
    """Quarter turn that makes the page upright, from tesseract OSD; 0 when OSD is unsure."""
    guess = engine.detect_orientation(gray, dpi=dpi)
    if guess is None or guess.confidence < options.min_osd_confidence:
        return 0
    return guess.rotate
