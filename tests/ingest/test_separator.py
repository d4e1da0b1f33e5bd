"""Separator sheets: printed, scanned at the usual resolutions, and recognised as dossier starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from classifiers.fields import DossierStart, dossier_start, separator_payload
from ingest.errors import IngestError
from ingest.separator import FONT_MISSING, INSTRUCTION, TITLE, separator_sheet_pdf
from ocr.barcodes import read_barcodes

CODE = "000.00.21.H61-250401-0001"


def _render(data: bytes, dpi: int) -> np.ndarray:
    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        return np.asarray(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    finally:
        document.close()


@pytest.mark.parametrize("dpi", [300, 150])
def test_the_printed_sheet_reads_back_as_a_separator_for_its_code(dpi: int) -> None:
    gray = _render(separator_sheet_pdf(CODE), dpi)
    payloads = [barcode.text for barcode in read_barcodes(gray)]
    assert payloads == [separator_payload(CODE)]
    assert dossier_start(payloads) == DossierStart(CODE, "separator")


def test_the_sheet_is_one_a4_page_with_the_vietnamese_text_and_the_code() -> None:
    data = separator_sheet_pdf(CODE)
    assert data == separator_sheet_pdf(CODE), "same code, same bytes"
    document = pdfium.PdfDocument(data)
    try:
        assert len(document) == 1
        width, height = document[0].get_size()
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    for expected in (TITLE, CODE, INSTRUCTION):
        assert expected in " ".join(text.split())


def test_the_qr_code_is_at_least_40_mm_wide() -> None:
    gray = _render(separator_sheet_pdf(CODE), 150)
    (barcode,) = read_barcodes(gray)
    assert barcode.box[2] / 150 * 25.4 >= 40


def test_long_old_archive_codes_still_fit_and_read() -> None:
    code = "HS_luu_tru_1998-" + "0" * 40
    gray = _render(separator_sheet_pdf(code), 150)
    assert dossier_start(barcode.text for barcode in read_barcodes(gray)) == DossierStart(code, "separator")


def test_bad_codes_and_missing_fonts_fail_with_their_codes(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as bad:
        separator_sheet_pdf("../../etc/passwd")
    assert bad.value.code == "input.bad_dossier_code"
    with pytest.raises(IngestError) as missing:
        separator_sheet_pdf(CODE, font_dirs=[tmp_path])
    assert missing.value.code == FONT_MISSING == "separator.font_missing"
    assert str(tmp_path) in missing.value.message
