"""Turn one input file into page images, one at a time.

Formats are recognised by their leading bytes, never by the file name: PDF (scanned or born-digital),
TIFF (multi-page), JPEG, PNG, BMP and WebP. The file is read from disk as pages need it (a path; bytes
still work for small inputs), pages come lazily or one by number (`DecodedDocument.page`), so a 500-page
PDF or a 2 GB TIFF never sits in memory whole, and every page is capped at `max_pixels` so a hostile
35,000 px page cannot exhaust memory.
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
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr import errors
from ocr.errors import InputError
from ocr.textlayer import TextLayerReader

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


SNIFF_BYTES = 1024
"""How much of the start of a file `sniff` looks at."""

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
    head = data[:SNIFF_BYTES]
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


DocumentSource = Path | bytes
"""An input file: its path (read from disk as needed, never whole) or, for small inputs, its bytes."""


@dataclass(frozen=True)
class DecodedDocument:
    """An opened input file: its format, page count, and its pages one at a time.

    Close it (or use it as a context manager) to release the PDF text-layer reader; pages keep their
    pixel loaders, which reopen the file, so a page may be decoded after the document is closed.
    """

    media_type: MediaType
    page_count: int
    _source: DocumentSource
    _dpi: float
    _max_pixels: int
    _text: TextLayerReader | None = field(default=None, repr=False, compare=False)

    def page(self, number: int) -> SourcePage:
        """Page `number` (1-based) on its own: nothing of the pages before it is read or decoded.

        Decoding errors surface as `InputError` with a code; a number outside the document is an IndexError.
        """
        if not 1 <= number <= self.page_count:
            raise IndexError(f"page {number} of a {self.page_count}-page document")
        if self.media_type is MediaType.PDF:
            return _pdf_page(
                self._source, number - 1, dpi=self._dpi, max_pixels=self._max_pixels, text=self._text
            )
        with _open_image(self._source) as image:
            return _image_page(image, self._source, number - 1, max_pixels=self._max_pixels)

    def pages(self) -> Iterator[SourcePage]:
        """Yield the pages in order, each as `page(n)` gives it."""
        if self.media_type is MediaType.PDF:
            for number in range(1, self.page_count + 1):
                yield self.page(number)
            return
        with _open_image(self._source) as image:  # one open file walked frame by frame
            for index in range(self.page_count):
                yield _image_page(image, self._source, index, max_pixels=self._max_pixels)

    def close(self) -> None:
        """Release the text-layer reader (a PDF's pdfplumber handle), if one was opened."""
        if self._text is not None:
            self._text.close()

    def __enter__(self) -> DecodedDocument:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_document(
    source: DocumentSource, *, dpi: float = 300.0, max_pixels: int = 60_000_000
) -> DecodedDocument:
    """Check that `source` (a path, or the bytes of a small file) is a readable scan and count its pages,
    without decoding pixels yet.

    `dpi` is the rendering resolution for PDF pages; `max_pixels` caps any one page.
    """
    media_type = sniff(_head(source))
    pdf = media_type is MediaType.PDF
    count = _pdf_page_count(source) if pdf else _image_frame_count(source)
    if count == 0:
        raise InputError("The file contains no pages.", code=errors.NO_PAGES)
    return DecodedDocument(
        media_type, count, source, dpi, max_pixels, TextLayerReader(source) if pdf else None
    )


def _head(source: DocumentSource) -> bytes:
    """The first bytes, enough to recognise the format."""
    if isinstance(source, bytes):
        return source[:SNIFF_BYTES]
    with source.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def _readable(source: DocumentSource) -> Path | io.BytesIO:
    """What pikepdf, pdfium's loader and Pillow open: the path itself (read lazily) or a view of the bytes."""
    return source if isinstance(source, Path) else io.BytesIO(source)


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_page_count(source: DocumentSource) -> int:
    try:
        with pikepdf.open(_readable(source)) as pdf:
            count = len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise InputError("The PDF is encrypted with a password.", code=errors.ENCRYPTED) from exc
    except (pikepdf.PdfError, ValueError, RecursionError) as exc:
        detail = re.sub(r"^.*?<[^>]*>:\s*", "", str(exc))
        raise InputError(f"The PDF is damaged and cannot be read: {detail}", code=errors.UNREADABLE) from exc
    return count


def _open_pdfium(source: DocumentSource) -> pdfium.PdfDocument:
    """Open the PDF with pdfium (from disk when a path).

    Every use opens it anew (a few milliseconds): pdfium keeps what it loaded of each page (its image data)
    until the document is closed, so one document kept open would grow by every page it rendered.
    """
    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        code = errors.ENCRYPTED if "password" in str(exc).lower() else errors.UNREADABLE
        raise InputError(f"The PDF cannot be opened: {exc}", code=code) from exc


def _pdf_page(
    source: DocumentSource, index: int, *, dpi: float, max_pixels: int, text: TextLayerReader | None
) -> SourcePage:
    """One page of a PDF: its size and text layer now, its pixels when asked."""
    pdf = _open_pdfium(source)
    try:
        page = pdf[index]
        try:
            width_pt, height_pt = page.get_size()
            has_text = _has_characters(page)
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(f"Page {index + 1} cannot be read: {exc}", code=errors.UNREADABLE) from exc
    finally:
        pdf.close()
    if width_pt <= 0 or height_pt <= 0:
        raise InputError(f"Page {index + 1} has no size.", code=errors.UNREADABLE)
    render_dpi = _capped_dpi(width_pt / 72.0, height_pt / 72.0, dpi, max_pixels)
    preview_dpi = min(render_dpi, PREVIEW_SIDE * 72.0 / max(width_pt, height_pt))
    return SourcePage(
        number=index + 1,
        dpi=render_dpi,
        load=partial(_render_pdf_page, source, index, render_dpi),
        preview=partial(_render_pdf_page, source, index, preview_dpi),
        text_layer=text.text_of(index) if text is not None and has_text else None,
        downscaled=render_dpi < dpi - 0.5,
    )


def _has_characters(page: pdfium.PdfPage) -> bool:
    """Whether pdfium finds any character on the page: a scan has none, and then pdfplumber is not asked."""
    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return True  # let pdfplumber decide
    try:
        return bool(textpage.count_chars() > 0)
    finally:
        textpage.close()


def _render_pdf_page(source: DocumentSource, index: int, dpi: float) -> np.ndarray:
    """Render one page in grayscale on white at `dpi`."""
    pdf = _open_pdfium(source)
    try:
        page = pdf[index]
        try:
            bitmap = page.render(scale=dpi / 72.0, grayscale=True, fill_color=(255, 255, 255, 255))
            return np.asarray(bitmap.to_pil().convert("L"))
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(f"Page {index + 1} cannot be rendered: {exc}", code=errors.UNREADABLE) from exc
    finally:
        pdf.close()


def _capped_dpi(width_in: float, height_in: float, dpi: float, max_pixels: int) -> float:
    """Highest dpi ≤ `dpi` at which the page stays under `max_pixels`."""
    limit = math.sqrt(max_pixels / (width_in * height_in)) * 0.998  # renderers round sizes up
    return max(min(dpi, limit), 1.0)


# --- raster images -------------------------------------------------------------------------------


def _open_image(source: DocumentSource) -> Image.Image:
    """Open an image file lazily (headers only); the caller closes it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_readable(source))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The image cannot be read: {exc}", code=errors.UNREADABLE) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"The image is too large: {exc}", code=errors.TOO_LARGE) from exc
    return image


def _image_frame_count(source: DocumentSource) -> int:
    with _open_image(source) as image:
        return int(getattr(image, "n_frames", 1))


def _image_page(image: Image.Image, source: DocumentSource, index: int, *, max_pixels: int) -> SourcePage:
    """Frame `index` of an open image file (seeking there reads only frame headers)."""
    try:
        image.seek(index)
    except (OSError, EOFError) as exc:
        raise InputError(f"Page {index + 1} of the image is damaged: {exc}", code=errors.UNREADABLE) from exc
    width, height = image.size
    if width * height > 4 * max_pixels:
        raise InputError(f"The page is {width}×{height} pixels, far over the limit.", code=errors.TOO_LARGE)
    scale = min(1.0, math.sqrt(max_pixels / (width * height)))
    return SourcePage(
        number=index + 1,
        dpi=_image_dpi(image) * scale,
        load=partial(_decode_frame, source, index, max_pixels),
        preview=partial(_decode_frame, source, index, PREVIEW_SIDE**2, preview=True),
        load_gray=partial(_decode_frame, source, index, max_pixels, gray=True),
        downscaled=scale < 1.0,
    )


def _decode_frame(
    source: DocumentSource, index: int, max_pixels: int, *, preview: bool = False, gray: bool = False
) -> np.ndarray:
    """Decode one frame (in grayscale, reduced for previews); damage becomes `input.unreadable`.

    JPEG decodes straight to grayscale, and previews at 1/2-1/8 scale, inside libjpeg (`draft`).
    """
    try:
        with Image.open(_readable(source)) as image:
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


def file_dpi(source: DocumentSource) -> float:
    """Resolution an image file records (first frame), with the same fallback the decoder uses."""
    with Image.open(_readable(source)) as image:
        return _image_dpi(image)


def _image_dpi(image: Image.Image) -> float:
    raw = image.info.get("dpi")
    try:
        dpi = float(raw[0]) if raw else 0.0
    except (TypeError, ValueError, IndexError):
        dpi = 0.0
    # Some writers store dots per cm or junk such as 1 or 72 for screenshots; fall back to a scan default.
    return dpi if 70.0 <= dpi <= 2400.0 else DEFAULT_IMAGE_DPI
