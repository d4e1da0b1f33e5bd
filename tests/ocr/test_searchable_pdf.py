"""The stored PDF shows the original pixels, turned and deskewed exactly like the OCR image."""

import io
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from examples.synth import Degradation, degrade, make_page
from ocr import cleanup
from ocr.searchable_pdf import PageLayer, Placement, build_searchable_pdf, image_source_pdf, output_size


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
