"""`sohoa backup DIR` and `sohoa restore SNAPSHOT`: a consistent copy of the database and every object, and
putting one back into an empty installation (see `storage.backup` for what a snapshot holds).

`backup` writes a new snapshot into DIR, copying only bytes DIR does not hold yet; exit 0, or 1 when the
store lacks objects rows name (the snapshot is written and lists them). `restore` takes a snapshot folder,
or a backup folder (its newest snapshot), and refuses anything but an empty database and object store.
Vietnamese by default (`SOHOA_LANGUAGE=en` for English); codes stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from api.console import EXIT_INFRASTRUCTURE, err, load_cli_settings, out, refuse
from errors import SohoaError, error_code, error_message
from ingest.messages import Language, error_text
from ingest.services import build_store
from ingest.settings import Settings
from storage import backup as backups
from storage.db import Database, create_database
from storage.objects import ObjectStore

WORDS: dict[str, tuple[str, str]] = {
    "tables_backup": ("Đang đọc cơ sở dữ liệu (bảng)", "Reading the database (tables)"),
    "tables_restore": ("Đang ghi cơ sở dữ liệu (bảng)", "Writing the database (tables)"),
    "objects_backup": ("Đang sao chép tệp lưu trữ", "Copying objects"),
    "objects_restore": ("Đang nạp tệp lưu trữ", "Uploading objects"),
    "verify": ("Đang kiểm tra SHA-256", "Checking SHA-256"),
    "backed_up": (
        "Đã sao lưu vào {path}: {rows} dòng trong {tables} bảng, {objects} tệp lưu trữ ({size}).",
        "Backed up to {path}: {rows} rows in {tables} tables, {objects} objects ({size}).",
    ),
    "copied": (
        "Chép mới {copied} tệp ({copied_size}); {reused} tệp không cần chép (thư mục đã có nội dung đó).",
        "Copied {copied} new objects ({copied_size}); {reused} needed no copy (the folder held their bytes).",
    ),
    "attempts": (
        "Có tệp được chuyển chỗ trong lúc sao lưu: đã đọc lại cơ sở dữ liệu ({attempts} lần).",
        "Objects moved during the backup: the database was read again ({attempts} times).",
    ),
    "problems": (
        "Bản sao lưu đã ghi nhưng thiếu {count} tệp lưu trữ (liệt kê trong manifest.json):",
        "The snapshot is written but lacks {count} objects (listed in its manifest.json):",
    ),
    "more": ("  … và {count} tệp khác", "  … and {count} more"),
    "restored": (
        "Đã khôi phục {path} (chụp lúc {created}, từ {dialect}): {rows} dòng trong {tables} bảng, "
        "{objects} tệp lưu trữ ({size}), mọi tệp khớp SHA-256; chỉ mục tìm kiếm: {indexed} tài liệu.",
        "Restored {path} (taken {created}, from {dialect}): {rows} rows in {tables} tables, "
        "{objects} objects ({size}), every one matching its SHA-256; search index: {indexed} documents.",
    ),
    "sessions": (
        "Phiên đăng nhập web không được sao lưu: mọi người đăng nhập lại.",
        "Web sign-in sessions are not backed up: everyone signs in again.",
    ),
    "restored_problems": (
        "Bản sao lưu này vốn thiếu {count} tệp lưu trữ (đã ghi nhận lúc sao lưu):",
        "This snapshot lacked {count} objects when it was taken:",
    ),
    "certificates": (
        "{count} chứng thư ký số được niêm phong bằng khóa bí mật của máy cũ: đặt SOHOA_SECRET_KEY "
        "(hoặc chép secret.key vào thư mục dữ liệu) giống máy cũ, "
        "nếu không người dùng phải tải lại chứng thư.",
        "{count} signing certificates are sealed under the old machine's secret key: set the same "
        "SOHOA_SECRET_KEY (or copy its secret.key into the data folder), or their owners upload them again.",
    ),
}
ERRORS_VI: dict[str, str] = {
    "backup.not_empty": "Nơi khôi phục chưa trống: chỉ khôi phục vào cơ sở dữ liệu và kho lưu trữ trống.",
    "backup.not_found": "Không tìm thấy bản sao lưu (manifest.json) ở đó.",
    "backup.corrupt": "Bản sao lưu bị hỏng hoặc thiếu tệp; không khôi phục gì.",
    "backup.revision_mismatch": "Bản sao lưu được tạo bởi phiên bản sohoa khác.",
    "backup.bad_target": "Thư mục sao lưu nằm chồng lên kho lưu trữ đang được sao lưu.",
    "backup.unwritable": "Không ghi được vào thư mục sao lưu.",
    "backup.rejected": "Cơ sở dữ liệu đích từ chối một dòng của bản sao lưu; không khôi phục gì.",
}
"""Sentences for people beside the codes of `storage.backup` (English: the error's own message)."""
SHOWN_PROBLEMS = 20


def _say(key: str, language: Language, **values: object) -> str:
    vi, en = WORDS[key]
    return (en if language == "en" else vi).format(**values)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)


