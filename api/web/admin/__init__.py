"""/admin: the administrators' pages, one module per screen — `index`, `accounts`, `keys`, `webhooks`,
`audit` — and what they share in `common`; `router` holds them all. An admin of a unit sees and changes only
its unit's identities, hooks and audit entries, as the API scopes them.

Forms carry the session's CSRF token and answer a redirect (303) on success, or the page again with a
sentence per field (422); a new key's or hook's secret is shown once, in the answer to its POST, so that no
URL or server state has to carry it.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.web.admin import accounts, audit, index, keys, webhooks

router = APIRouter(include_in_schema=False)
for screen in (index, accounts, keys, webhooks, audit):
    router.include_router(screen.router)

__all__ = ["router"]
