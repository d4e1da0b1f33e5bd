"""/api/v1/procedures: find a procedure of the catalog by code, id or name (tone marks optional)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import ReaderDep
from api.deps import ServicesDep
from api.schemas import ProcedureListOut

router = APIRouter(prefix="/api/v1/procedures", tags=["procedures"])


@router.get("", response_model=ProcedureListOut)
async def list_procedures(
    services: ServicesDep,
    _caller: ReaderDep,
    q: Annotated[str, Query(max_length=200, description="Words of the name, a code or an id.")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, object]:
    """Procedures holding every word of `q` ("khai sinh" finds "Đăng ký khai sinh"); not audited (the
    catalog is public)."""
    found = services.catalog.search(q, limit=limit)
    procedures = [
        {"id": p.id, "code": p.code, "name": p.name, "components": list(p.components)} for p in found
    ]
    return {"query": q, "procedures": procedures}
