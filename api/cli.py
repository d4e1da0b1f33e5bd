"""The `sohoa` command line: import, watch, export, serve, worker, doctor and the rest.

Exit codes (see `api.console`): 0 ran, 1 infrastructure failed, 2 nothing could run, 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import api.cli_access as cli_access
import api.cli_backup as cli_backup
import api.cli_catalog as cli_catalog
import api.cli_dossiers as cli_dossiers
import api.cli_intake as cli_intake
import api.cli_signing as cli_signing
from api.cli_archive import archive_app
from api.console import (
    EXIT_INFRASTRUCTURE,
    EXIT_NOTHING_RAN,
    build_cli_services,
    err,
    load_cli_settings,
    out,
    refuse,
)
from classifiers.model import ModelError
from ingest.errors import IngestError, error_code, error_message
from ingest.records import DocumentRecord
from ingest.review import TrainingReport, retrain_if_due, set_procedure, train_model
from ingest.services import Services, build_s3_store
from ingest.settings import Settings
from storage.errors import StorageError
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository

app = typer.Typer(add_completion=False, no_args_is_help=True, help="sohoa: digitize administrative dossiers.")
cli_intake.register(app)
cli_access.register(app)
cli_catalog.register(app)
cli_dossiers.register(app)
cli_backup.register(app)
cli_signing.register(app)
app.add_typer(archive_app, name="archive")
_settings = load_cli_settings
_services = build_cli_services


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


db_app = typer.Typer(no_args_is_help=True, help="The metadata database.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade_command() -> None:
    """Bring the database schema up to the latest migration (SQLite or PostgreSQL); safe to rerun."""
    from storage.db import current_revision, upgrade_database

    settings = _settings()
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        before = current_revision(url)
        upgrade_database(url)
        after = current_revision(url)
    except StorageError as exc:
        raise refuse(exc) from exc
    if before == after:
        out.print(f"database already at {after}")
    else:
        out.print(f"database migrated from {before or 'empty'} to {after}")


@db_app.command("reindex")
def db_reindex_command() -> None:
    """Rebuild the full-text index from every processed document's page texts (after an upgrade)."""
    from storage.search import index_document

    services = _services(_settings())
    count = 0
    try:
        with services.db.unit_of_work() as session:
            for document in DocumentRepository(session).iter_all():
                if document.status in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW):
                    index_document(session, document.id, "\n".join(p.text for p in document.pages))
                    count += 1
    finally:
        services.close()
    out.print(f"indexed {count} documents")


storage_app = typer.Typer(no_args_is_help=True, help="The object store.")
app.add_typer(storage_app, name="storage")


@storage_app.command("migrate")
def storage_migrate_command(
    to: Annotated[str, typer.Option("--to", help="Where to copy: s3 (from the local folder) or local.")],
    prefix: Annotated[str, typer.Option(help="Only keys starting with this.")] = "",
    deep_verify: Annotated[
        bool, typer.Option(help="Re-read objects already at the target instead of trusting their checksum.")
    ] = False,
) -> None:
    """Copy every object between the local folder and S3; resumable, each copy checked by SHA-256."""
    from storage.migrate import migrate
    from storage.objects import LocalObjectStore

    if to not in ("s3", "local"):
        err.print("--to is s3 or local")
        raise typer.Exit(EXIT_NOTHING_RAN)
    settings = _settings()
    try:
        local, remote = LocalObjectStore(settings.objects_dir), build_s3_store(settings)
    except StorageError as exc:
        raise refuse(exc) from exc
    source, target = (local, remote) if to == "s3" else (remote, local)
    with _progress() as bar:
        task = bar.add_task("objects", total=None)
        report = migrate(
            source, target, prefix=prefix, deep_verify=deep_verify, progress=lambda _k, _o: bar.advance(task)
        )
    out.print(f"copied {report.copied}, already there {report.skipped}, failed {len(report.failures)}")
    for failure in report.failures:
        err.print(f"[red]{failure.code}:[/red] {failure.key}: {failure.message}")
    if report.failures:
        raise typer.Exit(EXIT_INFRASTRUCTURE)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help='Words (all must match) or "a phrase"; tone marks optional.')],
    limit: Annotated[int, typer.Option(help="Most hits to show.")] = 20,
) -> None:
    """Find documents by the words in their text; "giay khai sinh" finds "GIẤY KHAI SINH"."""
    from storage.search import search_documents

    services = _services(_settings())
    try:
        table = Table(title=f"documents matching {query!r}")
        for column in ("id", "file", "dossier", "procedure", "snippet"):
            table.add_column(column, overflow="fold")
        with services.db.unit_of_work() as session:
            repository = DocumentRepository(session)
            hits = search_documents(session, query, limit=limit)
            for hit in hits:
                document = repository.get(hit.document_id)
                if document is not None:
                    table.add_row(
                        document.id,
                        document.source,
                        document.dossier_code or "-",
                        document.procedure_id or "-",
                        hit.snippet,
                    )
        if not hits:
            err.print("no document matches")
            raise typer.Exit(EXIT_NOTHING_RAN)
        out.print(table)
    finally:
        services.close()


