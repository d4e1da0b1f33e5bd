"""Webhooks: a test receiver checks every signature, fails on purpose, and sees the retry arrive."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from ingest.intake import Facts, intake
from ingest.services import Services, build_services
from ingest.settings import Settings
from ingest.webhooks import announce_finished, deliver_due
from storage.models import Document, Webhook, WebhookDelivery, utcnow
from tests.identities import bearer, make_key

CODE = "000.00.21.H61-251201-0201"


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent; it answers 500 to the first `fail` posts."""

    fail: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    """hook id → secret, to check signatures."""
    received: list[dict] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        payload = json.loads(body)
        secret = self.secrets.get(payload.get("hook", ""), "")
        expected = hmac.new(
            secret.encode(), headers["x-sohoa-timestamp"].encode() + b"." + body, hashlib.sha256
        )
        if not hmac.compare_digest(headers["x-sohoa-signature"], "sha256=" + expected.hexdigest()):
            self.bad_signatures += 1
            return 401
        status = 500 if len(self.answered) < self.fail else 200
        self.answered.append(status)
        if status == 200:
            self.received.append(payload)
        return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_poll_seconds": 0.2, "webhook_backoff_seconds": 0.3, "webhook_max_attempts": 3}
    )


def test_a_failed_document_is_announced_signed_and_retried_after_a_failure(
    quick: Settings, receiver: Receiver
) -> None:
    receiver.fail = 1
    with TestClient(create_app(quick)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        system = bearer(make_key(services, "reader", name="dvc-tinh"))
        scanner = bearer(make_key(services, "scanner"))
        bad = client.post("/api/v1/webhooks", json={"url": "file:///etc/passwd"}, headers=system)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "webhook.bad_url"
        created = client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["document.failed"]}, headers=system
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        receiver.secrets[hook["id"]] = hook["secret"]
        assert client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=scanner).status_code == 403
        listed = client.get("/api/v1/webhooks", headers=system).json()["hooks"]
        assert [h["id"] for h in listed] == [hook["id"]] and listed[0]["secret"] is None

        upload = client.post(
            "/api/v1/documents", files={"file": ("ghi-chu.txt", b"plain text", "text/plain")}, headers=scanner
        )
        document_id = upload.json()["id"]
        deadline = time.monotonic() + 60
        while not receiver.received:
            assert time.monotonic() < deadline, (receiver.answered, receiver.bad_signatures)
            time.sleep(0.1)
        (event,) = receiver.received
        assert event["event"] == "document.failed" and event["document"]["id"] == document_id
        assert event["document"]["error_code"] == "input.unsupported"
        assert receiver.answered == [500, 200] and receiver.bad_signatures == 0
        deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=system).json()[
            "deliveries"
        ]
        assert [(d["state"], d["attempts"], d["last_status"]) for d in deliveries] == [("delivered", 2, 200)]
        other = bearer(make_key(services, "reader", name="khac"))
        assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=other).status_code == 404
        assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=system).status_code == 204
        assert client.get("/api/v1/webhooks", headers=system).json()["hooks"] == []


def _hook(
    services: Services, url: str, *, unit: str | None = None, events: list[str] | None = None
) -> Webhook:
    hook = Webhook(
        id=f"h{time.time_ns()}", url=url, secret="s" * 40, events=events or [], owner_id="x", unit=unit
    )
    with services.db.unit_of_work() as session:
        session.add(hook)
    return hook


def test_dossier_events_wait_for_every_document_and_units_stay_apart(
    settings: Settings, receiver: Receiver
) -> None:
    services = build_services(settings)
    province = _hook(services, receiver.url)
    commune = _hook(services, receiver.url, unit="xa-long-ho")
    dossier_only = _hook(services, receiver.url, events=["dossier.done"])
    for hook in (province, commune, dossier_only):
        receiver.secrets[hook.id] = hook.secret
    from tests.identities import ensure_unit

    ensure_unit(services, "xa-tra-on")
    ids = [
        intake(
            services, f"page {n}".encode(), source=f"{n}.png", dossier=CODE, facts=Facts(unit="xa-tra-on")
        ).document_id
        for n in range(2)
    ]

    def finish(document_id: str) -> None:
        with services.db.unit_of_work() as session:
            session.execute(
                update(Document).where(Document.id == document_id).values(status="done", finished_at=utcnow())
            )
        announce_finished(services, document_id)
        announce_finished(services, document_id)  # a task run twice queues nothing twice

    finish(ids[0])
    assert deliver_due(services).delivered == 1  # province: document.done; no dossier event yet
    finish(ids[1])
    report = deliver_due(services)
    assert report.delivered == 3  # province: document.done + dossier.done; dossier_only: dossier.done
    events = [(e["hook"], e["event"]) for e in receiver.received]
    assert events.count((province.id, "document.done")) == 2
    assert (province.id, "dossier.done") in events and (dossier_only.id, "dossier.done") in events
    assert not any(hook == commune.id for hook, _ in events)
    dossier = next(e for e in receiver.received if e["event"] == "dossier.done")
    assert dossier["dossier"] == {"code": CODE, "documents": 2, "statuses": {"done": 2}, "unit": "xa-tra-on"}
    services.close()


def test_a_receiver_that_stays_down_is_given_up_after_the_last_attempt(quick: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/gone"  # nothing listens once closed
    services = build_services(quick.model_copy(update={"webhook_backoff_seconds": 0.01}))
    hook = _hook(services, dead)
    document_id = intake(services, b"lonely page", source="p.png").document_id
    with services.db.unit_of_work() as session:
        session.execute(
            update(Document).where(Document.id == document_id).values(status="failed", finished_at=utcnow())
        )
    assert announce_finished(services, document_id) == 1
    for _ in range(3):
        time.sleep(0.05)
        deliver_due(services)
    with services.db.unit_of_work() as session:
        delivery = session.scalars(select(WebhookDelivery).where(WebhookDelivery.hook_id == hook.id)).one()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 3, None)
        assert "ConnectError" in (delivery.last_error or "")
    assert deliver_due(services).delivered == 0  # given up: not sent again
    services.close()
