"""/admin/accounts: staff accounts — list, create, disable, unlock — with the checks and audit entries of
`sohoa users` (through `api.access_admin`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import api.access_admin as access
from api.access_admin import MIN_PASSWORD
from api.credentials import new_user_identity
from api.deps import ServicesDep
from api.web.admin.common import (
    ROLES,
    ChoiceField,
    Csrf,
    NameField,
    PasswordField,
    Problems,
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
class AccountForm:
    """What the new-account form sent (its passwords never go back to the page)."""

    name: str = ""
    role: str = Role.REVIEWER.value
    unit: str = ""


def accounts_page(
    request: Request,
    services: Services,
    staff: Staff,
    *,
    form: AccountForm | None = None,
    problems: Problems | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = unit_names(services)
    return render(
        request,
        "admin_accounts.html",
        staff,
        status_code=status_code,
        accounts=identity_rows(services, staff, "user"),
        roles=ROLES,
        units=unit_choices(staff, names),
        form=form or AccountForm(unit=staff.caller.unit or ""),
        problems=(problems or Problems()).fields,
        done=done_of(request),
        min_password=MIN_PASSWORD,
    )


@router.get("/admin/accounts", response_class=HTMLResponse)
def list_accounts(request: Request, services: ServicesDep, staff: AdminPage) -> Response:
    """Staff accounts with their state, and the form to make one."""
    return accounts_page(request, services, staff)


@router.post("/admin/accounts", response_class=HTMLResponse)
def create_account(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    csrf: Csrf = "",
    name: NameField = "",
    role: ChoiceField = "",
    unit: ChoiceField = "",
    password: PasswordField = "",
    again: PasswordField = "",
) -> Response:
    """Make an account with the checks of `sohoa users create`; every problem is shown beside its field."""
    check_form_csrf(staff, csrf)
    form = AccountForm(name.strip(), role, unit)
    problems = Problems()
    problems.check("name", lambda: access.check_name(form.name))
    chosen = chosen_role(role, problems)
    chosen_in = chosen_unit(services, staff, unit, problems)
    problems.check("password", lambda: access.check_password(password))
    problems.check("again", lambda: access.check_same_password(password, again))
    if not problems:
        identity = new_user_identity(form.name, chosen, chosen_in, password)
        taken = f"an account named {form.name!r} exists already"
        problems.check("name", lambda: access.add_identity(services, identity, taken, operator_of(staff)))
    if problems:
        return accounts_page(request, services, staff, form=form, problems=problems, status_code=422)
    return done_redirect("/admin/accounts", "user.create", form.name)


@router.post("/admin/accounts/disable", response_class=HTMLResponse)
def disable_account(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Disable an account: it logs in no more, and its open sessions end now. Never one's own."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    if name == staff.name:
        problems.fields["notice"] = "admin.error.self"
    else:
        problems.check(
            "notice",
            lambda: access.disable_identity(
                services, "user", name, operator_of(staff), scope=staff.caller.scope
            ),
        )
    if problems:
        return accounts_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/accounts", "user.disable", name)


@router.post("/admin/accounts/unlock", response_class=HTMLResponse)
def unlock_account(
    request: Request, services: ServicesDep, staff: AdminPage, csrf: Csrf = "", name: NameField = ""
) -> Response:
    """Let an account locked by failed logins log in again now."""
    check_form_csrf(staff, csrf)
    problems = Problems()
    problems.check(
        "notice",
        lambda: access.unlock_account(services, name, operator_of(staff), scope=staff.caller.scope),
    )
    if problems:
        return accounts_page(request, services, staff, problems=problems, status_code=action_status(problems))
    return done_redirect("/admin/accounts", "user.unlock", name)
