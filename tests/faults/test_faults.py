"""Fault tests on real servers: workers killed, S3 gone for 20 s, PostgreSQL restarted, many clients at once.

Each test runs real `sohoa worker` processes against PostgreSQL, Redis and SeaweedFS, breaks something in
the middle of the work, and then checks that every document ended exactly once: status, attempts, page rows
and the objects in the bucket.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select, update

from examples.synth import make_corpus
from ingest.celery_app import SWEEP, create_celery, enqueue
from ingest.intake import intake
from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import load_settings
from storage.models import Document, DocumentStatus, Page, utcnow
from storage.repositories import DocumentRepository
from tests.fixtures_pg import PrivateServer
from tests.identities import bearer, make_key
from tests.production import SOHOA, PrivateRedis, Workers, rabbitmqctl, settings_env, wait_until_finished
from tests.serving import sohoa_serve

pytestmark = pytest.mark.faults

DERIVED = {"original", "searchable.pdf", "text.txt", "words.tsv"}


def _scans(count: int, seed: int) -> list[bytes]:
    """Distinct one-page JPEG scans (300 dpi A4, mildly degraded)."""
    files = []
    for page in make_corpus(count, seed=seed, dpi=200):
        buffer = io.BytesIO()
        page.image.save(buffer, format="JPEG", quality=85, dpi=(200, 200))
        files.append(buffer.getvalue())
    return files


def _multipage_tiff(pages: int, seed: int) -> bytes:
    images = [page.image.convert("L") for page in make_corpus(pages, seed=seed, dpi=300)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], dpi=(300, 300))
    return buffer.getvalue()


def _object_names(services: Services, document: Document) -> set[str]:
    """The objects stored for a document, by file name (original.* counted as "original")."""
    prefix = document.original_key.rsplit("/", 1)[0] + "/"
    names = {key.rsplit("/", 1)[1] for key in services.store.keys(prefix)}
    return {"original" if name.startswith("original.") else name for name in names}


def _assert_done_once(services: Services, ids: list[str]) -> None:
    """Every document done or needing review, with its pages once and exactly its four objects."""
    with services.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == len(ids)
        repository = DocumentRepository(session)
        for document_id in ids:
            document = repository.get(document_id)
            assert document is not None
            assert document.status in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW), (
                document_id,
                document.status,
                document.error_code,
                document.error_message,
            )
            pages = session.scalar(
                select(func.count()).select_from(Page).where(Page.document_id == document_id)
            )
            assert pages == document.page_count
            assert _object_names(services, document) == DERIVED
            assert services.store.sha256_of(document.original_key) == document.sha256
    stored = [*services.store.keys("inbox/"), *services.store.keys("dossiers/")]
    assert len(stored) == len(DERIVED) * len(ids), "no object left over from an interrupted attempt"


def _wait_for_status(services: Services, document_id: str, status: DocumentStatus, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.db.unit_of_work() as session:
            document = DocumentRepository(session).get(document_id)
            if document is not None and document.status == status:
                return
        time.sleep(0.05)
    raise AssertionError(f"{document_id} never reached {status}")


def _cleaned_up(services: Services, prefix: str, timeout: float = 30.0) -> bool:
    """Whether the store holds nothing under `prefix` within `timeout`: the finishing task deletes the page
    results right after it records the document, so a test that sees the status may look a moment early."""
    deadline = time.monotonic() + timeout
    while list(services.store.keys(prefix)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.parametrize("fan_out", [False, True], ids=["one-task", "page-tasks"])
def test_worker_killed_mid_page_redoes_the_page_and_finishes_once(
    production_services: Services, workers: Workers, fan_out: bool
) -> None:
    workers.settings = workers.settings.model_copy(update={"fan_out_min_pages": 2 if fan_out else 0})
    worker = workers.start(concurrency=1)
    app = create_celery(production_services.settings)
    document_id = intake(
        production_services, _multipage_tiff(3, seed=11), source="three-pages.tif"
    ).document_id
    enqueue(app, document_id)
    _wait_for_status(production_services, document_id, DocumentStatus.PROCESSING, timeout=60)
    time.sleep(1.5)  # inside the first or second page's OCR
    children = workers.children(worker)
    assert children, "the worker has no pool process"
    for pid in children:
        os.kill(pid, signal.SIGKILL)

    statuses = wait_until_finished(production_services, [document_id], timeout=240)
    assert statuses[document_id] in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW), workers.log()
    with production_services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id)
        assert document is not None and document.page_count == 3
        # One task: the killed task is redelivered and claims again. Page tasks: only the page is redone.
        assert document.attempts == (1 if fan_out else 2)
    assert "signal 9" in workers.log(tail=None), "the pool process was really killed"
    _assert_done_once(production_services, [document_id])
    assert _cleaned_up(production_services, "work/"), "page results are cleaned up"


def test_long_document_is_read_page_by_page_by_several_workers(
    production_services: Services, workers: Workers, tmp_path: Path
) -> None:
    """A 6-page document split into page tasks gives the same pages as the one-task path."""
    workers.settings = workers.settings.model_copy(update={"fan_out_min_pages": 4})
    workers.start(concurrency=2)
    data = _multipage_tiff(6, seed=21)
    app = create_celery(production_services.settings)
    document_id = intake(production_services, data, source="six-pages.tif").document_id
    enqueue(app, document_id)
    wait_until_finished(production_services, [document_id], timeout=300)
    _assert_done_once(production_services, [document_id])
    log = workers.log(tail=None)
    assert log.count("sohoa.process_page") >= 6 and "sohoa.finish_document" in log

    direct_settings = load_settings(data_dir=tmp_path / "direct", workers=1)
    direct = build_services(direct_settings)
    try:
        direct_id = intake(direct, data, source="six-pages.tif").document_id
        process_document(direct, direct_id)
        with direct.db.unit_of_work() as one, production_services.db.unit_of_work() as other:
            expected = DocumentRepository(one).get(direct_id, with_pages=True)
            fanned = DocumentRepository(other).get(document_id, with_pages=True)
            assert expected is not None and fanned is not None
            assert [p.text for p in fanned.pages] == [p.text for p in expected.pages]
            assert fanned.procedure_id == expected.procedure_id and fanned.fields == expected.fields
    finally:
        direct.close()


def _batch_under_way(services: Services, workers: Workers, *, label: str, seed: int) -> list[str]:
    """Two worker processes busy with 8 queued scans: the moment to break something."""
    workers.start(concurrency=2)
    app = create_celery(workers.settings)
    ids = [
        intake(services, data, source=f"{label}-{i}.jpg").document_id
        for i, data in enumerate(_scans(8, seed))
    ]
    for document_id in ids:
        enqueue(app, document_id)
    _wait_for_status(services, ids[0], DocumentStatus.PROCESSING, timeout=60)
    return ids


def _recorded_once(workers: Workers, ids: list[str]) -> None:
    """Each document was recorded by exactly one task, across every worker's log (dead ones' included)."""
    logs = "".join(workers.log(i, tail=None) for i in range(len(workers.processes)))
    counts = {document_id: logs.count(f"document {document_id} recorded:") for document_id in ids}
    assert set(counts.values()) == {1}, counts


def _held_by(services: Services, process: subprocess.Popen[bytes], ids: list[str]) -> list[str]:
    """The documents a worker (its main process or pool) is processing now."""
    with services.db.unit_of_work() as session:
        rows = session.execute(
            select(Document.id, Document.claimed_process).where(
                Document.id.in_(ids), Document.status == DocumentStatus.PROCESSING
            )
        ).all()
    pids = {process.pid, *Workers.children(process)}
    return [i for i, holder in rows if holder and int(holder.rsplit(":", 1)[1]) in pids]


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_whole_worker_killed_the_next_worker_finishes_everything_once_within_two_minutes(
    request: pytest.FixtureRequest, production_services: Services, workers: Workers, broker: str
) -> None:
    """The worker's main process and its pool die at once (a machine losing power): nothing hands the
    tasks back. The dead worker's leases stop being renewed; the next worker's sweep (or, over RabbitMQ,
    the broker handing the messages back) gives them to it. Default lease and sweep settings."""
    if broker == "rabbitmq":
        url = request.getfixturevalue("rabbitmq_broker_url")
        workers.settings = workers.settings.model_copy(update={"broker_url": url})
    settings = workers.settings
    assert (settings.lease_seconds, settings.sweep_interval_seconds) == (60.0, 15.0), "the defaults"
    app = create_celery(settings)
    app.control.purge()
    first = workers.start(concurrency=2)
    ids = [
        intake(production_services, data, source=f"power-{broker}-{i}.jpg").document_id
        for i, data in enumerate(_scans(8, seed=31))
    ]
    for document_id in ids:
        enqueue(app, document_id)
    deadline = time.monotonic() + 120
    while len(held := _held_by(production_services, first, ids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(held) == 2, f"the first worker never held two documents: {workers.log()}"
    time.sleep(1.0)  # inside their OCR
    os.killpg(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    first.wait(timeout=10)

    workers.start(concurrency=2)
    statuses = wait_until_finished(production_services, ids, timeout=120 - (time.monotonic() - killed))
    recovered = time.monotonic() - killed
    print(
        f"{broker}: {len(held)} documents of the dead worker; all finished {recovered:.0f} s after the kill"
    )
    assert not [i for i, s in statuses.items() if s == DocumentStatus.FAILED], workers.log(1)
    _assert_done_once(production_services, ids)
    _recorded_once(workers, ids)


@pytest.mark.parametrize("private_redis", [True, False], ids=["aof", "no-aof"], indirect=True)
def test_redis_restarted_mid_batch_every_document_finishes_once(
    production_services: Services, workers: Workers, private_redis: PrivateRedis
) -> None:
    """The broker dies (SIGKILL) with two documents in OCR and six queued, and comes back 5 s later.
    With AOF the queue comes back with it; without, the messages are gone and the sweep, seeing empty
    queues, sends the queued documents again once they waited a lease."""
    workers.settings = workers.settings.model_copy(update={"broker_url": private_redis.url})
    ids = _batch_under_way(production_services, workers, label=f"redis-aof-{private_redis.aof}", seed=5)
    private_redis.kill()
    killed = time.monotonic()
    time.sleep(5)
    private_redis.start()
    _assert_none_failed(production_services, workers, ids)
    print(f"redis aof={private_redis.aof}: all finished {time.monotonic() - killed:.0f} s after the kill")
    _assert_done_once(production_services, ids)
    _recorded_once(workers, ids)


def test_rabbitmq_drops_every_connection_mid_batch_every_document_finishes_once(
    production_services: Services, workers: Workers, fresh_rabbitmq_vhost: str
) -> None:
    """What a RabbitMQ restart does to its clients: every connection of the vhost closed at once, the
    unacknowledged messages handed back (the durable queues keep the rest)."""
    workers.settings = workers.settings.model_copy(update={"broker_url": fresh_rabbitmq_vhost})
    ids = _batch_under_way(production_services, workers, label="rabbit-drop", seed=6)
    vhost = unquote(urlsplit(fresh_rabbitmq_vhost).path.lstrip("/"))
    rabbitmqctl("close_all_connections", "-p", vhost, "sohoa fault test: broker restart")
    _assert_none_failed(production_services, workers, ids)
    _assert_done_once(production_services, ids)
    _recorded_once(workers, ids)


def test_s3_down_longer_than_the_retry_budget_fails_coded_and_retry_sends_them_back(
    production_services: Services, workers: Workers, s3_server: Any
) -> None:
    """S3 stays away past `retry_max_seconds`: documents fail with `storage.unavailable` (none lost, none
    stuck); once it is back, `sohoa retry --failed storage` sends them back and they finish once."""
    workers.settings = workers.settings.model_copy(update={"retry_max_seconds": 8.0})
    ids = _batch_under_way(production_services, workers, label="s3-long", seed=7)
    s3_server.stop()
    try:
        statuses = wait_until_finished(production_services, ids, timeout=300)
    finally:
        s3_server.start()
    failed = [i for i, s in statuses.items() if s == DocumentStatus.FAILED]
    assert failed, "the outage outlasted the retry budget: some documents must have failed"
    with production_services.db.unit_of_work() as session:
        codes = {DocumentRepository(session).get(i).error_code for i in failed}  # type: ignore[union-attr]
    assert codes == {"storage.unavailable"}, codes

    env = {**os.environ, **settings_env(workers.settings)}
    done = subprocess.run(
        [str(SOHOA), "retry", "--failed", "storage", "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Đã gửi lại {len(failed)} tài liệu" in done.stdout, done.stdout
    refused = subprocess.run(
        [str(SOHOA), "retry", "--failed", "input.unreadable"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2 and "input.unreadable" in refused.stderr, refused.stderr
    _assert_none_failed(production_services, workers, ids)
    _assert_done_once(production_services, ids)


def test_a_pool_process_whose_first_task_finds_s3_down_retries_instead_of_crashing(
    production_services: Services, workers: Workers, s3_server: Any
) -> None:
    """A pool process builds its services at its first task; S3 down at that moment is a passing failure:
    the task retries within the budget and the document fails coded (`storage.unavailable`), never left
    queued by a task that crashed (seen under load when building services got slower)."""
    workers.settings = workers.settings.model_copy(update={"retry_max_seconds": 6.0})
    ids = [
        intake(production_services, data, source=f"first-{i}.jpg").document_id
        for i, data in enumerate(_scans(2, 5))
    ]
    s3_server.stop()
    try:
        workers.start(concurrency=1)
        app = create_celery(workers.settings)
        for document_id in ids:
            enqueue(app, document_id)
        statuses = wait_until_finished(production_services, ids, timeout=180)
    finally:
        s3_server.start()
    assert set(statuses.values()) == {DocumentStatus.FAILED}, (statuses, workers.log())
    with production_services.db.unit_of_work() as session:
        codes = {DocumentRepository(session).get(i).error_code for i in ids}  # type: ignore[union-attr]
    assert codes == {"storage.unavailable"}, codes
    assert "raised unexpected" not in workers.log(tail=None)


def test_s3_unreachable_for_20_seconds_documents_wait_and_finish(
    production_services: Services, workers: Workers, s3_server: Any
) -> None:
    ids = _batch_under_way(production_services, workers, label="s3", seed=3)
    s3_server.stop()
    try:
        time.sleep(20)
    finally:
        s3_server.start()
    _assert_none_failed(production_services, workers, ids)
    assert "waits for storage" in workers.log(tail=None), (
        "the outage was not noticed: the test proved nothing"
    )
    _assert_done_once(production_services, ids)


@pytest.mark.own_postgres
def test_postgresql_restarted_during_a_batch_loses_nothing(
    production_services: Services, workers: Workers, private_postgres: PrivateServer
) -> None:
    """The test's own PostgreSQL server is restarted (the machine's shared one stays up for other runs)."""
    assert f":{private_postgres.port}/" in (production_services.settings.database_url or "")
    ids = _batch_under_way(production_services, workers, label="pg", seed=4)
    private_postgres.restart()
    _assert_none_failed(production_services, workers, ids)
    _assert_done_once(production_services, ids)


def _assert_none_failed(services: Services, workers: Workers, ids: list[str]) -> None:
    statuses = wait_until_finished(services, ids, timeout=600)
    assert not [i for i, s in statuses.items() if s == DocumentStatus.FAILED], workers.log()


def _small_scan(number: int) -> bytes:
    """A small distinct page: a few lines of Vietnamese with the document's number."""
    image = Image.new("L", (900, 260), 250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 28)
    draw.text((30, 40), f"GIẤY BIÊN NHẬN SỐ {number:04d}", fill=10, font=font)
    draw.text((30, 120), f"Người nộp: Nguyễn Văn {number}", fill=10, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(200, 200))
    return buffer.getvalue()


