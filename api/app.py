"""The FastAPI application factory; errors with codes become JSON with a matching HTTP status."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse

from api.routes import documents, dossiers, health, search
from ingest.errors import error_code, error_message
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from storage.errors import StorageError

log = logging.getLogger(__name__)


class EmbeddedDispatcher:
    """Processes uploads in this server's own worker pool (embedded mode)."""

    def __init__(self, services: Services) -> None:
        from ingest.runner import LocalRunner

        self._runner = LocalRunner(services)
        self._services = services

    def dispatch(self, document_id: str) -> None:
        future = self._runner.submit(document_id)
        future.add_done_callback(lambda done: self._runner.settle(document_id, done))

    def retrain_if_due(self) -> None:
        from ingest.review import retrain_if_due

        retrain_if_due(self._services)

    def close(self) -> None:
        self._runner.close()


class CeleryDispatcher:
    """Sends uploads to Celery workers (production mode), on the interactive path."""

    def __init__(self, settings: Settings) -> None:
        from ingest.celery_app import create_celery

        self._celery = create_celery(settings)

    def dispatch(self, document_id: str) -> None:
        from ingest.celery_app import enqueue

        enqueue(self._celery, document_id, queue="interactive")

    def retrain_if_due(self) -> None:
        from ingest.celery_app import enqueue_retrain

        enqueue_retrain(self._celery)

    def close(self) -> None:
        return None


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; services and the dispatcher live for the app's lifespan."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        dispatcher = EmbeddedDispatcher(services) if settings.embedded else CeleryDispatcher(settings)
        app.state.services, app.state.dispatcher = services, dispatcher
        try:
            yield
        finally:
            dispatcher.close()
            services.close()

    app = FastAPI(
        title="sohoa",
        version="0.1.0",
        description="Digitized dossiers of a Public Administration Service Center.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(dossiers.router)
    app.include_router(search.router)

    @app.exception_handler(HTTPException)
    async def coded_http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        body = (
            detail
            if isinstance(detail, dict) and "code" in detail
            else {"code": "http.error", "message": str(detail)}
        )
        return JSONResponse(status_code=exc.status_code, content={"error": body})

    @app.exception_handler(StorageError)
    async def storage_error(_request: Request, exc: StorageError) -> JSONResponse:
        status_code = 404 if exc.code == "storage.not_found" else 503
        return JSONResponse(
            status_code=status_code, content={"error": {"code": exc.code, "message": exc.message}}
        )

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected API error")
        return JSONResponse(
            status_code=500, content={"error": {"code": error_code(exc), "message": error_message(exc)}}
        )

    return app
