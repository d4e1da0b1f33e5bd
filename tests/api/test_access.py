"""Who may do what: every route with every role, units that do not see each other, the audit trail, and the
`sohoa keys|users|units|audit` commands as an operator runs them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from ingest.intake import Facts, intake
from ingest.services import Services
from ingest.settings import Settings
from storage.models import DocumentStatus
from storage.repositories import CorrectionRepository
from storage.search import index_document
from tests.identities import bearer, ensure_unit, make_key, make_user

SOHOA = str(Path(sys.executable).with_name("sohoa"))
CODE = "000.00.21.H61-251201-0042"


@dataclass
class World:
    """An app with a document of unit `xa-tra-on`, one of `xa-long-ho`, and a key per role and unit."""

    client: TestClient
    services: Services
    ours: str
    """A queued document of xa-tra-on, in dossier CODE, its text indexed."""
    theirs: str
    """A queued document of xa-long-ho."""
    keys: dict[str, str]
    """'<role>' (province) and '<role>@<unit>' → key."""

    def as_(self, who: str) -> dict[str, str]:
        return bearer(self.keys[who])


def _document(services: Services, content: bytes, *, unit: str, dossier: str | None, words: str) -> str:
    result = intake(
        services, content, source=f"{unit}.png", dossier=dossier, facts=Facts(unit=unit, received_by="test")
    )
    with services.db.unit_of_work() as session:
        index_document(session, result.document_id, words)
    return result.document_id


def _png(seed: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (40 + seed, 40), 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    with TestClient(create_app(settings)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        for unit in ("xa-tra-on", "xa-long-ho"):
            ensure_unit(services, unit)
        ours = _document(services, _png(1), unit="xa-tra-on", dossier=CODE, words="giấy khai sinh Trà Ôn")
        theirs = _document(services, _png(2), unit="xa-long-ho", dossier=None, words="giấy khai sinh Long Hồ")
        keys = {role: make_key(services, role) for role in ("scanner", "reader", "reviewer", "admin")}
        for role in ("reader", "admin", "reviewer"):
            keys[f"{role}@xa-long-ho"] = make_key(services, role, unit="xa-long-ho")
            keys[f"{role}@xa-tra-on"] = make_key(services, role, unit="xa-tra-on")
        yield World(client, services, ours, theirs, keys)


def _requests(world: World) -> dict[tuple[str, str], tuple[str, dict]]:
    """One request per route of the API (method, path template) → (concrete path, request kwargs)."""
    d = world.ours
    return {
        ("POST", "/api/v1/documents"): (
            "/api/v1/documents",
            {"files": {"file": ("x.txt", b"not a scan", "text/plain")}},
        ),
        ("GET", "/api/v1/documents/{document_id}"): (f"/api/v1/documents/{d}", {}),
        ("GET", "/api/v1/documents/{document_id}/links"): (f"/api/v1/documents/{d}/links", {}),
        ("GET", "/api/v1/documents/{document_id}/original"): (f"/api/v1/documents/{d}/original", {}),
        ("GET", "/api/v1/documents/{document_id}/pdf"): (f"/api/v1/documents/{d}/pdf", {}),
        ("GET", "/api/v1/documents/{document_id}/text"): (f"/api/v1/documents/{d}/text", {}),
        ("PUT", "/api/v1/documents/{document_id}/procedure"): (
            f"/api/v1/documents/{d}/procedure",
            {"json": {"procedure": "khai-sinh", "by": "somebody else"}},
        ),
        ("GET", "/api/v1/dossiers/{code}"): (f"/api/v1/dossiers/{CODE}", {}),
        ("GET", "/api/v1/dossiers"): ("/api/v1/dossiers", {}),
        ("POST", "/api/v1/documents/{document_id}/withdraw"): (
            f"/api/v1/documents/{world.theirs}/withdraw",
            {"json": {"reason": "quét nhầm"}},
        ),
        ("DELETE", "/api/v1/documents/{document_id}"): (f"/api/v1/documents/{world.theirs}", {}),
        ("PUT", "/api/v1/documents/{document_id}/dossier"): (
            f"/api/v1/documents/{d}/dossier",
            {"json": {"dossier": CODE}},
        ),
        ("PUT", "/api/v1/documents/{document_id}/fields"): (
            f"/api/v1/documents/{d}/fields",
            {"json": {"kind": "person_name", "value": "Phan Thị Tuyết"}},
        ),
        ("POST", "/api/v1/documents/{document_id}/accept"): (f"/api/v1/documents/{d}/accept", {}),
        ("GET", "/api/v1/procedures"): ("/api/v1/procedures?q=khai+sinh", {}),
        ("GET", "/api/v1/search"): ("/api/v1/search?q=khai+sinh", {}),
        ("GET", "/api/v1/audit"): ("/api/v1/audit", {}),
        ("POST", "/api/v1/batches"): (
            "/api/v1/batches",
            {"files": [("files", ("x.txt", b"not a scan either", "text/plain"))]},
        ),
        ("GET", "/api/v1/batches/{batch_id}"): ("/api/v1/batches/000000000000", {}),
        ("POST", "/api/v1/webhooks"): ("/api/v1/webhooks", {"json": {"url": "http://127.0.0.1:9/hook"}}),
        ("GET", "/api/v1/webhooks"): ("/api/v1/webhooks", {}),
        ("DELETE", "/api/v1/webhooks/{hook_id}"): ("/api/v1/webhooks/nope", {}),
        ("GET", "/api/v1/webhooks/{hook_id}/deliveries"): ("/api/v1/webhooks/nope/deliveries", {}),
        ("GET", "/api/v1/documents/{document_id}/verify"): (f"/api/v1/documents/{d}/verify", {}),
        ("GET", "/api/v1/account/certificate"): ("/api/v1/account/certificate", {}),
        ("PUT", "/api/v1/account/certificate"): (
            "/api/v1/account/certificate",
            {"files": {"file": ("c.p12", b"not a certificate", "application/x-pkcs12")}},
        ),
        ("DELETE", "/api/v1/account/certificate"): ("/api/v1/account/certificate", {}),
        ("PUT", "/api/v1/users/{name}/certificate"): (
            "/api/v1/users/nobody/certificate",
            {"files": {"file": ("c.p12", b"not a certificate", "application/x-pkcs12")}},
        ),
    }


OWN_CERTIFICATE = {
    ("GET", "/api/v1/account/certificate"),
    ("PUT", "/api/v1/account/certificate"),
    ("DELETE", "/api/v1/account/certificate"),
}
"""Every identity may ask for its own certificate (an API key is told it holds none: 422, not 403)."""
ALLOWED: dict[str, set[tuple[str, str]]] = {
    "scanner": OWN_CERTIFICATE
    | {
        ("POST", "/api/v1/documents"),
        ("POST", "/api/v1/batches"),
        ("GET", "/api/v1/batches/{batch_id}"),
    },
    "reader": OWN_CERTIFICATE
    | {
        ("GET", "/api/v1/documents/{document_id}/verify"),
        ("GET", "/api/v1/batches/{batch_id}"),
        ("GET", "/api/v1/documents/{document_id}"),
        ("GET", "/api/v1/documents/{document_id}/links"),
        ("GET", "/api/v1/documents/{document_id}/original"),
        ("GET", "/api/v1/documents/{document_id}/pdf"),
        ("GET", "/api/v1/documents/{document_id}/text"),
        ("GET", "/api/v1/dossiers/{code}"),
        ("GET", "/api/v1/dossiers"),
        ("GET", "/api/v1/search"),
        ("GET", "/api/v1/procedures"),
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks"),
        ("DELETE", "/api/v1/webhooks/{hook_id}"),
        ("GET", "/api/v1/webhooks/{hook_id}/deliveries"),
    },
}
ALLOWED["reviewer"] = ALLOWED["reader"] | {
    ("PUT", "/api/v1/documents/{document_id}/procedure"),
    ("PUT", "/api/v1/documents/{document_id}/dossier"),
    ("PUT", "/api/v1/documents/{document_id}/fields"),
    ("POST", "/api/v1/documents/{document_id}/withdraw"),
    ("POST", "/api/v1/documents/{document_id}/accept"),
}
"""What each role may call (method, path template); admin: everything."""


def test_every_route_needs_credentials_and_the_right_role(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    api_routes = {
        (method.upper(), path)
        for path, item in paths.items()
        if path.startswith("/api/v1")
        for method in item
    }
    requests = _requests(world)
    assert api_routes == set(requests), "a route without an access test"
    assert world.client.get("/healthz").status_code == 200
    for (method, template), (path, kwargs) in requests.items():
        anonymous = world.client.request(method, path, **kwargs)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "auth.required"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        wrong = world.client.request(method, path, headers=bearer("sohoa_not-a-key"), **kwargs)
        assert wrong.status_code == 401
        for role in ("scanner", "reader", "reviewer", "admin"):
            response = world.client.request(method, path, headers=world.as_(role), **kwargs)
            allowed = role == "admin" or (method, template) in ALLOWED[role]
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert response.json()["error"]["code"] == "auth.forbidden"


def test_a_unit_sees_only_its_documents_and_others_are_404(world: World) -> None:
    client, ours, theirs = world.client, world.ours, world.theirs
    for who, visible in (
        ("reader", {ours, theirs}),
        ("reader@xa-tra-on", {ours}),
        ("reader@xa-long-ho", {theirs}),
    ):
        for document_id in (ours, theirs):
            record = client.get(f"/api/v1/documents/{document_id}", headers=world.as_(who))
            download = client.get(f"/api/v1/documents/{document_id}/original", headers=world.as_(who))
            links = client.get(f"/api/v1/documents/{document_id}/links", headers=world.as_(who))
            expected = 200 if document_id in visible else 404
            assert (record.status_code, download.status_code, links.status_code) == (expected,) * 3, who
        hits = client.get("/api/v1/search", params={"q": "khai sinh"}, headers=world.as_(who)).json()["hits"]
        assert {hit["id"] for hit in hits} == visible, who
    assert client.get(f"/api/v1/dossiers/{CODE}", headers=world.as_("reader@xa-long-ho")).status_code == 404
    assert client.get(f"/api/v1/dossiers/{CODE}", headers=world.as_("reader@xa-tra-on")).status_code == 200
    other = client.put(
        f"/api/v1/documents/{ours}/procedure",
        json={"procedure": "khai-sinh"},
        headers=world.as_("reviewer@xa-long-ho"),
    )
    assert other.status_code == 404
    record = client.get(f"/api/v1/documents/{ours}", headers=world.as_("reader")).json()
    assert (record["unit"], record["received_by"]) == ("xa-tra-on", "test")


def test_uploads_belong_to_the_uploaders_unit_and_corrections_to_the_caller(world: World) -> None:
    client = world.client
    scanner = make_key(world.services, "scanner", unit="xa-tra-on", name="may-quet-01")
    response = client.post(
        "/api/v1/documents",
        files={"file": ("a.txt", b"not a scan at all", "text/plain")},
        headers=bearer(scanner),
    )
    assert response.status_code == 202, response.text
    record = client.get(f"/api/v1/documents/{response.json()['id']}", headers=world.as_("reader")).json()
    assert (record["unit"], record["received_by"]) == ("xa-tra-on", "key:may-quet-01")
    assert (
        client.get(f"/api/v1/documents/{record['id']}", headers=world.as_("reader@xa-long-ho")).status_code
        == 404
    )

    with world.services.db.unit_of_work() as session:  # a correction needs a document that has text
        session.execute(
            text("UPDATE documents SET status = :s WHERE id = :i"),
            {"s": DocumentStatus.NEEDS_REVIEW, "i": world.ours},
        )
    corrected = client.put(
        f"/api/v1/documents/{world.ours}/procedure",
        json={"procedure": "khai-sinh", "by": "Tên giả mạo"},
        headers=world.as_("reviewer@xa-tra-on"),
    )
    assert corrected.status_code == 200, corrected.text
    with world.services.db.unit_of_work() as session:
        (correction,) = CorrectionRepository(session).for_document(world.ours)
    assert correction.corrected_by == "key:reviewer-xa-tra-on"


def test_the_audit_trail_records_reads_refusals_and_changes(world: World) -> None:
    client = world.client
    client.get(f"/api/v1/documents/{world.ours}", headers=world.as_("reader@xa-tra-on"))
    client.get(f"/api/v1/documents/{world.ours}/original", headers=world.as_("reader@xa-tra-on"))
    client.get(f"/api/v1/documents/{world.ours}", headers=world.as_("reader@xa-long-ho"))  # 404
    client.get("/api/v1/search", params={"q": "khai"}, headers=world.as_("reader"))
    client.get(f"/api/v1/documents/{world.ours}", headers=world.as_("scanner"))  # 403
    trail = client.get("/api/v1/audit", params={"document": world.ours}, headers=world.as_("admin")).json()
    seen = {(e["actor"], e["action"], e["outcome"]) for e in trail["entries"]}
    assert {
        ("key:reader-xa-tra-on", "document.read", "ok"),
        ("key:reader-xa-tra-on", "document.download", "ok"),
        ("key:reader-xa-long-ho", "document.read", "document.not_found"),
    } <= seen
    assert all(e["address"] for e in trail["entries"])
    refused = client.get(
        "/api/v1/audit", params={"actor": "key:scanner-tinh"}, headers=world.as_("admin")
    ).json()
    assert [(e["action"], e["outcome"]) for e in refused["entries"]] == [("auth.refused", "auth.forbidden")]
    searches = client.get("/api/v1/audit", params={"action": "search"}, headers=world.as_("admin")).json()
    assert searches["entries"][0]["detail"]["q"] == "khai"
    by_dossier = client.get("/api/v1/audit", params={"dossier": CODE}, headers=world.as_("admin")).json()
    assert by_dossier["entries"] and all(e["dossier_code"] == CODE for e in by_dossier["entries"])
    # An admin of a unit sees its unit's trail only.
    local = client.get("/api/v1/audit", headers=world.as_("admin@xa-long-ho")).json()["entries"]
    assert local and all(e["unit"] == "xa-long-ho" for e in local)


def _sohoa(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_WORKERS": "1"}
    env.pop("SOHOA_BROKER_URL", None)
    env.pop("SOHOA_DATABASE_URL", None)
    return subprocess.run(
        [SOHOA, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_operator_commands_make_keys_and_accounts_that_the_api_accepts(settings: Settings) -> None:
    first = _sohoa(settings, "keys", "create", "--role", "reader", "--unit", "xa-tra-on")
    assert first.returncode == 2 and "unit.unknown" in first.stderr and "sohoa units create" in first.stderr
    assert _sohoa(settings, "units", "create", "xa-tra-on", "--name", "UBND xã Trà Ôn").returncode == 0
    made = _sohoa(settings, "keys", "create", "--role", "reader", "--name", "dvc-tinh", "--unit", "xa-tra-on")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("sohoa_") and len(key) > 40
    weak = _sohoa(settings, "users", "create", "hoa", "--role", "reviewer", stdin="short\n")
    assert weak.returncode == 2 and "identity.weak_password" in weak.stderr
    user = _sohoa(settings, "users", "create", "hoa", "--role", "reviewer", stdin="mật-khẩu-dài-đủ\n")
    assert user.returncode == 0, user.stderr
    listed = _sohoa(settings, "keys", "list")
    assert "dvc-tinh" in listed.stdout and key not in listed.stdout

    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/search?q=x", headers=bearer(key)).status_code == 200
        basic = base64.b64encode("hoa:mật-khẩu-dài-đủ".encode()).decode()
        assert (
            client.get("/api/v1/search?q=x", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        )
        wrong = base64.b64encode(b"hoa:wrong-password").decode()
        assert (
            client.get("/api/v1/search?q=x", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        )
        assert _sohoa(settings, "keys", "revoke", "dvc-tinh").returncode == 0
        assert client.get("/api/v1/search?q=x", headers=bearer(key)).status_code == 401
        assert _sohoa(settings, "users", "disable", "hoa").returncode == 0
        basic_again = {"Authorization": f"Basic {basic}"}
        assert client.get("/api/v1/search?q=x", headers=basic_again).status_code == 401

    shown = _sohoa(settings, "audit", "show", "--json")
    actions = [line for line in shown.stdout.splitlines() if line]
    assert any('"key.create"' in line for line in actions) and any(
        '"key.disable"' in line for line in actions
    )


def test_audit_verify_catches_an_edited_or_deleted_entry(settings: Settings, services: Services) -> None:
    make_user(services, "an", "admin", "mật-khẩu-dài-đủ")
    key = make_key(services, "reader")
    with TestClient(create_app(settings)) as client:
        for n in range(5):
            client.get("/api/v1/search", params={"q": f"từ {n}"}, headers=bearer(key))
    intact = _sohoa(settings, "audit", "verify")
    assert intact.returncode == 0 and "5 entries" in intact.stdout, intact.stdout + intact.stderr

    with services.db.unit_of_work() as session:
        session.execute(text("UPDATE audit_entries SET actor = 'key:someone-else' WHERE seq = 2"))
    edited = _sohoa(settings, "audit", "verify")
    assert edited.returncode == 1 and "entry 2: edited" in edited.stderr

    with services.db.unit_of_work() as session:
        session.execute(text("UPDATE audit_entries SET actor = 'key:reader-tinh' WHERE seq = 2"))
    assert _sohoa(settings, "audit", "verify").returncode == 0  # put back: the hash matches again
    with services.db.unit_of_work() as session:
        session.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
    deleted = _sohoa(settings, "audit", "verify")
    assert (
        deleted.returncode == 1
        and "entry 3: missing" in deleted.stderr
        and "entry 4: relinked" in deleted.stderr
    )


def test_serving_with_no_identity_says_how_to_make_the_first_admin(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli_access import hint_first_admin
    from ingest.services import build_services

    hint_first_admin(build_services(settings))
    assert "sohoa users create admin --role admin" in capsys.readouterr().err
    services = build_services(settings)
    make_key(services, "admin")
    hint_first_admin(services)
    assert "sohoa users create" not in capsys.readouterr().err


def test_a_batch_of_files_is_followed_by_its_sender_and_its_unit(world: World) -> None:
    client = world.client
    scanner = make_key(world.services, "scanner", unit="xa-tra-on", name="quay-7")
    files = [
        ("files", ("trang-1.txt", b"first page that is no scan", "text/plain")),
        ("files", ("trang-1.txt", b"same name, other bytes", "text/plain")),
        ("files", ("rong.jpg", b"", "image/jpeg")),
    ]
    sent = client.post("/api/v1/batches", files=files, data={"name": "quầy 7"}, headers=bearer(scanner))
    assert sent.status_code == 202, sent.text
    batch = sent.json()
    assert batch["name"] == "quầy 7" and batch["unit"] == "xa-tra-on"
    assert [f["source"] for f in batch["files"]] == ["trang-1.txt", "trang-1.txt (2)", "rong.jpg"]
    refused = batch["files"][2]
    assert refused["document_id"] is None and refused["error_code"] == "input.empty"
    deadline = time.monotonic() + 120
    while not batch["finished"]:
        assert time.monotonic() < deadline, batch
        time.sleep(0.3)
        batch = client.get(f"/api/v1/batches/{batch['id']}", headers=bearer(scanner)).json()
    assert batch["counts"] == {"failed": 2, "refused": 1}
    assert {f["error_code"] for f in batch["files"][:2]} == {"input.unsupported"}
    path = f"/api/v1/batches/{batch['id']}"
    assert client.get(path, headers=world.as_("scanner")).status_code == 404  # another scanner's batch
    assert client.get(path, headers=world.as_("reader@xa-long-ho")).status_code == 404
    assert client.get(path, headers=world.as_("reader@xa-tra-on")).status_code == 200
    assert client.get(path, headers=world.as_("reader")).status_code == 200
