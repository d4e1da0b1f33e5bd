"""The API's refusals and the one map from error codes to HTTP statuses.

    raise NotFound("no such batch", code=BATCH_NOT_FOUND)      # → 404 {"error": {"code", "message"}}

Routes raise `SohoaError`s (theirs or the ones ingest and storage raise) and never pick a status
themselves: `http_status` does, from the code, for the handler in `api.app`.
"""

from __future__ import annotations

from errors import INTERNAL, SohoaError, family
from ingest import errors as ingest_errors
from ingest.errors import TransientError
from storage.errors import IntegrityMismatch, StorageFull, StorageUnavailable

AUTH_REQUIRED = "auth.required"
FORBIDDEN = "auth.forbidden"
REQUEST_INVALID = "request.invalid"
REQUEST_MALFORMED = "request.malformed"
REQUEST_NOT_FOUND = "request.not_found"
METHOD_NOT_ALLOWED = "request.method_not_allowed"
TOO_MANY_FILES = "input.too_many_files"
BATCH_NOT_FOUND = "batch.not_found"
DOSSIER_NOT_FOUND = "dossier.not_found"
DOCUMENT_NOT_FOUND = "document.not_found"
DOCUMENT_NOT_READY = "document.not_ready"
WEBHOOK_NOT_FOUND = "webhook.not_found"
WEBHOOK_BAD_URL = "webhook.bad_url"
WEBHOOK_BAD_EVENT = "webhook.bad_event"
UNIT_UNKNOWN = "unit.unknown"
UNIT_BAD_CODE = "unit.bad_code"
UNIT_EXISTS = "unit.exists"
IDENTITY_BAD_NAME = "identity.bad_name"
IDENTITY_EXISTS = "identity.exists"
IDENTITY_NOT_FOUND = "identity.not_found"
PASSWORD_MISMATCH = "identity.password_mismatch"
WEAK_PASSWORD = "identity.weak_password"
AUDIT_BROKEN = "audit.broken"


class ApiError(SohoaError):
    """A request the HTTP API or a `sohoa` command refuses; `headers` go on an HTTP response (a 401's
    `WWW-Authenticate`)."""

    code = REQUEST_INVALID

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message, code=code)
        self.headers = headers or {}


class NotFound(ApiError):
    """Nothing there, or nothing this caller may see (the same answer, so existence does not leak)."""

    code = DOCUMENT_NOT_FOUND


_STATUS_OF_CODE = {
    AUTH_REQUIRED: 401,
    FORBIDDEN: 403,
    METHOD_NOT_ALLOWED: 405,
    ingest_errors.TOO_LARGE: 413,
    TOO_MANY_FILES: 413,
    DOCUMENT_NOT_READY: 409,
    ingest_errors.NOT_WITHDRAWN: 409,
    ingest_errors.REVIEW_BUSY: 409,
    UNIT_EXISTS: 409,
    IDENTITY_EXISTS: 409,
    TransientError.code: 503,
    StorageUnavailable.code: 503,
    StorageFull.code: 507,  # Insufficient Storage: the centre's data disk is full
    "ocr.unavailable": 503,  # tesseract missing (a code of `ocr/`, which the API does not import)
    IntegrityMismatch.code: 500,
    INTERNAL: 500,
}
_STATUS_OF_FAMILY = {
    "input": 422,
    "request": 422,
    "manifest": 422,
    "procedure": 422,
    "review": 422,
    "webhook": 422,
    "unit": 422,
    "identity": 422,
    "catalog": 422,
    "model": 422,
    "signing": 422,
    "storage": 503,
    "ocr": 500,
    "processing": 500,
}


def http_status(code: str) -> int:
    """The HTTP status of an error code: its own, else 404 for `*.not_found`, else its family's, else 500."""
    if code in _STATUS_OF_CODE:
        return _STATUS_OF_CODE[code]
    if code.endswith(".not_found"):
        return 404
    return _STATUS_OF_FAMILY.get(family(code), 500)
