"""A page result survives the trip through the object store that page-level fan-out makes it take."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import pytest

from examples.synth import EXAMPLES, write_example
from ingest.intake import intake
from ingest.pagework import page_from_json, page_key, page_to_json, process_one_page, start_fan_out
from ingest.services import Services
from ocr.decode import open_document
from ocr.page import process_page
from ocr.tesseract import Recognition, TesseractEngine
from storage.errors import IntegrityMismatch
from storage.models import DocumentStatus
from storage.objects import ObjectStore
from tests.ocr.pdfs import Extractions, born_digital_pdf, page_text


def test_page_result_round_trips_through_json(services: Services, tmp_path: Path) -> None:
    path = write_example(next(s for s in EXAMPLES if s.name == "ket-hon-giay-tiep-nhan.jpg"), tmp_path)
    source = next(open_document(path.read_bytes()).pages())
    spool, restored_spool = tmp_path / "spool", tmp_path / "restored"
    spool.mkdir()
    restored_spool.mkdir()
    page = process_page(source, engine=services.engine, options=services.page_options, spool=spool)
    assert page.words and page.barcodes, "the receipt has words and a QR code to carry"

    restored = page_from_json(page_to_json(page), restored_spool)
    assert restored.layer.text_pdf_path is not None and page.layer.text_pdf_path is not None
    assert restored.layer.text_pdf_path.read_bytes() == page.layer.text_pdf_path.read_bytes()
    assert restored.layer.text_pdf_path.parent == restored_spool
    without_paths = {"layer"}
    for name in page.__dataclass_fields__:
        if name not in without_paths:
            assert getattr(restored, name) == getattr(page, name), name
    assert restored.layer.placement == page.layer.placement
    assert restored.layer.source_index == page.layer.source_index


def test_page_keys_are_deterministic_and_sorted() -> None:
    keys = [page_key("abc", n) for n in (1, 2, 10, 100)]
    assert keys == sorted(keys) and keys[0] == "work/abc/page-00001.json"


class RefusingEngine(TesseractEngine):
    """A seam: born-digital pages are never sent to OCR."""

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3) -> Recognition:
        raise AssertionError("OCR ran on a born-digital page")


def test_a_page_task_reads_its_own_page_only(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.engine = RefusingEngine()
    document_id = intake(services, born_digital_pdf(200), source="long.pdf").document_id
    sent: list[int] = []
    status = start_fan_out(services, document_id, "lease-1", sent.append, lambda: None)
    assert status is DocumentStatus.PROCESSING and sent == list(range(1, 201))

    seen = Extractions(monkeypatch)
    assert process_one_page(services, document_id, 200, "page-task") is False, "199 pages still to read"
    assert seen.pages == [200], "pages 1-199 were neither decoded nor text-extracted"
    page = page_from_json(services.store.get_bytes(page_key(document_id, 200)), tmp_path)
    assert (page.number, page.text, page.text_source) == (200, page_text(200), "pdf")


class CountingStore:
    """The real local store, counting how often an object is opened for reading."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.opened: list[str] = []

    def open(self, key: str) -> BinaryIO:
        self.opened.append(key)
        return self.store.open(key)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_the_original_is_spooled_once_checked_and_cleaned_up(services: Services) -> None:
    store = CountingStore(services.store)
    services.store = cast(ObjectStore, store)
    first, second = b"%PDF-first" * 1000, b"%PDF-second" * 1000
    digest = store.store.put_bytes("inbox/a/original.pdf", first, content_type="application/pdf")
    store.store.put_bytes("inbox/b/original.pdf", second, content_type="application/pdf")

    path = services.original_path("inbox/a/original.pdf", sha256=digest)
    assert services.original_path("inbox/a/original.pdf", sha256=digest) == path
    assert path.read_bytes() == first and store.opened == ["inbox/a/original.pdf"], "downloaded once"
    scratch = services.scratch_file(".pdf")

    other = services.original_path("inbox/b/original.pdf")
    assert other.read_bytes() == second and other.parent == path.parent
    assert not path.exists() and not scratch.exists(), "the previous copy and its scratch files are gone"

    with pytest.raises(IntegrityMismatch):
        services.original_path("inbox/a/original.pdf", sha256="0" * 64)
    assert list(path.parent.iterdir()) == [], "a copy that fails its check is not kept"
    services.close()
    assert not path.parent.exists()
