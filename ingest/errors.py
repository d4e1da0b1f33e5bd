"""Errors raised by `ingest/`, with stable codes (see also `ocr.errors` and `storage.errors`)."""

from __future__ import annotations


class IngestError(Exception):
    """Base of ingest errors; `code` is stable, `message` is for people."""

    code = "ingest.failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class TransientError(IngestError):
    """Storage or database unreachable for now: the work is retried later, the document is not failed."""

    code = "processing.retry_later"


BAD_DOSSIER_CODE = "input.bad_dossier_code"
NOT_FOUND = "input.not_found"
ARCHIVE_UNREADABLE = "input.archive_unreadable"
TOO_LARGE = "input.too_large"
UNREADABLE = "input.unreadable"
TIMEOUT = "processing.timeout"
CRASHED = "processing.crashed"
INTERNAL = "internal.error"


def error_code(exc: BaseException) -> str:
    """The stable code of any sohoa error (they all carry `code`), else `internal.error`."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and "." in code else INTERNAL


def error_message(exc: BaseException) -> str:
    """A one-line message for people, never a traceback."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:500]


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves: object store or database unreachable, connection lost."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from storage.errors import StorageUnavailable

    if isinstance(exc, TransientError | StorageUnavailable | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def raise_if_transient(exc: BaseException) -> None:
    """Re-raise a passing failure as `TransientError`, so the caller's retry logic sees one kind of error."""
    if is_transient(exc):
        raise TransientError(error_message(exc)) from exc
