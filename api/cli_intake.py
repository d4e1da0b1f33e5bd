"""`sohoa import`, `sohoa watch` and `sohoa separator`: getting paper in, in words the counters read.

Progress counts pages (not files) with pages per minute and time left; the end of an import shows a summary
by outcome and by dossier, not a row per file (`--report FILE` has every file). The first Ctrl-C stops
taking new work and lets pages in flight finish, then says how to resume; a second stops at once.
"""

from __future__ import annotations

import csv
import json
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from api.cli_access import check_unit, cli_actor
from api.console import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING_RAN,
    build_cli_services,
    err,
    exit_code,
    load_cli_settings,
    out,
    refuse,
)
from ingest import batch, errors
from ingest.errors import IngestError
from ingest.intake import check_dossier_code
from ingest.manifest import Manifest, read_manifest, validate_manifest
from ingest.messages import DOSSIER_SOURCES, OUTCOMES, Language, error_text, say, word
from ingest.services import Services
from ingest.sources import SourceProblem
from ingest.submit import RETRYABLE_PREFIXES, Finished, Submitter, Taken, open_submitter
from storage import errors as storage_errors
from storage.audit import AuditEvent, record_audit
from storage.errors import StorageError

SUMMARY_DOSSIERS = 15
"""Dossiers listed by name at the end of an import; the rest are counted."""
SUMMARY_FAILURES = 20


def register(app: typer.Typer) -> None:
    """Add the intake commands to the `sohoa` app."""
    app.command("import")(import_command)
    app.command("watch")(watch_command)
    app.command("separator")(separator_command)
    app.command("retry")(retry_command)


