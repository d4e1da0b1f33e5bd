"""/admin/keys: API keys — list, create (the key shown once), revoke — as `sohoa keys` does them."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import api.access_admin as access
from api.credentials import new_key_identity
from api.deps import ServicesDep
from api.web.admin.common import (
    ROLES,
    ChoiceField,
    Csrf,
    NameField,
    Problems,
    Secret,
    action_status,
    chosen_role,
    chosen_unit,
    done_of,
    done_redirect,
    identity_rows,
    operator_of,
    unit_choices,
    unit_names,
)
from api.web.base import AdminPage, Staff, check_form_csrf, render
from ingest.services import Services
from storage.models import Role

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class KeyForm:
    """What the new-key form sent; an empty name gets one from the role and the moment."""

    name: str = ""
    role: str = Role.READER.value
    unit: str = ""


def keys_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    form: KeyForm | None = None,
    problems: Problems | None = None,
    made: Secret | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = unit_names(services)
    return render(
        request,
        "admin_keys.html",
        staff,
        status_code=status_code,
        keys=identity_rows(services, staff, "key"),
        roles=ROLES,
        units=unit_choices(staff, names),
        form=form or KeyForm(unit=staff.caller.unit or ""),
        problems=(problems or Problems()).fields,
        done=done_of(request),
        made=made,
    )


@router.get("/admin/keys", response_class=HTMLResponse)
def list_keys(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """API keys (their first characters only), and the form to make one."""
    return keys_page(request, services, staff)


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    csrf: Csrf = "",
    name: NameField = "",
    role: ChoiceField = "",
    unit: ChoiceField = "",
) -> Response:
    """Make a key as `sohoa keys create` does; the answer shows it once (only its hash is kept)."""
    check_form_csrf(staff, csrf)
    form = KeyForm(name.strip(), role, unit)
    problems = Problems()
    chosen = chosen_role(role, problems)
    chosen_in = chosen_unit(services, staff, unit, problems)
    key_name = form.name or access.default_key_name(chosen)
    problems.check("name", lambda: access.check_name(key_name))
    if problems:
        return keys_page(request, services, staff, form=form, problems=problems, status_code=422)
    identity, key = new_key_identity(key_name, chosen, chosen_in)
    taken = f"a key named {key_name!r} exists already"
    problems.check("name", lambda: access.add_identity(services, identity, taken, operator_of(staff)))
    if problems:
        return keys_page(request, services, staff, form=form, problems=problems, status_code=422)
    return keys_page(request, services, staff, made=Secret(key_name, key), status_code=201)


@router.post("/admin/keys/revoke", response_class=HTMLResponse)
def revoke_key(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Revoke a key: it authenticates nothing from now on."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    problems.check(
        "notice",
        lambda: access.disable_identity(services, "key", name, operator_of(staff), scope=staff.caller.scope),
    )
    if problems:
        return keys_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/keys", "key.disable", name)
