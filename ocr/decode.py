"""Turn the bytes of one input file into page images, one at a time.

Formats are recognised by their leading bytes, never by the file name: PDF (scanned or born-digital),
TIFF (multi-page), JPEG, PNG, BMP and WebP. Pages are yielded lazily so a 500-page TIFF never sits in
memory whole, and every page is capped at `max_pixels` so a hostile 35,000 px page cannot exhaust memory.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, partial

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr import errors
from ocr.errors import InputError
from ocr.textlayer import extract_text_layer

DEFAULT_IMAGE_DPI = 300.0
"""Assumed resolution of an image file that does not record one (scanners almost always do)."""


class MediaType(StrEnum):
    """Formats sohoa reads; the value is the MIME type stored with the original."""

    PDF = "application/pdf"
    TIFF = "image/tiff"
    JPEG = "image/jpeg"
    PNG = "image/png"
    BMP = "image/bmp"
    WEBP = "image/webp"

    @property
    def extension(self) -> str:
        """File extension used for the stored original."""
        return {
            MediaType.PDF: ".pdf",
            MediaType.TIFF: ".tif",
            MediaType.JPEG: ".jpg",
            MediaType.PNG: ".png",
            MediaType.BMP: ".bmp",
            MediaType.WEBP: ".webp",
        }[self]


PREVIEW_SIDE = 1000
"""Longest side of a page preview: enough to tell a blank page, a fraction of the decoding cost."""


@dataclass(frozen=True)
class SourcePage:
    """One page of the input file; pixels are decoded only when asked for."""

    number: int
    """1-based position in the file."""
    dpi: float
    """Resolution of `image` in pixels per inch."""
    load: Callable[[], np.ndarray] = field(repr=False, compare=False)
    preview: Callable[[], np.ndarray] = field(repr=False, compare=False)
    """A small grayscale copy (about PREVIEW_SIDE px), decoded at reduced scale where the format allows."""
    text_layer: str | None = None
    """Text of a born-digital PDF page when its layer is usable; None means OCR is needed."""
    downscaled: bool = False
    """True when the page was rendered below the requested dpi to respect the pixel cap."""

    load_gray: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    """Decodes straight to grayscale where the format allows (JPEG), else None."""

    @cached_property
    def image(self) -> np.ndarray:
        """RGB (H×W×3) or grayscale (H×W) uint8 pixels; PDF pages are rendered in grayscale."""
        return self.load()

    @cached_property
    def gray(self) -> np.ndarray:
        """Grayscale pixels, the cheapest way: what cleanup and OCR work on."""
        if self.load_gray is not None:
            return self.load_gray()
        image = self.image
        return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def sniff(data: bytes) -> MediaType:
    """Recognise the format from the first bytes; raise `input.empty` / `input.unsupported`."""
    if not data:
        raise InputError("The file is empty (0 bytes).", code=errors.EMPTY)
    head = data[:1024]
    if b"%PDF-" in head:
        return MediaType.PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return MediaType.TIFF
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith(b"BM"):
        return MediaType.BMP
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    raise InputError(
        "Not a supported scan format (PDF, TIFF, JPEG, PNG, BMP or WebP expected).", code=errors.UNSUPPORTED
    )


@dataclass(frozen=True)
class DecodedDocument:
    """An opened input file: its format, page count and a lazy page iterator."""

    media_type: MediaType
    page_count: int
    _data: bytes
    _dpi: float
    _max_pixels: int

    def pages(self) -> Iterator[SourcePage]:
        """Yield the pages in order; decoding errors surface as `InputError` with a code."""
        if self.media_type is MediaType.PDF:
            yield from _pdf_pages(self._data, dpi=self._dpi, max_pixels=self._max_pixels)
        else:
            yield from _image_pages(self._data, max_pixels=self._max_pixels)


def open_document(data: bytes, *, dpi: float = 300.0, max_pixels: int = 60_000_000) -> DecodedDocument:
    """Check that `data` is a readable scan and count its pages, without decoding pixels yet.

    `dpi` is the rendering resolution for PDF pages; `max_pixels` caps any one page.
    """
    media_type = sniff(data)
    if media_type is MediaType.PDF:
        count = _pdf_page_count(data)
    else:
        count = _image_frame_count(data, max_pixels=max_pixels)
    if count == 0:
        raise InputError("The file contains no pages.", code=errors.NO_PAGES)
    return DecodedDocument(media_type, count, data, dpi, max_pixels)


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_page_count(data: bytes) -> int:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            count = len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise InputError("The PDF is encrypted with a password.", code=errors.ENCRYPTED) from exc
    except (pikepdf.PdfError, ValueError, RecursionError) as exc:
        detail = re.sub(r"^.*?<[^>]*>:\s*", "", str(exc))
        raise InputError(f"The PDF is damaged and cannot be read: {detail}", code=errors.UNREADABLE) from exc
    return count


def _pdf_pages(data: bytes, *, dpi: float, max_pixels: int) -> Iterator[SourcePage]:
    """Pages of a PDF; the document stays open as long as a page's loaders may still be called."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = errors.ENCRYPTED if "password" in str(exc).lower() else errors.UNREADABLE
        raise InputError(f"The PDF cannot be opened: {exc}", code=code) from exc
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            width_pt, height_pt = page.get_size()
        finally:
            page.close()
        if width_pt <= 0 or height_pt <= 0:
            raise InputError(f"Page {index + 1} has no size.", code=errors.UNREADABLE)
        render_dpi = _capped_dpi(width_pt / 72.0, height_pt / 72.0, dpi, max_pixels)
        preview_dpi = min(render_dpi, PREVIEW_SIDE * 72.0 / max(width_pt, height_pt))
        yield SourcePage(
            number=index + 1,
            dpi=render_dpi,
            load=partial(_render_pdf_page, pdf, index, render_dpi),
            preview=partial(_render_pdf_page, pdf, index, preview_dpi),
            text_layer=extract_text_layer(data, index),
            downscaled=render_dpi < dpi - 0.5,
        )


