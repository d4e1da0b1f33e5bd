"""/healthz: is the process up and its database reachable."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import ServicesDep, SessionDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz(session: SessionDep, services: ServicesDep) -> HealthOut:
    """200 with the mode when the database answers."""
    session.execute(text("SELECT 1"))
    return HealthOut(status="ok", mode="embedded" if services.settings.embedded else "production")
