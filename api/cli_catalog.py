"""`sohoa catalog import|show|versions`: a province's own procedure catalog, from the machine's shell.

`import` checks every row first and lists every bad one (exit 2, nothing imported); a good file becomes the
active catalog, which every worker picks up on its next refresh (`ingest.catalogs`). Output is in
Vietnamese by default (`SOHOA_LANGUAGE=en` for English); catalog text is printed as is, never as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli_access import cli_actor
from api.console import EXIT_NOTHING_RAN, build_cli_services, err, load_cli_settings, out, refuse
from classifiers.catalog import CatalogError, Component, Procedure
from ingest.catalogs import NOT_FOUND, CatalogImport, CatalogRowsError, RowProblem, import_catalog
from ingest.manifest import resolve_procedure
from ingest.messages import CATALOG_COLUMNS, Language, error_text, say, word
from ingest.services import Services
from ingest.settings import Settings
from storage.repositories import CatalogVersionRepository

catalog_app = typer.Typer(
    no_args_is_help=True, help="The procedure catalog: import a province's own, look one up, list versions."
)


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")


def _plain(console: Console, text: str, *, style: str | None = None) -> None:
    """Catalog text as it is: never read as markup (names may hold brackets), never wrapped."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


@catalog_app.command("import")
def catalog_import(
    file: Annotated[
        Path, typer.Argument(help="National-shape JSON Lines (.jsonl, .jsonl.gz), or a .csv/.xlsx sheet.")
    ],
) -> None:
    """Import a catalog file and make it the one every worker classifies with; bad rows are all listed and
    nothing is imported."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        imported = import_catalog(services.db, services.store, file, actor=cli_actor())
    except CatalogRowsError as exc:
        _plain(err, say("catalog_bad", language, count=exc.rows), style="red")
        for problem in exc.problems:
            _plain(err, f"  {_problem_line(problem, language)}")
        raise typer.Exit(EXIT_NOTHING_RAN) from exc
    except CatalogError as exc:
        raise refuse(exc, escape(error_text(exc.code, exc.message, language))) from exc
    finally:
        services.close()
    _print_imported(imported, settings)


def _problem_line(problem: RowProblem, language: Language) -> str:
    """`dòng 5, cột mã: «1.1193» không phải mã thủ tục dạng D.DDDDDD … [catalog.bad_code]`."""
    if problem.column:
        column = word(CATALOG_COLUMNS, problem.column, language)
        where = say("catalog_where_column", language, row=problem.row, column=column)
    else:
        where = say("catalog_where", language, row=problem.row)
    what = say(problem.code, language, value=problem.value, first_row=problem.first_row)
    return f"{where}: {what} [{problem.code}]"


def _print_imported(imported: CatalogImport, settings: Settings) -> None:
    language = settings.language
    key = "catalog_imported" if imported.new else "catalog_again"
    values = {"from_file": imported.from_file, "procedures": imported.procedures, "version": imported.version}
    _plain(out, say(key, language, source=imported.source, **values))
    if imported.columns:
        columns = ", ".join(word(CATALOG_COLUMNS, c, language) for c in imported.columns)
        _plain(out, say("catalog_columns", language, columns=columns))
    if settings.catalog_path is not None:
        pinned = say("catalog_pinned", language, path=settings.catalog_path)
        _plain(err, pinned, style="yellow")
    else:
        _plain(out, say("catalog_switch", language, seconds=settings.model_refresh_seconds))


@catalog_app.command("show")
def catalog_show(
    code: Annotated[str, typer.Argument(help="National code (1.001193) or sohoa id (khai-sinh).")],
) -> None:
    """One procedure of the catalog in use: name, code, field, levels, agency, dossier components (copies,
    original or copy, optional ones), forms and results."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    services.close()
    procedure = resolve_procedure(code, services.catalog)
    if procedure is None:
        raise _not_found(services, code, language)
    for line in procedure_lines(procedure, language):
        _plain(out, line)
    _plain(out, f"{say('catalog_version', language)}: {services.catalog.version}")