def test_200_documents_from_8_clients_all_done_counts_exact(
    production_services: Services, workers: Workers, tmp_path: Path
) -> None:
    workers.start(concurrency=2)
    settings = production_services.settings
    key = make_key(production_services, "scanner", name=f"faults-{time.time_ns()}")
    with sohoa_serve(settings_env(settings), tmp_path / "api.log") as base:

        def client(number: int) -> list[str]:
            ids = []
            with httpx.Client(base_url=base, timeout=60, headers=bearer(key)) as http:
                for i in range(25):
                    n = number * 25 + i
                    response = http.post(
                        "/api/v1/documents", files={"file": (f"doc-{n}.png", _small_scan(n), "image/png")}
                    )
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["id"])
            return ids

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = [i for batch in pool.map(client, range(8)) for i in batch]
        assert len(ids) == len(set(ids)) == 200
        statuses = wait_until_finished(production_services, ids, timeout=900)
        assert sum(s != DocumentStatus.FAILED for s in statuses.values()) == 200, workers.log()
        _assert_done_once(production_services, ids)


def test_lost_message_is_resent_by_the_sweep_over_rabbitmq(
    production_services: Services, workers: Workers, rabbitmq_broker_url: str
) -> None:
    """RabbitMQ as the broker this time; a document whose message never reached it is found by the sweep."""
    rabbit = {"broker_url": rabbitmq_broker_url}
    workers.settings = workers.settings.model_copy(update=rabbit)
    app = create_celery(workers.settings)
    app.control.purge()
    document_id = intake(production_services, _scans(1, seed=9)[0], source="lost.jpg").document_id
    long_ago = utcnow() - timedelta(seconds=workers.settings.requeue_queued_after_seconds + 60)
    with production_services.db.unit_of_work() as session:
        session.execute(update(Document).where(Document.id == document_id).values(updated_at=long_ago))
    workers.start(concurrency=1)
    app.send_task(SWEEP, queue="bulk")
    statuses = wait_until_finished(production_services, [document_id], timeout=180)
    assert statuses[document_id] != DocumentStatus.FAILED, workers.log()
    assert "sweep requeued 0 stuck and 1 lost documents" in workers.log(tail=None)
    _assert_done_once(production_services, [document_id])


def test_counter_upload_is_not_starved_by_a_queued_bulk_import(
    production_services: Services, workers: Workers
) -> None:
    """30 imported documents wait on the bulk queue; a counter upload (interactive) is taken almost first."""
    app = create_celery(production_services.settings)
    bulk = [
        intake(production_services, _small_scan(n), source=f"bulk-{n}.png").document_id for n in range(30)
    ]
    for document_id in bulk:
        enqueue(app, document_id, queue="bulk")
    counter = intake(production_services, _small_scan(999), source="counter.png").document_id
    enqueue(app, counter, queue="interactive")
    workers.start(concurrency=1)
    wait_until_finished(production_services, [counter, *bulk], timeout=600)
    with production_services.db.unit_of_work() as session:
        finished = dict(session.execute(select(Document.id, Document.finished_at)).all())
    order = sorted(finished, key=lambda document_id: finished[document_id] or utcnow())
    assert order.index(counter) <= 2, f"{order.index(counter)} bulk documents went before the counter's"
