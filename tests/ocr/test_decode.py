import io
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr.decode import MediaType, SourcePage, file_dpi, open_document, sniff
from ocr.errors import InputError
from tests.ocr.pdfs import Extractions, blank_scanned_pdf, born_digital_pdf, page_text, scanned_pdf


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
