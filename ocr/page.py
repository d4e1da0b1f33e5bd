"""The page composer: the one place that knows the order of the cleanup and OCR stages.

    born-digital text layer? → use it, done
    grayscale (light-on-dark inverted) → blank? → flag, keep the page, no OCR
    geometry (quarter turn + skew, from text lines) → level the page → barcodes
    OCR copy: dark border, background, specks, barcode areas, letter size
    OCR (automatic segmentation; optionally single-column mode on pages without column gutters)
    turned or unsure, and OCR confidence low? → OCR the page the other way up too, keep the better

The stored PDF shows the original pixels under the same turn and deskew (see `searchable_pdf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ocr import cleanup
from ocr.barcodes import Barcode, read_barcodes
from ocr.decode import SourcePage
from ocr.searchable_pdf import PageLayer, Placement
from ocr.tesseract import Recognition, TesseractEngine, WordTable

TextSource = Literal["ocr", "pdf"]


@dataclass(frozen=True)
class PageOptions:
    """How to treat each page; built from settings by the pipeline."""

    segmentation: Literal["auto", "columns"] = "columns"
    """"columns": tesseract's automatic segmentation (--psm 3) on every page. "auto": single-column mode
    (--psm 4) on pages without column gutters: better on forms, worse on two-column pages it misjudges."""
    min_skew_degrees: float = 0.3
    """Smaller angles are left alone: rotating costs sharpness for no OCR gain."""
    max_skew_degrees: float = 15.0
    recheck_below_confidence: float = 0.75
    """When the page was turned or the up/down call was unsure, and OCR confidence is below this, the page
    is read the other way up too and the better reading kept."""
    clean: bool = True
    """Border, background and speck cleanup of the OCR copy."""


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
    """Degrees of deskew applied (the page's measured text angle, counter-clockwise positive)."""
    dpi: float
    barcodes: tuple[Barcode, ...]
    words: WordTable
    """Recognised words with boxes in the OCR image (upright, level, at `ocr_dpi`), packed: a long
    document keeps every page's words until the words file is written."""
    ocr_dpi: float | None
    layer: PageLayer
    """How the stored PDF shows this page."""


def process_page(
    source: SourcePage, *, engine: TesseractEngine, options: PageOptions, spool: Path
) -> PageResult:
    """Clean up and read one page; its text-layer PDF is written under `spool`."""
    index = source.number - 1
    if source.text_layer is not None:
        barcodes = read_barcodes(source.gray)
        return _unread_page(source, text=source.text_layer, text_source="pdf", barcodes=barcodes)
    preview, _ = cleanup.normalize_polarity(cleanup.to_gray(source.preview()))
    if cleanup.detect_blank(preview).blank:
        return _unread_page(source, text="", text_source="ocr", barcodes=(), blank=True)
    gray, _ = cleanup.normalize_polarity(source.gray)

    geometry = cleanup.detect_geometry(gray, max_skew=options.max_skew_degrees)
    skew = geometry.skew if abs(geometry.skew) >= options.min_skew_degrees else 0.0
    level = cleanup.rotate_by(cleanup.rotate_quarter(gray, geometry.quarter_turn), -skew)
    barcodes = read_barcodes(level)
    ocr_image, ocr_dpi = _ocr_copy(level, source.dpi, barcodes, options)
    psm = 4 if options.segmentation == "auto" and not cleanup.has_columns(level) else 3
    recognition = engine.recognize(ocr_image, dpi=ocr_dpi, psm=psm)
    turn = geometry.quarter_turn
    doubtful = not geometry.certain or geometry.quarter_turn != 0
    if doubtful and _confidence(recognition) < options.recheck_below_confidence:
        flipped = engine.recognize(cleanup.rotate_quarter(ocr_image, 180), dpi=ocr_dpi, psm=psm)
        if _confidence(flipped) > _confidence(recognition) + 0.05:
            recognition, turn, skew = flipped, (turn + 180) % 360, skew

    text_pdf_path = spool / f"page-{source.number:05d}.text.pdf"
    text_pdf_path.write_bytes(recognition.text_pdf)
    height, width = gray.shape
    placement = Placement(width=width, height=height, dpi=source.dpi, quarter_turn=turn, skew=skew)
    return PageResult(
        number=source.number,
        text=recognition.text,
        text_source="ocr",
        ocr_confidence=recognition.mean_confidence,
        blank=False,
        rotation=turn,
        skew=round(skew, 2),
        dpi=source.dpi,
        barcodes=barcodes,
        words=WordTable(recognition.words),
        ocr_dpi=ocr_dpi,
        layer=PageLayer(source_index=index, placement=placement, text_pdf_path=text_pdf_path),
    )


def _ocr_copy(
    level: np.ndarray, dpi: float, barcodes: tuple[Barcode, ...], options: PageOptions
) -> tuple[np.ndarray, float]:
    """The image tesseract reads: cleaned for OCR only, never stored."""
    image = cleanup.blank_out(level, [b.box for b in barcodes])
    if options.clean:
        image, _ = cleanup.remove_dark_border(image)
        image = cleanup.normalize_background(image)
        image, _ = cleanup.remove_specks(image, dpi=dpi)
    return cleanup.resample_for_ocr(image)


def _confidence(recognition: Recognition) -> float:
    return recognition.mean_confidence or 0.0


def _unread_page(
    source: SourcePage,
    *,
    text: str,
    text_source: TextSource,
    barcodes: tuple[Barcode, ...],
    blank: bool = False,
) -> PageResult:
    """A page that is kept as it is: born-digital (its own text) or blank (no OCR)."""
    return PageResult(
        number=source.number,
        text=text,
        text_source=text_source,
        ocr_confidence=None,
        blank=blank,
        rotation=0,
        skew=0.0,
        dpi=source.dpi,
        barcodes=barcodes,
        words=WordTable(),
        ocr_dpi=None,
        layer=PageLayer(source_index=source.number - 1),
    )
