import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr import errors
from ocr.decode import DEFAULT_MAX_PAGES, MediaType, SourcePage, file_dpi, open_document, sniff
from ocr.errors import InputError
from tests.ocr.pdfs import (
    DirectoryReads,
    Extractions,
    PdfiumOpens,
    blank_pdf,
    blank_scanned_pdf,
    blank_tiff,
    born_digital_pdf,
    page_text,
    scanned_pdf,
)


def _png(size: tuple[int, int] = (400, 300), mode: str = "RGB", dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode != "RGBA" else (0, 0, 0, 0)).save(
        buffer, format="PNG", dpi=(dpi, dpi)
    )
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _codes(data: bytes) -> str:
    with pytest.raises(InputError) as caught:
        document = open_document(data)
        [page.image for page in document.pages()]
    return caught.value.code


def test_formats_are_sniffed_from_bytes_not_names() -> None:
    assert sniff(_png()) is MediaType.PNG
    assert sniff(_jpeg()) is MediaType.JPEG
    assert sniff(b"%PDF-1.7\n...") is MediaType.PDF


def test_bad_inputs_get_stable_codes() -> None:
    assert _codes(b"") == "input.empty"
    assert _codes(b"PK\x03\x04 a zip, not a scan") == "input.unsupported"
    assert _codes(_jpeg()[:2000]) == "input.unreadable"
    assert _codes(b"%PDF-1.4\n%%EOF") == "input.unreadable"


def test_encrypted_pdf_is_reported_as_encrypted() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer, encryption=pikepdf.Encryption(owner="o", user="secret"))
    assert _codes(buffer.getvalue()) == "input.encrypted"


def test_multipage_tiff_pages_come_one_by_one_with_their_dpi() -> None:
    frames = [Image.new("L", (300, 400), value) for value in (255, 128, 0)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200))
    document = open_document(buffer.getvalue())
    assert document.media_type is MediaType.TIFF and document.page_count == 3
    pages = list(document.pages())
    assert [p.number for p in pages] == [1, 2, 3]
    assert [int(p.image[0, 0]) for p in pages] == [255, 128, 0]
    assert all(round(p.dpi) == 200 for p in pages)


def test_transparent_png_is_flattened_onto_white() -> None:
    [page] = open_document(_png(mode="RGBA")).pages()
    assert page.image.shape == (300, 400, 3)
    assert int(page.image.min()) == 255


def test_huge_pages_are_downscaled_under_the_pixel_cap() -> None:
    [page] = open_document(_png(size=(3000, 2000)), max_pixels=1_500_000).pages()
    height, width = page.image.shape[:2]
    assert width * height <= 1_500_000 and page.downscaled
    assert page.dpi == pytest.approx(200 * width / 3000, rel=0.01)


def test_pdf_pages_render_at_the_requested_dpi_and_capped() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.add_blank_page(page_size=(8400, 8400))
    buffer = io.BytesIO()
    pdf.save(buffer)
    first, huge = open_document(buffer.getvalue(), dpi=150, max_pixels=20_000_000).pages()
    assert abs(first.image.shape[0] - 1650) <= 1 and abs(first.image.shape[1] - 1275) <= 1
    assert first.text_layer is None
    assert huge.image.shape[0] * huge.image.shape[1] <= 20_000_000 and huge.downscaled


# --- page by page, from a path ---------------------------------------------------------------------


def _same_page(a: SourcePage, b: SourcePage) -> None:
    assert (a.number, a.dpi, a.text_layer, a.downscaled) == (b.number, b.dpi, b.text_layer, b.downscaled)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.gray, b.gray)
    assert np.array_equal(a.preview(), b.preview())


def _tiff(frames: int) -> bytes:
    images = [Image.new("L", (120 + 10 * i, 160), 40 * i) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], dpi=(200, 200))
    return buffer.getvalue()


def _mixed_pdf() -> bytes:
    """Page 1 scanned, pages 2-3 born-digital."""
    merged = pikepdf.new()
    for data in (scanned_pdf(1, distinct=1, dpi=100), born_digital_pdf(2)):
        with pikepdf.open(io.BytesIO(data)) as part:
            merged.pages.extend(part.pages)
    buffer = io.BytesIO()
    merged.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_page_n_is_the_nth_of_pages(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(_mixed_pdf() if kind == "pdf" else _tiff(3))
    with open_document(path, dpi=100) as document:
        walked = list(document.pages())
        assert len(walked) == document.page_count == 3
        for number in (3, 1, 2):  # any order: no page depends on the ones before it
            _same_page(document.page(number), walked[number - 1])
        with pytest.raises(IndexError):
            document.page(4)
    if kind == "pdf":
        assert walked[0].text_layer is None and walked[2].text_layer == page_text(2)


@pytest.mark.parametrize("kind", ["pdf", "tiff", "jpeg"])
def test_a_path_and_its_bytes_open_the_same_document(kind: str, tmp_path: Path) -> None:
    data = {"pdf": _mixed_pdf, "tiff": lambda: _tiff(2), "jpeg": _jpeg}[kind]()
    path = tmp_path / "scan.bin"
    path.write_bytes(data)
    with open_document(path, dpi=100) as from_path, open_document(data, dpi=100) as from_bytes:
        assert (from_path.media_type, from_path.page_count) == (from_bytes.media_type, from_bytes.page_count)
        for a, b in zip(from_path.pages(), from_bytes.pages(), strict=True):
            _same_page(a, b)
    if kind != "pdf":
        assert file_dpi(path) == file_dpi(data)


def test_bad_files_on_disk_get_the_same_codes(tmp_path: Path) -> None:
    for data, code in [
        (b"", "input.empty"),
        (_jpeg()[:2000], "input.unreadable"),
        (b"%PDF-1.4\n%%EOF", "input.unreadable"),
    ]:
        path = tmp_path / "bad"
        path.write_bytes(data)
        with pytest.raises(InputError) as caught:
            [page.image for page in open_document(path).pages()]
        assert caught.value.code == code


def test_page_200_of_200_reads_no_other_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(born_digital_pdf(200))
    seen = Extractions(monkeypatch)
    with open_document(path, dpi=72) as document:
        assert document.page_count == 200
        page = document.page(200)
    assert page.number == 200 and page.text_layer == page_text(200)
    assert seen.pages == [200], "the text layers of pages 1-199 were not extracted"


def test_the_text_layer_is_read_with_one_open_for_the_whole_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(born_digital_pdf(30))
    seen = Extractions(monkeypatch)
    with open_document(path, dpi=72) as document:
        layers = [page.text_layer for page in document.pages()]
    assert layers == [page_text(n) for n in range(1, 31)]
    assert seen.opened == 1 and seen.pages == list(range(1, 31))


def test_scanned_pages_never_open_pdfplumber(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_scanned_pdf(12))
    seen = Extractions(monkeypatch)
    with open_document(path) as document:
        assert all(page.text_layer is None for page in document.pages())
    assert seen.opened == 0 and seen.pages == []


# --- hostile sizes: page counts, frames over the pixel limit ------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_more_pages_than_the_limit_is_too_large_before_any_page_is_read(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"long.{kind}"
    path.write_bytes(blank_pdf(DEFAULT_MAX_PAGES + 1) if kind == "pdf" else blank_tiff(DEFAULT_MAX_PAGES + 1))
    opens = PdfiumOpens(monkeypatch)
    with pytest.raises(InputError) as caught:
        open_document(path)
    assert caught.value.code == errors.TOO_LARGE == "input.too_large"
    assert str(DEFAULT_MAX_PAGES) in caught.value.message
    if kind == "pdf":
        assert f"{DEFAULT_MAX_PAGES + 1} pages" in caught.value.message
    assert opens.count == 0, "no page was opened to find out"
    with pytest.raises(InputError) as small:
        open_document(path.read_bytes(), max_pages=50)
    assert small.value.code == errors.TOO_LARGE and "50" in small.value.message


def test_a_document_of_exactly_the_limit_opens(tmp_path: Path) -> None:
    with open_document(blank_pdf(7), max_pages=7) as pdf, open_document(blank_tiff(7), max_pages=7) as tiff:
        assert pdf.page_count == tiff.page_count == 7


def test_a_2000_page_pdf_is_walked_with_one_pdfium_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pdfium walks the page tree up to page n in every newly opened document: one open per page made a
    long PDF quadratic. Blank pages are small, so one document serves them all."""
    path = tmp_path / "blank.pdf"
    path.write_bytes(blank_pdf(2000))
    opens = PdfiumOpens(monkeypatch)
    with open_document(path, max_pages=2000) as document:
        pages = list(document.pages())
        assert [page.number for page in pages] == list(range(1, 2001))
        for page in (pages[0], pages[999], pages[-1]):
            assert page.preview().min() == 255 and page.text_layer is None
    assert opens.count == 1
    assert pages[-1].preview().shape == pages[0].preview().shape, "a page still renders after close"
    assert opens.count == 2


def test_a_long_pdf_of_big_pages_is_reopened_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pdfium keeps every rendered page's image data while its document is open: a file whose pages are
    big on average is reopened every so many pages, so what it keeps stays bounded."""
    monkeypatch.setattr("ocr.decode.REOPEN_BYTES", 1)  # every page counts as big
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_scanned_pdf(6))
    opens = PdfiumOpens(monkeypatch)
    with open_document(path) as document:
        for page in document.pages():
            page.preview()
    assert opens.count == 12, "one document per page load"


