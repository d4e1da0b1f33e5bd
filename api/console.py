"""What every `sohoa` command shares: the consoles, exit codes, and settings/services that fail politely.

Exit codes: 0 when the command ran (an import with some failed files included: they are reported),
1 when infrastructure failed (database, storage, tesseract missing), 2 when nothing could run (bad usage,
no input found, a refused value), 130 when stopped by Ctrl-C. `exit_code` is the one map from an error's
code to these; `refuse` prints a coded error and gives the exit to raise.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from api.errors import AUDIT_BROKEN
from errors import error_code, error_message, family
from ingest.catalogs import IMPORT_CODES as CATALOG_INPUT_CODES
from ingest.services import Services, build_services
from ingest.settings import Settings, load_settings

out = Console(width=None if sys.stdout.isatty() else 400)  # pipes and logs get whole lines
err = Console(stderr=True)

EXIT_INFRASTRUCTURE = 1
EXIT_NOTHING_RAN = 2
EXIT_INTERRUPTED = 130
_INFRASTRUCTURE_FAMILIES = {"storage", "processing", "internal", "catalog"}
_INFRASTRUCTURE_CODES = {"ocr.unavailable", AUDIT_BROKEN}


def exit_code(code: str) -> int:
    """The exit code of an error code: 1 for what an operator fixes (storage, database, tesseract, the
    catalog file, a broken audit trail), 2 for what the person at the command line fixes (input, usage, a
    refused value, a catalog file they import or a procedure they look up)."""
    if code in CATALOG_INPUT_CODES:
        return EXIT_NOTHING_RAN
    if code in _INFRASTRUCTURE_CODES or family(code) in _INFRASTRUCTURE_FAMILIES:
        return EXIT_INFRASTRUCTURE
    return EXIT_NOTHING_RAN


def refuse(exc: BaseException, message: str | None = None) -> typer.Exit:
    """Say what failed, with its code (never a traceback), and return the exit its code maps to."""
    code = error_code(exc)
    err.print(f"[red]{code}:[/red] {message or error_message(exc)}")
    return typer.Exit(exit_code(code))


def load_cli_settings() -> Settings:
    """Settings from the environment, or a clear message and exit 1."""
    try:
        return load_settings()
    except ValueError as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(EXIT_INFRASTRUCTURE) from exc


def build_cli_services(settings: Settings) -> Services:
    """Services, or the coded reason they cannot be built (never a traceback) and the exit its code maps to:
    1 for storage, the database, the catalog file or an internal error."""
    try:
        return build_services(settings)
    except Exception as exc:  # a driver or file error is internal.error: exit 1 too
        raise refuse(exc) from exc
