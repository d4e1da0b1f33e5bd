import pytest

from ingest.errors import IngestError
from ingest.intake import intake
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
