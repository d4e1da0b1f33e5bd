"""/admin/accounts: staff accounts — list, create, disable, unlock — with the checks and audit entries of
`sohoa users` (through `api.access_admin`); and their signing certificates: the list says who holds one and
until when, and a form sets one for an account (`api.web.certificate.take_certificate`, audited
`certificate.set` like `PUT /api/v1/users/{name}/certificate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

import api.access_admin as access
from api.access_admin import MIN_PASSWORD
from api.credentials import new_user_identity
from api.deps import ServicesDep
from api.errors import IDENTITY_NOT_FOUND
from api.routes.certificates import NOT_AN_ACCOUNT
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
from api.web.certificate import certificate_summaries, error_word, take_certificate
from errors import SohoaError, error_code
from ingest.services import Services
from ingest.signing import WRONG_PASSWORD
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
    certificate_for: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = unit_names(services)
    accounts = identity_rows(services, staff, "user")
    with services.db.unit_of_work() as session:
        certificates = certificate_summaries(session)
    return render(
        request,
        "admin_accounts.html",
        staff,
        status_code=status_code,
        accounts=accounts,
        certificates=certificates,
        certificate_for=certificate_for or request.query_params.get("certificate", "")[:200],
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


CERTIFICATE_FIELDS = {
    WRONG_PASSWORD: "cert_password",
    IDENTITY_NOT_FOUND: "cert_name",
    NOT_AN_ACCOUNT: "cert_name",
}
"""A refused certificate's code → the field of the form its sentence goes beside (else the file's)."""


@router.post("/admin/accounts/certificate", response_class=HTMLResponse)
def set_account_certificate(
    request: Request,
    services: ServicesDep,
    staff: AdminPage,
    file: Annotated[UploadFile | None, File()] = None,
    csrf: Csrf = "",
    name: NameField = "",
    password: PasswordField = "",
) -> Response:
    """Give an account of this admin's scope its signing certificate (PKCS#12), replacing the one before;
    a refusal shows the page again with its sentence beside the field."""
    check_form_csrf(staff, csrf)
    try:
        take_certificate(services, staff, name, file, password)
    except SohoaError as exc:
        code = error_code(exc)
        problems = Problems({CERTIFICATE_FIELDS.get(code, "cert_file"): error_word(code)})
        return accounts_page(
            request,
            services,
            staff,
            problems=problems,
            certificate_for=name,
            status_code=404 if code == IDENTITY_NOT_FOUND else 422,
        )
    return done_redirect("/admin/accounts", "certificate.set", name)
