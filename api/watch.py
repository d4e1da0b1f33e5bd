"""`sohoa watch DIR`: the hot folder as a long-running command (and the `watch` service in compose)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from api.console import EXIT_INFRASTRUCTURE, EXIT_NOTHING_RAN, build_cli_services, err, load_cli_settings, out
from ingest.errors import IngestError
from ingest.hotfolder import Done, Duplicate, Failed, HotFolder, PickedUp, Refused, Retrying, WatchEvent
from ingest.messages import Language, error_text, say
from ingest.submit import open_submitter
from ingest.watch_intake import SubmitterIntake


def watch(folder: Path) -> None:
    """Watch `folder` until Ctrl-C or SIGTERM; files are processed by this mode's pool or workers."""
    settings = load_cli_settings()
    language: Language = settings.language
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = build_cli_services(settings)
    stop = threading.Event()

    def finish(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, finish) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_submitter(services, queue="interactive") as submitter:
            intake = SubmitterIntake(services, submitter, language=language)
            hot_folder = HotFolder(
                folder,
                intake,
                settle_seconds=settings.watch_settle_seconds,
                group_gap_seconds=settings.watch_group_gap_seconds,
                on_event=lambda event: _show(event, language),
            )
            try:
                with hot_folder:
                    out.print(say("watching", language, path=folder))
                    hot_folder.run(stop, poll_seconds=settings.watch_poll_seconds)
            except IngestError as exc:
                err.print(f"[red]{exc.code}:[/red] {exc.message}")
                raise typer.Exit(EXIT_NOTHING_RAN) from exc
    except OSError as exc:
        err.print(f"[red]watch.folder_unusable:[/red] {exc}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        services.close()
    out.print(say("watch_stopped", language))


def _show(event: WatchEvent, language: Language) -> None:
    """One line per event, for the people at the scanner."""
    if isinstance(event, PickedUp):
        out.print(say("watch_picked", language, source=event.source))
    elif isinstance(event, Duplicate):
        out.print(say("watch_duplicate", language, source=event.source))
    elif isinstance(event, Done):
        key = "watch_review" if event.needs_review else "watch_done"
        out.print(say(key, language, source=event.source, where=event.moved_to))
    elif isinstance(event, Failed | Refused):
        text = error_text(event.code, event.message, language) if language == "en" else event.message
        err.print(
            f"[red]{say('watch_failed', language, source=event.source, text=text, code=event.code)}[/red]"
        )
    elif isinstance(event, Retrying):
        err.print(f"[yellow]{say('watch_retrying', language, code=event.code, text=event.message)}[/yellow]")
