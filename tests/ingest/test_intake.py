import hashlib
import os
import tracemalloc

import pytest

from ingest.errors import IngestError
from ingest.intake import intake, intake_file
from ingest.services import Services
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository


def test_original_bytes_are_stored_first_and_same_bytes_make_no_second_document(services: Services) -> None:
    first = intake(services, b"%PDF-1.4 scan", source="a.pdf")
    again = intake(services, b"%PDF-1.4 scan", source="renamed-copy.pdf", dossier="000.00.21.H61-250401-0001")
    assert not first.duplicate and first.status is DocumentStatus.QUEUED
    assert again.duplicate and again.document_id == first.document_id
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(first.document_id)
        assert document is not None
        assert document.source == "a.pdf" and document.dossier_code is None
        assert document.original_key == f"inbox/{first.document_id}/original.pdf"
        assert services.store.get_bytes(document.original_key) == b"%PDF-1.4 scan"


def test_a_given_dossier_files_the_original_under_it(services: Services) -> None:
    result = intake(services, b"\x89PNG\r\n\x1a\nrest", source="x.png", dossier="000.00.21.H61-250401-0002")
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(result.document_id)
        assert document is not None
        assert document.original_key.startswith("dossiers/000.00.21.H61-250401-0002/")
        assert document.dossier_source == "given"


def test_unusable_dossier_codes_are_refused(services: Services) -> None:
    with pytest.raises(IngestError) as caught:
        intake(services, b"x", source="x", dossier="../../etc")
    assert caught.value.code == "input.bad_dossier_code"


def test_a_file_on_disk_is_streamed_and_matches_what_bytes_intake_gives(services: Services, tmp_path) -> None:
    """40 MB through `intake_file` allocates a few chunks, not the file, and lands where `intake` would."""
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        for _ in range(40):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        result = intake_file(services, big, source="big.pdf")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB of Python memory"
    expected_sha = hashlib.sha256(big.read_bytes()).hexdigest()
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(result.document_id)
        assert document is not None
        assert document.sha256 == expected_sha and document.size_bytes == big.stat().st_size
        assert document.original_key == f"inbox/{expected_sha[:32]}/original.pdf"
        assert document.media_type == "application/pdf"
    assert services.store.sha256_of(document.original_key) == expected_sha
    assert intake(services, big.read_bytes(), source="again.pdf").duplicate
