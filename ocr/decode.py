"""Turn one input file into page images, one at a time.

Formats are recognised by their leading bytes, never by the file name: PDF (scanned or born-digital),
TIFF (multi-page), JPEG, PNG, BMP and WebP. The file is read from disk as pages need it (a path; bytes
still work for small inputs), pages come lazily or one by number (`DecodedDocument.page`), so a 500-page
PDF or a 2 GB TIFF never sits in memory whole, and every page is capped at `max_pixels` so a hostile
35,000 px page cannot exhaust memory. A document has at most `max_pages` pages, counted when it is opened.

Reaching page n costs the same for every n: a PDF's pages come from one pdfium document kept open (pdfium
finds a page by walking the page tree from the start in every newly opened document), and a TIFF frame is
opened straight at its directory, found once when the file is opened (Pillow walks every directory before
frame n otherwise). Either way a 5,000-page file would cost time quadratic in its pages.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps, TiffImagePlugin, UnidentifiedImageError

from ocr import errors
from ocr.errors import InputError
from ocr.textlayer import TextLayerReader

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

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

DEFAULT_MAX_PAGES = 1000
"""Pages a document may have unless the caller says otherwise (the setting `max_pages`)."""

REOPEN_BYTES = 64 * 1024**2
"""pdfium keeps the compressed image data of every page it loaded until its document is closed: the PDF
kept open for a document's pages is reopened before those pages could hold more than this (pages counted
at the file's average size, so a small file, however many pages it has, is opened once)."""


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

    Close it (or use it as a context manager) to release the open PDF (pdfium and the text-layer reader);
    pages keep their pixel loaders, which reopen the file, so a page may be decoded after the document is
    closed.
    """

    media_type: MediaType
    page_count: int
    _source: DocumentSource
    _dpi: float
    _max_pixels: int
    _text: TextLayerReader | None = field(default=None, repr=False, compare=False)
    _pdfium: _PdfiumPages | None = field(default=None, repr=False, compare=False)
    _frames: tuple[int, ...] = field(default=(), repr=False, compare=False)
    """TIFF: where each frame's directory starts (empty for other formats: one frame)."""

    def page(self, number: int) -> SourcePage:
        """Page `number` (1-based) on its own: nothing of the pages before it is read or decoded.

        Decoding errors surface as `InputError` with a code; a number outside the document is an IndexError.
        """
        if not 1 <= number <= self.page_count:
            raise IndexError(f"page {number} of a {self.page_count}-page document")
        if self._pdfium is not None:
            return _pdf_page(
                self._pdfium, number - 1, dpi=self._dpi, max_pixels=self._max_pixels, text=self._text
            )
        ifd = self._frames[number - 1] if self._frames else None
        return _image_page(self._source, number - 1, ifd, max_pixels=self._max_pixels)

    def pages(self) -> Iterator[SourcePage]:
        """Yield the pages in order, each as `page(n)` gives it."""
        for number in range(1, self.page_count + 1):
            yield self.page(number)

    def close(self) -> None:
        """Release the open PDF (pdfium and pdfplumber), if one was opened; pages may still reopen it."""
        if self._pdfium is not None:
            self._pdfium.close()
        if self._text is not None:
            self._text.close()

    def __enter__(self) -> DecodedDocument:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_document(
    source: DocumentSource,
    *,
    dpi: float = 300.0,
    max_pixels: int = 60_000_000,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> DecodedDocument:
    """Check that `source` (a path, or the bytes of a small file) is a readable scan and count its pages,
    without decoding pixels yet.

    `dpi` is the rendering resolution for PDF pages; `max_pixels` caps any one page (image frames far
    over it are refused as `input.too_large` here, every frame, not only the first). More than
    `max_pages` pages is `input.too_large` too, decided from the page count before any page is read.
    """
    media_type = sniff(_head(source))
    if media_type is MediaType.PDF:
        count = _pdf_page_count(source)
        _check_page_count(count, max_pages)
        return DecodedDocument(
            media_type,
            count,
            source,
            dpi,
            max_pixels,
            TextLayerReader(source),
            _PdfiumPages(source, reuse=_pdfium_reuse(source, count)),
        )
    frames = _image_frames(source, max_pages=max_pages, max_pixels=max_pixels)
    return DecodedDocument(media_type, max(len(frames), 1), source, dpi, max_pixels, _frames=frames)


def _check_page_count(count: int, max_pages: int) -> None:
    if count == 0:
        raise InputError("The file contains no pages.", code=errors.NO_PAGES)
    if count > max_pages:
        raise InputError(
            f"The file has {count} pages, more than the {max_pages} pages a document may have.",
            code=errors.TOO_LARGE,
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
    """Open the PDF with pdfium (from disk when a path)."""
    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        code = errors.ENCRYPTED if "password" in str(exc).lower() else errors.UNREADABLE
        raise InputError(f"The PDF cannot be opened: {exc}", code=code) from exc


def _pdfium_reuse(source: DocumentSource, pages: int) -> int:
    """How many page loads one pdfium document serves before it is reopened (see REOPEN_BYTES)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    return max(1, REOPEN_BYTES * pages // max(size, 1))


class _PdfiumPages:
    """The pages of one PDF through one pdfium document, opened on first use, reopened every `reuse` pages.

    Opening the PDF for every page made a long document quadratic (pdfium walks the page tree up to page n
    in each new document: 5,000 blank pages took an hour); one document kept open for good would keep
    every rendered page's image data. Closed, it reopens when used again.
    """

    def __init__(self, source: DocumentSource, *, reuse: int) -> None:
        self._source = source
        self._reuse = max(1, reuse)
        self._pdf: pdfium.PdfDocument | None = None
        self._loads = 0

    @contextmanager
    def page(self, index: int) -> Iterator[pdfium.PdfPage]:
        """Page `index` (0-based), closed on leaving; pdfium errors propagate as `PdfiumError`."""
        if self._pdf is not None and self._loads >= self._reuse:
            self.close()
        if self._pdf is None:
            self._pdf = _open_pdfium(self._source)
            self._loads = 0
        self._loads += 1
        page = self._pdf[index]
        try:
            yield page
        finally:
            page.close()

    def close(self) -> None:
        """Close the pdfium document if it is open."""
        pdf, self._pdf = self._pdf, None
        if pdf is not None:
            pdf.close()


def _pdf_page(
    pages: _PdfiumPages, index: int, *, dpi: float, max_pixels: int, text: TextLayerReader | None
) -> SourcePage:
    """One page of a PDF: its size and text layer now, its pixels when asked."""
    try:
        with pages.page(index) as page:
            width_pt, height_pt = page.get_size()
            has_text = _has_characters(page)
    except pdfium.PdfiumError as exc:
        raise InputError(f"Page {index + 1} cannot be read: {exc}", code=errors.UNREADABLE) from exc
    if width_pt <= 0 or height_pt <= 0:
        raise InputError(f"Page {index + 1} has no size.", code=errors.UNREADABLE)
    render_dpi = _capped_dpi(width_pt / 72.0, height_pt / 72.0, dpi, max_pixels)
    preview_dpi = min(render_dpi, PREVIEW_SIDE * 72.0 / max(width_pt, height_pt))
    return SourcePage(
        number=index + 1,
        dpi=render_dpi,
        load=partial(_render_pdf_page, pages, index, render_dpi),
        preview=partial(_render_pdf_page, pages, index, preview_dpi),
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


def _render_pdf_page(pages: _PdfiumPages, index: int, dpi: float) -> np.ndarray:
    """Render one page in grayscale on white at `dpi`."""
    try:
        with pages.page(index) as page:
            bitmap = page.render(scale=dpi / 72.0, grayscale=True, fill_color=(255, 255, 255, 255))
            return np.asarray(bitmap.to_pil().convert("L"))
    except pdfium.PdfiumError as exc:
        raise InputError(f"Page {index + 1} cannot be rendered: {exc}", code=errors.UNREADABLE) from exc


def _capped_dpi(width_in: float, height_in: float, dpi: float, max_pixels: int) -> float:
    """Highest dpi ≤ `dpi` at which the page stays under `max_pixels`."""
    limit = math.sqrt(max_pixels / (width_in * height_in)) * 0.998  # renderers round sizes up
    return max(min(dpi, limit), 1.0)


# --- raster images -------------------------------------------------------------------------------

_DAMAGE = (OSError, SyntaxError, ValueError, EOFError, struct.error)
"""What Pillow raises for a damaged or truncated frame."""
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
"""Pillow's own pixel limit (the warning is turned into an error while opening and decoding)."""


def _open_image(source: DocumentSource) -> Image.Image:
    """Open an image file lazily (headers only); the caller closes it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_readable(source))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The image cannot be read: {exc}", code=errors.UNREADABLE) from exc
    except _BOMB as exc:
        raise InputError(f"The image is too large: {exc}", code=errors.TOO_LARGE) from exc
    return image


def _image_frames(source: DocumentSource, *, max_pages: int, max_pixels: int) -> tuple[int, ...]:
    """Walk a TIFF's frames once, checking each one's size: where each frame's directory starts.

    Other formats are one page (an animated PNG or WebP, or a JPEG's extra MPO pictures, are not a
    multi-page scan): an empty tuple. The walk stops past `max_pages` frames (`input.too_large`).
    """
    with _open_image(source) as image:
        if not isinstance(image, TiffImagePlugin.TiffImageFile):
            _check_frame_size(image.size, 0, max_pixels)
            return ()
        frames: list[int] = []
        for index in itertools.count():
            try:
                if index:
                    image.seek(index)
            except EOFError:
                break
            except _BOMB as exc:
                raise InputError(f"Page {index + 1} is too large: {exc}", code=errors.TOO_LARGE) from exc
            except _DAMAGE as exc:
                raise InputError(
                    f"Page {index + 1} of the image is damaged: {exc}", code=errors.UNREADABLE
                ) from exc
            if index >= max_pages:
                raise InputError(
                    f"The file has more than {max_pages} pages, the most a document may have.",
                    code=errors.TOO_LARGE,
                )
            _check_frame_size(image.size, index, max_pixels)
            frames.append(image.tag_v2.offset)
        return tuple(frames)


def _check_frame_size(size: tuple[int, int], index: int, max_pixels: int) -> None:
    """Refuse a frame far over the page cap, or over Pillow's own limit, as `input.too_large`.

    Frames up to four times `max_pixels` are decoded downscaled; Pillow's limit (`MAX_IMAGE_PIXELS`) is
    the one it applies to a file's first frame when opening it, applied here to every frame.
    """
    width, height = size
    limit = 4 * max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    if width * height > limit:
        raise InputError(
            f"Page {index + 1} is {width}×{height} pixels, over the limit of {limit} pixels.",
            code=errors.TOO_LARGE,
        )


class _TiffFrameFile(io.RawIOBase):
    """A TIFF file read as if frame `ifd` (its directory's offset) were its first.

    Only the header's first-directory offset changes (TIFF offsets are absolute), so Pillow opens that
    frame without reading the directories of the frames before it; libtiff, which reads the file by its
    descriptor, is given the directory's offset by Pillow.
    """

    def __init__(self, source: DocumentSource, ifd: int) -> None:
        super().__init__()
        self._file: io.FileIO | io.BytesIO = (
            io.FileIO(source, "r") if isinstance(source, Path) else io.BytesIO(source)
        )
        head = self._file.read(16) or b""
        self._file.seek(0)
        order = "<" if head[:2] == b"II" else ">"
        if head[2:4] == struct.pack(f"{order}H", 43):  # BigTIFF: 8-byte offsets
            self._head = head[:8] + struct.pack(f"{order}Q", ifd)
        else:
            self._head = head[:4] + struct.pack(f"{order}I", ifd)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: WriteableBuffer) -> int:
        start = self._file.tell()
        view = memoryview(buffer).cast("B")
        count = self._file.readinto(view)
        if count and start < len(self._head):
            end = min(count, len(self._head) - start)
            view[:end] = self._head[start : start + end]
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


@contextmanager
def _opened_frame(source: DocumentSource, ifd: int | None) -> Iterator[Image.Image]:
    """The image file opened at one frame: a TIFF at directory `ifd`, other formats (None) as they are.

    Pillow's pixel limit raises while inside (its warning too); the caller maps it to `input.too_large`.
    """
    handle: Path | BinaryIO = (
        _readable(source) if ifd is None else io.BufferedReader(_TiffFrameFile(source, ifd))
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                yield image
    finally:
        if not isinstance(handle, Path):
            handle.close()


def _image_page(source: DocumentSource, index: int, ifd: int | None, *, max_pixels: int) -> SourcePage:
    """Frame `index` of an image file, its headers read now (opened at its directory), its pixels later."""
    try:
        with _opened_frame(source, ifd) as image:
            width, height = image.size
            dpi = _image_dpi(image)
    except _BOMB as exc:
        raise InputError(f"Page {index + 1} is too large: {exc}", code=errors.TOO_LARGE) from exc
    except (UnidentifiedImageError, *_DAMAGE) as exc:
        raise InputError(f"Page {index + 1} of the image is damaged: {exc}", code=errors.UNREADABLE) from exc
    _check_frame_size((width, height), index, max_pixels)
    scale = min(1.0, math.sqrt(max_pixels / (width * height)))
    return SourcePage(
        number=index + 1,
        dpi=dpi * scale,
        load=partial(_decode_frame, source, index, ifd, max_pixels),
        preview=partial(_decode_frame, source, index, ifd, PREVIEW_SIDE**2, preview=True),
        load_gray=partial(_decode_frame, source, index, ifd, max_pixels, gray=True),
        downscaled=scale < 1.0,
    )


def _decode_frame(
    source: DocumentSource,
    index: int,
    ifd: int | None,
    max_pixels: int,
    *,
    preview: bool = False,
    gray: bool = False,
) -> np.ndarray:
    """Decode one frame (in grayscale, reduced for previews); damage becomes `input.unreadable`, a frame
    over Pillow's pixel limit `input.too_large`.

    JPEG decodes straight to grayscale, and previews at 1/2-1/8 scale, inside libjpeg (`draft`).
    """
    try:
        with _opened_frame(source, ifd) as image:
            if preview or gray:
                factor = PREVIEW_SIDE / max(image.size) if preview else 1.0
                image.draft("L", (math.ceil(image.width * factor), math.ceil(image.height * factor)))
            return _frame_to_array(image, max_pixels=max_pixels, gray=preview or gray)
    except InputError:
        raise
    except _BOMB as exc:
        raise InputError(f"Page {index + 1} is too large: {exc}", code=errors.TOO_LARGE) from exc
    except (UnidentifiedImageError, *_DAMAGE) as exc:
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
