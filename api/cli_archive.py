"""`sohoa archive export`: a dossier's archive package (PDFs, originals, metadata XML, SHA256SUMS).

    sohoa archive export 000.00.21.H61-250401-0001 /mnt/luu-tru   # one dossier
    sohoa archive export --since 2026-02-01 /mnt/luu-tru          # each one with a document finished since

The package layout and the XML are `ingest.archive`'s. Each export is audited (`dossier.archive`).
Vietnamese by default (`SOHOA_LANGUAGE=en` for English). Exit 0 when every dossier asked for was exported
(`--since` with nothing new included), 2 for an unknown dossier, a bad date or option, or a dossier with
nothing to export, 1 when the store, the database or the target folder failed (`--since` goes on with the
other dossiers first).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli_access import cli_actor
from api.console import (
    EXIT_INFRASTRUCTURE,
    EXIT_NOTHING_RAN,
    build_cli_services,
    err,
    exit_code,
    load_cli_settings,
    out,
)
from errors import error_code, error_message
from ingest.archive import (
    DEFAULT_CREATOR,
    DEFAULT_RETENTION,
    DEFAULT_RIGHTS,
    INVALID_METADATA,
    UNKNOWN_DOSSIER,
    ArchiveOptions,
    DossierOutcome,
    ExportedDossier,
    FailedExport,
    LeftOut,
    export_dossier,
    export_since,
)
from ingest.errors import IngestError
from ingest.messages import Language
from ingest.services import Services
from storage.audit import AuditEvent, record_audit
from storage.errors import StorageError

archive_app = typer.Typer(
    no_args_is_help=True, help="Archive packages of dossiers (Decree 30/2020 metadata)."
)

WORDS: dict[str, tuple[str, str]] = {
    "exported": (
        "Đã xuất hồ sơ {code}: {documents} tài liệu, {pages} trang → {folder}",
        "Exported dossier {code}: {documents} documents, {pages} pages → {folder}",
    ),
    "left_out": (
        "  Không xuất tài liệu số {sequence} ({source}): {reason}",
        "  Left out document {sequence} ({source}): {reason}",
    ),
    "failed": ("lỗi khi xử lý ({code})", "failed to process ({code})"),
    "unfinished": ("chưa xử lý xong ({status})", "not processed yet ({status})"),
    "no_pdf": ("chưa có bản PDF", "no PDF yet"),
    "not_found": ("Không có hồ sơ {code}.", "No dossier {code}."),
    "not_exported": ("Không xuất được hồ sơ {code}: {message}", "Dossier {code} not exported: {message}"),
    "nothing_since": (
        "Không có hồ sơ nào có tài liệu xử lý xong từ ngày {day}.",
        "No dossier has a document finished since {day}.",
    ),
    "since_summary": (
        "Đã xuất {exported} hồ sơ có tài liệu xử lý xong từ ngày {day}; lỗi: {failed}.",
        "Exported {exported} dossiers with a document finished since {day}; failed: {failed}.",
    ),
    "usage": (
        "Cần: sohoa archive export HỒ_SƠ THƯ_MỤC, hoặc sohoa archive export --since YYYY-MM-DD THƯ_MỤC",
        "Usage: sohoa archive export DOSSIER DIR, or sohoa archive export --since YYYY-MM-DD DIR",
    ),
    "bad_day": ("Ngày không hợp lệ: {day} (cần YYYY-MM-DD).", "Not a date: {day} (expected YYYY-MM-DD)."),
}


def _say(key: str, language: Language, **values: object) -> str:
    vi, en = WORDS[key]
    return (en if language == "en" else vi).format(**values)


@archive_app.command("export")
def export_command(
    dossier: Annotated[
        str,
        typer.Argument(
            metavar="DOSSIER", help="The dossier code (with --since: the folder).", show_default=False
        ),
    ],
    folder: Annotated[
        str | None,
        typer.Argument(metavar="DIR", help="The folder the package goes into.", show_default=False),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="YYYY-MM-DD: every dossier with a document finished on or after that day (Vietnam time).",
        ),
    ] = None,
    retention: Annotated[
        str, typer.Option(help='Thời hạn bảo quản written in the metadata, e.g. "20 năm".')
    ] = DEFAULT_RETENTION,
    creator: Annotated[str, typer.Option(help="The organisation the records come from.")] = DEFAULT_CREATOR,
    rights: Annotated[str, typer.Option(help='Chế độ sử dụng, e.g. "Công khai".')] = DEFAULT_RIGHTS,
) -> None:
    """`archive export DOSSIER DIR`, or `archive export --since DATE DIR`: write the archive package of a
    dossier (or of each with a document finished since DATE) into DIR/<dossier code>/: the PDFs named
    <code>.<n>.pdf, the originals in originals/, <code>.xml (checked against the archive XSD) and
    SHA256SUMS. Exporting again replaces a package whole, with the same bytes when nothing changed."""
    settings = load_cli_settings()
    language = settings.language
    places = [p for p in (dossier, folder) if p is not None]
    if len(places) != (1 if since is not None else 2):
        err.print(_say("usage", language), markup=False)
        raise typer.Exit(EXIT_NOTHING_RAN)
    day = _day(since, language) if since is not None else None
    try:
        options = ArchiveOptions(retention=retention, rights=rights, creator=creator)
    except IngestError as exc:
        err.print(f"[red]{exc.code}:[/red] {error_message(exc)}", highlight=False)
        raise typer.Exit(EXIT_NOTHING_RAN) from exc
    services = build_cli_services(settings)
    try:
        if day is None:
            _export_one(services, places[0], Path(places[1]), options, language)
        else:
            _export_since(services, day, Path(places[0]), options, language)
    finally:
        services.close()


def _export_one(
    services: Services, code: str, target: Path, options: ArchiveOptions, language: Language
) -> None:
    try:
        exported = export_dossier(services, code, target, options)
    except (IngestError, StorageError) as exc:
        _audit(services, code, outcome=error_code(exc))
        message = _say("not_found", language, code=code) if error_code(exc) == UNKNOWN_DOSSIER else None
        raise _refuse(exc, message) from exc
    _audit(services, code, exported=exported)
    _print_exported(exported, language)


def _export_since(
    services: Services, day: date, target: Path, options: ArchiveOptions, language: Language
) -> None:
    def report(outcome: DossierOutcome) -> None:
        if isinstance(outcome, ExportedDossier):
            _audit(services, outcome.code, exported=outcome)
            _print_exported(outcome, language)
        else:
            _audit(services, outcome.code, outcome=outcome.error_code)
            text = _say("not_exported", language, code=outcome.code, message=outcome.message)
            err.print(f"[red]{outcome.error_code}:[/red] {escape(text)}", highlight=False)

    try:
        outcomes = export_since(services, day, target, options, progress=report)
    except (IngestError, StorageError) as exc:
        raise _refuse(exc) from exc
    failed = [o for o in outcomes if isinstance(o, FailedExport)]
    if not outcomes:
        out.print(_say("nothing_since", language, day=day.isoformat()), markup=False)
        return
    out.print(
        _say("since_summary", language, exported=len(outcomes) - len(failed), failed=len(failed), day=day),
        markup=False,
    )
    if failed:
        raise typer.Exit(max(exit_code(f.error_code) for f in failed))


def _print_exported(exported: ExportedDossier, language: Language) -> None:
    line = _say(
        "exported",
        language,
        code=exported.code,
        documents=len(exported.documents),
        pages=exported.pages,
        folder=exported.folder,
    )
    out.print(line, markup=False, highlight=False, soft_wrap=True)
    for left in exported.left_out:
        out.print(
            _say(
                "left_out",
                language,
                sequence=left.sequence,
                source=left.source,
                reason=_reason(left, language),
            ),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _reason(left: LeftOut, language: Language) -> str:
    if left.reason == "failed":
        return _say("failed", language, code=left.error_code or "-")
    if left.reason == "unfinished":
        return _say("unfinished", language, status=left.status)
    return _say("no_pdf", language)


def _day(value: str, language: Language) -> date:
    """A calendar day written YYYY-MM-DD, else a message and exit 2."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    err.print(_say("bad_day", language, day=value), markup=False)
    raise typer.Exit(EXIT_NOTHING_RAN)


def _refuse(exc: BaseException, message: str | None = None) -> typer.Exit:
    """The coded error, and its exit: 1 for metadata that fails our own schema (a bug, not the operator's)."""
    code = error_code(exc)
    err.print(f"[red]{code}:[/red] {escape(message or error_message(exc))}", highlight=False)
    return typer.Exit(EXIT_INFRASTRUCTURE if code == INVALID_METADATA else exit_code(code))


def _audit(
    services: Services, code: str, *, exported: ExportedDossier | None = None, outcome: str = "ok"
) -> None:
    """One `dossier.archive` entry per dossier: who copied its papers out, where, and how many."""
    detail: dict[str, object] = {}
    if exported is not None:
        detail = {
            "folder": str(exported.folder),
            "documents": len(exported.documents),
            "left_out": len(exported.left_out),
        }
    record_audit(
        services.db,
        AuditEvent(
            actor=cli_actor(),
            action="dossier.archive",
            dossier_code=code[:64],
            outcome=outcome,
            detail=detail,
        ),
    )
