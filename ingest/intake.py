"""Intake: store the original bytes first, then record a queued document. Dedup by SHA-256.

The document id is derived from the SHA-256, so the same bytes always map to the same id and the same
object keys: a retried or concurrent intake of one file converges on one document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from ingest import errors
from ingest.errors import IngestError
from ingest.services import Services
from ocr.decode import sniff
from ocr.errors import InputError
from storage.models import Document, DocumentStatus
from storage.repositories import DocumentRepository, DossierRepository

_SAFE_DOSSIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@dataclass(frozen=True)
class IntakeResult:
    """The document that holds the bytes, and whether it already existed."""

    document_id: str
    duplicate: bool
    status: DocumentStatus


def check_dossier_code(code: str) -> str:
    """Accept a dossier code that is safe as a key part (old archives may predate the strict format)."""
    code = code.strip()
    if not _SAFE_DOSSIER.match(code):
        raise IngestError(
            f"{code!r} is not a usable dossier code (letters, digits, '.', '-', '_'; at most 64)",
            code=errors.BAD_DOSSIER_CODE,
        )
    return code


def document_id_for(sha256: str) -> str:
    """Stable document id for given bytes."""
    return sha256[:32]


def original_key(document_id: str, dossier: str | None, extension: str) -> str:
    """Object key of the original: grouped under its dossier when known, in the inbox until then."""
    prefix = f"dossiers/{dossier}" if dossier else "inbox"
    return f"{prefix}/{document_id}/original{extension}"


def _media(data: bytes) -> tuple[str | None, str]:
    try:
        media = sniff(data)
    except InputError:
        return None, ".bin"
    return media.value, media.extension


def intake(services: Services, data: bytes, *, source: str, dossier: str | None = None) -> IntakeResult:
    """Store `data` as a new queued document, or return the existing document with the same bytes."""
    dossier = check_dossier_code(dossier) if dossier else None
    sha256 = hashlib.sha256(data).hexdigest()
    document_id = document_id_for(sha256)
    with services.db.unit_of_work() as session:
        existing = DocumentRepository(session).get_by_sha256(sha256)
        if existing is not None:
            return IntakeResult(existing.id, duplicate=True, status=DocumentStatus(existing.status))
    media_type, extension = _media(data)
    key = original_key(document_id, dossier, extension)
    services.store.put_bytes(key, data, content_type=media_type or "application/octet-stream")
    try:
        with services.db.unit_of_work() as session:
            if dossier:
                DossierRepository(session).ensure(dossier)
            DocumentRepository(session).add(
                Document(
                    id=document_id,
                    source=source,
                    sha256=sha256,
                    size_bytes=len(data),
                    media_type=media_type,
                    status=DocumentStatus.QUEUED,
                    dossier_code=dossier,
                    dossier_source="given" if dossier else None,
                    original_key=key,
                )
            )
    except IntegrityError:  # the same bytes arrived concurrently: that intake won
        with services.db.unit_of_work() as session:
            existing = DocumentRepository(session).get_by_sha256(sha256)
        if existing is None:
            raise
        return IntakeResult(existing.id, duplicate=True, status=DocumentStatus(existing.status))
    return IntakeResult(document_id, duplicate=False, status=DocumentStatus.QUEUED)
