"""Splitting scanned stacks into dossiers: real PDF/TIFF stacks built from synthetic pages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from examples import synth
from ingest.errors import IngestError
from ingest.separator import separator_sheet_pdf
from ingest.stacks import (
    PartPlan,
    StackPlan,
    Start,
    collate_duplex,
    part_source,
    scan_stack,
    write_parts,
)
from ocr.errors import InputError

REPO = Path(__file__).resolve().parents[2]
DPI = 150  # the receipts' QR codes still decode; pages render and scan fast
CODES = ("000.00.21.H61-250401-0001", "000.20.31.H61-250402-0002", "000.24.35.H61-250403-0003")


@dataclass(frozen=True)
class Pages:
    """Rendered pages to stack: one receipt and one separator sheet per code in CODES."""

    receipts: tuple[Image.Image, ...]
    separators: tuple[Image.Image, ...]
    form: Image.Image
    component: Image.Image
    blank: Image.Image
    bilevel: Image.Image
    """A form thresholded to 1 bit per pixel, as many counter scanners deliver."""


def _separator_image(code: str, dpi: int = 200) -> Image.Image:
    document = pdfium.PdfDocument(separator_sheet_pdf(code))
    try:
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    image.info["dpi"] = (dpi, dpi)
    return image


@pytest.fixture(scope="module")
def pages() -> Pages:
    procedures = ("ho-kinh-doanh", "khai-sinh", "tam-tru")
    receipts = tuple(
        synth.make_receipt(procedure, seed=n, dpi=DPI, dossier_code=code).image.convert("L")
        for n, (procedure, code) in enumerate(zip(procedures, CODES, strict=True))
    )
    form = synth.make_page("ho-kinh-doanh", seed=0, dpi=DPI).image
    return Pages(
        receipts=receipts,
        separators=tuple(_separator_image(code) for code in CODES),
        form=form,
        component=synth.make_component("ho-kinh-doanh", seed=0, dpi=DPI).image.convert("L"),
        blank=synth.make_blank(seed=0, dpi=DPI).image.convert("L"),
        bilevel=form.convert("L").point(lambda v: 255 if v > 160 else 0).convert("1"),
    )


def _encoded(image: Image.Image) -> bytes:
    """JPEG for gray and colour pages (what scanners write into PDFs), PNG for 1-bit ones."""
    out = io.BytesIO()
    dpi = image.info.get("dpi", (DPI, DPI))
    if image.mode == "1":
        image.save(out, "PNG", dpi=dpi)
    else:
        image.save(out, "JPEG", quality=85, dpi=dpi)
    return out.getvalue()


def _pdf_stack(path: Path, images: Sequence[Image.Image]) -> Path:
    path.write_bytes(img2pdf.convert([_encoded(image) for image in images]))
    return path


def _tiff_stack(path: Path, images: Sequence[Image.Image]) -> Path:
    # copies: Pillow would hand a JPEG save's leftover encoder settings of a reused image to libtiff
    first, *rest = (image.copy() for image in images)
    first.save(path, save_all=True, append_images=rest, compression="tiff_lzw", dpi=(DPI, DPI))
    return path


def _stack(kind: str, folder: Path, images: Sequence[Image.Image]) -> Path:
    return (_pdf_stack if kind == "pdf" else _tiff_stack)(folder / f"stack.{kind}", images)


def _pdf_page_images(path: Path) -> list[bytes]:
    """The raw (still encoded) bytes of each page's image: equal bytes mean the page was copied losslessly."""
    with pikepdf.open(path) as pdf:
        return [next(iter(page.get_images().values())).read_raw_bytes() for page in pdf.pages]


def _tiff_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(np.asarray(image.copy()))
        return frames


