"""Celery wiring for production mode: the app, its configuration and the one thin task.

The task takes a document id, calls the same `process_document` the embedded pool calls, and returns the
status. JSON only, late acks, one prefetched task per worker process.
"""

from __future__ import annotations

from celery import Celery

from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings

PROCESS_DOCUMENT = "sohoa.process_document"
_services: Services | None = None


def _services_for_worker() -> Services:
    global _services
    if _services is None:
        _services = build_services(load_settings())
    return _services


def create_celery(settings: Settings) -> Celery:
    """A configured Celery app with sohoa's tasks registered."""
    app = Celery("sohoa", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.document_timeout_seconds,
        task_soft_time_limit=max(settings.document_timeout_seconds - 30, 1),
        broker_connection_retry_on_startup=True,
    )

    @app.task(name=PROCESS_DOCUMENT, ignore_result=settings.result_backend is None)
    def process_document_task(document_id: str) -> str:
        """Thin task: load services once per worker process, run the pipeline for one document."""
        return process_document(_services_for_worker(), document_id).value

    return app


def enqueue(app: Celery, document_id: str) -> None:
    """Send one document to the workers (call after the intake's commit)."""
    app.send_task(PROCESS_DOCUMENT, args=[document_id])
