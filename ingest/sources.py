"""Where input files come from: single files, folder trees and ZIP archives.

Each yields `InputItem`s with the `source` name users see in exports: the file name for a file given
directly, the path relative to the folder for folder trees, `archive.zip/inner/path` inside archives.
Problems with a path itself (missing, unreadable archive) are yielded as `SourceProblem`s so one bad
path never stops the others.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest import errors

IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


@dataclass(frozen=True)
class InputItem:
    """One input file: a name for people and a way to read its bytes."""

    source: str
    size: int
    read: Callable[[], bytes]
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
                    yield from _expand_file(child, relative, max_file_bytes=max_file_bytes)
        else:
            yield from _expand_file(path, path.name, max_file_bytes=max_file_bytes)


def _expand_file(path: Path, source: str, *, max_file_bytes: int) -> Iterator[InputItem | SourceProblem]:
    if path.suffix.lower() == ".zip":
        yield from _zip_members(path, source, max_file_bytes=max_file_bytes)
        return
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield SourceProblem(source, errors.NOT_FOUND, f"cannot read {path}: {exc.strerror}")
        return
    yield InputItem(source=source, size=size, read=path.read_bytes, path=path)


def _zip_members(path: Path, source: str, *, max_file_bytes: int) -> Iterator[InputItem | SourceProblem]:
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir() and not _ignored(m.filename)]
    except (zipfile.BadZipFile, OSError) as exc:
        yield SourceProblem(
            source, errors.ARCHIVE_UNREADABLE, f"{source} is not a readable ZIP archive: {exc}"
        )
        return
    for member in sorted(members, key=lambda m: m.filename):
        name = f"{source}/{PurePosixPath(member.filename).as_posix()}"
        if member.flag_bits & 0x1:
            yield SourceProblem(name, "input.encrypted", "the archive member is encrypted with a password")
        elif member.file_size > max_file_bytes:
            yield SourceProblem(
                name, errors.TOO_LARGE, f"the archive member is {member.file_size} bytes, over the limit"
            )
        else:
            yield InputItem(
                source=name, size=member.file_size, read=_member_reader(path, member.filename, max_file_bytes)
            )


def _member_reader(archive_path: Path, member: str, limit: int) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive_path) as archive, archive.open(member) as handle:
            data = handle.read(limit + 1)  # never trust the declared size of a member
        if len(data) > limit:
            raise OSError(f"{member} expands beyond {limit} bytes")
        return data

    return read
