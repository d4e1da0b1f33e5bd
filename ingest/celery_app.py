"""Celery wiring for production mode: the app, its queues, the thin tasks and the periodic sweep.

Tasks take ids and call the same functions the embedded pool calls. JSON only, late acks, a task whose
worker dies is redelivered (`task_reject_on_worker_lost`), one prefetched task per worker process.
Unreachable storage or database → the task is retried with exponential backoff and jitter for up to
`retry_max_seconds`; bad input never is (it fails with a code at once). Two queues: `interactive` for
counter uploads through the API and `bulk` for imports, so a 50,000-page import does not starve the counter
(workers take from both in turn; `sohoa worker --queues interactive` dedicates some to the counter).
Services are built once per worker process, on its first task. Tasks are not `shared`: each app's tasks close
over that app's settings; Celery would otherwise register them into every app made later in the process.

Every worker also sweeps (`Sweeper`, on its main process's timer, every `sweep_interval_seconds`): a
document or page whose worker machine died is resent once its lease lapses (`lease_seconds`), so nothing
waits for the broker's visibility timeout. That timeout (Redis) is set above the longest a task can be
held — its time limit plus the longest retry wait — so a live worker's long page is never delivered twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import timedelta
from typing import Any, ClassVar, Literal

from celery import Celery, Task, bootsteps
from celery.exceptions import MaxRetriesExceededError
from celery.signals import worker_process_init
from kombu import Queue
from kombu.exceptions import ChannelError

from ingest import errors
from ingest.lease import this_process
from ingest.pagework import finish_fanned_out, process_one_page, start_fan_out
from ingest.pipeline import give_up_waiting, process_document
from ingest.retry import backoff_seconds, retries_within
from ingest.services import Services, build_services
from ingest.settings import Settings
from ingest.sweep import SweepResult, sweep
from storage.db import Database, create_database
from storage.models import DocumentStatus, utcnow
from storage.repositories import DocumentRepository, LeaseRepository

log = logging.getLogger(__name__)

PROCESS_DOCUMENT = "sohoa.process_document"
PROCESS_PAGE = "sohoa.process_page"
FINISH_DOCUMENT = "sohoa.finish_document"
RETRAIN_IF_DUE = "sohoa.retrain_if_due"
SWEEP = "sohoa.sweep"
QueueName = Literal["interactive", "bulk"]
QUEUES: tuple[QueueName, ...] = ("interactive", "bulk")


@worker_process_init.connect
def _one_thread_per_process(**_: object) -> None:
    """Celery's processes are the parallelism: tesseract and OpenCV must not each start a thread per core."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2

    cv2.setNumThreads(1)


