"""The signing routes: a staff account keeps its certificate (PKCS#12 upload), its uploads are signed with
it, and `GET /api/v1/documents/{id}/verify` checks the stored PDF as it is now."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from examples.synth import EXAMPLES, write_example
from ingest.services import Services
from ingest.settings import Settings, load_settings
from storage.models import Document
from tests.certificates import Issued, issue, make_ca, pkcs12_bytes
from tests.identities import bearer, make_key, make_user

PASSWORD = "mat-khau-chung-thu"
SCAN = next(s for s in EXAMPLES if s.name == "ket-hon-giay-tiep-nhan.jpg")


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("CA thử nghiệm")


@pytest.fixture
def signing_settings(tmp_path: Path, ca: Issued) -> Settings:
    roots = ca.write_pem(tmp_path / "ca.pem")
    return load_settings(
        data_dir=tmp_path / "data",
        workers=2,
        broker_url=None,
        database_url=None,
        signing_trust_roots=str(roots),
    )


@pytest.fixture
def client(signing_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(signing_settings)) as test_client:
        yield test_client


def _services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined]


def _wait(client: TestClient, document_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        record = client.get(f"/api/v1/documents/{document_id}", headers=headers).json()
        if record["status"] in {"done", "needs_review", "failed"}:
            return dict(record)
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} did not finish")


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_an_officer_uploads_a_certificate_and_what_they_scan_is_signed_with_it(
    client: TestClient, ca: Issued, tmp_path: Path
) -> None:
    services = _services(client)
    make_user(services, "thuha", "scanner", "mat-khau-dai-du-12")
    officer = _basic("thuha", "mat-khau-dai-du-12")
    none_yet = client.get("/api/v1/account/certificate", headers=officer)
    assert none_yet.status_code == 404 and none_yet.json()["error"]["code"] == "certificate.not_found"

    leaf = issue(ca, "Nguyễn Thị Thu Hà", unit="Một cửa")
    wrong = client.put(
        "/api/v1/account/certificate",
        headers=officer,
        files={"file": ("ha.p12", pkcs12_bytes(leaf, PASSWORD), "application/x-pkcs12")},
        data={"password": "sai"},
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "signing.wrong_password"
    kept = client.put(
        "/api/v1/account/certificate",
        headers=officer,
        files={"file": ("ha.p12", pkcs12_bytes(leaf, PASSWORD, chain=(ca,)), "application/x-pkcs12")},
        data={"password": PASSWORD},
    )
    assert kept.status_code == 200, kept.text
    facts = kept.json()
    assert facts["common_name"] == "Nguyễn Thị Thu Hà" and facts["trusted"] is True
    assert (
        client.get("/api/v1/account/certificate", headers=officer).json()["fingerprint"]
        == facts["fingerprint"]
    )

    path = write_example(SCAN, tmp_path)
    upload = client.post(
        "/api/v1/documents", headers=officer, files={"file": (path.name, path.read_bytes(), "image/jpeg")}
    )
    assert upload.status_code == 202, upload.text
    record = _wait(client, upload.json()["id"], bearer(make_key(services, "reader", name="lookup")))
    assert record["signature"]["signed_by"] == "Nguyễn Thị Thu Hà" and record["signature"]["pdfa"] is True

    reader = bearer(make_key(services, "reader"))
    verdict = client.get(f"/api/v1/documents/{record['id']}/verify", headers=reader).json()
    assert verdict["valid"] is True and verdict["signer"] == "Nguyễn Thị Thu Hà", verdict
    assert verdict["changed_since_signing"] is False and verdict["pdfa"] is True

    with services.db.unit_of_work() as session:  # someone edits the stored PDF behind sohoa's back
        document = session.get(Document, record["id"])
        assert document is not None and document.pdf_key is not None
        key = document.pdf_key
    data = bytearray(services.store.get_bytes(key))
    data[len(data) // 3] ^= 0x01
    services.store.put_bytes(key, bytes(data), content_type="application/pdf")
    changed = client.get(f"/api/v1/documents/{record['id']}/verify", headers=reader).json()
    assert changed["valid"] is False and changed["changed_since_signing"] is True
    assert "verify.changed" in changed["problems"]

    audit = client.get("/api/v1/audit?action=certificate.set", headers=bearer(make_key(services, "admin")))
    assert audit.status_code == 200 and audit.json()["entries"], audit.text

    assert client.delete("/api/v1/account/certificate", headers=officer).status_code == 204
    assert client.delete("/api/v1/account/certificate", headers=officer).status_code == 404


def test_api_keys_hold_no_certificate_and_only_admins_set_others(client: TestClient, ca: Issued) -> None:
    services = _services(client)
    station_key = bearer(make_key(services, "scanner"))
    leaf = issue(ca, "Trạm 02")
    files = {"file": ("t.p12", pkcs12_bytes(leaf, None), "application/x-pkcs12")}
    refused = client.put(
        "/api/v1/account/certificate", headers=station_key, files=files, data={"password": ""}
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "signing.not_an_account"

    make_user(services, "duyet", "reviewer", "mat-khau-dai-du-12")
    as_reviewer = client.put(
        "/api/v1/users/duyet/certificate",
        headers=_basic("duyet", "mat-khau-dai-du-12"),
        files=files,
        data={"password": ""},
    )
    assert as_reviewer.status_code == 403
    admin = bearer(make_key(services, "admin"))
    as_admin = client.put(
        "/api/v1/users/duyet/certificate", headers=admin, files=files, data={"password": ""}
    )
    assert as_admin.status_code == 200 and as_admin.json()["account"] == "duyet"
    missing = client.put(
        "/api/v1/users/nobody/certificate", headers=admin, files=files, data={"password": ""}
    )
    assert missing.status_code == 404


def test_verify_says_an_unsigned_pdf_is_not_signed(client: TestClient, tmp_path: Path) -> None:
    services = _services(client)
    admin = bearer(make_key(services, "admin"))
    path = write_example(SCAN, tmp_path)
    upload = client.post(
        "/api/v1/documents", headers=admin, files={"file": (path.name, path.read_bytes(), "image/jpeg")}
    )
    record = _wait(client, upload.json()["id"], admin)
    assert record["signature"] == {
        "signed_by": None,
        "signed_at": None,
        "error": "signing.no_identity",
        "pdfa": True,
    }
    verdict = client.get(f"/api/v1/documents/{record['id']}/verify", headers=admin).json()
    assert (
        verdict["valid"] is False and verdict["problems"] == ["verify.not_signed"] and verdict["pdfa"] is True
    )
