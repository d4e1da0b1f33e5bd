"""GET /metrics: document counts from the metadata DB (SQLite and PostgreSQL), request latency under route
templates, who may read it, and a database that does not answer (503)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import text

from api.app import create_app
from ingest.intake import intake
from ingest.services import Services
from ingest.settings import Settings
from storage.models import Document, DocumentStatus, utcnow
from tests.identities import bearer, make_key

TOKEN = "scrape-me-" + "0123456789abcdef"
DOCUMENT_ROUTE = "/api/v1/documents/{document_id}"


@dataclass(frozen=True)
class State:
    """How a test document is left: status and what the pipeline would have recorded."""

    status: DocumentStatus
    pages: int | None = None
    confidence: float | None = None
    finished_minutes_ago: float | None = None
    error_code: str | None = None


STATES = [
    State(DocumentStatus.DONE, pages=3, confidence=0.92, finished_minutes_ago=2),
    State(DocumentStatus.NEEDS_REVIEW, pages=2, confidence=0.45, finished_minutes_ago=5),
    State(DocumentStatus.DONE, pages=7, confidence=0.97, finished_minutes_ago=30),  # outside the window
    State(DocumentStatus.FAILED, error_code="input.unreadable", finished_minutes_ago=1, pages=4),
    State(DocumentStatus.FAILED, error_code="ocr.timeout", finished_minutes_ago=1),
    State(DocumentStatus.PROCESSING),
    State(DocumentStatus.QUEUED),
    State(DocumentStatus.QUEUED),
]


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (40 + seed, 40), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _store(services: Services, states: list[State]) -> list[str]:
    """Take in one small scan per state and leave its row as the pipeline would have (no OCR run)."""
    ids = [intake(services, _png(i), source=f"scan-{i}.png").document_id for i in range(len(states))]
    with services.db.unit_of_work() as session:
        for document_id, state in zip(ids, states, strict=True):
            document = session.get(Document, document_id)
            assert document is not None
            document.status = state.status.value
            document.page_count = state.pages
            document.mean_ocr_confidence = state.confidence
            document.error_code = state.error_code
            if state.finished_minutes_ago is not None:
                document.finished_at = utcnow() - timedelta(minutes=state.finished_minutes_ago)
    return ids


def scrape(client: TestClient, token: str = TOKEN) -> dict[str, list[Sample]]:
    """The scraped samples by sample name (`x_bucket`, `x_count`, … for histograms)."""
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    matching = [
        s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matching) == 1, f"{name}{labels}: {matching}"
    return matching[0]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}))) as client:
        yield client


def services_of(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def check_document_metrics(client: TestClient) -> None:
    _store(services_of(client), STATES)
    samples = scrape(client)
    expected = {"queued": 2, "processing": 1, "done": 2, "needs_review": 1, "failed": 2}
    for status, count in expected.items():
        assert value(samples, "sohoa_documents", status=status) == count
    assert value(samples, "sohoa_queue_depth") == 3
    assert value(samples, "sohoa_failed_documents", error_code="input.unreadable") == 1
    assert value(samples, "sohoa_failed_documents", error_code="ocr.timeout") == 1
    # 3 + 2 pages finished digitized in the last 10 minutes; the failed one's 4 and the old 7 do not count.
    assert value(samples, "sohoa_pages_digitized_per_minute") == pytest.approx(0.5)
    buckets = {s.labels["le"]: s.value for s in samples["sohoa_document_ocr_confidence_bucket"]}
    assert buckets == {
        "0.3": 0,
        "0.5": 1,
        "0.6": 1,
        "0.7": 1,
        "0.8": 1,
        "0.9": 1,
        "0.95": 2,
        "1.0": 3,
        "+Inf": 3,
    }
    assert value(samples, "sohoa_document_ocr_confidence_count") == 3
    assert value(samples, "sohoa_document_ocr_confidence_sum") == pytest.approx(0.92 + 0.45 + 0.97)


def test_documents_in_every_state_are_counted_from_the_database(client: TestClient) -> None:
    check_document_metrics(client)


def test_the_same_counts_on_postgresql(settings: Settings, pg_database: str) -> None:
    on_postgres = settings.model_copy(update={"metrics_token": TOKEN, "database_url": pg_database})
    with TestClient(create_app(on_postgres)) as client:
        check_document_metrics(client)


def test_request_latency_is_labelled_by_route_template(client: TestClient) -> None:
    services = services_of(client)
    (document_id,) = _store(services, [State(DocumentStatus.QUEUED)])
    reader = bearer(make_key(services, "reader"))
    assert client.get(f"/api/v1/documents/{document_id}", headers=reader).status_code == 200
    assert client.get("/api/v1/documents/00000000000000000000000000000000", headers=reader).status_code == 404
    assert client.get("/made/up/path/4242").status_code == 404
    samples = scrape(client)
    latency = "sohoa_http_request_duration_seconds_count"
    assert value(samples, latency, route=DOCUMENT_ROUTE, method="GET", status="2xx") == 1
    assert value(samples, latency, route=DOCUMENT_ROUTE, method="GET", status="4xx") == 1
    assert value(samples, latency, route="unmatched", method="GET", status="4xx") == 1
    routes = {s.labels["route"] for s in samples[latency]}
    assert not any(document_id in route or "4242" in route for route in routes), routes
    assert value(samples, "sohoa_http_request_duration_seconds_sum", route=DOCUMENT_ROUTE, status="2xx") > 0


def test_only_the_metrics_token_or_an_admin_may_read(client: TestClient) -> None:
    services = services_of(client)
    admin, reader = make_key(services, "admin"), make_key(services, "reader")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("not-the-token-at-all")).status_code == 401
    refused = client.get("/metrics", headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.forbidden"
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 200
    assert client.get("/metrics", headers=bearer(admin)).status_code == 200
    assert client.get("/healthz").status_code == 200  # stays open
    with services.db.unit_of_work() as session:
        actions = session.execute(text("SELECT actor, action FROM audit_entries ORDER BY seq")).all()
    assert [tuple(row) for row in actions] == [("key:reader-tinh", "auth.refused")]  # scrapes are not audited


def test_without_a_token_set_only_admins_may_read(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        admin = make_key(services_of(client), "admin")
        assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 401
        assert client.get("/metrics", headers=bearer(admin)).status_code == 200


def test_a_database_that_does_not_answer_gives_503_then_recovers(client: TestClient) -> None:
    services = services_of(client)
    with services.db.unit_of_work() as session:
        session.execute(text("ALTER TABLE documents RENAME TO documents_away"))
    broken = client.get("/metrics", headers=bearer(TOKEN))
    assert broken.status_code == 503
    assert broken.json()["error"]["code"] == "storage.unavailable"
    with services.db.unit_of_work() as session:
        session.execute(text("ALTER TABLE documents_away RENAME TO documents"))
    assert value(scrape(client), "sohoa_queue_depth") == 0


def test_two_apps_in_one_process_keep_their_own_registries(settings: Settings, tmp_path: Path) -> None:
    other = settings.model_copy(update={"data_dir": tmp_path / "other", "metrics_token": TOKEN})
    with (
        TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}))) as first,
        TestClient(create_app(other)) as second,
    ):
        first.get("/healthz")
        first.get("/healthz")
        second.get("/healthz")
        latency = "sohoa_http_request_duration_seconds_count"
        assert value(scrape(first), latency, route="/healthz") == 2
        assert value(scrape(second), latency, route="/healthz") == 1
