"""Celery wiring for production mode: the app, its configuration and the one thin task.

The task takes a document id, calls the same `process_document` the embedded pool calls, and returns the
status. JSON only, late acks, one prefetched task per worker process. Services are built once per worker
process, on its first task, from the settings the app was created with.
"""

from __future__ import annotations

from celery import Celery

from ingest.pipeline import process_document
from ingest.services import Services, build_services
from ingest.settings import Settings

PROCESS_DOCUMENT = "sohoa.process_document"
RETRAIN_IF_DUE = "sohoa.retrain_if_due"


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
        task_time_limit=settings.document_timeout_seconds,
        task_soft_time_limit=max(settings.document_timeout_seconds - 30, 1),
        broker_connection_retry_on_startup=True,
    )
    services: list[Services] = []

    def worker_services() -> Services:
        if not services:
            services.append(build_services(settings))
        return services[0]

    @app.task(name=PROCESS_DOCUMENT, ignore_result=settings.result_backend is None)
    def process_document_task(document_id: str) -> str:
        """Thin task: run the pipeline for one document id and return its final status."""
        return process_document(worker_services(), document_id).value

    @app.task(name=RETRAIN_IF_DUE, ignore_result=True)
    def retrain_if_due_task() -> int:
        """Retrain the learned model if enough confirmations came in; returns the examples trained on."""
        from ingest.review import retrain_if_due

        report = retrain_if_due(worker_services())
        return report.examples if report else 0

    return app


def enqueue(app: Celery, document_id: str) -> None:
    """Send one document to the workers (call after the intake's commit)."""
    app.send_task(PROCESS_DOCUMENT, args=[document_id])


def enqueue_retrain(app: Celery) -> None:
    """Ask a worker to retrain the model if it is due (after a confirmation)."""
    app.send_task(RETRAIN_IF_DUE)
