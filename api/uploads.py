"""What the upload routes share: spooling a client's file to local disk within the size limit, and
turning the client's file name into a harmless label."""

from __future__ import annotations

from typing import IO

from fastapi import UploadFile

from ingest import errors
from ingest.errors import IngestError
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