def _check_written_parts(
    stack: Path, plan: StackPlan, spool: Path, *, keep_separators: bool
) -> list[PartPlan]:
    """Write every part, checking each against the stack while it is the only file in the spool."""
    kind = stack.suffix
    source = _pdf_page_images(stack) if kind == ".pdf" else _tiff_frames(stack)
    written: list[PartPlan] = []
    for part in write_parts(stack, plan, spool=spool, keep_separators=keep_separators):
        assert list(spool.iterdir()) == [part.path], "one part file at a time"
        if kind == ".pdf":
            assert part.path.suffix == ".pdf"
            assert _pdf_page_images(part.path) == [source[n - 1] for n in part.pages]
        else:
            assert part.path.suffix == ".tif"
            frames = _tiff_frames(part.path)
            assert len(frames) == len(part.pages)
            for frame, number in zip(frames, part.pages, strict=True):
                assert np.array_equal(frame, source[number - 1])
        written.append(PartPlan(part.pages, part.dossier, part.start))
    assert not any(spool.iterdir()), "the last part is deleted when the iterator ends"
    return written


@pytest.mark.parametrize("kind", ["pdf", "tif"])
def test_three_receipts_split_into_three_dossiers_keeping_the_receipts(
    kind: str, pages: Pages, tmp_path: Path
) -> None:
    r1, r2, r3 = pages.receipts
    stack = _stack(kind, tmp_path, [r1, pages.form, r2, pages.component, pages.bilevel, r3, pages.blank])
    plan = scan_stack(stack)
    assert plan.page_count == 7
    assert plan.starts == (
        Start(1, CODES[0], "receipt"),
        Start(3, CODES[1], "receipt"),
        Start(6, CODES[2], "receipt"),
    )
    expected = [
        PartPlan((1, 2), CODES[0], "receipt"),
        PartPlan((3, 4, 5), CODES[1], "receipt"),
        PartPlan((6, 7), CODES[2], "receipt"),
    ]
    assert plan.needs_split and list(plan.parts()) == expected
    assert _check_written_parts(stack, plan, tmp_path / "spool", keep_separators=False) == expected


@pytest.mark.parametrize("kind", ["pdf", "tif"])
def test_separator_sheets_are_dropped_unless_kept(kind: str, pages: Pages, tmp_path: Path) -> None:
    s1, s2, s3 = pages.separators
    r1 = pages.receipts[0]
    # page 1 comes before any start; the first separator is followed by its own dossier's receipt
    images = [pages.form, s1, r1, pages.form, s2, pages.component, s3, pages.bilevel, pages.blank]
    plan = scan_stack(_stack(kind, tmp_path, images))
    assert plan.starts == (
        Start(2, CODES[0], "separator"),
        Start(3, CODES[0], "receipt"),
        Start(5, CODES[1], "separator"),
        Start(7, CODES[2], "separator"),
    )
    dropped = [
        PartPlan((1,), None, None),
        PartPlan((3, 4), CODES[0], "separator"),
        PartPlan((6,), CODES[1], "separator"),
        PartPlan((8, 9), CODES[2], "separator"),
    ]
    kept = [
        PartPlan((1,), None, None),
        PartPlan((2, 3, 4), CODES[0], "separator"),
        PartPlan((5, 6), CODES[1], "separator"),
        PartPlan((7, 8, 9), CODES[2], "separator"),
    ]
    stack = tmp_path / f"stack.{kind}"
    assert _check_written_parts(stack, plan, tmp_path / "spool", keep_separators=False) == dropped
    assert _check_written_parts(stack, plan, tmp_path / "spool", keep_separators=True) == kept


def test_a_stack_without_starts_or_with_one_leading_receipt_needs_no_split(
    pages: Pages, tmp_path: Path
) -> None:
    plain = scan_stack(_pdf_stack(tmp_path / "plain.pdf", [pages.form, pages.component, pages.blank]))
    assert plain.starts == () and not plain.needs_split
    assert plain.parts() == (PartPlan((1, 2, 3), None, None),)
    one = scan_stack(_tiff_stack(tmp_path / "one.tif", [pages.receipts[1], pages.form]))
    assert one.starts == (Start(1, CODES[1], "receipt"),) and not one.needs_split


def test_a_single_image_is_a_stack_of_one_page(pages: Pages, tmp_path: Path) -> None:
    png = tmp_path / "receipt.png"
    pages.receipts[2].save(png, dpi=(DPI, DPI))
    plan = scan_stack(png)
    assert plan == StackPlan(1, (Start(1, CODES[2], "receipt"),)) and not plan.needs_split
    (part,) = _check_written_parts(png, plan, tmp_path / "spool", keep_separators=False)
    assert part == PartPlan((1,), CODES[2], "receipt")


