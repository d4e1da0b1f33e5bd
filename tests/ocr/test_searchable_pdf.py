"""The stored PDF shows the original pixels, turned and deskewed exactly like the OCR image."""

import io
from pathlib import Path

import cv2
import numpy as np
import pdfplumber
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from examples.synth import Degradation, degrade, make_page
from ocr import cleanup
from ocr.decode import open_document
from ocr.searchable_pdf import PageLayer, Placement, build_searchable_pdf, image_source_pdf, output_size
from tests.ocr.pdfs import SAFE_LINK, active_elements, active_pdf, link_targets, page_text


def _jpeg(image: Image.Image, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, dpi=(dpi, dpi))
    return buffer.getvalue()


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of slightly blurred copies: robust to the half-pixel offsets of two renderers."""
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    x = cv2.GaussianBlur(a[:height, :width], (0, 0), 2).astype(float).ravel()
    y = cv2.GaussianBlur(b[:height, :width], (0, 0), 2).astype(float).ravel()
    return float(np.corrcoef(x, y)[0, 1])


@pytest.mark.parametrize(("turn", "skew"), [(0, 0.0), (90, 0.0), (180, 2.5), (270, -4.0)])
def test_stored_page_matches_the_ocr_geometry(turn: int, skew: float) -> None:
    scan = degrade(
        make_page("khai-sinh", seed=2, dpi=100).image,
        Degradation(rotate=(360 - turn) % 360),
        np.random.default_rng(0),
    )
    data = _jpeg(scan, dpi=100)
    gray = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    placement = Placement(width=gray.shape[1], height=gray.shape[0], dpi=100, quarter_turn=turn, skew=skew)
    pdf = build_searchable_pdf(image_source_pdf(data, dpi=100), [PageLayer(0, placement, None)])
    expected = cleanup.rotate_by(cleanup.rotate_quarter(gray, turn), -skew)
    rendered = np.asarray(
        pdfium.PdfDocument(pdf)[0].render(scale=100 / 72, grayscale=True).to_pil().convert("L")
    )
    assert abs(rendered.shape[0] - expected.shape[0]) <= 1 and abs(rendered.shape[1] - expected.shape[1]) <= 1
    assert _correlation(rendered, expected) > 0.85
    mirrored = cleanup.rotate_by(cleanup.rotate_quarter(gray, turn), skew)
    if skew:
        assert _correlation(rendered, mirrored) < 0.7, "the test can tell a wrong skew direction"
    width, height = output_size(placement)
    assert width == pytest.approx(expected.shape[1] * 72 / 100, abs=1)
    assert height == pytest.approx(expected.shape[0] * 72 / 100, abs=1)


def test_jpeg_bytes_are_kept_and_the_pdf_is_valid() -> None:
    data = _jpeg(make_page("ket-hon", seed=1, dpi=200).image)
    placement = Placement(width=1654, height=2339, dpi=200, quarter_turn=0, skew=1.5)
    pdf = build_searchable_pdf(image_source_pdf(data, dpi=200), [PageLayer(0, placement, None)])
    assert len(pdf) <= 1.1 * len(data)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert document.pdf_version >= "1.5" and len(document.pages) == 1
        images = [
            obj
            for obj in document.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"
        ]
        assert [bytes(obj.read_raw_bytes()) for obj in images] == [data], "the JPEG is embedded unchanged"


def test_jpeg_compressed_tiff_becomes_jpeg_pages_not_a_bloated_flate(tmp_path: Path) -> None:
    pages = [make_page("tam-tru", seed=s, dpi=150).image for s in (1, 2)]
    path = tmp_path / "scan.tif"
    pages[0].save(
        path, format="TIFF", save_all=True, append_images=pages[1:], compression="jpeg", dpi=(150, 150)
    )
    data = path.read_bytes()
    pdf = image_source_pdf(data, dpi=150, frames=(np.asarray(p) for p in pages))
    assert len(pdf) <= 1.1 * len(data)
    assert len(pdfium.PdfDocument(pdf)) == 2


def test_born_digital_and_blank_pages_are_copied_unchanged() -> None:
    source = pikepdf.new()
    source.add_blank_page(page_size=(595, 842))
    buffer = io.BytesIO()
    source.save(buffer)
    pdf = build_searchable_pdf(buffer.getvalue(), [PageLayer(0)])
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert [float(v) for v in document.pages[0].mediabox] == [0, 0, 595, 842]


# --- file to file ----------------------------------------------------------------------------------


def _render(pdf: Path | bytes, index: int, dpi: float) -> np.ndarray:
    document = pdfium.PdfDocument(pdf)
    try:
        return np.asarray(document[index].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    finally:
        document.close()


def test_a_path_source_builds_the_same_pdf_into_a_file(tmp_path: Path) -> None:
    data = _jpeg(make_page("ket-hon", seed=1, dpi=100).image, dpi=100)
    source = tmp_path / "source.pdf"
    source.write_bytes(image_source_pdf(data, dpi=100))
    layers = [
        PageLayer(0, Placement(width=827, height=1169, dpi=100, quarter_turn=90, skew=1.0)),
        PageLayer(0),
    ]
    in_memory = build_searchable_pdf(source.read_bytes(), layers)
    written = build_searchable_pdf(source, layers, output=tmp_path / "out.pdf")
    assert written == tmp_path / "out.pdf"
    for index in (0, 1):
        assert np.array_equal(_render(written, index, 50), _render(in_memory, index, 50))


def _page_image(pdf: Path, index: int) -> np.ndarray:
    """The pixels of the one image on page `index`, as stored (in grayscale)."""
    with pikepdf.open(pdf) as document:
        [image] = document.pages[index].get_images().values()
        return np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("L"))


def _tiff_file(path: Path, frames: list[Image.Image], **options: object) -> Path:
    frames[0].save(path, format="TIFF", save_all=True, append_images=frames[1:], dpi=(100, 100), **options)
    return path


def _decoded_frames(path: Path) -> list[np.ndarray]:
    with open_document(path) as document:
        return [page.gray for page in document.pages()]


def test_a_long_bilevel_tiff_is_wrapped_frame_by_frame_losslessly(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frames = [
        Image.fromarray((rng.random((120, 90)) > 0.5).astype(np.uint8) * 255).convert("1") for _ in range(70)
    ]
    path = _tiff_file(tmp_path / "long.tif", frames, compression="group4")
    wrapped = image_source_pdf(path, dpi=100, output=tmp_path / "wrapped.pdf")
    assert len(pdfium.PdfDocument(wrapped)) == 70, "more pages than one merge group, in one PDF"
    assert wrapped.stat().st_size <= 1.1 * path.stat().st_size + 70 * 2048
    decoded = _decoded_frames(path)
    for index in (0, 63, 64, 69):
        assert np.array_equal(_page_image(wrapped, index), decoded[index]), index


def test_frames_are_wrapped_as_the_decoder_turns_them(tmp_path: Path) -> None:
    pages = [make_page("tam-tru", seed=s, dpi=50).image.convert("L") for s in (1, 2)]
    path = _tiff_file(tmp_path / "turned.tif", pages, compression="tiff_lzw", tiffinfo={274: 6})
    wrapped = image_source_pdf(path, dpi=100, output=tmp_path / "wrapped.pdf")
    for index, expected in enumerate(_decoded_frames(path)):
        assert expected.shape == (pages[index].width, pages[index].height), "EXIF orientation applied"
        assert np.array_equal(_page_image(wrapped, index), expected), index


def test_jpeg_tiff_frames_from_a_path_become_jpeg_pages(tmp_path: Path) -> None:
    pages = [make_page("tam-tru", seed=s, dpi=100).image for s in (1, 2, 3)]
    path = _tiff_file(tmp_path / "scan.tif", pages, compression="jpeg")
    asked: list[int] = []

    def frame(index: int) -> np.ndarray:
        asked.append(index)
        return np.asarray(pages[index])

    wrapped = image_source_pdf(path, dpi=100, frames=frame, output=tmp_path / "wrapped.pdf")
    assert asked == [0, 1, 2] and len(pdfium.PdfDocument(wrapped)) == 3
    assert wrapped.stat().st_size <= 1.1 * path.stat().st_size + 32_768


# --- nothing active survives ---------------------------------------------------------------------


def test_born_digital_pages_are_copied_without_anything_active() -> None:
    data = active_pdf()
    assert len(active_elements(data)) > 20, "the test file carries what the test looks for"
    out = build_searchable_pdf(data, [PageLayer(0), PageLayer(1)])
    assert active_elements(out) == []
    assert sorted(link_targets(out)) == ["goto page 1", "goto page 2", f"uri {SAFE_LINK}"]
    with pdfplumber.open(io.BytesIO(out)) as pdf:
        assert [page.extract_text() for page in pdf.pages] == [page_text(1), page_text(2)]
    with pikepdf.open(io.BytesIO(out)) as pdf:
        subtypes = [str(a.Subtype) for a in pdf.pages[0].obj.Annots]
        assert "/Widget" in subtypes, "a filled form field still shows its appearance"


def test_a_placed_page_reached_through_a_link_keeps_nothing_active(tmp_path: Path) -> None:
    """Page 1 is turned (a new page shows it as a form XObject); page 2 still links to the original page
    object, so that object is written too, and must come out inert as well."""
    source = tmp_path / "active.pdf"
    source.write_bytes(active_pdf())
    placement = Placement(width=595, height=842, dpi=72, quarter_turn=90, skew=0.0)
    out = build_searchable_pdf(source, [PageLayer(0, placement), PageLayer(1)], output=tmp_path / "out.pdf")
    assert active_elements(out.read_bytes()) == []