def backup_command(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Backup folder (made if missing): snapshots and the objects they share go inside."
        ),
    ],
) -> None:
    """Write a snapshot of the database and every object into FOLDER; bytes already there are not copied
    again, yet each snapshot restores alone."""
    settings = load_cli_settings()
    language = settings.language
    db, store = _connect(settings, migrate=True, language=language)
    try:
        with _bars(language, restoring=False) as progress:
            report = backups.backup(db, store, folder, progress=progress)
    except (SohoaError, SQLAlchemyError, OSError) as exc:
        raise _refuse(exc, language) from exc
    finally:
        db.dispose()
    values = {"rows": sum(report.rows.values()), "tables": len(report.rows), "objects": report.objects}
    _plain(out, _say("backed_up", language, path=report.snapshot, size=_size(report.size_bytes), **values))
    reused = report.objects - report.copied
    _plain(
        out,
        _say("copied", language, copied=report.copied, copied_size=_size(report.copied_bytes), reused=reused),
    )
    _plain(out, _say("sessions", language))
    if report.attempts > 1:
        _plain(err, _say("attempts", language, attempts=report.attempts))
    if report.problems:
        _print_problems(_say("problems", language, count=len(report.problems)), report.problems, language)
        raise typer.Exit(EXIT_INFRASTRUCTURE)


def restore_command(
    source: Annotated[
        Path, typer.Argument(help="A snapshot folder, or a backup folder (then its newest snapshot).")
    ],
) -> None:
    """Restore a snapshot into this installation's database and object store, which must both be empty;
    every object is checked against its SHA-256, and a failure leaves nothing behind."""
    settings = load_cli_settings()
    language = settings.language
    db, store = _connect(settings, migrate=False, language=language)
    try:
        with _bars(language, restoring=True) as progress:
            report = backups.restore(source, db, store, progress=progress)
    except (SohoaError, SQLAlchemyError, OSError) as exc:
        raise _refuse(exc, language) from exc
    finally:
        db.dispose()
    values = {"rows": sum(report.rows.values()), "tables": len(report.rows), "objects": report.objects}
    created = f"{report.created_at:%Y-%m-%d %H:%M:%S} UTC"
    _plain(
        out,
        _say(
            "restored",
            language,
            path=report.snapshot,
            created=created,
            dialect=report.source_dialect,
            size=_size(report.size_bytes),
            indexed=report.indexed,
            **values,
        ),
    )
    _plain(out, _say("sessions", language))
    certificates = report.rows.get("signing_certificates", 0)
    if certificates:
        _plain(err, _say("certificates", language, count=certificates))
    if report.problems:
        _print_problems(
            _say("restored_problems", language, count=len(report.problems)), report.problems, language
        )


def _connect(settings: Settings, *, migrate: bool, language: Language) -> tuple[Database, ObjectStore]:
    """The database and object store alone (no catalog, no OCR engine): `restore` must see them as they
    are, so it migrates only once it has found them empty."""
    try:
        if settings.effective_database_url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = create_database(settings.effective_database_url, create_tables=migrate)
        return db, build_store(settings)
    except (SohoaError, SQLAlchemyError, OSError) as exc:
        raise _refuse(exc, language) from exc


def _refuse(exc: BaseException, language: Language) -> typer.Exit:
    """The coded error in the chosen language, and the exit its code maps to."""
    code = error_code(exc)
    message = error_message(exc)
    if language == "vi" and code in ERRORS_VI:
        return refuse(exc, escape(f"{ERRORS_VI[code]} ({message})"))
    return refuse(exc, escape(error_text(code, message, language)))


def _print_problems(title: str, problems: tuple[backups.ObjectProblem, ...], language: Language) -> None:
    _plain(err, title, style="yellow")
    for problem in problems[:SHOWN_PROBLEMS]:
        _plain(err, f"  {problem.code}: {problem.key} — {problem.message}")
    if len(problems) > SHOWN_PROBLEMS:
        _plain(err, _say("more", language, count=len(problems) - SHOWN_PROBLEMS))


def _plain(console: Console, text: str, *, style: str | None = None) -> None:
    """Paths and keys as they are: never read as markup, never wrapped."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def _bars(language: Language, *, restoring: bool) -> Iterator[backups.Progress]:
    """A progress bar per phase on stderr, fed by the `storage.backup` progress calls."""
    labels = {
        "tables": _say("tables_restore" if restoring else "tables_backup", language),
        "objects": _say("objects_restore" if restoring else "objects_backup", language),
        "verify": _say("verify", language),
    }
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:

        def advance(phase: backups.Phase, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels[phase], total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield advance


def _size(count: int) -> str:
    """Bytes for people: 0 B, 12.3 KB, 4.5 MB, 1.2 GB…"""
    if count < 1000:
        return f"{count} B"
    value = count / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
