"""Files made to hurt the service, sent through the whole pipeline: each ends as a coded outcome, quickly,
and what sohoa stores of them is inert.

Found by probing from outside: a 1.1 MB PDF of 5,000 blank pages held a worker for an hour, a 2.6 MB TIFF of
2,000 blank frames for 11 minutes, a TIFF whose second frame was huge failed as `internal.error`, and the
searchable PDF of a born-digital page kept its page actions and JavaScript links.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.records import document_record
from ingest.services import Services, build_services
from ingest.settings import load_settings
from ocr.tesseract import Recognition, TesseractEngine
from storage.repositories import DocumentRepository
from tests.ocr.pdfs import (
    SAFE_LINK,
    DirectoryReads,
    PdfiumOpens,
    active_elements,
    active_pdf,
    blank_pdf,
    blank_tiff,
    link_targets,
    page_text,
    pixel_bomb_tiff,
)


class RefusingEngine(TesseractEngine):
    """A seam: blank and born-digital pages never reach OCR."""

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3) -> Recognition:
        raise AssertionError("OCR ran on a page that needs none")


@pytest.fixture
def quiet(services: Services) -> Services:
    """The test's services with OCR refused."""
    services.engine = RefusingEngine()
    return services


@pytest.fixture
def three_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """Services whose page limit is 3, set as an operator would (SOHOA_MAX_PAGES)."""
    monkeypatch.setenv("SOHOA_MAX_PAGES", "3")
    settings = load_settings(data_dir=tmp_path / "data", workers=1, broker_url=None, database_url=None)
    assert settings.max_pages == 3
    built = build_services(settings)
    built.engine = RefusingEngine()
    yield built
    built.close()


def _process(services: Services, data: bytes, name: str) -> dict:
    document_id = intake(services, data, source=name).document_id
    process_document(services, document_id)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id, with_pages=True)
        assert document is not None
        return document_record(document)


def test_the_page_limit_defaults_above_the_long_document_benchmark() -> None:
    assert load_settings().max_pages == 1000 > 500


def test_a_pdf_over_the_page_limit_fails_as_too_large_before_a_page_is_read(
    quiet: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    opens = PdfiumOpens(monkeypatch)
    record = _process(quiet, blank_pdf(1001), "5000-blank-pages.pdf")
    assert record["status"] == "failed" and record["error"]["code"] == "input.too_large"
    assert "1001 pages" in record["error"]["message"] and "1000" in record["error"]["message"]
    assert opens.count == 0, "refused from the page count, before any page was opened"
    assert not record["pages"]


@pytest.mark.parametrize(("kind", "make"), [("pdf", blank_pdf), ("tif", blank_tiff)])
def test_the_page_limit_is_a_setting(three_pages: Services, kind: str, make: object) -> None:
    assert callable(make)
    refused = _process(three_pages, make(4), f"four.{kind}")
    assert refused["status"] == "failed" and refused["error"]["code"] == "input.too_large"
    assert "3 pages" in refused["error"]["message"]
    taken = _process(three_pages, make(3), f"three.{kind}")
    assert taken["status"] == "needs_review" and taken["review_reasons"] == [
        "procedure.unknown",
        "document.blank",
    ]
    assert [p["blank"] for p in taken["pages"]] == [True] * 3


def test_a_long_blank_pdf_is_read_with_one_pdfium_document(
    quiet: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page was opened in a new pdfium document twice (size, preview), each walking the page tree
    up to that page: quadratic, an hour for 5,000 blank pages."""
    opens = PdfiumOpens(monkeypatch)
    record = _process(quiet, blank_pdf(300), "blank.pdf")
    assert record["status"] == "needs_review" and len(record["pages"]) == 300
    assert all(p["blank"] for p in record["pages"])
    assert opens.count == 1


def test_a_long_blank_tiff_costs_the_same_per_frame(quiet: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each frame was opened by walking every frame header before it: quadratic, 11 minutes for 2,000.

    Counted in frame headers read (the decoder's walk, each frame's own open, the PDF wrapping): three
    times the frames, three times the reads, where a walk per frame would be nine times."""
    reads = DirectoryReads(monkeypatch)
    counts = {}
    for frames in (100, 300):
        reads.count = 0
        record = _process(quiet, blank_tiff(frames), f"blank-{frames}.tif")
        assert record["status"] == "needs_review" and len(record["pages"]) == frames
        assert all(p["blank"] for p in record["pages"])
        counts[frames] = reads.count
    assert counts[300] < 3.3 * counts[100], counts
    assert counts[300] < 20 * 300, counts


def test_a_tiff_whose_second_frame_is_huge_fails_as_too_large(quiet: Services, tmp_path: Path) -> None:
    """A 1×1 first frame passes Pillow's check at open; the 196 Mpx second frame (9 kB of group4) used to
    raise Pillow's DecompressionBombError only when decoded, which became `internal.error`."""
    record = _process(quiet, pixel_bomb_tiff(), "bomb.tif")
    assert record["status"] == "failed" and record["error"]["code"] == "input.too_large", record["error"]
    assert "Page 2" in record["error"]["message"]


def test_the_searchable_pdf_of_an_active_born_digital_pdf_is_inert(quiet: Services) -> None:
    data = active_pdf()
    assert active_elements(data), "the test file carries what the test looks for"
    record = _process(quiet, data, "active.pdf")
    assert record["status"] in ("done", "needs_review"), record["error"]
    assert [(p["text_source"], p["text"]) for p in record["pages"]] == [("pdf", page_text(n)) for n in (1, 2)]
    stored = quiet.store.get_bytes(record["objects"]["pdf"])
    assert active_elements(stored) == []
    assert sorted(link_targets(stored)) == ["goto page 1", "goto page 2", f"uri {SAFE_LINK}"]
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert len(pdf.pages) == 2
