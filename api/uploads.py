"""What the upload routes and the intake page share: spooling a client's file to local disk within the size
limit, turning the client's file name into a harmless label, and taking many files in as one batch."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from fastapi import UploadFile

from api.auth import Caller, Permission
from ingest import errors
from ingest.batch import record_problem
from ingest.batches import add_to_batch, close_batch, open_batch, unique_source
from ingest.errors import IngestError
from ingest.services import Services
from ingest.sources import SourceProblem
from ingest.submit import Incoming, Submitter, spool_dir
from storage.models import ImportRun
from storage.objects import CHUNK


def spool_upload(file: UploadFile, target: IO[bytes], limit: int) -> int:
    """Copy the upload to `target` in chunks (never held whole); refuse it past `limit` bytes or empty."""
    copied = 0
    while chunk := file.file.read(CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise IngestError(f"the file is over {limit} bytes", code=errors.TOO_LARGE)
        target.write(chunk)
    if copied == 0:
        raise IngestError("the file is empty", code=errors.EMPTY)
    target.flush()
    return copied


def upload_source(filename: str | None) -> str:
    """The name a client gave, made harmless: its last path part, no control characters, at most 200
    characters (`../../etc/passwd` becomes `passwd`; it is only ever a label, never a path)."""
    name = "".join(ch for ch in (filename or "") if ch.isprintable())
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    return name[:200] or "upload"


def take_batch(
    services: Services,
    submitter: Submitter,
    caller: Caller,
    files: Sequence[UploadFile],
    *,
    name: str | None,
    dossier: str | None,
    station: str | None,
) -> str:
    """Open a batch and take every file in (each stored first, then queued); a file that cannot be taken
    (empty, too large) is listed in the batch with its error and the others go on. Returns the batch id."""
    batch_id = open_batch(services, name=name, created_by=caller.identity_id, unit=caller.unit)
    names: set[str] = set()
    for upload in files:
        source = unique_source(names, upload_source(upload.filename))
        with tempfile.NamedTemporaryFile(prefix="sohoa-batch-", dir=spool_dir(services)) as spooled:
            try:
                spool_upload(upload, spooled, services.settings.max_file_bytes)
            except IngestError as exc:
                record_problem(services, batch_id, 1, SourceProblem(source, exc.code, exc.message))
                continue
            incoming = Incoming(
                source=source,
                path=Path(spooled.name),
                dossier=dossier,
                unit=caller.unit,
                received_by=caller.label,
                station=(station or "").strip()[:64] or None,
            )
            add_to_batch(services, submitter, batch_id, incoming)
    close_batch(services, batch_id)
    return batch_id


def may_follow(run: ImportRun, caller: Caller) -> bool:
    """A scanner follows the batches it sent; readers, reviewers and admins those of their unit."""
    own = run.created_by == caller.identity_id
    return own or (caller.can(Permission.READ) and caller.sees(run.unit))
