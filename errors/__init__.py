"""The one error tree: every error sohoa raises on purpose is a `SohoaError` with a stable code.

    class OcrError(SohoaError): code = "ocr.failed"            # each package derives its own kinds
    raise InputError("the file is empty", code=EMPTY)        # a more precise code from the same family

Packages own their codes as named constants beside their error kinds (`ocr.errors`, `classifiers.errors`,
`storage.errors`, `ingest.errors`, `api.errors`); a code is `family.reason`, and nothing matches on message
text. The API maps codes to HTTP statuses in one place (`api.errors.http_status`), the CLI to exit codes in
one place (`api.console.exit_code`). This package imports nothing of ours, so `ocr/` and `classifiers/`
stay pure while sharing the root.
"""

from __future__ import annotations

INTERNAL = "internal.error"
"""The code of anything that is not a `SohoaError`: a bug, reported without its traceback."""


class SohoaError(Exception):
    """Base of every error sohoa raises on purpose; `code` is stable, `message` is for people."""

    code: str = INTERNAL

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


def error_code(exc: BaseException) -> str:
    """The stable code of any sohoa error, else `internal.error`."""
    return exc.code if isinstance(exc, SohoaError) and "." in exc.code else INTERNAL


def error_message(exc: BaseException) -> str:
    """A one-line message for people, never a traceback."""
    message = (exc.message if isinstance(exc, SohoaError) else None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:500]


def family(code: str) -> str:
    """The part of a code before its dot: `input`, `storage`, `auth`…"""
    return code.split(".", 1)[0]