class PagesPerMinute(ProgressColumn):
    """Throughput of the bar in pages per minute (rich's own speed estimate, per minute)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed * 60:.1f} {self.label}", style="progress.data.speed")


def _bars(language: Language) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        PagesPerMinute(say("pages_per_minute", language)),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@contextmanager
def _ctrl_c(language: Language) -> Iterator[tuple[threading.Event, threading.Event]]:
    """First Ctrl-C sets `stop` (finish what is in flight), the second `abort` (stop at once)."""
    stop, abort = threading.Event(), threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            abort.set()
            return
        stop.set()
        err.print(f"[yellow]{say('stopping', language)}[/yellow]")

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield stop, abort
    finally:
        signal.signal(signal.SIGINT, previous)


def import_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files, folders (recursive) or .zip archives.")
    ] = None,
    dossier: Annotated[
        str | None, typer.Option(help="Dossier code for every document of this import.")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="CSV or XLSX mapping files to dossiers: file, dossier[, procedure, received, applicant]."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only check the manifest; exit 2 if any row is bad.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write every file's outcome to this CSV (or .json) file.")
    ] = None,
    resume: Annotated[str | None, typer.Option(help="Go on with an earlier import by its id.")] = None,
    duplex: Annotated[
        bool, typer.Option(help="Each file is a two-pass double-sided scan: fronts, then backs in reverse.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="With a broker: show progress until all are processed.")] = False,
    unit: Annotated[
        str | None,
        typer.Option(help="The unit receiving these files (see `sohoa units list`); default: the province."),
    ] = None,
) -> None:
    """Store the scans and process them; the same import again (or --resume ID) goes on where it stopped."""
    settings = load_cli_settings()
    language: Language = settings.language
    services = build_cli_services(settings)
    try:
        check_unit(services, unit)
        request = _request(services, paths or [], dossier, manifest, resume, duplex, language, unit)
        checked = _checked_manifest(services, request, language) if request.manifest else None
        if dry_run:
            if checked is None:
                err.print("--dry-run checks a manifest: give --manifest FILE")
                raise typer.Exit(EXIT_NOTHING_RAN)
            return
        record_audit(
            services.db,
            AuditEvent(
                actor=cli_actor(),
                action="import.run",
                unit=request.unit,
                detail={"import": request.import_id, "paths": list(request.paths)[:20]},
            ),
        )
        _run(services, request, checked, report=report, wait=wait or settings.embedded, language=language)
    except StorageError as exc:
        raise refuse(exc, error_text(exc.code, exc.message, language)) from exc
    finally:
        services.close()


def _request(
    services: Services,
    paths: list[Path],
    dossier: str | None,
    manifest: Path | None,
    resume: str | None,
    duplex: bool,
    language: Language,
    unit: str | None,
) -> batch.ImportRequest:
    """The import asked for: from the options, or the stored one for `--resume ID`."""
    if resume:
        found = batch.find_import(services, resume)
        if found is None:
            err.print(f"[red]import.not_found:[/red] {say('unknown_import', language, id=resume)}")
            raise typer.Exit(EXIT_NOTHING_RAN)
        return found
    if not paths:
        err.print("give the files, folders or ZIP archives to import (or --resume ID)")
        raise typer.Exit(EXIT_NOTHING_RAN)
    if manifest is not None and len(paths) != 1:
        err.print("--manifest goes with one folder or one ZIP archive")
        raise typer.Exit(EXIT_NOTHING_RAN)
    try:
        code = check_dossier_code(dossier) if dossier else None
        if manifest is not None and not manifest.is_file():
            raise IngestError(f"{manifest} does not exist", code=errors.MANIFEST_UNREADABLE)
    except IngestError as exc:
        raise refuse(exc) from exc
    return batch.ImportRequest.build(
        paths, dossier=code, manifest=manifest, duplex=duplex, unit=unit, received_by=cli_actor()
    )


def _checked_manifest(services: Services, request: batch.ImportRequest, language: Language) -> Manifest:
    """The manifest read and validated against the files present; every bad row listed, then exit 2."""
    assert request.manifest is not None
    try:
        manifest = read_manifest(Path(request.manifest))
    except IngestError as exc:
        raise refuse(exc, error_text(exc.code, exc.message, language)) from exc
    available = batch.available_files(request, max_file_bytes=services.settings.max_file_bytes)
    problems = validate_manifest(manifest, available=available, catalog=services.catalog)
    if problems:
        err.print(f"[red]{say('manifest_bad', language, count=len({p.line for p in problems}))}[/red]")
        for problem in problems:
            where = say("manifest_line", language, line=problem.line)
            err.print(f"  {where}: {problem.file or '-'}: {problem.code}: {problem.message}")
        raise typer.Exit(EXIT_NOTHING_RAN)
    resolved = manifest.resolved(services.catalog)
    files = {row.file for row in resolved.rows}
    out.print(say("manifest_ok", language, rows=len(resolved.rows), files=len(files)))
    extra = len(available - set(resolved.mapping()))
    if extra:
        err.print(f"[yellow]{say('not_in_manifest', language, count=extra)}[/yellow]")
    return resolved


def _run(
    services: Services,
    request: batch.ImportRequest,
    manifest: Manifest | None,
    *,
    report: Path | None,
    wait: bool,
    language: Language,
) -> None:
    with _bars(language) as bars, _ctrl_c(language) as (stop, abort):
        storing = bars.add_task(say("storing", language), total=None)
        reading = bars.add_task(say("reading", language), total=0)

        def taken(item: Taken) -> None:
            bars.advance(storing)
            pages = sum(d.pages for d in item.documents if not d.status.finished)
            bars.update(reading, total=(bars.tasks[reading].total or 0) + pages)

        def problem(item: SourceProblem) -> None:
            bars.advance(storing)
            text = error_text(item.code, item.message, language)
            line = say("skipped_problem", language, source=item.source, text=text, code=item.code)
            bars.console.print(f"[yellow]{line}[/yellow]")

        events = batch.ImportEvents(
            on_taken=taken,
            on_skipped=lambda _source, _pages: bars.advance(storing),
            on_problem=problem,
            on_finished=lambda _id, _status, pages: bars.advance(reading, pages),
        )
        result = batch.run_import(
            services, request, manifest=manifest, events=events, stop=stop, abort=abort, wait=wait
        )
        bars.update(storing, total=bars.tasks[storing].completed)
    outcomes = batch.import_outcomes(services, result)
    out.print(say("import_id", language, id=result.import_id, run=result.run))
    if wait:
        _print_summary(outcomes, language)
        if result.pages_processed:
            rate = result.pages_processed / result.seconds * 60 if result.seconds > 0 else 0.0
            out.print(say("rate", language, pages=result.pages_processed, seconds=result.seconds, rate=rate))
    else:
        out.print(say("queued_only", language, count=len(result.processed_now), id=result.import_id))
    if report is not None:
        _write_report(report, outcomes)
        out.print(say("report_written", language, path=report))
    if abort.is_set():
        err.print(f"[yellow]{say('aborted', language, id=result.import_id)}[/yellow]")
        raise typer.Exit(EXIT_INTERRUPTED)
    if any(o.error_code == storage_errors.FULL for o in outcomes):  # a rerun after freeing space finishes
        err.print(f"[red]{storage_errors.FULL}:[/red] {error_text(storage_errors.FULL, None, language)}")
        raise typer.Exit(exit_code(storage_errors.FULL))
    if result.interrupted:
        err.print(
            f"[yellow]{say('interrupted', language, left=len(result.left), id=result.import_id)}[/yellow]"
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not any(o.document_id for o in outcomes):
        err.print(say("nothing_imported", language))
        raise typer.Exit(EXIT_NOTHING_RAN)


def _print_summary(outcomes: list[batch.ItemOutcome], language: Language) -> None:
    """Counts by outcome and by dossier, and the failed files (at most a screenful)."""
    by_outcome: Counter[str] = Counter()
    pages_by_outcome: Counter[str] = Counter()
    for item in outcomes:
        key = f"processed:{item.status}" if item.outcome == "processed" else item.outcome
        by_outcome[key] += 1
        pages_by_outcome[key] += item.pages or 0
    table = Table(title=say("summary_title", language))
    for column in (say("outcome", language), say("files", language), say("pages", language)):
        table.add_column(column)
    for key, count in by_outcome.most_common():
        outcome, _, status = key.partition(":")
        label = word(OUTCOMES, outcome, language)
        if status:  # processed now: done or needs review
            label = f"{label}: {word(OUTCOMES, status, language)}"
        table.add_row(label, str(count), str(pages_by_outcome[key]))
    out.print(table)
    _print_dossiers(outcomes, language)
    failed = [o for o in outcomes if o.outcome in ("failed", "problem")]
    if failed:
        failures = Table(title=say("failed_title", language))
        for column in ("file", "code", "message"):
            failures.add_column(column, overflow="fold")
        for item in failed[:SUMMARY_FAILURES]:
            failures.add_row(
                item.source,
                item.error_code or "-",
                error_text(item.error_code, item.error_message, language, detail=False),
            )
        out.print(failures)
        if len(failed) > SUMMARY_FAILURES:
            out.print(say("more_failed", language, count=len(failed) - SUMMARY_FAILURES))


def _print_dossiers(outcomes: list[batch.ItemOutcome], language: Language) -> None:
    documents: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    sources: dict[str, Counter[str]] = {}
    for item in outcomes:
        if item.document_id is None or item.outcome == "failed":
            continue
        key = item.dossier or ""
        documents[key] += 1
        pages[key] += item.pages or 0
        sources.setdefault(key, Counter())[word(DOSSIER_SOURCES, item.dossier_source, language)] += 1
    if not documents:
        return
    table = Table(title=say("dossiers_title", language))
    for column in ("dossier", "documents", "pages", "how_known"):
        table.add_column(say(column, language))
    named = sorted((k for k in documents if k), key=lambda k: (-documents[k], k))
    for key in named[:SUMMARY_DOSSIERS]:
        how = ", ".join(f"{label} {count}" for label, count in sources[key].most_common())
        table.add_row(key, str(documents[key]), str(pages[key]), how)
    if "" in documents:
        table.add_row(say("no_dossier", language), str(documents[""]), str(pages[""]), "-")
    out.print(table)
    if len(named) > SUMMARY_DOSSIERS:
        out.print(say("more_dossiers", language, count=len(named) - SUMMARY_DOSSIERS))


REPORT_FIELDS = (
    "source",
    "outcome",
    "status",
    "document_id",
    "dossier",
    "dossier_source",
    "procedure",
    "pages",
    "error_code",
    "error_message",
)


def _write_report(path: Path, outcomes: list[batch.ItemOutcome]) -> None:
    """Every file of the import: CSV (UTF-8 with BOM, so Excel shows Vietnamese), or JSON for `.json`."""
    rows = [{name: asdict(item)[name] for name in REPORT_FIELDS} for item in outcomes]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def process_leftovers(services: Services) -> None:
    """Embedded `sohoa worker`: process whatever is still queued (e.g. after an interrupted import)."""
    language: Language = services.settings.language
    try:
        pending = batch.unfinished_all(services)
        out.print(f"embedded mode: processing {len(pending)} queued document(s)")
        with (
            _bars(language) as bars,
            open_submitter(services) as submitter,
            _ctrl_c(language) as (stop, abort),
        ):
            reading = bars.add_task(say("reading", language), total=len(pending))
            submitter.send(pending)

            def finished(_done: Finished) -> None:
                bars.advance(reading)

            submitter.wait(pending, on_finished=finished, stop=stop, abort=abort)
    finally:
        services.close()


def retry_command(
    failed: Annotated[
        list[str],
        typer.Option(
            "--failed",
            help="Send back the documents that failed with this error code, or any code of a family "
            "(storage, processing); repeatable.",
        ),
    ],
    wait: Annotated[bool, typer.Option(help="With a broker: show progress until all are processed.")] = False,
) -> None:
    """Send documents that failed for a passing reason (storage down, a worker killed) back to the queue."""
    settings = load_cli_settings()
    language: Language = settings.language
    wanted = [code.strip().rstrip(".") for code in failed if code.strip()]
    lasting = [code for code in wanted if not _retryable(code)]
    if lasting or not wanted:
        err.print(say("retry_lasting", language, codes=", ".join(lasting) or "-"))
        raise typer.Exit(EXIT_NOTHING_RAN)
    services = build_cli_services(settings)
    try:
        ids = batch.failed_with(services, wanted)
        with open_submitter(services) as submitter:
            requeued = submitter.retry_failed(ids)
            record_audit(
                services.db,
                AuditEvent(
                    actor=cli_actor(),
                    action="documents.retry",
                    detail={"codes": wanted, "documents": len(requeued)},
                ),
            )
            out.print(say("retry_sent", language, count=len(requeued), codes=", ".join(wanted)))
            if requeued and (wait or settings.embedded):
                _wait_for(submitter, requeued, language)
    except StorageError as exc:
        raise refuse(exc) from exc
    finally:
        services.close()


def _retryable(code: str) -> bool:
    """A code (or family) whose failures may pass on another try; `input.*` ones would fail the same way."""
    return any(code.startswith(prefix) or prefix.startswith(code + ".") for prefix in RETRYABLE_PREFIXES)


def _wait_for(submitter: Submitter, document_ids: list[str], language: Language) -> None:
    """Progress until the documents are finished, then how they ended."""
    outcomes: Counter[str] = Counter()
    with _bars(language) as bars, _ctrl_c(language) as (stop, abort):
        reading = bars.add_task(say("reading", language), total=len(document_ids))

        def finished(done: Finished) -> None:
            outcomes[done.status.value] += 1
            bars.advance(reading)

        left = submitter.wait(document_ids, on_finished=finished, stop=stop, abort=abort)
    if left:
        outcomes["queued"] += len(left)
    out.print(
        ", ".join(f"{word(OUTCOMES, key, language)}: {count}" for key, count in sorted(outcomes.items()))
    )


def watch_command(
    folder: Annotated[Path, typer.Argument(help="The folder the scanner drops files into.")],
) -> None:
    """Watch a scanner's folder: take each file once complete, then move it to done/ or failed/."""
    from api.watch import watch

    watch(folder)


def separator_command(
    code: Annotated[str, typer.Argument(help="The dossier code the sheet starts.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PDF file to write (default: <code>.pdf).")
    ] = None,
) -> None:
    """Print a separator sheet: put it before a dossier in a scanned stack to start that dossier."""
    from ingest.separator import separator_sheet_pdf

    try:
        pdf = separator_sheet_pdf(code)
    except IngestError as exc:
        raise refuse(exc) from exc
    target = output or Path(f"{code.strip()}.pdf")
    target.write_bytes(pdf)
    out.print(str(target))