@app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    status: Annotated[
        list[DocumentStatus] | None, typer.Option(help="Only documents in this status.")
    ] = None,
) -> None:
    """Every document as one JSON object per line (JSON Lines)."""
    services = _services(_settings())
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with services.db.unit_of_work() as session:
            for document in DocumentRepository(session).iter_all():
                if status and document.status not in status:
                    continue
                handle.write(DocumentRecord.of(document, services.catalog).model_dump_json() + "\n")
    finally:
        if output:
            handle.close()
        services.close()


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Run the staff web app (at /) and the HTTP API (OpenAPI at /docs); in embedded mode it also processes
    uploads. Every page and route but /login and /healthz needs a staff account or an API key: with none
    yet, it says how to make the first admin."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    cli_access.hint_first_admin(_services(settings))
    uvicorn.run(create_app(settings), host=host, port=port)


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default: SOHOA_WORKERS).")
    ] = None,
    queues: Annotated[
        str, typer.Option(help="Queues to take work from, comma-separated: interactive, bulk.")
    ] = "interactive,bulk",
) -> None:
    """Run a Celery worker (needs SOHOA_BROKER_URL); in embedded mode, process what is still queued."""
    settings = _settings()
    if settings.embedded:
        cli_intake.process_leftovers(_services(settings))
        return
    from ingest.celery_app import QUEUES, create_celery

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        err.print(f"unknown queue(s) {', '.join(sorted(unknown))}; known: {', '.join(QUEUES)}")
        raise typer.Exit(EXIT_NOTHING_RAN)
    celery = create_celery(settings)
    celery.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency or settings.workers}",
            f"--queues={queues}",
        ]
    )


@app.command("ping")
def ping_command(
    self_only: Annotated[
        bool, typer.Option("--self", help="Only this host's worker (a container health check).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for answers.")] = 5.0,
) -> None:
    """Ask the Celery workers whether they are alive; exit 0 if at least one (or this host's) answers."""
    import socket

    settings = _settings()
    if settings.embedded:
        err.print("no broker configured (SOHOA_BROKER_URL): embedded mode has no separate workers")
        raise typer.Exit(EXIT_NOTHING_RAN)
    from ingest.celery_app import create_celery

    destination = [f"celery@{socket.gethostname()}"] if self_only else None
    answers = create_celery(settings).control.ping(timeout=timeout, destination=destination)
    for answer in answers:
        for name in answer:
            out.print(f"{name}: ok")
    if not answers:
        err.print("no worker answered")
        raise typer.Exit(EXIT_INFRASTRUCTURE)


@app.command("beat")
def beat_command() -> None:
    """Optional: sweep from one more process (every worker already sweeps); needs a broker."""
    settings = _settings()
    if settings.embedded:
        err.print(
            "the sweep needs SOHOA_BROKER_URL (embedded mode resumes unfinished work on `sohoa worker`)"
        )
        raise typer.Exit(EXIT_NOTHING_RAN)
    from ingest.celery_app import create_celery

    schedule = settings.data_dir / "celerybeat-schedule"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    create_celery(settings).start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])