def create_celery(settings: Settings) -> Celery:
    """A configured Celery app with sohoa's tasks registered."""
    app = Celery("sohoa", broker=settings.broker_url, backend=settings.result_backend, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_proc_alive_timeout=120,  # a new pool process builds its services before it says it is up
        task_time_limit=settings.document_timeout_seconds,
        task_soft_time_limit=max(settings.document_timeout_seconds - 30, 1),
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="bulk",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout(settings)},
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": settings.sweep_interval_seconds,
                "options": {"queue": "bulk"},
            }
        },
    )
    services: list[Services] = []
    max_retries = retries_within(settings.retry_max_seconds, cap=settings.retry_backoff_max_seconds)

    def worker_services() -> Services:
        """This pool process's services, built by its first task. Storage or the database unreachable at
        that moment is a passing failure like any other (the task retries), not a task that crashes."""
        if not services:
            try:
                services.append(build_services(settings))
            except Exception as exc:
                errors.raise_if_transient(exc)
                raise
        return services[0]

    def warm_up(**_: object) -> None:
        """A new pool process builds its services at once, while storage is most likely up; if it cannot,
        its first task tries again (and retries like any passing failure)."""
        try:
            worker_services()
        except Exception:
            log.warning("pool process could not build its services yet; its first task will retry")

    worker_process_init.connect(warm_up, weak=False)

    def give_up(document_id: str, exc: errors.TransientError) -> str:
        """Fail the document `storage.unavailable`; with no services (storage was down from the start), in
        the database alone (no webhook event then)."""
        try:
            return give_up_waiting(worker_services(), document_id, exc).value
        except errors.TransientError:
            return fail_in_database(settings, document_id, exc).value

    def retry_or_fail(task: Task, document_id: str, exc: errors.TransientError) -> str:
        """Retry the task later (backoff with jitter); after `retry_max_seconds` fail the document."""
        if task.request.retries >= max_retries:  # `task.retry(exc=…)` would re-raise exc: fail it here
            return give_up(document_id, exc)
        countdown = backoff_seconds(task.request.retries, cap=settings.retry_backoff_max_seconds)
        with contextlib.suppress(errors.TransientError):  # no services yet: nothing to hold, retry anyway
            _hold_for_retry(worker_services(), document_id, task.request.id, countdown)
        try:
            raise task.retry(exc=exc, countdown=countdown, max_retries=max_retries)
        except MaxRetriesExceededError:
            return give_up(document_id, exc)

    @app.task(bind=True, name=PROCESS_DOCUMENT, ignore_result=settings.result_backend is None, shared=False)
    def process_document_task(task: Task, document_id: str) -> str:
        """Thin task: one document, split into page tasks when long; retried while storage is unreachable."""
        queue = _queue_of(task)
        try:
            fanned = start_fan_out(
                worker_services(),
                document_id,
                task.request.id,
                send_page=lambda number: app.send_task(PROCESS_PAGE, args=[document_id, number], queue=queue),
                send_finish=lambda: app.send_task(FINISH_DOCUMENT, args=[document_id], queue=queue),
            )
            if fanned is not None:
                return fanned.value
            return process_document(worker_services(), document_id, lease=task.request.id).value
        except errors.TransientError as exc:
            return retry_or_fail(task, document_id, exc)

    @app.task(
        bind=True,
        name=PROCESS_PAGE,
        ignore_result=True,
        shared=False,
        time_limit=settings.page_timeout_seconds,
        soft_time_limit=max(settings.page_timeout_seconds - 30, 1),
    )
    def process_page_task(task: Task, document_id: str, number: int) -> str:
        """Thin task: read one page of a fanned-out document; the last page sends the finishing task."""
        try:
            if process_one_page(worker_services(), document_id, number, task.request.id):
                app.send_task(FINISH_DOCUMENT, args=[document_id], queue=_queue_of(task))
            return "read"
        except errors.TransientError as exc:
            return retry_or_fail(task, document_id, exc)

    @app.task(bind=True, name=FINISH_DOCUMENT, ignore_result=True, shared=False)
    def finish_document_task(task: Task, document_id: str) -> str:
        """Thin task: put a fanned-out document's pages together and record it (no-op once recorded)."""
        try:
            return finish_fanned_out(worker_services(), document_id, task.request.id).value
        except errors.TransientError as exc:
            return retry_or_fail(task, document_id, exc)

    @app.task(name=RETRAIN_IF_DUE, ignore_result=True, shared=False)
    def retrain_if_due_task() -> int:
        """Retrain the learned model if enough confirmations came in; returns the examples trained on."""
        from ingest.review import retrain_if_due

        report = retrain_if_due(worker_services())
        return report.examples if report else 0

    @app.task(name=SWEEP, ignore_result=True, shared=False)
    def sweep_task() -> int:
        """Send documents stuck in processing or queued too long to the workers again (`sohoa beat`)."""
        return sweep_and_resend(app, worker_services().db, settings).count

    app.steps["consumer"].add(_sweeper_step(settings))
    return app


def fail_in_database(settings: Settings, document_id: str, exc: errors.TransientError) -> DocumentStatus:
    """`storage.unavailable` recorded with a connection of its own, for a process that has no services."""
    database = create_database(settings.effective_database_url, pooled=False)
    try:
        with database.unit_of_work() as session:
            document = DocumentRepository(session).get_for_update(document_id)
            if document is not None and not DocumentStatus(document.status).finished:
                document.status = DocumentStatus.FAILED
                document.error_code = "storage.unavailable"
                document.error_message = (
                    f"storage unreachable for {settings.retry_max_seconds:.0f} s: {exc.message}"
                )
                document.finished_at = utcnow()
    finally:
        database.dispose()
    log.info("document %s failed: storage.unavailable (recorded without services)", document_id)
    return DocumentStatus.FAILED


def visibility_timeout(settings: Settings) -> float:
    """Redis redelivers a message not acknowledged this long after it was taken: longer than any task may
    run plus the longest retry wait, so a live worker's task is never handed to a second one."""
    longest = max(settings.document_timeout_seconds, settings.page_timeout_seconds)
    return longest + settings.retry_backoff_max_seconds + 300


