"""`sohoa dossier CODE` and `sohoa report completeness`: whether dossiers hold what their procedures require.

`dossier` prints one dossier's documents (with their kinds) and its completeness; `report completeness`
writes one CSV row per dossier and prints the share fully digitized — the figure the centre reports upward.
Vietnamese by default (`SOHOA_LANGUAGE=en` for English); catalog and file names are printed as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.console import EXIT_NOTHING_RAN, build_cli_services, err, load_cli_settings, out
from classifiers.completeness import ComponentCheck
from classifiers.kinds import BY_ID
from ingest.dossiers import DossierCheck, check_dossier, every_dossier, write_report
from ingest.messages import Language
from ingest.records import DocumentRecord
from storage.repositories import DocumentRepository

report_app = typer.Typer(no_args_is_help=True, help="Reports over every dossier.")

WORDS: dict[str, tuple[str, str]] = {
    "complete": ("đủ thành phần", "complete"),
    "incomplete": ("thiếu thành phần", "incomplete"),
    "unknown": ("chưa xác định được", "unknown"),
    "procedure": ("Thủ tục", "Procedure"),
    "no_procedure": ("chưa xác định thủ tục", "procedure not known yet"),
    "status": ("Tình trạng", "Status"),
    "present": ("Đã có", "Present"),
    "missing": ("Còn thiếu", "Missing"),
    "unchecked": ("Chưa đối chiếu được", "Cannot be checked"),
    "optional": ("Tùy trường hợp (chưa có)", "Only in some cases (not present)"),
    "documents": ("Tài liệu", "Documents"),
    "kind": ("Loại giấy tờ", "Kind"),
    "file": ("Tệp", "File"),
    "document_status": ("Xử lý", "Processing"),
    "done": ("xong", "done"),
    "needs_review": ("cần duyệt", "needs review"),
    "failed": ("lỗi", "failed"),
    "queued": ("chờ xử lý", "queued"),
    "processing": ("đang xử lý", "processing"),
    "not_found": ("Không có hồ sơ {code}.", "No dossier {code}."),
    "share": (
        "{complete}/{total} hồ sơ đủ thành phần ({share:.1%}); thiếu: {incomplete}; "
        "chưa xác định: {unknown}.",
        "{complete}/{total} dossiers complete ({share:.1%}); incomplete: {incomplete}; unknown: {unknown}.",
    ),
    "written": ("Đã ghi báo cáo: {path}", "Report written: {path}"),
}


def _say(key: str, language: Language, **values: object) -> str:
    vi, en = WORDS[key]
    return (en if language == "en" else vi).format(**values)


def register(app: typer.Typer) -> None:
    app.command("dossier")(dossier_command)
    app.add_typer(report_app, name="report")


def dossier_command(code: Annotated[str, typer.Argument(help="The dossier code.")]) -> None:
    """One dossier: its documents, their kinds, and what its procedure requires that is present or missing."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        with services.db.unit_of_work() as session:
            records = [
                DocumentRecord.of(d, services.catalog) for d in DocumentRepository(session).in_dossier(code)
            ]
        if not records:
            err.print(_say("not_found", language, code=code), markup=False)
            raise typer.Exit(EXIT_NOTHING_RAN)
        _print_check(check_dossier(code, records, services.catalog), language)
    finally:
        services.close()


def _print_check(check: DossierCheck, language: Language) -> None:
    procedure = check.procedure
    named = (
        f"{procedure.name} ({procedure.code or procedure.id})"
        if procedure
        else _say("no_procedure", language)
    )
    out.print(f"{check.code} — {_say('procedure', language)}: {named}", markup=False, highlight=False)
    out.print(f"{_say('status', language)}: {_say(check.completeness.status, language)}", markup=False)
    table = Table(title=_say("documents", language))
    for column in ("#", _say("file", language), _say("document_status", language), _say("kind", language)):
        table.add_column(column)
    for number, record in enumerate(check.documents, start=1):
        kind = BY_ID.get(record.document_kind or "")
        label = (kind.en if language == "en" else kind.vi) if kind else "-"
        table.add_row(str(number), record.source, _say(record.status, language), label)
    out.print(table)
    result = check.completeness
    for key, checks in (
        ("missing", result.missing),
        ("present", result.present),
        ("unchecked", result.unchecked),
    ):
        _print_components(_say(key, language), checks, check)
    _print_components(
        _say("optional", language), tuple(c for c in result.optional if c.document is None), check
    )


def _print_components(title: str, checks: tuple[ComponentCheck, ...], check: DossierCheck) -> None:
    if not checks:
        return
    out.print(f"{title} ({len(checks)}):", markup=False)
    for component in checks:
        held = f"  ← {check.documents[component.document].source}" if component.document is not None else ""
        out.print(f"  - {component.name}{held}", markup=False, highlight=False, soft_wrap=True)


@report_app.command("completeness")
def completeness_report(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the CSV here instead of to stdout.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only the documents of this unit.")] = None,
) -> None:
    """One CSV row per dossier (procedure, status, documents, present, missing, which components are
    missing), then the share of dossiers fully digitized on stderr."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        handle = output.open("w", encoding="utf-8-sig", newline="") if output else sys.stdout
        try:
            statuses = write_report(every_dossier(services, unit=unit), handle)
        finally:
            if output:
                handle.close()
    finally:
        services.close()
    total = sum(statuses.values())
    err.print(
        _say(
            "share",
            language,
            complete=statuses["complete"],
            total=total,
            share=statuses["complete"] / total if total else 0.0,
            incomplete=statuses["incomplete"],
            unknown=statuses["unknown"],
        ),
        markup=False,
    )
    if output:
        err.print(_say("written", language, path=output), markup=False)
