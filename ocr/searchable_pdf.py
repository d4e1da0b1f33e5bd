"""Assemble the stored searchable PDF without re-encoding what was scanned.

Every page of the source (the input PDF itself, or the input image wrapped losslessly by img2pdf) is placed
as a form XObject on a new page, turned and deskewed by a transformation matrix (so the stored page shows
the original pixels, upright and level, at their own resolution), with tesseract's invisible text layer on
top. Born-digital and blank pages are copied as they are, less anything active: the output keeps no
JavaScript, launch, form-submitting or remote-going action, no additional actions, form, attachment or
media annotation (see `strip_active_content`). Sources and outputs may be files (`output=`), so a
500-page document's PDF is streamed from disk to disk by pikepdf rather than held in memory.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, overload

import cv2
import img2pdf
import numpy as np
import pikepdf
from PIL import Image, ImageOps, TiffImagePlugin

from ocr import errors
from ocr.archival import ArchivalFacts, make_archival
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


PdfSource = Path | bytes
"""A PDF or image file to read from: its path (read lazily from disk) or, for small files, its bytes."""


FrameSource = Iterable[np.ndarray] | Callable[[int], np.ndarray]
"""Decoded frames for JPEG fallback pages: in order, or one by 0-based index (decoded only when needed)."""

MERGE_GROUP = 64
"""How many one-page PDFs are open at once while the pages of a multi-frame image are put together."""


@overload
def image_source_pdf(
    source: PdfSource, *, dpi: float, frames: FrameSource | None = None, output: None = None
) -> bytes: ...
@overload
def image_source_pdf(
    source: PdfSource, *, dpi: float, frames: FrameSource | None = None, output: Path
) -> Path: ...
def image_source_pdf(
    source: PdfSource, *, dpi: float, frames: FrameSource | None = None, output: Path | None = None
) -> bytes | Path:
    """Wrap an image file as a PDF, one page per frame, keeping its pixels (JPEG passthrough, CCITT, Flate).

    Formats img2pdf cannot wrap, or would inflate (JPEG-compressed TIFF), fall back to JPEG pages made from
    the decoded `frames`. With `output`, the PDF is written there and its path returned; else its bytes.
    A multi-frame file given as a path with an `output` is wrapped frame by frame through one-page PDFs on
    disk, so a 2 GB TIFF is never in memory whole (bi-level frames are re-encoded as CCITT G4, others as
    PNG: both lossless); otherwise img2pdf reads the whole file and holds the PDF until it is written.
    """
    frame = _frame_getter(frames)
    if output is not None and isinstance(source, Path) and _frame_count(source) > 1:
        return _wrap_frames(source, dpi=dpi, frame=frame, output=output)
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    data = source.read_bytes() if isinstance(source, Path) else source
    wrapped = None if _lossy_tiff(data) else _wrapped(data, layout, budget=len(data))
    if wrapped is None:
        if frame is None:
            raise OcrError("the image cannot be wrapped into a PDF", code=errors.UNREADABLE)
        count = _frame_count(io.BytesIO(data))
        wrapped = bytes(img2pdf.convert([_jpeg(frame(index)) for index in range(count)], layout_fun=layout))
    if output is None:
        return wrapped
    output.write_bytes(wrapped)
    return output


def _wrapped(data: bytes, layout: Any, *, budget: int) -> bytes | None:
    """img2pdf's lossless wrapping of an image file, or None if it cannot or it would inflate the bytes."""
    try:
        wrapped = bytes(img2pdf.convert(data, layout_fun=layout))
    except Exception:  # img2pdf raises many unrelated types for what it cannot wrap: fall back
        return None
    return wrapped if len(wrapped) <= SIZE_ALLOWANCE * budget + 32_768 else None


