"""The FastAPI application factory; every error becomes `{"error": {"code", "message"}}` with the status
`api.errors.http_status` gives its code."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.docs import install_docs
from api.errors import (
    METHOD_NOT_ALLOWED,
    REQUEST_INVALID,
    REQUEST_MALFORMED,
    REQUEST_NOT_FOUND,
    ApiError,
    http_status,
)
from api.metrics import install_metrics
from api.routes import (
    audit,
    batches,
    certificates,
    documents,
    dossiers,
    health,
    metrics,
    procedures,
    search,
    webhooks,
)
from api.web import install_web
from errors import SohoaError, error_code, error_message
from ingest.errors import TOO_LARGE
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from ingest.submit import open_submitter
from ingest.webhooks import Deliverer

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
        deliverer = Deliverer(services)  # webhook events go out from here, never from the pipeline
        deliverer.start()
        refresher = asyncio.create_task(keep_fresh(services))
        gc.collect()
        gc.freeze()  # what start-up built lives as long as the app: later full collections skip it
        try:
            yield
        finally:
            refresher.cancel()
            deliverer.stop()
            submitter.close()
            services.close()

    app = FastAPI(
        title="sohoa",
        version="0.1.0",
        description="Digitized dossiers of a Public Administration Service Center.",
        lifespan=lifespan,
        docs_url=None,  # served by `install_docs` from bundled assets, not a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(certificates.router)
    app.include_router(dossiers.router)
    app.include_router(search.router)
    app.include_router(procedures.router)
    app.include_router(audit.router)
    app.include_router(batches.router)
    app.include_router(webhooks.router)
    app.include_router(metrics.router)
    install_metrics(app)
    install_web(app)

    @app.exception_handler(HTTPException)
    async def coded_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own refusals (unknown path, wrong method, bad multipart); ours are SohoaErrors.
        detail: Any = exc.detail
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        body = {"code": HTTP_CODES.get(exc.status_code, "request.refused"), "message": str(detail)[:300]}
        return JSONResponse(status_code=exc.status_code, content={"error": body}, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"error": validation_error(exc)})

    @app.exception_handler(SohoaError)
    async def coded_error(_request: Request, exc: SohoaError) -> JSONResponse:
        code = error_code(exc)
        body = {"code": code, "message": error_message(exc)}
        headers = exc.headers if isinstance(exc, ApiError) else None
        return JSONResponse(status_code=http_status(code), content={"error": body}, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected API error")
        return JSONResponse(
            status_code=500, content={"error": {"code": error_code(exc), "message": error_message(exc)}}
        )

    app.openapi = lambda: coded_openapi(app)  # type: ignore[method-assign]
    return app


async def keep_fresh(services: Services) -> None:
    """Pick up a newly imported catalog and a retrained model while serving (the procedures search, the
    review candidates and embedded processing use them), on the workers' refresh tick."""
    while True:
        await asyncio.sleep(services.settings.model_refresh_seconds)
        try:
            await run_in_threadpool(services.refresh)
        except SohoaError:
            log.exception("could not refresh the catalog or the model; keeping the ones in use")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of the most specific path template matching `path` (Starlette's own 405 names only the
    first route that matched, so `DELETE …/{id}/procedure` would advertise the GET of `…/{id}/{kind}`)."""
    best: tuple[int, set[str]] = (-1, set())
    for route in app.routes:
        regex, template = getattr(route, "path_regex", None), getattr(route, "path", "")
        if regex is None or not regex.match(path):
            continue
        literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        methods = set(getattr(route, "methods", None) or ())
        if literal > best[0]:
            best = (literal, methods)
        elif literal == best[0]:
            best[1].update(methods)
    return sorted(best[1] - {"HEAD"})


HTTP_CODES = {
    400: REQUEST_MALFORMED,
    404: REQUEST_NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: TOO_LARGE,
}


def validation_error(exc: RequestValidationError) -> dict[str, str]:
    """FastAPI's validation errors in the API's one error shape: where and what, never the value sent."""
    problems = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
        problems.append(f"{where}: {error.get('msg', 'invalid')}"[:200])
    return {"code": REQUEST_INVALID, "message": "; ".join(problems) or "the request is not valid"}


def coded_openapi(app: FastAPI) -> dict[str, Any]:
    """The schema with every error response (400, 404, 422, …) documented as `{"error": ErrorOut}`, the
    shape the handlers above give, instead of FastAPI's `{"detail": …}`."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorOut"] = {
        "title": "ErrorOut",
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    }
    components["ErrorBody"] = {
        "title": "ErrorBody",
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorOut"}},
    }
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            codes = {"422", "400"} | ({"401", "403"} if path.startswith("/api/v1") else set())
            codes |= {"404"} if "{" in path else set()  # an id that does not exist (for this caller)
            for code in codes | {c for c in responses if c[0] in "45"}:
                described = responses.get(code, {}).get("description") or ERROR_DESCRIPTIONS.get(
                    code, "Error"
                )
                responses[code] = {"description": described, "content": error_body}
    app.openapi_schema = schema
    return schema


ERROR_DESCRIPTIONS = {
    "400": "Malformed request",
    "401": "No or invalid credentials",
    "403": "Outside the caller's role",
    "404": "Not found (or not visible to the caller's unit)",
    "409": "Not ready",
    "413": "Too large",
    "422": "Invalid request",
    "503": "Storage or database unavailable",
}
