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