@app.command("review")
def review_command(
    document: Annotated[str | None, typer.Argument(help="Document id to set the procedure of.")] = None,
    procedure: Annotated[str | None, typer.Option(help="Catalog id of the right procedure.")] = None,
    by: Annotated[str | None, typer.Option(help="Who decides (kept in the audit trail).")] = None,
) -> None:
    """List documents waiting for review, or set one document's procedure (audited, feeds `sohoa train`)."""
    services = _services(_settings())
    try:
        if document is None:
            _list_for_review(services)
            return
        if not procedure or not by:
            err.print("give --procedure ID and --by NAME to correct a document")
            raise typer.Exit(EXIT_NOTHING_RAN)
        try:
            changed = set_procedure(services, document, procedure, by=by)
        except IngestError as exc:
            raise refuse(exc) from exc
        out.print(f"{changed.id}: procedure {changed.procedure_id}, status {changed.status}")
        _retrain_after_confirmation(services)
    finally:
        services.close()


def _retrain_after_confirmation(services: Services) -> None:
    """Embedded mode retrains here when due; with a broker a worker does it."""
    if services.settings.embedded:
        report = retrain_if_due(services)
        if report is not None:
            out.print(_trained(report))
        return
    from ingest.celery_app import create_celery, enqueue_retrain

    enqueue_retrain(create_celery(services.settings))


def _list_for_review(services: Services) -> None:
    table = Table(title="documents to review")
    for column in ("id", "file", "dossier", "reasons", "candidates"):
        table.add_column(column, overflow="fold")
    with services.db.unit_of_work() as session:
        repository = DocumentRepository(session)
        for document_id in repository.ids_with_status(DocumentStatus.NEEDS_REVIEW):
            document = repository.get(document_id)
            if document is None:
                continue
            candidates = ", ".join(
                f"{c['procedure']} {c['score']:.2f}" for c in document.procedure_candidates or []
            )
            table.add_row(
                document.id,
                document.source,
                document.dossier_code or "-",
                ", ".join(document.review_reasons or []),
                candidates or "-",
            )
    out.print(table)


@app.command("train")
def train_command() -> None:
    """Retrain the learned procedure model on every document a person confirmed."""
    services = _services(_settings())
    try:
        report = train_model(services)
    except ModelError as exc:
        raise refuse(exc) from exc
    finally:
        services.close()
    out.print(_trained(report))


def _trained(report: TrainingReport) -> str:
    return (
        f"trained on {report.examples} confirmed documents of {report.procedures} procedures "
        f"(temperature {report.temperature}), stored as {report.key}"
    )


@app.command("doctor")
def doctor_command() -> None:
    """Check tesseract, its languages, the database and the object store; say what is missing."""
    from ocr.tesseract import probe

    settings = _settings()
    try:
        info = probe(required_languages=settings.ocr_languages)
        out.print(f"tesseract {info.version}, languages: {', '.join(info.languages)}")
    except Exception as exc:
        err.print(f"[red]{error_code(exc)}:[/red] {error_message(exc)}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc
    services = _services(settings)
    services.close()
    mode = (
        "embedded" if settings.embedded else f"production (broker {_without_password(settings.broker_url)})"
    )
    database = _without_password(settings.effective_database_url)
    out.print(f"mode: {mode}; database: {database}; data: {settings.data_dir}")
    store = (
        f"S3 {settings.s3_endpoint} bucket {settings.s3_bucket}" if settings.s3_endpoint else "local folder"
    )
    out.print(f"objects: {store}; catalog: {len(services.catalog.procedures)} procedures")
    if not settings.embedded:
        _check_broker(settings)


def _without_password(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    if not url:
        return "-"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy-style URL (amqp://, redis://): hide what follows user:
        return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def _check_broker(settings: Settings) -> None:
    """The broker answers, and how many workers reply to a ping (none is a warning, not an error)."""
    from ingest.celery_app import create_celery

    app = create_celery(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        err.print(f"[red]broker.unavailable:[/red] {error_message(exc)}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc
    workers = app.control.ping(timeout=2.0)
    out.print(f"broker: ok; workers answering: {len(workers)}")


def main() -> None:
    """Console-script entry point."""
    app()
