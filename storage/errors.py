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


class BackupError(StorageError):
    """A backup cannot be written, or a snapshot cannot be restored (`storage.backup`); the code says why."""

    code = "backup.failed"


BACKUP_NOT_FOUND = "backup.not_found"
"""No snapshot (no `manifest.json`) at the path given."""
BACKUP_NOT_EMPTY = "backup.not_empty"
"""A restore goes only into an empty database and an empty object store."""
BACKUP_CORRUPT = "backup.corrupt"
"""A snapshot's file or object does not match the SHA-256 its manifest records, or is missing."""
BACKUP_REVISION_MISMATCH = "backup.revision_mismatch"
"""The snapshot's schema revision (or format) is not this sohoa's."""
BACKUP_BAD_TARGET = "backup.bad_target"
"""The backup folder overlaps the object store it would copy."""
BACKUP_MISSING_OBJECT = "backup.missing_object"
"""A row of the snapshot names an object the store no longer held (reported, never hidden)."""
BACKUP_UNWRITABLE = "backup.unwritable"
"""The backup folder cannot be written (permissions, a failing disk)."""
BACKUP_REJECTED = "backup.rejected"
"""The target database refused a row of the snapshot (e.g. a value too long for PostgreSQL)."""


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
