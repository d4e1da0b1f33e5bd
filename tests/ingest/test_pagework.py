"""A page result survives the trip through the object store that page-level fan-out makes it take."""

from __future__ import annotations

from pathlib import Path

from examples.synth import EXAMPLES, write_example
from ingest.pagework import page_from_json, page_key, page_to_json
from ingest.services import Services
from ocr.decode import open_document
from ocr.page import process_page


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