def test_part_tiffs_keep_mode_and_dpi_with_lossless_compression(pages: Pages, tmp_path: Path) -> None:
    stack = _tiff_stack(tmp_path / "stack.tif", [pages.receipts[0], pages.bilevel, pages.form])
    parts = write_parts(stack, scan_stack(stack), spool=tmp_path / "spool")
    written = next(parts)
    assert written.pages == (1, 2, 3)
    with Image.open(written.path) as image:
        seen = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            seen.append((image.mode, image.info["compression"], tuple(round(v) for v in image.info["dpi"])))
    parts.close()
    assert seen == [
        ("L", "tiff_adobe_deflate", (DPI, DPI)),
        ("1", "group4", (DPI, DPI)),
        ("RGB", "tiff_adobe_deflate", (DPI, DPI)),
    ]
    assert not written.path.exists(), "closing the iterator deletes the part it last gave"


def test_stack_plans_merge_same_code_starts_and_omit_empty_parts() -> None:
    a, b = CODES[:2]
    plan = StackPlan(
        page_count=8,
        starts=(
            Start(1, a, "receipt"),
            Start(3, a, "receipt"),  # the same dossier's receipt again: no split
            Start(4, b, "separator"),
            Start(5, a, "separator"),  # a separator with no page after it before the next start
            Start(6, b, "separator"),
            Start(7, b, "receipt"),
        ),
    )
    assert plan.parts() == (
        PartPlan((1, 2, 3), a, "receipt"),
        PartPlan((7, 8), b, "separator"),
    )
    assert plan.parts(keep_separators=True) == (
        PartPlan((1, 2, 3), a, "receipt"),
        PartPlan((4,), b, "separator"),
        PartPlan((5,), a, "separator"),
        PartPlan((6, 7, 8), b, "separator"),
    )
    lone_separator = StackPlan(page_count=3, starts=(Start(1, a, "separator"),))
    assert lone_separator.needs_split, "the separator sheet must be dropped"
    assert lone_separator.parts() == (PartPlan((2, 3), a, "separator"),)
    with pytest.raises(ValueError):
        StackPlan(page_count=2, starts=(Start(3, a, "receipt"),))


def test_a_file_of_one_dossier_with_its_receipt_inside_is_not_cut() -> None:
    a, b = CODES[:2]
    receipt_last = StackPlan(page_count=4, starts=(Start(4, a, "receipt"),))
    assert not receipt_last.needs_split
    assert receipt_last.parts() == (PartPlan((1, 2, 3, 4), a, "receipt"),)
    separator_inside = StackPlan(page_count=4, starts=(Start(2, a, "separator"),))
    assert separator_inside.needs_split and separator_inside.parts() == (PartPlan((1, 3, 4), a, "separator"),)
    two_dossiers = StackPlan(page_count=4, starts=(Start(2, a, "receipt"), Start(3, b, "receipt")))
    assert two_dossiers.parts() == (
        PartPlan((1,), None, None),  # before the first start of a stack of several: a part of its own
        PartPlan((2,), a, "receipt"),
        PartPlan((3, 4), b, "receipt"),
    )


def test_part_sources_name_their_pages() -> None:
    assert part_source("stack.pdf", (1, 2, 3)) == "stack.pdf#pages=1-3"
    assert part_source("quay-2/stack.pdf", (1, 2, 3, 5)) == "quay-2/stack.pdf#pages=1-3,5"
    assert part_source("stack.tif", (4,)) == "stack.tif#pages=4"
    assert part_source("stack.tif", (2, 4, 5, 7)) == "stack.tif#pages=2,4-5,7"
    with pytest.raises(ValueError):
        part_source("stack.pdf", ())


def _numbered_pages(count: int) -> list[Image.Image]:
    """Small distinct pages: page n is filled with gray level 20·n."""
    return [Image.new("L", (120, 170), 20 * n) for n in range(1, count + 1)]


