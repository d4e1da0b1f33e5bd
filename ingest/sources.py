"""Where input files come from: single files, folder trees and ZIP archives.

Each yields `InputItem`s with the `source` name users see in exports: the file name for a file given
directly, the path relative to the folder for folder trees, `archive.zip/inner/path` inside archives.
Problems with a path itself (missing, unreadable archive) are yielded as `SourceProblem`s so one bad
path never stops the others. Archive members are streamed to a spool file one at a time (`local_copy`),
never read whole into memory; a member with a bad CRC is a problem of that member alone.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ingest import errors

IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


@dataclass(frozen=True)
class InputItem:
    """One input file: a name for people and a way to read its bytes."""

    source: str
    size: int
    open: Callable[[], IO[bytes]]
    """A stream of the bytes; for archive members valid while the iteration is on that member."""
    relative: str
    """The path relative to what was given (a folder, or a ZIP's root): what a manifest's `file` names."""
    folder: str
    """The folder it came in, as people see it (files of one folder came together)."""
    path: Path | None = None
    """Set when the bytes live in a plain file (lets storage stream them)."""


@dataclass(frozen=True)
class SourceProblem:
    """A path that could not be read as input, with a coded reason."""

    source: str
    code: str
    message: str


def _ignored(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith(".") or base.lower() in IGNORED_NAMES or name.startswith("__MACOSX/")


def iter_inputs(paths: list[Path], *, max_file_bytes: int) -> Iterator[InputItem | SourceProblem]:
    """Expand files, folders (recursively, sorted) and .zip archives into input items."""
    for path in paths:
        if not path.exists():
            yield SourceProblem(str(path), errors.NOT_FOUND, f"{path} does not exist")
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                relative = child.relative_to(path).as_posix()
                if not any(_ignored(part) for part in relative.split("/")):
                    yield from _expand_file(
                        child, relative, relative, _parent(relative), max_file_bytes=max_file_bytes
                    )
        else:
            folder = str(path.resolve().parent)  # files given one by one: their own folder
            yield from _expand_file(path, path.name, path.name, folder, max_file_bytes=max_file_bytes)


def _parent(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _expand_file(
    path: Path, source: str, relative: str, folder: str, *, max_file_bytes: int
) -> Iterator[InputItem | SourceProblem]:
    if path.suffix.lower() == ".zip":
        yield from _zip_members(path, source, max_file_bytes=max_file_bytes)
        return
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield SourceProblem(source, errors.NOT_FOUND, f"cannot read {path}: {exc.strerror}")
        return
    yield InputItem(
        source=source, size=size, open=lambda: path.open("rb"), relative=relative, folder=folder, path=path
    )


def _zip_members(path: Path, source: str, *, max_file_bytes: int) -> Iterator[InputItem | SourceProblem]:
    """Members of one archive, the archive kept open while they are read (one central directory read)."""
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir() and not _ignored(m.filename)]
    except (zipfile.BadZipFile, OSError) as exc:
        yield SourceProblem(
            source, errors.ARCHIVE_UNREADABLE, f"{source} is not a readable ZIP archive: {exc}"
        )
        return
    with archive:
        for member in sorted(members, key=lambda m: m.filename):
            relative = PurePosixPath(member.filename).as_posix()
            name = f"{source}/{relative}"
            if member.flag_bits & 0x1:
                yield SourceProblem(name, errors.ENCRYPTED, "the archive member is encrypted with a password")
            elif member.file_size > max_file_bytes:
                yield SourceProblem(
                    name, errors.TOO_LARGE, f"the archive member is {member.file_size} bytes, over the limit"
                )
            else:
                yield InputItem(
                    source=name,
                    size=member.file_size,
                    open=_member_opener(archive, member),
                    relative=relative,
                    folder=_parent(name),
                )


def _member_opener(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(member)


@contextmanager
def local_copy(item: InputItem, *, spool: Path, limit: int) -> Iterator[Path]:
    """The item as a file on local disk: the file itself, or an archive member streamed to a spool file.

    Raises `SpoolError` (coded) for a member that expands beyond `limit` or fails its CRC check.
    """
    if item.path is not None:
        yield item.path
        return
    with tempfile.NamedTemporaryFile(prefix="sohoa-member-", dir=spool) as spooled:
        try:
            with item.open() as stream:
                copied = _copy_bounded(stream, spooled, limit)
        except zipfile.BadZipFile as exc:  # CRC mismatch, damaged compressed data
            raise SpoolError(f"the archive member is damaged: {exc}", code=errors.UNREADABLE) from exc
        except (OSError, EOFError, ValueError) as exc:  # zlib/bz2/lzma errors surface as these
            raise SpoolError(f"the archive member cannot be read: {exc}", code=errors.UNREADABLE) from exc
        if copied > limit:
            raise SpoolError(f"the archive member expands beyond {limit} bytes", code=errors.TOO_LARGE)
        spooled.flush()
        yield Path(spooled.name)


def _copy_bounded(stream: IO[bytes], target: IO[bytes], limit: int) -> int:
    """Copy in chunks, stopping just past `limit` (never trust the declared size of a member)."""
    copied = 0
    while chunk := stream.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            break
        target.write(chunk)
    return copied


class SpoolError(errors.IngestError):
    """An input could not be copied to local disk (damaged or oversized archive member)."""
