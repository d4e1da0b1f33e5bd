"""Long PDFs built on the spot for the page-by-page tests: born-digital (fpdf2) and scanned (img2pdf)."""

from __future__ import annotations

import io

import img2pdf
import numpy as np
import pdfplumber
import pdfplumber.page
import pytest
from fpdf import FPDF
from PIL import Image

from examples.synth import Degradation, degrade, make_page, make_receipt

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def page_text(number: int) -> str:
    """The text printed on page `number` of `born_digital_pdf`: enough letters to count as a layer."""
    return f"Trang số {number}: Tờ khai thay đổi thông tin cư trú của công dân"


def born_digital_pdf(pages: int) -> bytes:
    """A born-digital PDF of `pages` A4 pages, each printing `page_text(n)` with an embedded font."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("dejavu", "", FONT)
    pdf.set_font("dejavu", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.text(72, 100, page_text(number))
    return bytes(pdf.output())


def scan_jpegs(
    count: int, *, dpi: int = 150, height: float = 1.0, noise: float = 3.0, quality: int = 80
) -> list[bytes]:
    """`count` distinct degraded A4 scans (forms and a receipt) as grayscale JPEG files.

    `height` < 1 keeps only the top of each page (fewer words to OCR: faster tests, same code path);
    more `noise` and `quality` make bigger files of the same pages.
    """
    files = []
    for seed in range(count):
        make = make_receipt if seed % 3 == 2 else make_page
        page = make(("khai-sinh", "thuong-tru", "ket-hon")[seed % 3], seed=seed, dpi=dpi)
        image = degrade(
            page.image, Degradation(skew=1.0 * (seed % 3 - 1), noise=noise), np.random.default_rng(seed)
        )
        image = image.crop((0, 0, image.width, round(image.height * height)))
        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="JPEG", quality=quality, dpi=(dpi, dpi))
        files.append(buffer.getvalue())
    return files


def scanned_pdf(
    pages: int,
    *,
    distinct: int = 6,
    dpi: int = 150,
    height: float = 1.0,
    noise: float = 3.0,
    quality: int = 80,
) -> bytes:
    """A scanned PDF of `pages` pages cycling through `distinct` scans (see `scan_jpegs`), one image
    object per page."""
    scans = scan_jpegs(distinct, dpi=dpi, height=height, noise=noise, quality=quality)
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    return bytes(img2pdf.convert([scans[i % distinct] for i in range(pages)], layout_fun=layout))


def blank_scanned_pdf(pages: int) -> bytes:
    """A scanned PDF of small white pages (cheap to make, no text layer)."""
    buffer = io.BytesIO()
    Image.new("L", (80, 100), 255).save(buffer, format="PNG", dpi=(72, 72))
    return bytes(img2pdf.convert([buffer.getvalue()] * pages))


class Extractions:
    """Counts pdfplumber documents opened and page texts extracted, through pdfplumber's public API."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = 0
        self.pages: list[int] = []
        open_pdf, extract = pdfplumber.open, pdfplumber.page.Page.extract_text

        def counting_open(*args: object, **kwargs: object) -> pdfplumber.PDF:
            self.opened += 1
            return open_pdf(*args, **kwargs)  # type: ignore[arg-type]

        def counting_extract(page: pdfplumber.page.Page, *args: object, **kwargs: object) -> str:
            self.pages.append(page.page_number)
            return extract(page, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pdfplumber, "open", counting_open)
        monkeypatch.setattr(pdfplumber.page.Page, "extract_text", counting_extract)