def _frame_getter(frames: FrameSource | None) -> Callable[[int], np.ndarray] | None:
    """Frames by index; an iterable is walked forward as far as asked (earlier frames are skipped)."""
    if frames is None or callable(frames):
        return frames
    iterator, position = iter(frames), [-1]

    def frame(index: int) -> np.ndarray:
        while True:
            value = next(iterator)
            position[0] += 1
            if position[0] == index:
                return value

    return frame


def _frame_count(source: Path | BinaryIO) -> int:
    """Pages of an image file: a TIFF's frames; any other format is one page, as the decoder reads it."""
    try:
        with Image.open(source) as image:
            return int(image.n_frames) if isinstance(image, TiffImagePlugin.TiffImageFile) else 1
    except (OSError, ValueError, SyntaxError) as exc:
        raise OcrError(f"the image cannot be wrapped into a PDF: {exc}", code=errors.UNREADABLE) from exc


def _wrap_frames(
    source: Path, *, dpi: float, frame: Callable[[int], np.ndarray] | None, output: Path
) -> Path:
    """Wrap each frame as a one-page PDF file, then put them together in bounded groups."""
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    with tempfile.TemporaryDirectory(prefix=".wrap-", dir=output.parent) as folder:
        pages: list[Path] = []
        with Image.open(source) as image:
            for index in range(int(getattr(image, "n_frames", 1))):
                try:
                    image.seek(index)
                    wrapped = _wrap_frame(image, layout)
                except Image.DecompressionBombError as exc:
                    raise OcrError(
                        f"page {index + 1} of the image is too large: {exc}", code=errors.TOO_LARGE
                    ) from exc
                except (OSError, EOFError) as exc:
                    raise OcrError(
                        f"page {index + 1} of the image is damaged: {exc}", code=errors.UNREADABLE
                    ) from exc
                if wrapped is None:
                    if frame is None:
                        raise OcrError(
                            f"page {index + 1} of the image cannot be wrapped into a PDF",
                            code=errors.UNREADABLE,
                        )
                    wrapped = bytes(img2pdf.convert(_jpeg(frame(index)), layout_fun=layout))
                page = Path(folder) / f"page-{index:05d}.pdf"
                page.write_bytes(wrapped)
                pages.append(page)
        _concatenate(pages, output, Path(folder))
    return output


def _wrap_frame(image: Image.Image, layout: Any) -> bytes | None:
    """The current frame as a lossless one-page PDF, None when it must become a JPEG page instead.

    The frame is turned by its EXIF orientation first, as the decoder turns it for OCR.
    """
    if str(image.info.get("compression", "")) in LOSSY_TIFF:
        return None
    compressed = (
        sum(image.tag_v2.get(279, ()) or image.tag_v2.get(325, ())) if hasattr(image, "tag_v2") else 0
    )
    frame = ImageOps.exif_transpose(image) if image.getexif().get(0x0112, 1) not in (0, 1) else image
    buffer = io.BytesIO()
    try:
        if frame.mode == "1":  # in one strip, which img2pdf embeds as it is (several, it would re-encode)
            rows = {TiffImagePlugin.ROWSPERSTRIP: frame.height}
            frame.save(buffer, format="TIFF", compression="group4", tiffinfo=rows)
        else:
            frame.save(buffer, format="PNG")
    except (OSError, ValueError, KeyError):
        return None
    return _wrapped(buffer.getvalue(), layout, budget=compressed or len(buffer.getvalue()))


def _concatenate(pages: list[Path], output: Path, folder: Path) -> None:
    """One PDF of the pages of `pages`, in order, with at most MERGE_GROUP files open at a time."""
    level = 0
    while len(pages) > MERGE_GROUP:
        merged = []
        for start in range(0, len(pages), MERGE_GROUP):
            part = folder / f"merge-{level}-{start:05d}.pdf"
            _merge(pages[start : start + MERGE_GROUP], part)
            merged.append(part)
        for page in pages:
            page.unlink()
        pages, level = merged, level + 1
    _merge(pages, output)