@pytest.mark.parametrize("source", ["path", "bytes"])
def test_each_tiff_frame_is_opened_at_its_own_directory(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow reaches frame n by reading the n-1 directories before it; opened once per frame (for its
    size, then for its pixels), a long TIFF was quadratic: 2,000 blank frames took 11 minutes."""
    frames = 600
    path = tmp_path / "blank.tif"
    path.write_bytes(blank_tiff(frames, compression="group4"))  # as scanners write it: libtiff decodes it
    reads = DirectoryReads(monkeypatch)
    with open_document(path if source == "path" else path.read_bytes()) as document:
        for page in document.pages():
            assert page.preview().min() == 255
        assert document.page(frames).image.shape == (80, 64)
    assert reads.count < 10 * frames, f"{reads.count} directory reads for {frames} frames"


def _tiff_with_a_huge_second_frame(path: Path, size: tuple[int, int]) -> Path:
    """1×1 first frame, then an all-white frame of `size` (bi-level group4: a few kilobytes on disk)."""
    first, huge = Image.new("1", (1, 1), 1), Image.new("1", size, 1)
    first.save(path, format="TIFF", save_all=True, append_images=[huge], compression="group4")
    return path


@pytest.mark.parametrize(
    "size",
    [
        (10_000, 10_000),  # over Pillow's warning limit (89 Mpx): refused when it is the first frame
        (14_000, 14_000),  # over Pillow's error limit (179 Mpx): was an internal error when decoded
        (20_000, 20_000),  # over four times the page cap
    ],
)
def test_a_later_frame_over_the_pixel_limit_is_too_large(size: tuple[int, int], tmp_path: Path) -> None:
    path = _tiff_with_a_huge_second_frame(tmp_path / "bomb.tif", size)
    with pytest.raises(InputError) as caught:
        open_document(path)
    assert caught.value.code == errors.TOO_LARGE
    assert "Page 2" in caught.value.message and f"{size[0]}×{size[1]}" in caught.value.message


def test_a_frame_over_pillows_limit_when_decoded_is_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever step meets Pillow's limit (a frame's size, or its decoding) reports `input.too_large`."""
    path = _tiff_with_a_huge_second_frame(tmp_path / "big.tif", (2000, 2000))
    with open_document(path) as document:
        page = document.page(2)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # Pillow errors over 2 Mpx, warns over 1
        for decode in (lambda: page.image, page.preview, lambda: document.page(2)):
            with pytest.raises(InputError) as caught:
                decode()
            assert caught.value.code == errors.TOO_LARGE, caught.value.message
