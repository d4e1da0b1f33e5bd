import io

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr.decode import MediaType, open_document, sniff
from ocr.errors import InputError


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