def _merge(sources: list[Path], output: Path) -> None:
    """Append every page of `sources` to a new PDF with qpdf's own page copying, which reads the
    sources' streams from disk as it writes (a pikepdf `copy_foreign` would copy them into memory)."""
    arguments = ["qpdf", "--keep-files-open=y", "--empty", "--pages", *map(str, sources), "--", str(output)]
    try:
        pikepdf.Job(arguments).run()  # warnings (a damaged one-page PDF repaired) are not failures
    except (pikepdf.PdfError, OSError, RuntimeError) as exc:
        raise OcrError(f"the image pages cannot be put together: {exc}", code=errors.UNREADABLE) from exc


LOSSY_TIFF = frozenset({"jpeg", "tiff_jpeg", "webp", "jpeg2000"})
"""TIFF compressions whose frames become JPEG pages (wrapping them losslessly would inflate them)."""


def _lossy_tiff(data: bytes) -> bool:
    if not data.startswith((b"II*\x00", b"MM\x00*")):
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            return str(image.info.get("compression", "")) in LOSSY_TIFF
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


@overload
def build_searchable_pdf(
    source_pdf: PdfSource,
    layers: Sequence[PageLayer],
    *,
    output: None = None,
    archival: ArchivalFacts | None = None,
) -> bytes: ...
@overload
def build_searchable_pdf(
    source_pdf: PdfSource, layers: Sequence[PageLayer], *, output: Path, archival: ArchivalFacts | None = None
) -> Path: ...
def build_searchable_pdf(
    source_pdf: PdfSource,
    layers: Sequence[PageLayer],
    *,
    output: Path | None = None,
    archival: ArchivalFacts | None = None,
) -> bytes | Path:
    """Compose the output PDF (version ≥ 1.5) from the source PDF and one layer description per page.

    With `archival` the output is made PDF/A-2b when nothing in it stands in the way (`ocr.archival`).
    With `output` the PDF is written to that file and its path returned, else its bytes. The pages are
    rebuilt inside the opened source itself, so its images are never copied: writing the output reads
    them from the source file one by one (pikepdf copies what comes from another PDF into memory), and a
    long document is never in memory whole.
    """
    with pikepdf.open(source_pdf if isinstance(source_pdf, Path) else io.BytesIO(source_pdf)) as pdf:
        originals = list(pdf.pages)
        pages = [_output_page(pdf, originals[layer.source_index], layer) for layer in layers]
        del pdf.pages[:]
        for page in pages:
            pdf.pages.append(page)
        _keep_only_pages(pdf)
        strip_active_content(pdf)
        if archival is not None:
            make_archival(pdf, archival)
        buffer = io.BytesIO()
        pdf.save(
            buffer if output is None else output,
            min_version="1.5",
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
    return buffer.getvalue() if output is None else output


def _output_page(pdf: pikepdf.Pdf, source_page: pikepdf.Page, layer: PageLayer) -> pikepdf.Page:
    """The stored page for one layer: the source page itself, or a new page placing it, text on top."""
    if layer.placement is None or (layer.placement.identity and layer.text_pdf_path is None):
        return source_page
    page = _placed_page(pdf, source_page, layer.placement)
    if layer.text_pdf_path is not None:
        _overlay_text(pdf, page, layer.text_pdf_path)
    return page


def _keep_only_pages(pdf: pikepdf.Pdf) -> None:
    """Drop what the source carried besides its pages (outline, forms, open action, names with their
    scripts and attachments, metadata, document info, anything else the trailer pointed at)."""
    pdf.trailer.Root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Catalog, Pages=pdf.Root.Pages))
    for key in list(pdf.trailer.keys()):
        if key not in ("/Root", "/ID", "/Size"):
            del pdf.trailer[key]


