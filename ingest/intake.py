"""Intake: store the original bytes first, then record a queued document. Dedup by SHA-256.

The document id is derived from the SHA-256, so the same bytes always map to the same id and the same
object keys: a retried or concurrent intake of one file converges on one document.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import IntegrityError

from ingest import errors
from ingest.errors import IngestError
from ingest.services import Services
from ocr.decode import sniff
from ocr.errors import InputError
from storage.errors import StorageFull
from storage.models import Document, DocumentStatus
from storage.objects import CHUNK
from storage.repositories import DocumentRepository, DossierRepository

log = logging.getLogger(__name__)

SNIFF_BYTES = 1024
"""`ocr.decode.sniff` looks at the first kilobyte only."""
_SAFE_DOSSIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


@dataclass(frozen=True)
class Facts:
    """What the face knows about a file before it is read: how it came, what a person said about it."""

    dossier_source: Literal["given", "manifest", "separator"] = "given"
    """Who gave the dossier code passed with it: an option or folder name, a manifest row, a stack's start."""
    group: str | None = None
    stack_id: str | None = None
    procedure: str | None = None
    received: date | None = None
    applicant: str | None = None
    page_count: int | None = None
    """Pages counted at intake (for progress); the pipeline records the real count."""
    unit: str | None = None
    received_by: str | None = None
    station: str | None = None


NO_FACTS = Facts()


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
            f"{code[:80]!r}{'…' if len(code) > 80 else ''} is not a usable dossier code "
            "(letters, digits, '.', '-', '_'; at most 64)",
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


def _media(head: bytes) -> tuple[str | None, str]:
    try:
        media = sniff(head)
    except InputError:
        return None, ".bin"
    return media.value, media.extension


def intake(
    services: Services, data: bytes, *, source: str, dossier: str | None = None, facts: Facts = NO_FACTS
) -> IntakeResult:
    """Store `data` as a new queued document, or return the existing document with the same bytes."""

    def store(key: str, content_type: str) -> None:
        services.store.put_bytes(key, data, content_type=content_type)

    sha256 = hashlib.sha256(data).hexdigest()
    return _take(
        services, sha256, len(data), data[:SNIFF_BYTES], store, source=source, dossier=dossier, facts=facts
    )


def file_digest(path: Path) -> tuple[str, bytes]:
    """SHA-256 of a file, streamed, and its first kilobyte (for sniffing the format)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        digest.update(head)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest(), head


def intake_file(
    services: Services, path: Path, *, source: str, dossier: str | None = None, facts: Facts = NO_FACTS
) -> IntakeResult:
    """`intake` for a file on disk, streamed: memory stays flat whatever the file's size."""
    sha256, head = file_digest(path)
    size = path.stat().st_size

    def store(key: str, content_type: str) -> None:
        services.store.put_file(key, path, content_type=content_type)

    return _take(services, sha256, size, head, store, source=source, dossier=dossier, facts=facts)


def _take(
    services: Services,
    sha256: str,
    size: int,
    head: bytes,
    store: Callable[[str, str], None],
    *,
    source: str,
    dossier: str | None,
    facts: Facts,
) -> IntakeResult:
    """Dedup by SHA-256, store the original (first, before any row), then record the queued document."""
    dossier = check_dossier_code(dossier) if dossier else None
    document_id = document_id_for(sha256)
    with services.db.unit_of_work() as session:
        existing = DocumentRepository(session).get_by_sha256(sha256)
        if existing is not None:
            return IntakeResult(existing.id, duplicate=True, status=DocumentStatus(existing.status))
    media_type, extension = _media(head)
    key = original_key(document_id, dossier, extension)
    store(key, media_type or "application/octet-stream")
    try:
        with services.db.unit_of_work() as session:
            if dossier:
                DossierRepository(session).ensure(dossier)
            DocumentRepository(session).add(
                Document(
                    id=document_id,
                    source=source,
                    sha256=sha256,
                    size_bytes=size,
                    media_type=media_type,
                    status=DocumentStatus.QUEUED,
                    dossier_code=dossier,
                    dossier_source=facts.dossier_source if dossier else None,
                    original_key=key,
                    group_key=facts.group,
                    stack_id=facts.stack_id,
                    given_procedure=facts.procedure,
                    received_on=facts.received,
                    applicant=facts.applicant,
                    page_count=facts.page_count,
                    unit=facts.unit,
                    received_by=facts.received_by,
                    station=facts.station,
                )
            )
    except StorageFull:  # no row can point at the original: take it away again, the source file is intact
        _delete_quietly(services, key)
        raise
    except IntegrityError:  # the same bytes arrived concurrently: that intake won
        with services.db.unit_of_work() as session:
            existing = DocumentRepository(session).get_by_sha256(sha256)
        if existing is None:
            raise
        return IntakeResult(existing.id, duplicate=True, status=DocumentStatus(existing.status))
    return IntakeResult(document_id, duplicate=False, status=DocumentStatus.QUEUED)


def _delete_quietly(services: Services, key: str) -> None:
    try:
        services.store.delete(key)
    except Exception as exc:  # the row was never written; a leftover object is harmless, if untidy
        log.warning("could not remove %s after a failed intake: %s", key, exc)
