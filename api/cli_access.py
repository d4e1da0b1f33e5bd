"""`sohoa units|keys|users|audit`: who may use the API, and the audit trail, from the machine's shell.

Whoever runs these commands on the server is trusted (they can read the database anyway); each change is
recorded in the audit trail as `cli:<os user>`. The checks and changes themselves are `api.access_admin`'s,
which the admin web pages call too.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.exc import IntegrityError

import api.access_admin as access
from api.access_admin import Operator
from api.console import build_cli_services, err, load_cli_settings, out, refuse
from api.credentials import new_key_identity, new_user_identity
from api.errors import AUDIT_BROKEN, UNIT_BAD_CODE, UNIT_EXISTS, ApiError
from ingest.services import Services
from storage.access import AuditFilter, AuditRepository, IdentityRepository, UnitRepository
from storage.audit import audit_record, verify_audit
from storage.models import Identity, Role, Unit

UNIT_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
T = TypeVar("T")

units_app = typer.Typer(no_args_is_help=True, help="Units: communes, departments, the centre.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for client systems and scanning stations.")
users_app = typer.Typer(no_args_is_help=True, help="Staff accounts (people).")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")

RoleOption = Annotated[Role, typer.Option(help="scanner, reviewer, reader or admin.", case_sensitive=False)]
UnitOption = Annotated[
    str | None, typer.Option(help="The unit it belongs to (see `sohoa units list`); default: the province.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(units_app, name="units")
    app.add_typer(keys_app, name="keys")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")


def cli_actor() -> str:
    """How the audit trail names the person at this shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _services() -> Services:
    return build_cli_services(load_cli_settings())


def _operator() -> Operator:
    return Operator(cli_actor())


def _fail(code: str, message: str) -> typer.Exit:
    return refuse(ApiError(message, code=code))


def _or_exit(check: Callable[[], T]) -> T:
    """Run one of `api.access_admin`'s checks or changes; its refusal is printed with its code, exit 2."""
    try:
        return check()
    except ApiError as exc:
        raise refuse(exc) from exc


def check_unit(services: Services, unit: str | None) -> str | None:
    """The unit if it exists (None stays None: the province), else a clear refusal and exit 2."""
    return _or_exit(lambda: access.check_unit(services, unit))


# --- units --------------------------------------------------------------------------------------------------


@units_app.command("create")
def units_create(
    code: Annotated[str, typer.Argument(help="Short code: lower-case letters, digits, '.', '-', '_'.")],
    name: Annotated[str, typer.Option(help="The name people read, e.g. 'UBND xã Trà Ôn'.")],
) -> None:
    """Add a unit."""
    if not UNIT_CODE.match(code):
        raise _fail(UNIT_BAD_CODE, f"{code!r}: lower-case letters, digits, '.', '-', '_' (at most 64)")
    services = _services()
    try:
        with services.db.unit_of_work() as session:
            UnitRepository(session).add(Unit(code=code, name=name.strip() or code))
        access.audit_change(services, _operator(), "unit.create", unit=code, name=name)
    except IntegrityError as exc:
        raise _fail(UNIT_EXISTS, f"the unit {code!r} exists already") from exc
    finally:
        services.close()
    out.print(f"unit {code} created")


@units_app.command("list")
def units_list() -> None:
    """Every unit."""
    services = _services()
    with services.db.unit_of_work() as session:
        rows = [(u.code, u.name) for u in UnitRepository(session).all()]
    services.close()
    table = Table("code", "name")
    for row in rows:
        table.add_row(*row)
    out.print(table)


# --- keys ---------------------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: RoleOption,
    name: Annotated[str | None, typer.Option(help="What uses it, e.g. 'dvc-tinh' or 'may-quet-01'.")] = None,
    unit: UnitOption = None,
) -> None:
    """Make an API key; it is printed once, on the last line, and only its hash is kept."""
    services = _services()
    try:
        check_unit(services, unit)
        name = _checked_name(name or access.default_key_name(role))
        identity, key = new_key_identity(name, role, unit)
        _add_identity(services, identity, f"a key named {name!r} exists already")
    finally:
        services.close()
    err.print(
        f"key {name!r} ({role.value}, {unit or 'province'}) created; keep it now, it is not shown again:"
    )
    print(key, flush=True)


