from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from storage.db import create_database, normalise_url
from storage.models import Document, DocumentStatus, Page
from storage.repositories import DocumentRepository, DossierRepository


def _document(document_id: str, sha: str, **fields: object) -> Document:
    return Document(
        id=document_id,
        source=f"{document_id}.tif",
        sha256=sha,
        size_bytes=3,
        original_key=f"inbox/{document_id}/original.tif",
        **fields,
    )


def test_repositories_flush_but_do_not_commit(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.sessions() as session:
        DocumentRepository(session).add(_document("a", "1" * 64))
        session.rollback()
    with db.unit_of_work() as session:
        assert DocumentRepository(session).get("a") is None


def test_sha256_is_unique(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.unit_of_work() as session:
        DocumentRepository(session).add(_document("a", "1" * 64))
    with pytest.raises(IntegrityError), db.unit_of_work() as session:
        DocumentRepository(session).add(_document("b", "1" * 64))


def test_pages_are_replaced_not_duplicated_and_dossiers_group_documents(tmp_path: Path) -> None:
    db = create_database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.unit_of_work() as session:
        DossierRepository(session).ensure("000.00.21.H61-250401-0001")
        DossierRepository(session).ensure("000.00.21.H61-250401-0001")
        document = DocumentRepository(session).add(
            _document("a", "1" * 64, dossier_code="000.00.21.H61-250401-0001")
        )
        DocumentRepository(session).replace_pages(document, [Page(number=1, text="x", text_source="ocr")])
    for _ in range(2):
        with db.unit_of_work() as session:
            repository = DocumentRepository(session)
            document = repository.get("a", with_pages=True)
            assert document is not None
            repository.replace_pages(
                document, [Page(number=n, text=f"p{n}", text_source="ocr") for n in (1, 2)]
            )
    with db.unit_of_work() as session:
        repository = DocumentRepository(session)
        [document] = repository.in_dossier("000.00.21.H61-250401-0001")
        assert [p.text for p in document.pages] == ["p1", "p2"]
        assert repository.ids_with_status(DocumentStatus.QUEUED) == ["a"]


def test_plain_postgresql_urls_get_a_driver() -> None:
    assert normalise_url("postgresql://u@127.0.0.1:5432/test") == "postgresql+psycopg://u@127.0.0.1:5432/test"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