@pytest.mark.parametrize("kind", ["pdf", "tif"])
def test_duplex_collation_interleaves_fronts_and_reversed_backs(kind: str, tmp_path: Path) -> None:
    stack = _stack(kind, tmp_path, _numbered_pages(6))  # fronts 1 2 3, then backs of 3 2 1
    collated = collate_duplex(stack, spool=tmp_path / "spool")
    assert collated.parent == tmp_path / "spool" and collated.suffix == stack.suffix
    order = [1, 6, 2, 5, 3, 4]
    if kind == "pdf":
        source = _pdf_page_images(stack)
        assert _pdf_page_images(collated) == [source[n - 1] for n in order]
    else:
        assert [int(frame[0, 0]) for frame in _tiff_frames(collated)] == [20 * n for n in order]


def test_duplex_collation_refuses_an_odd_page_count(tmp_path: Path) -> None:
    stack = _tiff_stack(tmp_path / "odd.tif", _numbered_pages(5))
    with pytest.raises(IngestError) as caught:
        collate_duplex(stack, spool=tmp_path / "spool")
    assert caught.value.code == "input.duplex_odd_pages"
    assert not any((tmp_path / "spool").glob("*"))


def test_unreadable_stacks_raise_coded_input_errors(tmp_path: Path) -> None:
    empty, damaged = tmp_path / "empty.pdf", tmp_path / "damaged.pdf"
    empty.write_bytes(b"")
    damaged.write_bytes(b"%PDF-1.7\n1 0 obj <<")
    for path, code in ((empty, "input.empty"), (damaged, "input.unreadable")):
        with pytest.raises(InputError) as caught:
            scan_stack(path)
        assert caught.value.code == code
    with pytest.raises(InputError):
        collate_duplex(damaged, spool=tmp_path / "spool")


def test_a_plan_for_another_file_is_refused(pages: Pages, tmp_path: Path) -> None:
    stack = _tiff_stack(tmp_path / "stack.tif", [pages.form, pages.blank])
    with pytest.raises(IngestError) as caught:
        next(write_parts(stack, StackPlan(3, ()), spool=tmp_path / "spool"))
    assert caught.value.code == "input.stack_changed"


_MEASURE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from ingest.stacks import scan_stack, write_parts

    stack, spool = Path(sys.argv[1]), Path(sys.argv[2])
    plan = scan_stack(stack)
    parts = [part.pages for part in write_parts(stack, plan, spool=spool)]
    print(plan.page_count, len(plan.starts), len(parts), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _peak_rss_mb(stack: Path, spool: Path) -> tuple[int, int, int, float]:
    """Scan and split `stack` in a fresh interpreter; its page count, starts, parts and peak RSS in MB."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(stack), str(spool)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    pages, starts, parts, peak_kb = done.stdout.split()
    return int(pages), int(starts), int(parts), int(peak_kb) / 1024


def test_memory_does_not_grow_with_the_number_of_pages(pages: Pages, tmp_path: Path) -> None:
    # Two alternating separators split the stack into 4-page dossiers; each page is a full A4 scan.
    a, b = (_encoded(sheet) for sheet in pages.separators[:2])
    form, component, blank = (_encoded(page) for page in (pages.form, pages.component, pages.blank))
    block = [[a, form, component, blank], [b, form, component, blank]]
    sizes = {}
    for count in (12, 120):
        stack = tmp_path / f"stack-{count}.pdf"
        stack.write_bytes(img2pdf.convert([page for n in range(count // 4) for page in block[n % 2]]))
        sizes[count] = _peak_rss_mb(stack, tmp_path / f"spool-{count}")
    assert sizes[12][:3] == (12, 3, 3) and sizes[120][:3] == (120, 30, 30)
    small, large = sizes[12][3], sizes[120][3]
    # Keeping every decoded page (A4 at 200 dpi: 3.9 MB each) would add about 420 MB; the stack's own
    # bytes (13 MB, read whole until `open_document` takes a path) and allocator slack stay far below.
    assert large - small < 120, f"peak RSS {small:.0f} MB for 12 pages, {large:.0f} MB for 120"