def _render_pdf_page(pdf: pdfium.PdfDocument, index: int, dpi: float) -> np.ndarray:
    """Render one page in grayscale on white at `dpi`."""
    page = pdf[index]
    try:
        bitmap = page.render(scale=dpi / 72.0, grayscale=True, fill_color=(255, 255, 255, 255))
        return np.asarray(bitmap.to_pil().convert("L"))
    except pdfium.PdfiumError as exc:
        raise InputError(f"Page {index + 1} cannot be rendered: {exc}", code=errors.UNREADABLE) from exc
    finally:
        page.close()


def _capped_dpi(width_in: float, height_in: float, dpi: float, max_pixels: int) -> float:
    """Highest dpi ≤ `dpi` at which the page stays under `max_pixels`."""
    limit = math.sqrt(max_pixels / (width_in * height_in)) * 0.998  # renderers round sizes up
    return max(min(dpi, limit), 1.0)


# --- raster images -------------------------------------------------------------------------------


def _open_image(data: bytes, *, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The image cannot be read: {exc}", code=errors.UNREADABLE) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"The image is too large: {exc}", code=errors.TOO_LARGE) from exc
    return image


def _image_frame_count(data: bytes, *, max_pixels: int) -> int:
    image = _open_image(data, max_pixels=max_pixels)
    return int(getattr(image, "n_frames", 1))


def _image_pages(data: bytes, *, max_pixels: int) -> Iterator[SourcePage]:
    image = _open_image(data, max_pixels=max_pixels)
    for index in range(int(getattr(image, "n_frames", 1))):
        try:
            image.seek(index)
        except (OSError, EOFError) as exc:
            raise InputError(
                f"Page {index + 1} of the image is damaged: {exc}", code=errors.UNREADABLE
            ) from exc
        width, height = image.size
        if width * height > 4 * max_pixels:
            raise InputError(
                f"The page is {width}×{height} pixels, far over the limit.", code=errors.TOO_LARGE
            )
        scale = min(1.0, math.sqrt(max_pixels / (width * height)))
        yield SourcePage(
            number=index + 1,
            dpi=_image_dpi(image) * scale,
            load=partial(_decode_frame, data, index, max_pixels),
            preview=partial(_decode_frame, data, index, PREVIEW_SIDE**2, preview=True),
            load_gray=partial(_decode_frame, data, index, max_pixels, gray=True),
            downscaled=scale < 1.0,
        )


def _decode_frame(
    data: bytes, index: int, max_pixels: int, *, preview: bool = False, gray: bool = False
) -> np.ndarray:
    """Decode one frame (in grayscale, reduced for previews); damage becomes `input.unreadable`.

    JPEG decodes straight to grayscale, and previews at 1/2-1/8 scale, inside libjpeg (`draft`).
    """
    try:
        image = Image.open(io.BytesIO(data))
        image.seek(index)
        if preview or gray:
            factor = PREVIEW_SIDE / max(image.size) if preview else 1.0
            image.draft("L", (math.ceil(image.width * factor), math.ceil(image.height * factor)))
        return _frame_to_array(image, max_pixels=max_pixels, gray=preview or gray)
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(
            f"Page {index + 1} of the image is damaged or truncated: {exc}", code=errors.UNREADABLE
        ) from exc


def _frame_to_array(image: Image.Image, *, max_pixels: int, gray: bool = False) -> np.ndarray:
    """Decode the current frame to RGB or gray, flattening alpha onto white and honouring EXIF rotation."""
    width, height = image.size
    turned = image.getexif().get(0x0112, 1) not in (0, 1)  # EXIF orientation: transposing copies the image
    frame = (ImageOps.exif_transpose(image) or image) if turned else image
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        frame = background
    elif frame.mode in ("1", "L", "I;16", "I;16B", "I", "F"):
        frame = ImageOps.grayscale(frame) if frame.mode != "1" else frame.convert("L")
    else:
        frame = frame.convert("RGB")
    if gray and frame.mode != "L":
        frame = frame.convert("L")
    if width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        frame = frame.resize(size, Image.Resampling.BILINEAR if gray else Image.Resampling.LANCZOS)
    frame.load()
    return np.asarray(frame)


def file_dpi(data: bytes) -> float:
    """Resolution an image file records (first frame), with the same fallback the decoder uses."""
    with Image.open(io.BytesIO(data)) as image:
        return _image_dpi(image)


def _image_dpi(image: Image.Image) -> float:
    raw = image.info.get("dpi")
    try:
        dpi = float(raw[0]) if raw else 0.0
    except (TypeError, ValueError, IndexError):
        dpi = 0.0
    # Some writers store dots per cm or junk such as 1 or 72 for screenshots; fall back to a scan default.
    return dpi if 70.0 <= dpi <= 2400.0 else DEFAULT_IMAGE_DPI
