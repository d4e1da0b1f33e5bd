"""The FastAPI application factory; errors with codes become JSON with a matching HTTP status."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse

from api.routes import audit, documents, dossiers, health, search
from ingest.errors import error_code, error_message
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from ingest.submit import open_submitter
from storage.errors import StorageError

log = logging.getLogger(__name__)


class Retrainer:
    """Retrains the learned model after confirmations: here in embedded mode, on a worker with a broker."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def retrain_if_due(self) -> None:
        if self._services.settings.embedded:
            from ingest.review import retrain_if_due

            retrain_if_due(self._services)
            return
        from ingest.celery_app import create_celery, enqueue_retrain

        enqueue_retrain(create_celery(self._services.settings))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; services and the submitter (the one way in) live for the app's lifespan."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        submitter = open_submitter(services, queue="interactive")  # the one way in decides pool or Celery
        app.state.services, app.state.submitter = services, submitter
        app.state.retrainer = Retrainer(services)
        try:
            yield
        finally:
            submitter.close()
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
    app.include_router(audit.router)

    @app.exception_handler(HTTPException)
    async def coded_http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        body = (
            detail
            if isinstance(detail, dict) and "code" in detail
            else {"code": "http.error", "message": str(detail)}
        )
        return JSONResponse(status_code=exc.status_code, content={"error": body}, headers=exc.headers)

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
