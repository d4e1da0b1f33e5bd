"""/metrics: Prometheus metrics, for the centre's monitoring (no personal data, but not for everyone either).

Readable with `Authorization: Bearer <SOHOA_METRICS_TOKEN>` (what a Prometheus `scrape_config` sends from
`authorization: {credentials_file: …}`: a token that opens nothing else), or by an admin identity. Scrapes
are not audited (one every 15 s would drown the trail); refusals of a non-admin identity are.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import Permission, get_caller, refusal
from api.deps import ServicesDep
from api.errors import FORBIDDEN, ApiError
from api.metrics import MetricsDep
from api.schemas import ErrorOut
from storage.audit import record_audit

router = APIRouter(tags=["metrics"])
SCRAPER = "metrics-token"


def get_scraper(request: Request, services: ServicesDep) -> str:
    """Who reads the metrics: the metrics token, else an admin identity; 401 without credentials, 403 for
    another role."""
    token = services.settings.metrics_token
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credentials.strip().encode("utf-8"), token.encode("utf-8"))
    ):
        return SCRAPER
    caller = get_caller(request, services)
    if not caller.can(Permission.ADMINISTER):
        record_audit(services.db, refusal(request, caller, Permission.ADMINISTER))
        raise ApiError("the metrics are for admins and the metrics token", code=FORBIDDEN)
    return caller.label


ScraperDep = Annotated[str, Depends(get_scraper)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        503: {"model": ErrorOut},
    },
)
def read_metrics(installed: MetricsDep, _scraper: ScraperDep) -> Response:
    """Document counts read from the database now, and this process's request latency; 503 when the
    database does not answer (Prometheus then records the scrape as failed)."""
    return Response(generate_latest(installed.registry), media_type=CONTENT_TYPE_LATEST)