def _not_found(services: Services, code: str, language: Language) -> typer.Exit:
    """Say so, with close matches by name or code if any; the exit (2) to raise."""
    exit_ = refuse(CatalogError("", code=NOT_FOUND), escape(say("catalog_unknown", language, code=code)))
    close = services.catalog.search(code, limit=5)
    if close:
        _plain(err, say("catalog_maybe", language))
        for procedure in close:
            _plain(err, f"  {procedure.code or procedure.id}  {procedure.name}")
    return exit_


def procedure_lines(procedure: Procedure, language: Language = "vi") -> list[str]:
    """A procedure as people read it at the counter, one line per fact (none said: "(không có)")."""
    none = say("catalog_none", language)
    lines = [procedure.name, f"  {say('catalog_code', language)}: {procedure.code or none}"]
    if procedure.id != procedure.code:
        lines.append(f"  {say('catalog_id', language)}: {procedure.id}")
    lines += [
        f"  {say('catalog_field', language)}: {procedure.field or none}",
        f"  {say('catalog_levels', language)}: {', '.join(procedure.levels) or none}",
        f"  {say('catalog_agency', language)}: {procedure.agency or none}",
        f"  {say('catalog_components', language)}:{'' if procedure.dossier_components else ' ' + none}",
    ]
    lines += [
        f"    {number}. {_component(component, language)}"
        for number, component in enumerate(procedure.dossier_components, start=1)
    ]
    if procedure.form_titles:
        lines.append(f"  {say('catalog_form_titles', language)}: {'; '.join(procedure.form_titles)}")
    lines.append(f"  {say('catalog_results', language)}: {'; '.join(procedure.results) or none}")
    return lines


def _component(component: Component, language: Language) -> str:
    """`Tờ khai … — 1 bản chính; mẫu: Mẫu TK.docx (tùy trường hợp)`."""
    copies = component.copies or 1
    if component.original is True:
        kind = say("catalog_original", language, copies=copies)
    elif component.original is False:
        kind = say("catalog_copy", language, copies=copies)
    else:
        kind = say("catalog_copies", language, copies=copies) if component.copies else ""
    details = [kind] if kind else []
    if component.forms:
        details.append(f"{say('catalog_forms', language)}: {', '.join(component.forms)}")
    text = component.name + (f" — {'; '.join(details)}" if details else "")
    if component.optional:
        text += f" {say('catalog_optional', language)}"
        if component.condition and component.condition != component.name:
            text += f": {component.condition}"
    return text


@catalog_app.command("versions")
def catalog_versions() -> None:
    """Every imported catalog version, the active one marked, and which catalog is in use here."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        with services.db.unit_of_work() as session:
            versions = CatalogVersionRepository(session).all()
            rows = [
                (v.version, v.active, v.procedures, v.source, v.imported_at, v.imported_by) for v in versions
            ]
    finally:
        services.close()
    if rows:
        headers = say("catalog_headers", language).split("|")
        table = Table(*headers, title=say("catalog_versions_title", language))
        for version, active, procedures, source, at, by in rows:
            mark = "*" if active else ""
            table.add_row(version, mark, str(procedures), escape(source), f"{at:%Y-%m-%d %H:%M}", escape(by))
        out.print(table)
    else:
        _plain(out, say("catalog_no_versions", language))
    in_use = say("catalog_in_use", language, what=_in_use(services, language))
    _plain(out, in_use)


def _in_use(services: Services, language: Language) -> str:
    """Which catalog a process started now classifies with."""
    values = {"version": services.catalog.version, "procedures": len(services.catalog.procedures)}
    if services.settings.catalog_path is not None:
        return say("catalog_configured", language, path=services.settings.catalog_path, **values)
    if services.catalog_import is not None:
        return say("catalog_active_import", language, **values)
    return say("catalog_shipped", language, **values)