ACTION_TYPES = frozenset(
    {
        "/GoTo",
        "/GoToR",
        "/GoToE",
        "/GoToDp",
        "/Launch",
        "/Thread",
        "/URI",
        "/Sound",
        "/Movie",
        "/Hide",
        "/Named",
        "/SubmitForm",
        "/ResetForm",
        "/ImportData",
        "/JavaScript",
        "/SetOCGState",
        "/Rendition",
        "/Trans",
        "/GoTo3DView",
        "/RichMediaExecute",
    }
)
"""Every action type of ISO 32000-2 (12.6.4): a dictionary whose /S is one of these is an action."""
SAFE_URI_SCHEMES = ("http:", "https:", "mailto:")
"""The only URI actions kept; `javascript:`, `file:`, `data:` and the rest are dropped."""
ACTIVE_KEYS = ("/AA", "/OpenAction", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA", "/AcroForm")
"""Dropped wherever they appear: additional actions (page, annotation, form field), scripts, attached
and embedded files, XFA and AcroForm."""
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})
"""Annotations that carry a file, media or a 3D scene (which may script itself): removed whole."""


def strip_active_content(pdf: pikepdf.Pdf) -> None:
    """Remove everything active from what the document's catalog reaches (what `save` writes).

    Actions other than an in-document GoTo or an http(s)/mailto URI are removed wherever they hang (an
    annotation's /A, a link's /PA, an action's /Next chain), with the keys of ACTIVE_KEYS and the
    annotations of ACTIVE_ANNOTATIONS. Form widgets stay as their appearance, without their actions.
    Every object is visited once; streams' data is never read.
    """
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [pdf.Root]
    while stack:
        obj = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Array):
            for index in reversed(range(len(obj))):
                if _unsafe_action(obj[index]):
                    del obj[index]
            stack.extend(item for item in obj if _container(item))
            continue
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        for key in list(obj.keys()):
            value = obj[key]
            if key in ACTIVE_KEYS or _unsafe_action(value):
                del obj[key]
                continue
            if key == "/Annots" and isinstance(value, pikepdf.Array):
                for index in reversed(range(len(value))):
                    if _annotation_subtype(value[index]) in ACTIVE_ANNOTATIONS:
                        del value[index]
            if _container(value):
                stack.append(value)


def _container(obj: pikepdf.Object) -> bool:
    return isinstance(obj, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)


def _annotation_subtype(obj: pikepdf.Object) -> str | None:
    if not isinstance(obj, pikepdf.Dictionary):
        return None
    subtype = obj.get("/Subtype")
    return str(subtype) if isinstance(subtype, pikepdf.Name) else None


def _unsafe_action(obj: pikepdf.Object) -> bool:
    """Whether `obj` is an action sohoa does not keep (see `strip_active_content`)."""
    if not isinstance(obj, pikepdf.Dictionary):
        return False
    kind = obj.get("/S")
    if not isinstance(kind, pikepdf.Name) or str(kind) not in ACTION_TYPES:
        return False
    if kind == pikepdf.Name.GoTo:
        return False
    if kind == pikepdf.Name.URI:
        target = obj.get("/URI")
        if isinstance(target, pikepdf.String):
            # Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
            compact = re.sub(r"[\x00-\x20\x7f]+", "", str(target)).lower()
            return not compact.startswith(SAFE_URI_SCHEMES)
    return True


def _placed_page(pdf: pikepdf.Pdf, source_page: pikepdf.Page, placement: Placement) -> pikepdf.Page:
    """A new page showing the source page as a form XObject, turned and deskewed by `placement`."""
    width_pt, height_pt = output_size(placement)
    form = source_page.as_form_xobject(handle_transformations=True)
    page = pikepdf.Page(
        pdf.make_indirect(
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
    page.obj.Contents = pdf.make_stream(content)
    return page


def _overlay_text(output: pikepdf.Pdf, page: pikepdf.Page, text_pdf_path: Path) -> None:
    with pikepdf.open(text_pdf_path) as text_pdf:
        text_page = pikepdf.Page(output.copy_foreign(text_pdf.pages[0].obj))
        page.add_overlay(text_page, pikepdf.Rectangle(*page.mediabox))
