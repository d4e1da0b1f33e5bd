"""The whole journey for one document at a time, on synthetic scans with known content."""

from __future__ import annotations

import io
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np
import pdfplumber
import pikepdf
import pytest

from examples.synth import EXAMPLES, ExampleSpec, write_example
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.records import document_record
from ingest.services import Services
from ocr.tesseract import Recognition, TesseractEngine
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository
from tests.ocr.pdfs import born_digital_pdf, page_text, scanned_pdf


def _spec(name: str) -> ExampleSpec:
    return next(spec for spec in EXAMPLES if spec.name == name)


def _run(services: Services, tmp_path: Path, name: str, dossier: str | None = None) -> dict:
    path = write_example(_spec(name), tmp_path)
    result = intake(services, path.read_bytes(), source=path.name, dossier=dossier)
    process_document(services, result.document_id)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(result.document_id, with_pages=True)
        assert document is not None
        return document_record(document)


def test_receipt_form_and_blank_back_side_in_one_tiff(services: Services, tmp_path: Path) -> None:
    spec = _spec("ho-so-ho-kinh-doanh.tif")
    record = _run(services, tmp_path, spec.name)
    assert record["status"] == "done", record["review_reasons"]
    assert record["dossier"] == spec.dossier_code and record["dossier_source"] == "barcode"
    assert record["procedure"] == "ho-kinh-doanh" and record["procedure_confidence"] >= 0.6
    assert [p["blank"] for p in record["pages"]] == [False, False, True]
    assert record["pages"][2]["ocr_confidence"] is None and record["pages"][2]["text"] == ""
    kinds = {f["kind"] for f in record["fields"]}
    assert {"citizen_id", "tax_code", "person_name", "date"} <= kinds, record["fields"]
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in record["pages"][0]["text"]
    assert all(p["ocr_confidence"] > 0.7 for p in record["pages"][:2])

    objects = record["objects"]
    prefix = f"dossiers/{spec.dossier_code}/{record['id']}/"
    assert all(key.startswith(prefix) for key in objects.values()), (
        "filed under the dossier found on the page"
    )
    assert not services.store.exists(f"inbox/{record['id']}/original.tif"), "inbox copy removed after filing"
    original = services.store.get_bytes(objects["original"])
    assert original == (tmp_path / spec.name).read_bytes(), "original bytes kept unchanged"
    assert __import__("hashlib").sha256(original).hexdigest() == record["sha256"]

    pdf_bytes = services.store.get_bytes(objects["pdf"])
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert len(pdf.pages) == 3 and pdf.pdf_version >= "1.4"
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        assert "TIẾP NHẬN" in (pdf.pages[0].extract_text() or "")
    text = services.store.get_bytes(objects["text"]).decode()
    assert text.count("\f") == 2 and "GIẤY TIẾP NHẬN" in text


def test_page_scanned_a_quarter_turn_off_comes_out_upright(services: Services, tmp_path: Path) -> None:
    spec = _spec("tam-tru-xoay-90.png")
    record = _run(services, tmp_path, spec.name)
    [page] = record["pages"]
    assert page["rotation"] == spec.upright_turn == 270
    assert "THAY ĐỔI THÔNG TIN CƯ TRÚ" in page["text"]
    assert record["procedure"] == "tam-tru"


def test_upside_down_scanned_pdf_is_turned_and_its_pdf_page_is_upright(
    services: Services, tmp_path: Path
) -> None:
    record = _run(services, tmp_path, "khai-sinh-lon-nguoc.pdf")
    [page] = record["pages"]
    assert page["rotation"] == 180 and page["text_source"] == "ocr"
    assert record["procedure"] == "khai-sinh"
    with pdfplumber.open(io.BytesIO(services.store.get_bytes(record["objects"]["pdf"]))) as pdf:
        words = pdf.pages[0].extract_words()
        title = next(w for w in words if "KHAI" in w["text"])
        assert title["top"] < pdf.pages[0].height / 3, "the title sits near the top of the stored page"


def test_skewed_scan_is_straightened(services: Services, tmp_path: Path) -> None:
    spec = _spec("thuong-tru-nghieng-4-do.jpg")
    record = _run(services, tmp_path, spec.name, dossier="000.00.21.H61-260210-0023")
    [page] = record["pages"]
    assert page["skew"] == pytest.approx(spec.degradation.skew, abs=0.3)
    assert record["procedure"] == "thuong-tru"
    assert record["dossier"] == "000.00.21.H61-260210-0023" and record["dossier_source"] == "given"


