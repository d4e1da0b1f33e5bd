"""Errors raised by `ingest/`, with stable codes (see also `ocr.errors` and `storage.errors`)."""

from __future__ import annotations

from errors import INTERNAL, SohoaError, error_code, error_message

__all__ = [
    "INTERNAL",
    "IngestError",
    "TransientError",
    "error_code",
    "error_message",
    "is_transient",
    "raise_if_transient",
]


class IngestError(SohoaError):
    """Base of ingest errors; `code` is stable, `message` is for people."""

    code = "ingest.failed"


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
EMPTY = "input.empty"
ENCRYPTED = "input.encrypted"
MANIFEST_UNREADABLE = "manifest.unreadable"
DOCUMENT_NOT_FOUND = "document.not_found"
UNKNOWN_PROCEDURE = "procedure.unknown_id"
NO_REVIEWER = "review.no_reviewer"
DOCUMENT_FAILED = "review.document_failed"
REVIEW_BUSY = "review.busy"
BAD_FIELD = "review.bad_field"
NO_SUCH_FIELD = "review.no_such_field"
NOT_WITHDRAWN = "document.not_withdrawn"


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves: object store or database unreachable, connection lost."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from storage.errors import StorageUnavailable, is_disk_full

    if is_disk_full(exc):  # stays full until someone frees space: not worth waiting for
        return False
    if isinstance(exc, TransientError | StorageUnavailable | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def raise_if_transient(exc: BaseException) -> None:
    """Re-raise a passing failure as `TransientError`, so the caller's retry logic sees one kind of error."""
    if is_transient(exc):
        raise TransientError(error_message(exc)) from exc
