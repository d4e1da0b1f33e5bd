"""Errors raised by `storage/`, with stable codes."""

from __future__ import annotations

from errors import SohoaError


class StorageError(SohoaError):
    """Base of storage errors; `code` is stable, `message` is for people."""

    code = "storage.failed"


class ObjectNotFound(StorageError):
    """No object at that key."""

    code = "storage.not_found"


class StorageUnavailable(StorageError):
    """The object store or database cannot be reached (transient: retry later)."""

    code = "storage.unavailable"


class StorageFull(StorageError):
    """The disk holding the data (object folder or SQLite file) has no space left. Not transient: it stays
    full until someone frees space, so the work stops with this code and a rerun finishes it."""

    code = "storage.full"


class IntegrityMismatch(StorageError):
    """Stored bytes no longer match their recorded SHA-256."""

    code = "storage.corrupt"


INVALID_CONFIG = "storage.invalid_config"
INVALID_KEY = "storage.invalid_key"
TLS = "storage.tls"
BUCKET_MISSING = "storage.bucket_missing"
ACCESS_DENIED = "storage.access_denied"
SOURCE_UNREADABLE = "storage.source_unreadable"
FAILED = StorageError.code
FULL = StorageFull.code


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left" from the operating system, SQLite or PostgreSQL, wrapped or not."""
    import errno
    import sqlite3

    seen: BaseException | None = exc
    for _ in range(5):  # the error itself, SQLAlchemy's `orig`, and a cause or two
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if (
            isinstance(seen, sqlite3.Error)
            and (getattr(seen, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL
        ):
            return True
        if getattr(seen, "sqlstate", None) == "53100":  # PostgreSQL disk_full
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