@keys_app.command("list")
def keys_list() -> None:
    """Every key (never the key itself: its first characters, to tell them apart)."""
    _list("key")


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: it authenticates nothing from now on."""
    _disable("key", name)


# --- users --------------------------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: RoleOption,
    unit: UnitOption = None,
) -> None:
    """Make a staff account; the password is read from stdin (asked twice at a terminal)."""
    _checked_name(name)
    password = _read_password()
    services = _services()
    try:
        check_unit(services, unit)
        identity = new_user_identity(name, role, unit, password)
        _add_identity(services, identity, f"an account named {name!r} exists already")
    finally:
        services.close()
    out.print(f"account {name} ({role.value}, {unit or 'province'}) created")


@users_app.command("list")
def users_list() -> None:
    """Every staff account."""
    _list("user")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account: it can no longer log in."""
    _disable("user", name)


def _checked_name(name: str) -> str:
    return _or_exit(lambda: access.check_name(name))


def _add_identity(services: Services, identity: Identity, taken: str) -> None:
    """Store a new key or account (refused with `taken` when its name is in use) and audit it."""
    _or_exit(lambda: access.add_identity(services, identity, taken, _operator()))


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
        password = _or_exit(lambda: access.check_same_password(first, again))
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    return _or_exit(lambda: access.check_password(password))


def _list(kind: str) -> None:
    services = _services()
    with services.db.unit_of_work() as session:
        identities = IdentityRepository(session).all(kind)
        rows = [_identity_row(i) for i in identities]
    services.close()
    table = Table("name", "role", "unit", "key" if kind == "key" else "login", "created", "state")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _identity_row(identity: Identity) -> tuple[str, ...]:
    return (
        identity.name,
        identity.role,
        identity.unit or "province",
        f"{identity.key_prefix}…" if identity.kind == "key" else identity.name,
        f"{identity.created_at:%Y-%m-%d %H:%M}",
        "revoked" if identity.disabled_at else "active",
    )


def _disable(kind: str, name: str) -> None:
    services = _services()
    try:
        _or_exit(lambda: access.disable_identity(services, kind, name, _operator()))
    finally:
        services.close()
    out.print(f"{kind} {name} disabled")


# --- audit --------------------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the whole audit trail; exit 1 and list where it breaks if an entry was edited or deleted."""
    services = _services()
    try:
        check = verify_audit(services.db)
    finally:
        services.close()
    if check.intact:
        out.print(f"audit trail intact: {check.entries} entries, head {check.head}")
        return
    broken = _fail(AUDIT_BROKEN, f"{len(check.problems)} problem(s) in {check.entries} entries")
    for problem in check.problems:
        err.print(f"  entry {problem.seq}: {problem.kind}")
    raise broken


@audit_app.command("show")
def audit_show(
    document: Annotated[str | None, typer.Option(help="Entries about this document id.")] = None,
    dossier: Annotated[str | None, typer.Option(help="Entries about this dossier code.")] = None,
    actor: Annotated[str | None, typer.Option(help="key:<name>, user:<name> or cli:<user>.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines (to export with a dossier).")] = False,
) -> None:
    """The newest entries, filtered; `--dossier CODE --json` exports a dossier's trail."""
    services = _services()
    try:
        with services.db.unit_of_work() as session:
            entries = AuditRepository(session).find(
                AuditFilter(document_id=document, dossier_code=dossier, actor=actor), limit=limit
            )
            records = [audit_record(e) for e in entries]
    finally:
        services.close()
    if as_json:
        for record in reversed(records):
            print(json.dumps(record, ensure_ascii=False), flush=True)
        return
    table = Table("#", "at", "actor", "action", "outcome", "about", "from")
    for r in records:
        at = datetime.fromisoformat(str(r["at"]))
        about = str(r["document_id"] or r["dossier_code"] or "")
        table.add_row(
            str(r["seq"]),
            f"{at:%Y-%m-%d %H:%M:%S}",
            str(r["actor"]),
            str(r["action"]),
            str(r["outcome"]),
            about,
            str(r["address"] or ""),
        )
    out.print(table)


def hint_first_admin(services: Services) -> None:
    """Before serving: with no usable identity, nobody can call the API; say how to make the first admin."""
    try:
        with services.db.unit_of_work() as session:
            active = IdentityRepository(session).active_count()
    finally:
        services.close()
    if active:
        return
    err.print(
        "[yellow]Chưa có khóa API hay tài khoản nào: mọi yêu cầu (trừ /healthz) sẽ bị từ chối (401)."
        "[/yellow]\n"
        "No API key or account exists yet: every request but /healthz is refused (401). Create the first "
        "admin:\n"
        "  sohoa users create admin --role admin      (password read from stdin)\n"
        "  sohoa keys create --role admin --name quan-tri   (prints the key once)"
    )