class RefusingEngine(TesseractEngine):
    """A seam: proves that a born-digital page is never sent to OCR."""

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3) -> Recognition:
        raise AssertionError("OCR ran on a born-digital page")


def test_born_digital_pdf_uses_its_text_layer_without_ocr(services: Services, tmp_path: Path) -> None:
    services.engine = RefusingEngine()
    record = _run(services, tmp_path, "ket-hon-ban-dien-tu.pdf")
    assert record["status"] == "done", (record["error"], record["review_reasons"])
    [page] = record["pages"]
    assert page["text_source"] == "pdf" and page["ocr_confidence"] is None
    assert "TỜ KHAI ĐĂNG KÝ KẾT HÔN" in page["text"]
    assert record["procedure"] == "ket-hon"


@pytest.mark.parametrize(
    ("name", "code"), [("empty.pdf", "input.empty"), ("damaged.jpg", "input.unreadable")]
)
def test_bad_files_fail_with_a_code_and_keep_their_bytes(
    services: Services, tmp_path: Path, name: str, code: str
) -> None:
    record = _run(services, tmp_path, name)
    assert record["status"] == "failed" and record["error"]["code"] == code
    assert record["error"]["message"] and "Traceback" not in record["error"]["message"]
    assert services.store.get_bytes(record["objects"]["original"]) == (tmp_path / name).read_bytes()


def test_processing_twice_changes_nothing(services: Services, tmp_path: Path) -> None:
    path = write_example(_spec("tam-tru-xoay-90.png"), tmp_path)
    result = intake(services, path.read_bytes(), source=path.name)
    assert process_document(services, result.document_id) is DocumentStatus.DONE
    services.engine = RefusingEngine()
    assert process_document(services, result.document_id) is DocumentStatus.DONE
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(result.document_id, with_pages=True)
        assert document is not None and len(document.pages) == 1 and document.attempts == 1


def test_every_page_of_a_born_digital_pdf_reuses_its_text_layer(services: Services) -> None:
    services.engine = RefusingEngine()
    result = intake(services, born_digital_pdf(12), source="long.pdf")
    assert process_document(services, result.document_id) is not DocumentStatus.FAILED
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(result.document_id, with_pages=True)
        assert document is not None and document.pdf_key is not None
        record = document_record(document)
    assert [p["text_source"] for p in record["pages"]] == ["pdf"] * 12
    assert [p["text"] for p in record["pages"]] == [page_text(n) for n in range(1, 13)]
    with pikepdf.open(io.BytesIO(services.store.get_bytes(record["objects"]["pdf"]))) as pdf:
        assert len(pdf.pages) == 12


def _heap_peak(services: Services, data: bytes, name: str) -> int:
    """Peak of the Python heap (tracemalloc, numpy's buffers included) while one document is processed."""
    document_id = intake(services, data, source=name).document_id
    tracemalloc.start()
    try:
        status = process_document(services, document_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status is not DocumentStatus.FAILED
    return peak


@pytest.mark.slow
def test_a_ten_times_longer_scan_needs_about_the_same_memory(services: Services) -> None:
    """60 pages vs 6: the original, the text layers and the searchable PDF are read and written page by
    page, so the heap's peak is one page's work plus the text kept for the verdict, not the document
    (here about 1 MB of JPEG per page: 60 MB that a whole-file read or a PDF built in memory would hold)."""
    make = partial(scanned_pdf, dpi=300, height=0.3, noise=10.0, quality=92)  # strips: quick OCR, big files
    _heap_peak(services, make(1), "warm-up.pdf")  # one-time loads (model, catalog) out of the way
    short = _heap_peak(services, make(6), "short.pdf")
    long = _heap_peak(services, make(60), "long.pdf")
    assert long < 1.5 * short, f"peak {long / 2**20:.1f} MB for 60 pages vs {short / 2**20:.1f} MB for 6"
    probe = services.scratch_file(".probe")
    left = [p.name for p in probe.parent.iterdir() if p != probe]
    assert len(left) == 1 and left[0].startswith("original-"), f"only the last original is kept: {left}"
