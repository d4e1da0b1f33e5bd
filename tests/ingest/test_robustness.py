"""Every real third-party file ends processed or as a coded failure; none crashes, hangs or is lost.

Runs the whole ocrmypdf-resources folder through the embedded pool, exactly as `sohoa import` does
(about 60 pages: a minute or two on two cores).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import batch
from ingest.records import document_record
from ingest.services import Services
from storage.repositories import DocumentRepository
from tests.conftest import shared_testdata

CODE = re.compile(r"^[a-z]+\.[a-z_]+$")
EXPECTED_FAILURES = {
    "invalid.pdf": "input.unreadable",
    "linn.txt": "input.unsupported",
    "tagged.odt": "input.unsupported",
    "README.rst": "input.unsupported",
}


@pytest.mark.slow
def test_every_ocrmypdf_resource_ends_processed_or_failed_with_a_code(services: Services) -> None:
    folder = shared_testdata("ocrmypdf-resources")
    result = batch.run_import(
        services, batch.ImportRequest.build([folder], dossier=None, manifest=None, duplex=False)
    )
    outcomes = batch.import_outcomes(services, result)
    assert not [o for o in outcomes if o.outcome == "problem"]
    files = sorted(p for p in folder.iterdir() if p.is_file())
    assert {o.source for o in outcomes} == {p.name for p in files}
    assert not result.left and not result.interrupted

    with services.db.unit_of_work() as session:
        repository = DocumentRepository(session)
        records = {}
        for item in outcomes:
            assert item.document_id is not None
            document = repository.get(item.document_id, with_pages=True)
            assert document is not None
            records[item.source] = document_record(document)
            original = services.store.get_bytes(document.original_key)
            assert original == (folder / item.source).read_bytes(), f"{item.source}: original changed"

    for source, record in records.items():
        assert record["status"] in {"done", "needs_review", "failed"}, (source, record["status"])
        if record["status"] == "failed":
            assert CODE.match(record["error"]["code"]), (source, record["error"])
            assert record["error"]["code"] not in {
                "internal.error",
                "processing.crashed",
                "processing.timeout",
            }, (
                source,
                record["error"],
            )
            assert record["error"]["message"]
        else:
            assert record["pages"], source
            assert record["objects"]["pdf"] and record["objects"]["text"], source
    for source, code in EXPECTED_FAILURES.items():
        assert records[source]["error"]["code"] == code

    cardinal = records["cardinal.pdf"]["pages"]
    assert [p["rotation"] for p in cardinal] == [0, 270, 180, 90]
    assert all("Track" in p["text"] for p in cardinal), "every page of cardinal.pdf reads upright"
    assert records["blank.pdf"]["pages"][0]["blank"]
    assert records["graph_ocred.pdf"]["pages"][0]["text_source"] == "pdf"
    assert len(records["multipage.pdf"]["pages"]) == 6


def test_testdata_helper_skips_cleanly_when_absent(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception):
        shared_testdata("no-such-folder-" + tmp_path.name)
