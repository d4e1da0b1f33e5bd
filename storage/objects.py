"""Object store interface and its local-folder backend.

Keys are '/'-separated paths such as `dossiers/<code>/<document id>/original.pdf`. Writes are atomic
(temporary file + rename) and idempotent: writing the same key with the same bytes again is harmless, so a
retried task never leaves half an object behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from storage import errors as storage_errors
from storage.errors import (
    IntegrityMismatch,
    ObjectNotFound,
    StorageError,
    StorageFull,
    StorageUnavailable,
    is_disk_full,
)

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
CHUNK = 1024 * 1024


class ObjectStore(Protocol):
    """What the pipeline and API need from any object store backend."""

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> str:
        """Store `data` at `key`; returns its SHA-256 hex digest."""
        ...

    def put_file(self, key: str, path: Path, *, content_type: str) -> str:
        """Store a file's bytes at `key` without loading it whole; returns its SHA-256."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """The whole object; `ObjectNotFound` if absent."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object, for streaming responses."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored at `key`."""
        ...

    def sha256_of(self, key: str) -> str | None:
        """The SHA-256 of the object at `key`, None if absent (cheap on S3: from its metadata)."""
        ...

    def copy(self, source: str, target: str) -> None:
        """Copy an object to a new key, verifying the bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object; absent keys are not an error."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key starting with `prefix` (a plain string prefix), for migration and audits."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that could escape the store or confuse S3 (.., absolute, odd characters)."""
    if not _SAFE_KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise StorageError(f"invalid object key {key!r}", code=storage_errors.INVALID_KEY)
    return key


class LocalObjectStore:
    """Objects as files under one root folder (embedded mode)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create the object folder {root}: {exc}") from exc

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> str:
        with self._atomic_writer(key) as handle:
            handle.write(data)
        return hashlib.sha256(data).hexdigest()

    def put_file(self, key: str, path: Path, *, content_type: str) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as source, self._atomic_writer(key) as handle:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
        return digest.hexdigest()

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object at {key}") from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object at {key}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def sha256_of(self, key: str) -> str | None:
        path = self._path(key)
        try:
            return file_sha256(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc

    def copy(self, source: str, target: str) -> None:
        source_path = self._path(source)
        if not source_path.is_file():
            raise ObjectNotFound(f"no object at {source}")
        expected = file_sha256(source_path)
        with source_path.open("rb") as src, self._atomic_writer(target) as handle:
            shutil.copyfileobj(src, handle, CHUNK)
        if file_sha256(self._path(target)) != expected:
            raise IntegrityMismatch(f"copy of {source} to {target} does not match its source")

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Keys under the root, folder by folder in sorted order; temporaries are never listed."""
        folder, _, _ = prefix.rpartition("/")
        start = self._path(folder) if folder else self.root
        for directory, subfolders, files in os.walk(start):
            subfolders.sort()
            base = Path(directory).relative_to(self.root)
            for name in sorted(files):
                key = (base / name).as_posix()
                if key.startswith(prefix) and _SAFE_KEY.match(key):
                    yield key

    @contextmanager
    def _atomic_writer(self, key: str) -> Iterator[BinaryIO]:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except OSError as exc:
            raise _write_error(key, exc) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError) and not isinstance(exc, StorageError):
                raise _write_error(key, exc) from exc
            raise


def _write_error(key: str, exc: OSError) -> StorageError:
    """A failed write as a coded error: a full disk stays full (`storage.full`), others may pass."""
    if is_disk_full(exc):
        return StorageFull(f"no space left on the data disk for {key}: {exc.strerror or exc}")
    return StorageUnavailable(f"cannot write {key}: {exc}")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
