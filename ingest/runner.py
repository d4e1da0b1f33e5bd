"""Embedded mode's queue: a pool of worker processes (one per core) running the pipeline.

Each worker builds its own `Services` once; a document that runs past its hard time limit or kills its
worker (segfault, out of memory) is marked failed with a code, and the pool goes on with the rest.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessPool

from ingest import errors
from ingest.pipeline import give_up_waiting, mark_failed, process_document
from ingest.retry import backoff_seconds
from ingest.services import Services, build_services
from ingest.settings import Settings
from storage.models import DocumentStatus

_worker_services: Services | None = None


def _init_worker(settings_json: str) -> None:
    """Pool initializer: single-threaded tesseract and OpenCV, services built once per process."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    # Ctrl-C reaches the whole process group: the parent decides what stops, a worker (and the tesseract
    # it starts, which inherits this) must not die in the middle of a page.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cv2

    cv2.setNumThreads(1)
    global _worker_services
    _worker_services = build_services(Settings.model_validate_json(settings_json))


def _ready() -> None:
    """Nothing: scheduling it starts the pool's processes (`LocalRunner.warm_up`)."""


def _run_in_worker(document_id: str) -> str:
    if _worker_services is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker services not initialised")
    return _process_with_retries(_worker_services, document_id).value


def _process_with_retries(services: Services, document_id: str) -> DocumentStatus:
    """The pipeline, retried with backoff while storage is unreachable, up to `retry_max_seconds`."""
    settings = services.settings
    deadline = time.monotonic() + settings.retry_max_seconds
    attempt = 0
    while True:
        try:
            return process_document(services, document_id)
        except errors.TransientError as exc:
            if time.monotonic() >= deadline:
                return give_up_waiting(services, document_id, exc)
            time.sleep(backoff_seconds(attempt, cap=settings.retry_backoff_max_seconds))
            attempt += 1


@dataclass(frozen=True)
class Finished:
    """One document the pool finished with."""

    document_id: str
    status: DocumentStatus


class LocalRunner:
    """Process documents on this machine's cores; use as a context manager."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self._pool = ProcessPool(
            max_workers=settings.workers,
            initializer=_init_worker,
            initargs=(settings.to_json_with_secrets(),),
            context=multiprocessing.get_context("forkserver"),
        )

    def __enter__(self) -> LocalRunner:
        return self

    def warm_up(self) -> None:
        """Start the worker processes now (each imports the pipeline and builds its services) instead of
        at the first document, so that start-up overlaps the storing of the originals."""
        self._pool.schedule(_ready)

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (running documents are finished first)."""
        self._pool.close()
        self._pool.join()

    def stop(self) -> None:
        """Stop the workers now, dropping documents in flight (they stay unfinished for a rerun)."""
        self._pool.stop()
        self._pool.join()

    def submit(self, document_id: str) -> Future[str]:
        """Queue one document; the future's result is its final status value."""
        timeout = self.services.settings.document_timeout_seconds
        future: Future[str] = self._pool.schedule(_run_in_worker, args=(document_id,), timeout=timeout)
        return future

    def settle(self, document_id: str, future: Future[str]) -> Finished:
        """Wait for one document; a killed or timed-out worker becomes a coded failure."""
        try:
            return Finished(document_id, DocumentStatus(future.result()))
        except TimeoutError:
            limit = self.services.settings.document_timeout_seconds
            code, message = errors.TIMEOUT, f"processing took longer than {limit:.0f} s and was stopped"
        except ProcessExpired as exc:
            code, message = errors.CRASHED, f"the worker process died (exit code {exc.exitcode})"
        except Exception as exc:  # the worker could not even start (e.g. settings, database)
            code, message = errors.error_code(exc), errors.error_message(exc)
        return Finished(document_id, mark_failed(self.services, document_id, code, message))

    def run(
        self, document_ids: Iterable[str], on_finished: Callable[[Finished], None] | None = None
    ) -> list[Finished]:
        """Process all documents, calling `on_finished` as each completes (in completion order)."""
        from concurrent.futures import as_completed

        futures = {self.submit(document_id): document_id for document_id in document_ids}
        finished: list[Finished] = []
        for future in as_completed(futures):
            outcome = self.settle(futures[future], future)
            finished.append(outcome)
            if on_finished is not None:
                on_finished(outcome)
        return finished
