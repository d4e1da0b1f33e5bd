"""Assemble the stored searchable PDF without re-encoding what was scanned.

Every page of the source (the input PDF itself, or the input image wrapped losslessly by img2pdf) is placed
as a form XObject on a new page, turned and deskewed by a transformation matrix (so the stored page shows
the original pixels, upright and level, at their own resolution), with tesseract's invisible text layer on
top. Born-digital and blank pages are copied untouched.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf
from PIL import Image

from ocr import errors
from ocr.cleanup import rotation_matrix
from ocr.errors import OcrError

FALLBACK_JPEG_QUALITY = 85
"""Quality used when an image format cannot be wrapped losslessly (e.g. JPEG-compressed TIFF frames)."""
SIZE_ALLOWANCE = 1.10
"""A lossless wrapping larger than this times the input is replaced by JPEG pages."""


@dataclass(frozen=True)
class Placement:
    """How the OCR image was derived from the source page's rendering: undo it on the stored page."""

    width: int
    """Width in pixels of the source page as rendered (upright as the source shows it)."""
    height: int
    dpi: float
    quarter_turn: int
    """Clockwise quarter turn applied first."""
    skew: float
    """Counter-clockwise text angle straightened next (the image was rotated by -skew)."""

    @property
    def identity(self) -> bool:
        """True when the stored page needs no turning."""
        return self.quarter_turn % 360 == 0 and abs(self.skew) < 1e-3


@dataclass(frozen=True)
class PageLayer:
    """One page of the output: which source page, how to place it, and its text layer if any."""

    source_index: int
    placement: Placement | None = None
    """None: copy the source page as it is (born-digital or blank pages)."""
    text_pdf_path: Path | None = None


def image_source_pdf(data: bytes, *, dpi: float, frames: Iterable[np.ndarray] | None = None) -> bytes:
    """Wrap an image file as a PDF, one page per frame, keeping its bytes (JPEG passthrough, CCITT, Flate).

    Formats img2pdf cannot wrap, or would inflate (JPEG-compressed TIFF), fall back to JPEG pages made from
    the decoded `frames`.
    """
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    if not _lossy_tiff(data):
        try:
            wrapped = img2pdf.convert(data, layout_fun=layout)
        except Exception:  # img2pdf raises many unrelated types for what it cannot wrap: fall back
            wrapped = None
        if wrapped is not None and len(wrapped) <= SIZE_ALLOWANCE * len(data) + 32_768:
            return bytes(wrapped)
    if frames is None:
        raise OcrError("the image cannot be wrapped into a PDF", code=errors.UNREADABLE)
    return bytes(img2pdf.convert([_jpeg(frame) for frame in frames], layout_fun=layout))


def _lossy_tiff(data: bytes) -> bool:
    if not data.startswith((b"II*\x00", b"MM\x00*")):
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            return str(image.info.get("compression", "")) in {"jpeg", "tiff_jpeg", "webp", "jpeg2000"}
    except OSError:
        return False


def _jpeg(frame: np.ndarray) -> bytes:
    pixels = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, FALLBACK_JPEG_QUALITY])
    if not ok:
        raise OcrError("could not encode a page as JPEG", code=errors.UNREADABLE)
    return encoded.tobytes()


def placement_matrix(placement: Placement) -> tuple[float, float, float, float, float, float]:
    """PDF `cm` operands mapping the source page (upright as rendered, in points) onto the turned page.

    Composes: points → source pixels → quarter turn → deskew rotation → output pixels → points.
    """
    scale = 72.0 / placement.dpi
    width, height = placement.width, placement.height
    to_pixels = np.array([[1 / scale, 0, 0], [0, -1 / scale, height], [0, 0, 1]])
    turn = placement.quarter_turn % 360
    quarter = {
        0: np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
        90: np.array([[0, -1, height], [1, 0, 0], [0, 0, 1]]),
        180: np.array([[-1, 0, width], [0, -1, height], [0, 0, 1]]),
        270: np.array([[0, 1, 0], [-1, 0, width], [0, 0, 1]]),
    }[turn]
    matrix, _, out_height = _deskew(placement)
    deskew = np.vstack([matrix, [0, 0, 1]])
    to_points = np.array([[scale, 0, 0], [0, -scale, out_height * scale], [0, 0, 1]])
    total = to_points @ deskew @ quarter @ to_pixels
    return (total[0, 0], total[1, 0], total[0, 1], total[1, 1], total[0, 2], total[1, 2])


def _deskew(placement: Placement) -> tuple[np.ndarray, int, int]:
    """The deskew rotation of the quarter-turned page, and the pixel size of the result."""
    turned = (
        (placement.height, placement.width)
        if placement.quarter_turn % 180
        else (placement.width, placement.height)
    )
    return rotation_matrix(turned[0], turned[1], -placement.skew)


def output_size(placement: Placement) -> tuple[float, float]:
    """Size in points of the turned, deskewed page (equal to the OCR image's size at its dpi)."""
    _, out_width, out_height = _deskew(placement)
    scale = 72.0 / placement.dpi
    return out_width * scale, out_height * scale


def build_searchable_pdf(source_pdf: bytes, layers: Sequence[PageLayer]) -> bytes:
    """Compose the output PDF (version ≥ 1.5) from the source PDF and one layer description per page."""
    output = pikepdf.new()
    with pikepdf.open(io.BytesIO(source_pdf)) as source:
        for layer in layers:
            source_page = source.pages[layer.source_index]
            if layer.placement is None or (layer.placement.identity and layer.text_pdf_path is None):
                output.pages.append(source_page)
                continue
            page = _placed_page(output, source_page, layer.placement)
            if layer.text_pdf_path is not None:
                _overlay_text(output, page, layer.text_pdf_path)
        buffer = io.BytesIO()
        output.save(
            buffer,
            min_version="1.5",
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
    output.close()
    return buffer.getvalue()


def _placed_page(output: pikepdf.Pdf, source_page: pikepdf.Page, placement: Placement) -> pikepdf.Page:
    """A new page showing the source page as a form XObject, turned and deskewed by `placement`."""
    width_pt, height_pt = output_size(placement)
    form = output.copy_foreign(source_page.as_form_xobject(handle_transformations=True))
    page = pikepdf.Page(
        output.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, width_pt, height_pt],
                Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Source=form)),
            )
        )
    )
    upright = pikepdf.Rectangle(
        0, 0, placement.width * 72.0 / placement.dpi, placement.height * 72.0 / placement.dpi
    )
    placed = page.calc_form_xobject_placement(
        form, pikepdf.Name.Source, upright, allow_shrink=True, allow_expand=True
    )
    a, b, c, d, e, f = placement_matrix(placement)
    content = f"q {a:.6f} {b:.6f} {c:.6f} {d:.6f} {e:.4f} {f:.4f} cm\n".encode() + placed + b"\nQ\n"
    page.obj.Contents = output.make_stream(content)
    output.pages.append(page)
    return output.pages[-1]


def _overlay_text(output: pikepdf.Pdf, page: pikepdf.Page, text_pdf_path: Path) -> None:
    with pikepdf.open(text_pdf_path) as text_pdf:
        text_page = pikepdf.Page(output.copy_foreign(text_pdf.pages[0].obj))
        page.add_overlay(text_page, pikepdf.Rectangle(*page.mediabox))
