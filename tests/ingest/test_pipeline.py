"""The whole journey for one document at a time, on synthetic scans with known content."""

from __future__ import annotations

import io
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
