"""Reviewers correct a document's dossier and key fields (audited), and client systems list dossiers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from ingest.intake import Facts, intake
from ingest.services import Services
from ingest.settings import Settings
from storage.models import Document, DocumentStatus
from tests.identities import bearer, make_key

CODE_A = "000.00.21.H61-251201-0101"
CODE_B = "000.00.21.H61-251201-0102"
CCCD = "086198269566"


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    with TestClient(create_app(settings)) as client:
        yield client, client.app.state.services  # type: ignore[attr-defined]


def _document(services: Services, content: bytes, **values: object) -> str:
    facts = Facts(unit=values.pop("unit", None))  # type: ignore[arg-type]
    dossier = values.pop("dossier", None)
    document_id = intake(services, content, source="scan.png", dossier=dossier, facts=facts).document_id  # type: ignore[arg-type]
    with services.db.unit_of_work() as session:
        session.execute(update(Document).where(Document.id == document_id).values(**values))
    return document_id


def test_a_reviewer_files_a_document_under_its_dossier(app: tuple[TestClient, Services]) -> None:
    client, services = app
    reviewer = bearer(make_key(services, "reviewer", name="hoa"))
    reasons = [
        "dossier.ambiguous",
        f"the files that came with it carry several dossier codes: {CODE_A}, {CODE_B}",
    ]
    document_id = _document(
        services,
        b"\x89PNG\r\n\x1a\n ambiguous",
        status=DocumentStatus.NEEDS_REVIEW.value,
        review_reasons=reasons,
    )
    response = client.put(
        f"/api/v1/documents/{document_id}/dossier", json={"dossier": CODE_A}, headers=reviewer
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert (record["dossier"], record["dossier_source"], record["status"]) == (CODE_A, "person", "done")
    assert record["review_reasons"] == []
    assert record["objects"]["original"].startswith(f"dossiers/{CODE_A}/{document_id}/")
    original = client.get(f"/api/v1/documents/{document_id}/original", headers=reviewer)
    assert original.content == b"\x89PNG\r\n\x1a\n ambiguous"
    assert [
        d["id"] for d in client.get(f"/api/v1/dossiers/{CODE_A}", headers=reviewer).json()["documents"]
    ] == [document_id]
    bad = client.put(f"/api/v1/documents/{document_id}/dossier", json={"dossier": "a b"}, headers=reviewer)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "input.bad_dossier_code"
    queued = _document(services, b"\x89PNG\r\n\x1a\n still queued")
    busy = client.put(f"/api/v1/documents/{queued}/dossier", json={"dossier": CODE_A}, headers=reviewer)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "review.busy"

    admin = bearer(make_key(services, "admin"))
    trail = client.get("/api/v1/audit", params={"action": "dossier.correct"}, headers=admin).json()["entries"]
    ok = [e for e in trail if e["outcome"] == "ok"]
    assert ok[0]["actor"] == "key:hoa" and ok[0]["detail"] == {"old": None, "new": CODE_A}


def test_a_reviewer_corrects_a_key_field_checked_like_found_ones(app: tuple[TestClient, Services]) -> None:
    client, services = app
    reviewer = bearer(make_key(services, "reviewer", name="lan"))
    found = {
        "kind": "citizen_id",
        "value": "086198269560",
        "page": 2,
        "confidence": 0.4,
        "label": "so dinh danh",
    }
    document_id = _document(services, b"\x89PNG\r\n\x1a\n fields", status="done", fields=[found])
    path = f"/api/v1/documents/{document_id}/fields"
    invalid = client.put(
        path, json={"kind": "citizen_id", "value": "123", "replaces": found["value"]}, headers=reviewer
    )
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "review.bad_field"
    missing = client.put(
        path, json={"kind": "citizen_id", "value": CCCD, "replaces": "999"}, headers=reviewer
    )
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "review.no_such_field"
    fixed = client.put(
        path,
        json={"kind": "citizen_id", "value": "086 198 269 566", "replaces": found["value"]},
        headers=reviewer,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["fields"] == [
        {"kind": "citizen_id", "value": CCCD, "page": 2, "confidence": 1.0, "label": "so dinh danh"}
    ]
    added = client.put(path, json={"kind": "person_name", "value": "  Phan   Thị Tuyết "}, headers=reviewer)
    assert [f["value"] for f in added.json()["fields"]] == [CCCD, "Phan Thị Tuyết"]
    admin = bearer(make_key(services, "admin"))
    trail = client.get("/api/v1/audit", params={"document": document_id}, headers=admin).json()["entries"]
    details = [e["detail"] for e in trail if e["action"] == "field.correct" and e["outcome"] == "ok"]
    assert {"kind": "citizen_id", "old": found["value"], "new": CCCD} in details


def test_client_systems_list_dossiers_by_procedure_status_unit_and_date(
    app: tuple[TestClient, Services],
) -> None:
    client, services = app
    province = bearer(make_key(services, "reader"))
    commune = bearer(make_key(services, "reader", unit="xa-tra-on"))
    make_key(services, "reader", unit="xa-long-ho")
    rows = [
        (CODE_A, "khai-sinh", "done", "xa-tra-on", date(2025, 3, 1)),
        (CODE_A, "khai-sinh", "needs_review", "xa-tra-on", date(2025, 3, 2)),
        (CODE_B, "thuong-tru", "done", "xa-long-ho", date(2025, 6, 1)),
        ("000.00.21.H61-251201-0103", "thuong-tru", "failed", "xa-tra-on", date(2024, 1, 5)),
    ]
    for n, (code, procedure, status, unit, received) in enumerate(rows):
        _document(
            services,
            f"scan {n}".encode(),
            dossier=code,
            unit=unit,
            procedure_id=procedure,
            status=status,
            received_on=received,
            page_count=n + 1,
        )

    def codes(headers: dict[str, str], **params: object) -> list[str]:
        response = client.get("/api/v1/dossiers", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [d["code"] for d in response.json()["dossiers"]]

    assert set(codes(province)) == {CODE_A, CODE_B, "000.00.21.H61-251201-0103"}
    assert set(codes(province, procedure="thuong-tru")) == {CODE_B, "000.00.21.H61-251201-0103"}
    assert codes(province, status="needs_review") == [CODE_A]
    assert codes(province, unit="xa-long-ho") == [CODE_B]
    assert set(codes(province, received_from="2025-01-01")) == {CODE_A, CODE_B}
    assert codes(province, received_from="2025-01-01", received_to="2025-04-01") == [CODE_A]
    assert set(codes(commune)) == {CODE_A, "000.00.21.H61-251201-0103"}
    assert codes(commune, unit="xa-long-ho") == []  # a unit's filter cannot widen its scope
    page_one, page_two = codes(province, limit=2), codes(province, limit=2, offset=2)
    assert len(page_one) == 2 and len(page_two) == 1 and not set(page_one) & set(page_two)
    summary = next(
        d for d in client.get("/api/v1/dossiers", headers=province).json()["dossiers"] if d["code"] == CODE_A
    )
    assert summary["documents"] == 2 and summary["pages"] == 3
    assert summary["statuses"] == {"done": 1, "needs_review": 1} and summary["procedures"] == ["khai-sinh"]
    assert summary["received_on"] == "2025-03-01" and summary["units"] == ["xa-tra-on"]
    assert client.get("/api/v1/dossiers", params={"status": "lost"}, headers=province).status_code == 422


def test_a_mistaken_scan_is_withdrawn_then_purged_and_its_trail_stays(
    app: tuple[TestClient, Services], settings: Settings
) -> None:
    from storage.search import index_document

    client, services = app
    reviewer = bearer(make_key(services, "reviewer", name="mai"))
    admin = bearer(make_key(services, "admin"))
    keep = _document(services, b"\x89PNG\r\n\x1a\n keep", dossier=CODE_A, status="done")
    wrong = _document(services, b"\x89PNG\r\n\x1a\n wrong", dossier=CODE_A, status="done")
    with services.db.unit_of_work() as session:
        index_document(session, wrong, "giấy chứng nhận quyền sử dụng đất")
    early = client.delete(f"/api/v1/documents/{wrong}", headers=admin)
    assert early.status_code == 409 and early.json()["error"]["code"] == "document.not_withdrawn"
    assert (
        client.post(f"/api/v1/documents/{wrong}/withdraw", json={"reason": "x"}, headers=reviewer).status_code
        == 422
    )
    withdrawn = client.post(
        f"/api/v1/documents/{wrong}/withdraw", json={"reason": "trang của hồ sơ khác"}, headers=reviewer
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_reason"] == "trang của hồ sơ khác"
    dossier = client.get(f"/api/v1/dossiers/{CODE_A}", headers=reviewer).json()
    assert [d["id"] for d in dossier["documents"]] == [keep]
    assert (
        client.get("/api/v1/search", params={"q": "quyen su dung dat"}, headers=reviewer).json()["hits"] == []
    )
    listed = client.get("/api/v1/dossiers", headers=reviewer).json()["dossiers"]
    assert [(d["code"], d["documents"]) for d in listed] == [(CODE_A, 1)]
    assert client.delete(f"/api/v1/documents/{wrong}", headers=reviewer).status_code == 403
    original_key = client.get(f"/api/v1/documents/{wrong}", headers=admin).json()["objects"]["original"]
    assert client.delete(f"/api/v1/documents/{wrong}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/documents/{wrong}", headers=admin).status_code == 404
    assert not services.store.exists(original_key)
    trail = client.get("/api/v1/audit", params={"document": wrong}, headers=admin).json()["entries"]
    assert {(e["action"], e["outcome"]) for e in trail} >= {
        ("document.withdraw", "ok"),
        ("document.purge", "ok"),
    }
