"""Copy every object from one store to another (local folder ↔ S3), resumable and verified.

`migrate()` walks the source's keys and, for each, skips it when the target already holds the same SHA-256,
otherwise streams it across and checks the target's digest afterwards. A failing object is recorded in the
report with its error code and the walk goes on; running it again copies only what is still missing or wrong.
"""

from __future__ import annotations

import hashlib
import mimetypes
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from storage import errors as storage_errors
from storage.errors import IntegrityMismatch, ObjectNotFound, StorageError
from storage.objects import CHUNK, ObjectStore

Outcome = Literal["copied", "skipped", "failed"]
Progress = Callable[[str, Outcome], None]
"""Called once per key with what happened to it, e.g. to drive a progress bar or a log."""

IN_MEMORY_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class MigrationFailure:
    """One object that could not be migrated."""

    key: str
    """The object's key in the source store."""
    code: str
    """Stable error code (`storage.corrupt`, `storage.unavailable`, ...)."""
    message: str
    """What went wrong, for people."""


@dataclass(frozen=True)
class MigrationReport:
    """What one `migrate()` run did."""

    copied: int
    """Objects written to the target (missing there, or there with other bytes)."""
    skipped: int
    """Objects the target already held with the same SHA-256."""
    failures: tuple[MigrationFailure, ...]
    """Objects left out, each with its error; a later run retries them."""

    @property
    def failed(self) -> int:
        """How many objects could not be migrated."""
        return len(self.failures)


def migrate(
    source: ObjectStore,
    target: ObjectStore,
    *,
    prefix: str = "",
    progress: Progress | None = None,
    deep_verify: bool = False,
    work_dir: Path | None = None,
    memory_limit: int = IN_MEMORY_LIMIT,
) -> MigrationReport:
    """Copy the objects under `prefix` from `source` to `target`, skipping those already there.

    `deep_verify` re-reads target objects before skipping them instead of trusting their recorded digest
    (on S3 a recorded digest says nothing about bytes changed behind our back). Objects over `memory_limit`
    pass through a temporary file in `work_dir` (default: the system temp folder) instead of memory.
    """
    copied = skipped = 0
    failures: list[MigrationFailure] = []
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="sohoa-migrate-") as scratch:
        spill = Path(scratch) / "object"
        for key in source.keys(prefix):
            try:
                outcome = _migrate_one(
                    source, target, key, deep_verify=deep_verify, spill=spill, limit=memory_limit
                )
            except StorageError as exc:
                failures.append(MigrationFailure(key=key, code=exc.code, message=exc.message))
                outcome = "failed"
            except OSError as exc:  # the scratch folder, not either store
                failures.append(MigrationFailure(key=key, code=storage_errors.FAILED, message=str(exc)))
                outcome = "failed"
            if outcome == "copied":
                copied += 1
            elif outcome == "skipped":
                skipped += 1
            if progress is not None:
                progress(key, outcome)
    return MigrationReport(copied=copied, skipped=skipped, failures=tuple(failures))


def _migrate_one(
    source: ObjectStore, target: ObjectStore, key: str, *, deep_verify: bool, spill: Path, limit: int
) -> Outcome:
    """Copy one object unless the target already has its bytes; raises StorageError on any failure."""
    expected = source.sha256_of(key)
    if expected is None:
        raise ObjectNotFound(f"{key} disappeared from the source during the migration")
    if _target_digest(target, key, deep=deep_verify) == expected:
        return "skipped"
    with source.open(key) as stream:
        data, digest = _spool(stream, spill, limit)
    if digest != expected:
        raise IntegrityMismatch(f"source object {key} does not match its recorded SHA-256")
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"  # stores keep no type
    if isinstance(data, Path):
        target.put_file(key, data, content_type=content_type)
        data.unlink()
    else:
        target.put_bytes(key, data, content_type=content_type)
    if target.sha256_of(key) != expected:
        raise IntegrityMismatch(f"target object {key} does not match its source after the copy")
    return "copied"


def _target_digest(target: ObjectStore, key: str, *, deep: bool) -> str | None:
    """The target's digest for `key`: recorded (cheap) or, when `deep`, computed from its bytes."""
    if not deep:
        return target.sha256_of(key)
    digest = hashlib.sha256()
    try:
        with target.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except (ObjectNotFound, IntegrityMismatch):
        return None
    return digest.hexdigest()


def _spool(stream: BinaryIO, overflow: Path, limit: int) -> tuple[bytes | Path, str]:
    """Read a stream whole, in memory up to `limit` bytes, in the `overflow` file beyond; plus its SHA-256."""
    digest = hashlib.sha256()
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = stream.read(CHUNK)
        if not chunk:
            return bytes(buffer), digest.hexdigest()
        digest.update(chunk)
        buffer += chunk
    with overflow.open("wb") as spill:
        spill.write(buffer)
        buffer.clear()
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            spill.write(chunk)
    return overflow, digest.hexdigest()
