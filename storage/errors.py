"""Errors raised by `storage/`, with stable codes."""

from __future__ import annotations


class StorageError(Exception):
    """Base of storage errors; `code` is stable, `message` is for people."""

    code = "storage.failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ObjectNotFound(StorageError):
    """No object at that key."""

    code = "storage.not_found"


class StorageUnavailable(StorageError):
    """The object store or database cannot be reached (transient: retry later)."""

    code = "storage.unavailable"


class IntegrityMismatch(StorageError):
    """Stored bytes no longer match their recorded SHA-256."""

    code = "storage.corrupt"