def _hold_for_retry(services: Services, document_id: str, task_id: str, countdown: float) -> None:
    """Keep the lease for the retry (which may run in another process); best effort, storage may be down."""
    until = utcnow() + timedelta(seconds=countdown)
    try:
        with services.db.unit_of_work() as session:
            LeaseRepository(session).release_for_retry(document_id, task_id, this_process(), until)
    except Exception as exc:
        log.info("document %s: lease not kept for its retry (%s); the sweep resends it", document_id, exc)


def broker_is_empty(app: Celery) -> bool:
    """True when sohoa's queues hold no message (a broker restarted without persistence forgot them);
    False when there are messages or the broker cannot be asked."""
    try:
        with app.connection_for_write() as connection:
            channel: Any = connection.default_channel
            for name in QUEUES:
                try:
                    if channel.queue_declare(queue=name, passive=True).message_count:
                        return False
                except ChannelError:  # the queue does not exist (yet): nothing in it
                    channel = connection.channel()
            return True
    except Exception as exc:
        log.info("could not ask the broker how many messages wait: %s", exc)
        return False


def sweep_and_resend(app: Celery, db: Database, settings: Settings) -> SweepResult:
    """One sweep: find what was left behind and send it to the workers again."""
    found = sweep(db, settings, broker_empty=broker_is_empty(app))
    for document_id in found.all:
        enqueue(app, document_id, queue="bulk")
    for document_id, number in found.stuck_pages:
        app.send_task(PROCESS_PAGE, args=[document_id, number], queue="bulk")
    for document_id in found.unfinished:
        app.send_task(FINISH_DOCUMENT, args=[document_id], queue="bulk")
    if found.count:
        log.warning(
            "sweep requeued %d stuck and %d lost documents, %d pages, %d to finish",
            len(found.stuck_processing),
            len(found.lost_queued),
            len(found.stuck_pages),
            len(found.unfinished),
        )
    return found


def _sweeper_step(settings: Settings) -> type[bootsteps.StartStopStep]:
    """A consumer bootstep that sweeps on the worker's own timer, in its main process and thread.

    Not a thread: the prefork pool forks new pool processes at any time (one was killed, say), and a fork
    while another thread holds a lock (an import, a library's cache) leaves the child waiting for ever.
    A sweep is a few indexed queries, so the main loop is held up for milliseconds.
    """

    class Sweeper(bootsteps.StartStopStep):
        """Sweeps every `sweep_interval_seconds`."""

        requires: ClassVar[set[str]] = {"celery.worker.consumer.tasks:Tasks"}

        def __init__(self, consumer: Any, **kwargs: Any) -> None:
            super().__init__(consumer, **kwargs)
            self._entry: Any = None
            self._db: Database | None = None

        def start(self, consumer: Any) -> None:
            app = consumer.app
            # No pooled connection: pool processes forked later must not inherit one.
            self._db = create_database(settings.effective_database_url, create_tables=False, pooled=False)
            self._entry = consumer.timer.call_repeatedly(
                settings.sweep_interval_seconds, self._sweep, args=(app,), priority=10
            )

        def stop(self, consumer: Any) -> None:
            if self._entry is not None:
                self._entry.cancel()
                self._entry = None
            if self._db is not None:
                self._db.dispose()
                self._db = None

        def _sweep(self, app: Celery) -> None:
            if self._db is None:
                return
            try:
                sweep_and_resend(app, self._db, settings)
            except Exception as exc:  # the database restarting: sweep again next time
                log.warning("sweep failed: %s", exc)

    return Sweeper


def _queue_of(task: Task) -> QueueName:
    """The queue a task came from, so the work it sends on stays on the same path (interactive or bulk)."""
    routing_key = task.request.delivery_info.get("routing_key") if task.request.delivery_info else None
    return "interactive" if routing_key == "interactive" else "bulk"


def enqueue(app: Celery, document_id: str, *, queue: QueueName = "bulk") -> None:
    """Send one document to the workers (call after the intake's commit)."""
    app.send_task(PROCESS_DOCUMENT, args=[document_id], queue=queue)


def enqueue_retrain(app: Celery) -> None:
    """Ask a worker to retrain the model if it is due (after a confirmation)."""
    app.send_task(RETRAIN_IF_DUE, queue="interactive")
