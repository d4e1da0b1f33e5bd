"""The HTTP API in embedded mode: upload, wait for processing, fetch the record and the stored objects."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pikepdf
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from examples.synth import EXAMPLES, write_example
from ingest.records import document_record
from ingest.settings import Settings
from storage.repositories import DocumentRepository
from tests.identities import bearer, make_key
from tests.serving import wait_finished


@contextmanager
def admin_client(settings: Settings) -> Iterator[TestClient]:
    """A client of the app holding a province admin key (every route allowed)."""
    with TestClient(create_app(settings)) as test_client:
        test_client.headers.update(bearer(make_key(test_client.app.state.services, "admin")))  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with admin_client(settings) as test_client:
        yield test_client


def test_upload_process_and_retrieve_by_dossier(client: TestClient, tmp_path: Path) -> None:
    spec = next(s for s in EXAMPLES if s.name == "ket-hon-giay-tiep-nhan.jpg")
    path = write_example(spec, tmp_path)
    response = client.post("/api/v1/documents", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    assert response.json()["duplicate"] is False

    record = wait_finished(client, document_id)
    assert record["status"] == "done", record
    assert record["dossier"] == spec.dossier_code and record["procedure"] == "ket-hon"
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.db.unit_of_work() as session:
        exported = document_record(DocumentRepository(session).get(document_id, with_pages=True))
    assert exported == record  # the export line and the API answer are one model, field for field
    for moment in (record["created_at"], record["finished_at"]):  # with their offset, even from SQLite
        assert datetime.fromisoformat(moment).utcoffset() == timedelta(0), moment
    route = client.get("/openapi.json").json()["paths"]["/api/v1/documents/{document_id}"]["get"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DocumentRecord"
    )

    original = client.get(f"/api/v1/documents/{document_id}/original")
    assert original.status_code == 200 and original.content == path.read_bytes()
    assert original.headers["content-type"] == "image/jpeg"
    pdf = client.get(f"/api/v1/documents/{document_id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    with pikepdf.open(io.BytesIO(pdf.content)) as document:
        assert len(document.pages) == 1
    text = client.get(f"/api/v1/documents/{document_id}/text")
    assert "TIẾP NHẬN" in text.text

    dossier = client.get(f"/api/v1/dossiers/{spec.dossier_code}")
    assert dossier.status_code == 200
    assert [d["id"] for d in dossier.json()["documents"]] == [document_id]

    links = client.get(f"/api/v1/documents/{document_id}/links").json()
    assert links["direct"] is False and links["expires_at"] is None
    assert client.get(links["original"]).content == path.read_bytes()

    search = client.get("/api/v1/search", params={"q": "giay tiep nhan ho so"}).json()  # no tone marks
    assert [hit["id"] for hit in search["hits"]] == [document_id]
    assert (
        search["hits"][0]["dossier"] == spec.dossier_code
        and "TIẾP NHẬN" in search["hits"][0]["snippet"].upper()
    )
    assert client.get("/api/v1/search", params={"q": "khong co chu nay"}).json()["hits"] == []
    assert client.get("/api/v1/search", params={"q": '"); DROP TABLE documents; --'}).status_code == 200

    again = client.post("/api/v1/documents", files={"file": ("copy.jpg", path.read_bytes(), "image/jpeg")})
    assert again.json() == {
        "id": document_id,
        "status": "done",
        "duplicate": True,
        "documents": [document_id],
    }


def test_bad_upload_fails_with_a_code_and_unknown_ids_are_404(client: TestClient) -> None:
    response = client.post("/api/v1/documents", files={"file": ("notes.txt", b"just text", "text/plain")})
    record = wait_finished(client, response.json()["id"])
    assert record["status"] == "failed" and record["error"]["code"] == "input.unsupported"
    assert client.get(f"/api/v1/documents/{record['id']}/pdf").status_code == 409
    missing = client.get("/api/v1/documents/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document.not_found"
    assert client.get("/api/v1/dossiers/000.00.21.H61-250101-0001").status_code == 404
    bad = client.post("/api/v1/documents", files={"file": ("a.pdf", b"%PDF")}, data={"dossier": "a b"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "input.bad_dossier_code"


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "mode": "embedded"}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/documents", "/api/v1/documents/{document_id}", "/api/v1/dossiers/{code}"} <= set(paths)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "http://" not in docs.text and "https://" not in docs.text  # offline
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "https://" not in client.get("/redoc").text


def test_a_person_sets_the_procedure_through_the_api(client: TestClient, tmp_path: Path) -> None:
    spec = next(s for s in EXAMPLES if s.name == "tam-tru-xoay-90.png")
    path = write_example(spec, tmp_path)
    document_id = client.post("/api/v1/documents", files={"file": (path.name, path.read_bytes())}).json()[
        "id"
    ]
    wait_finished(client, document_id)
    response = client.put(
        f"/api/v1/documents/{document_id}/procedure", json={"procedure": "thuong-tru", "by": "Lê Thị Hoa"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["procedure"] == "thuong-tru" and response.json()["procedure_confidence"] == 1.0
    assert client.get(f"/api/v1/documents/{document_id}").json()["procedure"] == "thuong-tru"
    bad = client.put(f"/api/v1/documents/{document_id}/procedure", json={"procedure": "xyz", "by": "a"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "procedure.unknown_id"
    missing = client.put("/api/v1/documents/nope/procedure", json={"procedure": "thuong-tru", "by": "a"})
    assert missing.status_code == 404


def test_links_are_presigned_s3_urls_that_expire(settings: Settings, s3_server, tmp_path: Path) -> None:
    """With S3, a client downloads straight from the store with a time-limited URL."""
    bucket = f"links-{time.time_ns() % 10**9}"
    s3_settings = settings.model_copy(update=s3_server.settings_overrides(bucket))
    path = write_example(next(s for s in EXAMPLES if s.name == "tam-tru-xoay-90.png"), tmp_path)
    with admin_client(s3_settings) as client:
        upload = client.post("/api/v1/documents", files={"file": (path.name, path.read_bytes(), "image/png")})
        document_id = upload.json()["id"]
        assert wait_finished(client, document_id)["status"] == "done"
        links = client.get(f"/api/v1/documents/{document_id}/links", params={"expires": 60}).json()
        assert client.get(f"/api/v1/documents/{document_id}/links", params={"expires": 5}).status_code == 422
    assert links["direct"] is True and links["expires_at"]
    assert httpx.get(links["original"], timeout=10).content == path.read_bytes()
    assert httpx.get(links["pdf"], timeout=10).content.startswith(b"%PDF")
    tampered = links["original"].replace("X-Amz-Expires=60", "X-Amz-Expires=600")
    assert httpx.get(tampered, timeout=10).status_code == 403
    s3_server.drop_bucket(bucket)


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(settings: Settings) -> None:
    small = settings.model_copy(update={"max_file_bytes": 2 * 1024 * 1024})
    with admin_client(small) as client:
        response = client.post(
            "/api/v1/documents",
            files={"file": ("big.pdf", b"%PDF-1.7\n" + b"x" * (3 * 1024 * 1024), "application/pdf")},
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "input.too_large"
    assert not any((small.objects_dir).rglob("original.*"))


def test_pages_uploaded_one_by_one_in_a_batch_join_the_dossier_of_the_receipt(
    client: TestClient, tmp_path: Path
) -> None:
    from examples import synth

    code = "000.00.21.H61-250401-0001"
    pages = {
        "don.jpg": synth.make_page("khai-sinh", seed=3, dpi=150, dossier_code=code),
        "phieu.jpg": synth.make_receipt("khai-sinh", seed=3, dpi=150, dossier_code=code),
    }
    ids = {}
    for name, page in pages.items():
        buffer = io.BytesIO()
        page.image.convert("L").save(buffer, "JPEG", quality=80, dpi=(150, 150))
        response = client.post(
            "/api/v1/documents",
            files={"file": (name, buffer.getvalue(), "image/jpeg")},
            data={"batch": "quay-4/2026-12-01/07"},
        )
        assert response.status_code == 202, response.text
        ids[name] = response.json()["id"]
    for document_id in ids.values():
        wait_finished(client, document_id)
    records = {name: client.get(f"/api/v1/documents/{i}").json() for name, i in ids.items()}
    assert records["phieu.jpg"]["dossier_source"] == "barcode"
    assert (records["don.jpg"]["dossier"], records["don.jpg"]["dossier_source"]) == (code, "group")
    dossier = client.get(f"/api/v1/dossiers/{code}").json()
    assert {d["id"] for d in dossier["documents"]} == set(ids.values())
