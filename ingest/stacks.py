"""Split one scanned stack (several dossiers in one PDF/TIFF) into one file per dossier, page by page.

A page whose barcode holds a dossier code (a receipt, or a separator sheet from `ingest.separator`) starts a
dossier; the pages up to the next start belong to it. `scan_stack` reads the barcodes and returns a
`StackPlan`; `write_parts` writes its parts one at a time (lossless: PDF pages copied with pikepdf, image
frames rewritten as TIFF with their exact pixels); `collate_duplex` reorders a two-pass duplex scan first.
Memory holds one decoded page at a time and the spool at most one part file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import pikepdf
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from classifiers.fields import dossier_start
from ingest.errors import IngestError
from ocr import errors as ocr_errors
from ocr.barcodes import read_barcodes
from ocr.decode import DEFAULT_MAX_PAGES, DecodedDocument, MediaType, open_document, sniff
from ocr.errors import InputError

StartKind = Literal["receipt", "separator"]

DUPLEX_ODD_PAGES = "input.duplex_odd_pages"
STACK_CHANGED = "input.stack_changed"

SCAN_DPI = 200.0
"""PDF pages are rendered at this resolution to look for barcodes: `read_barcodes` searches at most 2000 px
anyway (A4 at 200 dpi is 2339 px), and 300 dpi would double the rendering time for nothing."""

_ORIENTATION = 0x0112
_SNIFF_BYTES = 1024


@dataclass(frozen=True)
class Start:
    """A page of the stack that starts a dossier."""

    page: int
    """1-based page number in the stack."""
    code: str
    kind: StartKind


@dataclass(frozen=True)
class PartPlan:
    """The pages that will form one document."""

    pages: tuple[int, ...]
    """1-based page numbers of the stack, in order."""
    dossier: str | None
    """The dossier code; None for the pages before the first start."""
    start: StartKind | None
    """What started the part (a separator followed by the same dossier's receipt stays "separator")."""


@dataclass(frozen=True)
class StackPlan:
    """Where the dossiers of a stack start; `parts` turns that into page lists."""

    page_count: int
    starts: tuple[Start, ...]
    """Every page that carries a start, in page order (same-code repeats included; `parts` merges them)."""

    def __post_init__(self) -> None:
        pages = [start.page for start in self.starts]
        if pages != sorted(set(pages)) or any(not 1 <= page <= self.page_count for page in pages):
            raise ValueError(f"starts must be on distinct pages 1..{self.page_count}, in order: {pages}")

    @property
    def needs_split(self) -> bool:
        """True when the file holds more than one part, or has a separator sheet to drop (the default)."""
        return len(self.parts(keep_separators=True)) > 1 or any(s.kind == "separator" for s in self.starts)

    def parts(self, keep_separators: bool = False) -> tuple[PartPlan, ...]:
        """The parts in page order; a start with the code of the part it is in does not split it.

        Separator pages are dropped unless `keep_separators`; a part left without pages is omitted. In a
        file of one dossier (every start has the same code) the pages before its start belong to it too: a
        receipt scanned last does not cut the file; with several codes they form a part of their own.
        """
        by_page = {start.page: start for start in self.starts}
        groups: list[tuple[str | None, StartKind | None, list[int]]] = [(None, None, [])]
        for number in range(1, self.page_count + 1):
            start = by_page.get(number)
            if start is not None and start.code != groups[-1][0]:
                groups.append((start.code, start.kind, []))
            if start is None or start.kind == "receipt" or keep_separators:
                groups[-1][2].append(number)
        if len({start.code for start in self.starts}) == 1 and len(groups) == 2:
            (_, _, leading), (code, kind, pages) = groups
            groups = [(code, kind, sorted(leading + pages))]
        return tuple(PartPlan(tuple(pages), code, kind) for code, kind, pages in groups if pages)


@dataclass(frozen=True)
class StackPart:
    """One part file written by `write_parts`; it is deleted when the iterator moves on."""

    path: Path
    pages: tuple[int, ...]
    """1-based page numbers in the stack (name the document with `part_source`)."""
    dossier: str | None
    start: StartKind | None


def scan_stack(path: Path, *, max_pixels: int = 60_000_000, max_pages: int = DEFAULT_MAX_PAGES) -> StackPlan:
    """Read each page's barcodes, one decoded page at a time, and note where dossiers start.

    An unreadable file raises `ocr.errors.InputError` with its code.
    """
    starts: list[Start] = []
    with _open_stack(path, max_pixels=max_pixels, max_pages=max_pages) as document:
        for page in document.pages():
            found = dossier_start(barcode.text for barcode in read_barcodes(page.gray))
            if found is not None:
                starts.append(Start(page=page.number, code=found.code, kind=found.kind))
            del page  # the next page is decoded only after this one's pixels are gone
        return StackPlan(page_count=document.page_count, starts=tuple(starts))


def _open_stack(path: Path, *, max_pixels: int, max_pages: int) -> DecodedDocument:
    """The one place the stack is opened: from disk, page by page."""
    return open_document(path, dpi=SCAN_DPI, max_pixels=max_pixels, max_pages=max_pages)


def write_parts(
    path: Path, plan: StackPlan, *, spool: Path, keep_separators: bool = False
) -> Generator[StackPart, None, None]:
    """Write the parts of `plan` one at a time under `spool` and yield each.

    A part's file is deleted when the iterator advances, and the last one when it is closed or exhausted,
    so the spool holds at most one part beside the stack. PDFs stay PDFs; image stacks become TIFF parts.
    """
    parts = plan.parts(keep_separators)
    with _page_copier(path) as copier:
        if copier.page_count != plan.page_count:
            raise IngestError(
                f"{path.name} has {copier.page_count} page(s) but was scanned with {plan.page_count}",
                code=STACK_CHANGED,
            )
        for part in parts:
            target = _spool_file(spool, path.stem, copier.suffix)
            try:
                copier.write(part.pages, target)
                yield StackPart(path=target, pages=part.pages, dossier=part.dossier, start=part.start)
            finally:
                target.unlink(missing_ok=True)


def collate_duplex(path: Path, *, spool: Path) -> Path:
    """Reorder a two-pass duplex scan (all fronts, then all backs from the last) to f1, b1, f2, b2 …

    Returns a new file under `spool` that the caller owns; an odd page count raises `input.duplex_odd_pages`.
    """
    with _page_copier(path) as copier:
        count = copier.page_count
        if count == 0:
            raise InputError("The file contains no pages.", code=ocr_errors.NO_PAGES)
        if count % 2:
            raise IngestError(
                f"{path.name} has {count} pages: a two-pass duplex scan has an even number",
                code=DUPLEX_ODD_PAGES,
            )
        order = tuple(page for front in range(1, count // 2 + 1) for page in (front, count + 1 - front))
        target = _spool_file(spool, f"{path.stem}-duplex", copier.suffix)
        try:
            copier.write(order, target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target


def part_source(stack_source: str, pages: Sequence[int]) -> str:
    """The source name of a part: `stack.pdf#pages=1-3,5` (runs of consecutive pages as ranges)."""
    if not pages:
        raise ValueError("a part has at least one page")
    runs: list[list[int]] = []
    for page in pages:
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    spans = (f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
    return f"{stack_source}#pages={','.join(spans)}"


def _spool_file(spool: Path, stem: str, suffix: str) -> Path:
    """A new empty file under `spool` with a unique name (stacks of the same name may split at once)."""
    spool.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{stem}-", suffix=suffix, dir=spool)
    os.close(handle)
    return Path(name)


# --- lossless page copying -------------------------------------------------------------------------


class _PageCopier(Protocol):
    """Writes chosen pages of an open stack to a new file of the same kind, without re-encoding losses."""

    page_count: int
    suffix: str

    def write(self, pages: Sequence[int], target: Path) -> None: ...


@contextmanager
def _page_copier(path: Path) -> Iterator[_PageCopier]:
    """Open the stack for copying: pikepdf for PDF, Pillow for images (the format is sniffed, not guessed)."""
    with path.open("rb") as file:
        media_type = sniff(file.read(_SNIFF_BYTES))
    if media_type is MediaType.PDF:
        with _open_pdf(path) as pdf:
            yield _PdfCopier(pdf)
    else:
        with _open_image(path) as image:
            yield _TiffCopier(image)


@contextmanager
def _open_pdf(path: Path) -> Iterator[pikepdf.Pdf]:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise InputError("The PDF is encrypted with a password.", code=ocr_errors.ENCRYPTED) from exc
    except (pikepdf.PdfError, ValueError, RecursionError) as exc:
        raise InputError(f"The PDF cannot be read: {exc}", code=ocr_errors.UNREADABLE) from exc
    with pdf:
        yield pdf


@contextmanager
def _open_image(path: Path) -> Iterator[Image.Image]:
    try:
        image = Image.open(path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The image cannot be read: {exc}", code=ocr_errors.UNREADABLE) from exc
    except Image.DecompressionBombError as exc:
        raise InputError(f"The image is too large: {exc}", code=ocr_errors.TOO_LARGE) from exc
    with image:
        yield image


class _PdfCopier:
    """Copies page objects (content streams, images, fonts) byte for byte into a new PDF."""

    suffix = ".pdf"

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self._pdf = pdf
        self.page_count = len(pdf.pages)

    def write(self, pages: Sequence[int], target: Path) -> None:
        try:
            with pikepdf.new() as out:
                for number in pages:
                    out.pages.append(self._pdf.pages[number - 1])
                out.save(target, stream_decode_level=pikepdf.StreamDecodeLevel.none, deterministic_id=True)
        except (pikepdf.PdfError, ValueError) as exc:
            raise InputError(f"The PDF pages cannot be copied: {exc}", code=ocr_errors.UNREADABLE) from exc


class _TiffCopier:
    """Rewrites frames into a multi-page TIFF: group4 for 1-bit frames, deflate otherwise; dpi kept."""

    suffix = ".tif"

    def __init__(self, image: Image.Image) -> None:
        self._image = image
        self.page_count = int(getattr(image, "n_frames", 1))

    def write(self, pages: Sequence[int], target: Path) -> None:
        try:
            with TiffImagePlugin.AppendingTiffWriter(str(target), new=True) as writer:
                for number in pages:
                    self._image.seek(number - 1)
                    _save_frame(self._image, writer)
                    writer.newFrame()
        except (OSError, EOFError, SyntaxError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the spool's disk, not the scan: full, gone, not writable
            raise InputError(
                f"A page of the image cannot be copied: {exc}", code=ocr_errors.UNREADABLE
            ) from exc


def _save_frame(image: Image.Image, writer: TiffImagePlugin.AppendingTiffWriter) -> None:
    """Append the current frame: a plain copy of its pixels, so no tag of the source's encoding leaks in."""
    frame = image.copy()  # the TIFF plugin would copy the source's tags (compression tables, subsampling)
    options: dict[str, object] = {"compression": "group4" if frame.mode == "1" else "tiff_adobe_deflate"}
    if dpi := image.info.get("dpi"):
        options["dpi"] = (float(dpi[0]), float(dpi[1]))
    orientation = image.getexif().get(_ORIENTATION, 1)
    if orientation not in (0, 1):  # the decoder turns the page by it, as it does for the original
        options["tiffinfo"] = {_ORIENTATION: orientation}
    frame.save(writer, format="TIFF", **options)
