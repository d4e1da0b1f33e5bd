"""What every `sohoa` command shares: the consoles, exit codes, and settings/services that fail politely.

Exit codes: 0 when the command ran (an import with some failed files included: they are reported),
1 when infrastructure failed (database, storage, tesseract missing), 2 when nothing could run (bad usage,
no input found), 130 when stopped by Ctrl-C.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from ingest.errors import IngestError, error_code, error_message
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings
from storage.errors import StorageError

out = Console(width=None if sys.stdout.isatty() else 400)  # pipes and logs get whole lines
err = Console(stderr=True)

EXIT_INFRASTRUCTURE = 1
EXIT_NOTHING_RAN = 2
EXIT_INTERRUPTED = 130


def load_cli_settings() -> Settings:
    """Settings from the environment, or a clear message and exit 1."""
    try:
        return load_settings()
    except ValueError as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc


def build_cli_services(settings: Settings) -> Services:
    """Services, or the coded reason they cannot be built and exit 1 (never a traceback)."""
    try:
        return build_services(settings)
    except (StorageError, IngestError, OSError) as exc:
        err.print(f"[red]{error_code(exc)}:[/red] {error_message(exc)}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc
    except Exception as exc:  # catalog and driver errors: say what, never a traceback
        err.print(f"[red]{error_code(exc)}:[/red] {error_message(exc)}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc
