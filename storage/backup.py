"""Backups: one consistent snapshot of the metadata database plus every object, and the restore of one.

    report = backup(db, store, Path("/mnt/backup"))             # a new snapshot in /mnt/backup
    restore(find_snapshot(Path("/mnt/backup")), db, store)      # its newest, into an empty DB and store

A backup folder holds snapshots beside the objects they share:

    objects/<sha[:2]>/<sha>              each object's bytes once, named by their SHA-256
    <UTC time>/manifest.json             format, time, revision, dialect, row counts and file digests
    <UTC time>/objects.jsonl.gz          one line per object: key, sha256, size, content_type
    <UTC time>/db/<table>.jsonl.gz       one JSON object per row (datetimes ISO UTC, bytes base64)
    <UTC time>/db/search_text.jsonl.gz   each document's indexed text (re-indexed at restore)

A second backup into the same folder copies only bytes it does not hold yet (the daily incremental), while
each manifest lists every object, so any one snapshot restores alone (the monthly full). The database is read
in one read-only transaction first, the objects copied afterwards; when a row names an object that is gone
by then (the pipeline files an original under its dossier and deletes the inbox copy right after the row
points at the new key), the database is read again, and an object still missing is recorded in the
manifest and the report as a `backup.missing_object` problem: a snapshot never points at nothing silently.

Public pieces: `backup`, `restore`, `find_snapshot`, the reports `BackupReport` / `RestoreReport` /
`ObjectProblem`, and the constants naming what is backed up (`SKIPPED_TABLES`, `OBJECT_REFERENCES`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import JSON, Connection, Date, DateTime, LargeBinary, Table, insert, inspect, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from storage import errors as storage_errors
from storage.db import Database, upgrade_database
from storage.errors import BackupError, IntegrityMismatch, ObjectNotFound, StorageFull, StorageUnavailable
from storage.migrations import HEAD_REVISION, SEARCH_TABLE_PREFIX
from storage.models import Base, utcnow
from storage.objects import CHUNK, LocalObjectStore, ObjectStore
from storage.search import index_document

FORMAT = "sohoa-backup"
FORMAT_VERSION = 1
"""Bumped when the layout changes in a way an older restore would misread."""
MANIFEST = "manifest.json"
OBJECT_LIST = "objects.jsonl.gz"
OBJECTS_FOLDER = "objects"
SEARCH_TABLE = SEARCH_TABLE_PREFIX
"""The full-text table (not a model: its shape differs between SQLite and PostgreSQL); its document ids and
texts are kept and put back through `storage.search.index_document`, which rebuilds either dialect's index."""

SKIPPED_TABLES = frozenset({"web_sessions"})
"""Not backed up: a restored sign-in would revive sessions ended (signed out, account disabled, password
changed) after the snapshot, and browsers of the old machine hold the only cookies anyway. After a restore
everyone signs in again."""

OBJECT_REFERENCES = frozenset(
    {
        ("documents", "original_key"),
        ("documents", "pdf_key"),
        ("documents", "text_key"),
        ("documents", "words_key"),
        ("stacks", "original_key"),
    }
)
"""Columns holding object keys: each value must be in the snapshot's objects (else a reported problem)."""
NOT_OBJECT_KEYS = frozenset({("documents", "group_key"), ("webhook_deliveries", "event_key")})
"""Columns named `*_key` that hold no object key (a test makes every new `*_key` column pick a side)."""

SNAPSHOT_ATTEMPTS = 3
"""Database reads per backup at most, when rows name objects moved meanwhile."""
INSERT_BATCH = 500

Phase = Literal["tables", "objects", "verify"]
Progress = Callable[[Phase, int, int], None]
"""Called as work advances with the phase, how many items are done and how many there are (tables for
`tables`, objects for `objects` and `verify`), e.g. to drive a progress bar."""


@dataclass(frozen=True)
class ObjectProblem:
    """An object the snapshot could not hold as it should."""

    key: str
    """The object's key in the store."""
    code: str
    """`backup.missing_object` (a row names it, the store lacks it) or `storage.corrupt` (its bytes do not
    match the digest the store recorded: left out of the snapshot)."""
    message: str
    """Which row names it, or what was wrong, for people."""


@dataclass(frozen=True)
class BackupReport:
    """What one `backup` wrote."""

    snapshot: Path
    """The new snapshot folder (its objects are in the sibling `objects/` folder)."""
    created_at: datetime
    """When the database was read (UTC): the moment the snapshot shows."""
    revision: str
    """The database's schema revision."""
    dialect: str
    """`sqlite` or `postgresql`."""
    rows: Mapping[str, int]
    """Rows per table backed up."""
    objects: int
    """Objects the snapshot lists."""
    size_bytes: int
    """Their total size."""
    copied: int
    """Objects whose bytes were new to the backup folder and copied in."""
    copied_bytes: int
    """Bytes copied in by this backup (the rest were there from earlier snapshots)."""
    attempts: int
    """Database reads it took (more than one when objects moved during the backup)."""
    problems: tuple[ObjectProblem, ...] = ()
    """Objects missing or corrupt in the store; the snapshot is written and says so in its manifest."""

    @property
    def complete(self) -> bool:
        """True when every object a row names is in the snapshot and no object was corrupt."""
        return not self.problems


@dataclass(frozen=True)
class RestoreReport:
    """What one `restore` put back."""

    snapshot: Path
    """The snapshot restored."""
    created_at: datetime
    """When its database was read."""
    revision: str
    """Schema revision of the snapshot (and now of the database)."""
    source_dialect: str
    """The database the snapshot was taken from (`sqlite`, `postgresql`)."""
    rows: Mapping[str, int]
    """Rows inserted per table."""
    indexed: int
    """Documents put back into the full-text index."""
    objects: int
    """Objects uploaded, each checked against its SHA-256 twice (as written, and read back at the end)."""
    size_bytes: int
    """Their total size."""
    sequences: int
    """PostgreSQL id sequences moved past the restored ids (0 on SQLite, which needs none)."""
    problems: tuple[ObjectProblem, ...] = ()
    """What the backup recorded as missing or corrupt: those objects are absent here too."""


@dataclass(frozen=True)
class _ObjectEntry:
    key: str
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class _TableFile:
    name: str
    file: str
    rows: int
    sha256: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class _DatabaseDump:
    created_at: datetime
    revision: str
    dialect: str
    tables: tuple[_TableFile, ...]
    search: _TableFile
    references: dict[str, str]
    """Object key → which row names it (`documents.pdf_key of 3f2a…`)."""


@dataclass
class _Copier:
    """Copies store objects into the content-addressed folder, remembering what it copied across attempts."""

    store: ObjectStore
    folder: Path
    progress: Progress | None
    entries: dict[str, _ObjectEntry] = field(default_factory=dict)
    corrupt: dict[str, str] = field(default_factory=dict)
    copied: int = 0
    copied_bytes: int = 0


def backed_up_tables() -> list[Table]:
    """The model tables a snapshot holds, parents before children (the order a restore inserts them in)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in SKIPPED_TABLES]


def backup(
    db: Database, store: ObjectStore, target: Path, *, progress: Progress | None = None
) -> BackupReport:
    """Write a new snapshot of the database and every object into the backup folder `target` (made if
    missing); objects already held there from earlier snapshots are not copied again."""
    target = target.expanduser().resolve()
    _check_target(target, store)
    objects = target / OBJECTS_FOLDER
    try:
        objects.mkdir(parents=True, exist_ok=True, mode=0o700)  # citizens' documents: the owner's only
        partial = Path(tempfile.mkdtemp(dir=target, prefix=".partial-"))
    except OSError as exc:
        raise _write_error(target, exc) from exc
    try:
        copier = _Copier(store, objects, progress)
        attempts = 0
        while True:
            attempts += 1
            dump = _dump_database(db, partial / "db", progress)
            _sync_objects(copier)
            missing = sorted(key for key in dump.references if key not in copier.entries)
            if not missing or attempts == SNAPSHOT_ATTEMPTS:
                break
        problems = [
            ObjectProblem(
                key, storage_errors.BACKUP_MISSING_OBJECT, f"{dump.references[key]}: not in the store"
            )
            for key in missing
        ] + [
            ObjectProblem(key, IntegrityMismatch.code, message)
            for key, message in sorted(copier.corrupt.items())
        ]
        listed = sorted(copier.entries.values(), key=lambda entry: entry.key)
        listing = _write_object_list(partial / OBJECT_LIST, listed)
        _write_manifest(partial, dump, listing, listed, problems, attempts)
        snapshot = _publish(partial, target, dump.created_at)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupReport(
        snapshot=snapshot,
        created_at=dump.created_at,
        revision=dump.revision,
        dialect=dump.dialect,
        rows={table.name: table.rows for table in dump.tables},
        objects=len(listed),
        size_bytes=sum(entry.size for entry in listed),
        copied=copier.copied,
        copied_bytes=copier.copied_bytes,
        attempts=attempts,
        problems=tuple(problems),
    )


def _check_target(target: Path, store: ObjectStore) -> None:
    """Refuse a backup folder whose objects would land in (or hold) the local store being copied."""
    if not isinstance(store, LocalObjectStore):
        return
    root = store.root.expanduser().resolve()
    objects = target / OBJECTS_FOLDER
    if target.is_relative_to(root) or root.is_relative_to(objects) or objects.is_relative_to(root):
        raise BackupError(
            f"the backup folder {target} overlaps the object folder {root}: choose a folder outside the "
            "data folder (best on another disk)",
            code=storage_errors.BACKUP_BAD_TARGET,
        )


# --- the database, read in one transaction ---------------------------------------------------------------


def _dump_database(db: Database, folder: Path, progress: Progress | None) -> _DatabaseDump:
    """Every backed-up table and the search texts, as of one moment, into `folder` (replaced)."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    tables = backed_up_tables()
    references: dict[str, str] = {}
    try:
        with db.engine.connect() as connection:
            _begin_snapshot(connection)
            created_at = utcnow()
            revision = _revision(connection)
            if revision != HEAD_REVISION:
                raise BackupError(
                    f"the database is at revision {revision or 'none'}, this sohoa at {HEAD_REVISION}: "
                    "back it up with the sohoa that uses it (an older database: `sohoa db upgrade` first)",
                    code=storage_errors.BACKUP_REVISION_MISMATCH,
                )
            dumped = []
            for number, table in enumerate(tables, start=1):
                dumped.append(_dump_table(connection, table, folder, references))
                if progress is not None:
                    progress("tables", number, len(tables))
            search = _dump_search(connection, folder)
            connection.rollback()
            dialect = connection.dialect.name
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot read the database: {exc.orig}") from exc
    return _DatabaseDump(created_at, revision, dialect, tuple(dumped), search, references)


def _begin_snapshot(connection: Connection) -> None:
    """Start the one read transaction every table is read in, so they agree with each other."""
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="REPEATABLE READ")
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif connection.dialect.name == "sqlite":
        # sqlite3 would run each SELECT in a transaction of its own; WAL keeps this one's view steady.
        connection.exec_driver_sql("BEGIN")


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return versions[0] if len(versions) == 1 else None


def _dump_table(connection: Connection, table: Table, folder: Path, references: dict[str, str]) -> _TableFile:
    columns = list(table.columns)
    encoders = [_encoder(column.type) for column in columns]
    key_columns = [i for i, c in enumerate(columns) if (table.name, c.name) in OBJECT_REFERENCES]
    primary = [i for i, c in enumerate(columns) if c.primary_key]
    path = folder / f"{table.name}.jsonl.gz"
    statement = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=1000)
    rows = 0
    with _gzip_lines(path) as out:
        for row in connection.execute(statement):
            out.write(
                _json_line({c.name: encode(v) for c, encode, v in zip(columns, encoders, row, strict=True)})
            )
            rows += 1
            for index in key_columns:
                if row[index] is not None:
                    named_by = "/".join(str(row[i]) for i in primary)
                    references[row[index]] = f"{table.name}.{columns[index].name} of {named_by}"
    return _TableFile(table.name, f"db/{path.name}", rows, _file_sha256(path), tuple(c.name for c in columns))


def _dump_search(connection: Connection, folder: Path) -> _TableFile:
    path = folder / f"{SEARCH_TABLE}.jsonl.gz"
    statement = text(f"SELECT document_id, body FROM {SEARCH_TABLE} ORDER BY document_id").execution_options(
        yield_per=1000
    )
    rows = 0
    with _gzip_lines(path) as out:
        for document_id, body in connection.execute(statement):
            out.write(_json_line({"document_id": document_id, "body": body}))
            rows += 1
    return _TableFile(SEARCH_TABLE, f"db/{path.name}", rows, _file_sha256(path), ("document_id", "body"))


def _encoder(type_: TypeEngine[Any]) -> Callable[[Any], Any]:
    """How a column's Python values become JSON: datetimes ISO in UTC, dates ISO, bytes base64."""
    if isinstance(type_, DateTime):
        return lambda value: None if value is None else _utc(value).isoformat()
    if isinstance(type_, Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(type_, LargeBinary):
        return lambda value: None if value is None else base64.b64encode(value).decode("ascii")
    return lambda value: value


def _decoder(type_: TypeEngine[Any]) -> Callable[[Any], Any]:
    """The inverse of `_encoder`."""
    if isinstance(type_, DateTime):
        return lambda value: None if value is None else _utc(datetime.fromisoformat(value))
    if isinstance(type_, Date):
        return lambda value: None if value is None else date.fromisoformat(value)
    if isinstance(type_, LargeBinary):
        return lambda value: None if value is None else base64.b64decode(value, validate=True)
    return lambda value: value


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- objects ----------------------------------------------------------------------------------------------


def _sync_objects(copier: _Copier) -> None:
    """Bring the copier's entries to the store as it is now: new keys copied (bytes not yet in the folder),
    keys gone since an earlier attempt forgotten, keys already copied kept."""
    keys = list(copier.store.keys())
    present = set(keys)
    for gone in [key for key in copier.entries if key not in present]:
        del copier.entries[gone]
    for gone in [key for key in copier.corrupt if key not in present]:
        del copier.corrupt[gone]
    if copier.progress is not None:
        copier.progress("objects", 0, len(keys))
    for number, key in enumerate(keys, start=1):
        if key not in copier.entries and key not in copier.corrupt:
            entry = _copy_object(copier, key)
            if entry is not None:
                copier.entries[key] = entry
        if copier.progress is not None:
            copier.progress("objects", number, len(keys))


def _copy_object(copier: _Copier, key: str) -> _ObjectEntry | None:
    """One object into the folder (unless its bytes are there already); None when it vanished meanwhile."""
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"  # stores keep no type for us
    recorded = copier.store.sha256_of(key)
    if recorded is not None:
        held = _object_path(copier.folder, recorded)
        if held.is_file():
            return _ObjectEntry(key, recorded, held.stat().st_size, content_type)
    try:
        stream = copier.store.open(key)
    except ObjectNotFound:
        return None
    try:
        with stream:
            digest, size = _write_object(stream, copier.folder)
    except ObjectNotFound:
        return None
    except IntegrityMismatch as exc:  # S3 checks the bytes against the digest it recorded
        copier.corrupt[key] = exc.message
        return None
    copier.copied += 1
    copier.copied_bytes += size
    return _ObjectEntry(key, digest, size, content_type)


def _write_object(stream: IO[bytes], folder: Path) -> tuple[str, int]:
    """Stream bytes into `folder/<sha[:2]>/<sha>` through a temporary file; returns (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    except OSError as exc:
        raise _write_error(folder, exc) from exc
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        final = _object_path(folder, digest.hexdigest())
        final.parent.mkdir(exist_ok=True)
        os.replace(temporary, final)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _write_error(folder, exc) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def _object_path(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256


# --- writing the snapshot ---------------------------------------------------------------------------------


def _write_object_list(path: Path, entries: list[_ObjectEntry]) -> _TableFile:
    with _gzip_lines(path) as out:
        for entry in entries:
            line = {
                "key": entry.key,
                "sha256": entry.sha256,
                "size": entry.size,
                "content_type": entry.content_type,
            }
            out.write(_json_line(line))
    return _TableFile("objects", OBJECT_LIST, len(entries), _file_sha256(path), ())


def _write_manifest(
    folder: Path,
    dump: _DatabaseDump,
    listing: _TableFile,
    entries: list[_ObjectEntry],
    problems: list[ObjectProblem],
    attempts: int,
) -> None:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": dump.created_at.isoformat(),
        "sohoa_version": _sohoa_version(),
        "revision": dump.revision,
        "dialect": dump.dialect,
        "attempts": attempts,
        "tables": [_file_record(table) for table in dump.tables],
        "skipped_tables": sorted(SKIPPED_TABLES),
        "search": _file_record(dump.search),
        "objects": {
            "file": listing.file,
            "sha256": listing.sha256,
            "count": listing.rows,
            "bytes": sum(entry.size for entry in entries),
            "folder": f"../{OBJECTS_FOLDER}",
        },
        "problems": [{"key": p.key, "code": p.code, "message": p.message} for p in problems],
    }
    _write_atomically(folder / MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode())


def _file_record(table: _TableFile) -> dict[str, Any]:
    return {
        "name": table.name,
        "file": table.file,
        "rows": table.rows,
        "sha256": table.sha256,
        "columns": list(table.columns),
    }


def _publish(partial: Path, target: Path, created_at: datetime) -> Path:
    """Give the finished snapshot its name (its UTC time, `-2`… if taken): until then nothing lists it."""
    stamp = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    for number in range(1, 1000):
        snapshot = target / (stamp if number == 1 else f"{stamp}-{number}")
        if snapshot.exists():
            continue
        try:
            os.rename(partial, snapshot)
        except OSError as exc:
            if snapshot.exists():
                continue  # another backup took the name this instant
            raise _write_error(target, exc) from exc
        _fsync_folder(target)
        return snapshot
    raise BackupError(f"too many snapshots named {stamp} in {target}", code=storage_errors.BACKUP_UNWRITABLE)


def _sohoa_version() -> str | None:
    try:
        return package_metadata.version("sohoa")
    except package_metadata.PackageNotFoundError:
        return None


# --- restore ----------------------------------------------------------------------------------------------


def find_snapshot(path: Path) -> Path:
    """`path` itself when it is a snapshot, else the newest snapshot inside it (by name: their UTC times)."""
    path = path.expanduser()
    if (path / MANIFEST).is_file():
        return path
    if path.is_dir():
        found = sorted(
            child
            for child in path.iterdir()
            if child.is_dir() and not child.name.startswith(".") and (child / MANIFEST).is_file()
        )
        if found:
            return found[-1]
    raise BackupError(
        f"no snapshot at {path} (no {MANIFEST} there or in its folders)", code=storage_errors.BACKUP_NOT_FOUND
    )


def restore(
    source: Path, db: Database, store: ObjectStore, *, progress: Progress | None = None
) -> RestoreReport:
    """Put a snapshot (or the newest in a backup folder) back into an empty database and object store.

    Everything is checked before anything is written; then the schema is migrated, the objects uploaded
    (each digest compared with the manifest), the rows inserted in one transaction, and every object read
    back and compared again before that transaction commits. On any failure the uploaded objects are
    removed again and no row stays, so the same command can simply run again.
    """
    snapshot = find_snapshot(source)
    manifest = _read_manifest(snapshot)
    tables = _check_tables(manifest)
    _check_files(snapshot, manifest)
    entries = list(_read_object_list(snapshot, manifest))
    folder = snapshot.parent / OBJECTS_FOLDER
    _check_objects_present(folder, entries)
    _refuse_unless_empty(db, store)
    try:
        upgrade_database(db.engine)
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot migrate the database: {exc.orig}") from exc
    uploaded: list[str] = []
    try:
        _upload(store, folder, entries, uploaded, progress)
        with db.unit_of_work() as session:
            rows: dict[str, int] = {}
            for number, table in enumerate(tables, start=1):
                rows[table.name] = _insert_table(session, snapshot, table, manifest)
                if progress is not None:
                    progress("tables", number, len(tables))
            indexed = _insert_search(session, snapshot, manifest)
            sequences = _reset_sequences(session, tables)
            _verify_store(store, entries, progress)
    except BaseException:
        _remove_quietly(store, uploaded)
        raise
    return RestoreReport(
        snapshot=snapshot,
        created_at=datetime.fromisoformat(manifest["created_at"]),
        revision=manifest["revision"],
        source_dialect=manifest["dialect"],
        rows=rows,
        indexed=indexed,
        objects=len(entries),
        size_bytes=sum(entry.size for entry in entries),
        sequences=sequences,
        problems=tuple(
            ObjectProblem(p["key"], p["code"], p["message"]) for p in manifest.get("problems", [])
        ),
    )


def _corrupt(message: str) -> BackupError:
    return BackupError(message, code=storage_errors.BACKUP_CORRUPT)


def _read_manifest(snapshot: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(f"cannot read {snapshot / MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _corrupt(f"{snapshot / MANIFEST} is not a sohoa backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"the snapshot has format {manifest.get('format_version')}, this sohoa reads {FORMAT_VERSION}",
            code=storage_errors.BACKUP_REVISION_MISMATCH,
        )
    if manifest.get("revision") != HEAD_REVISION:
        raise BackupError(
            f"the snapshot's database is at revision {manifest.get('revision')}, this sohoa at "
            f"{HEAD_REVISION}: restore it with the sohoa that made it ({manifest.get('sohoa_version')}), "
            "then upgrade",
            code=storage_errors.BACKUP_REVISION_MISMATCH,
        )
    try:
        _check_shape(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(f"{snapshot / MANIFEST} lacks or garbles {exc}") from exc
    return manifest


def _check_shape(manifest: dict[str, Any]) -> None:
    """Raise KeyError/TypeError/ValueError unless the manifest has every field `restore` reads."""
    datetime.fromisoformat(manifest["created_at"])
    if not isinstance(manifest["dialect"], str):
        raise TypeError("dialect")
    records = [*manifest["tables"], manifest["search"], manifest["objects"]]
    if not all(isinstance(r["file"], str) and isinstance(r["sha256"], str) for r in records):
        raise TypeError("a file's name or digest")
    for record in [*manifest["tables"], manifest["search"]]:
        int(record["rows"])
        list(record["columns"])
    int(manifest["objects"]["count"])
    for problem in manifest.get("problems", []):
        if not all(isinstance(problem[name], str) for name in ("key", "code", "message")):
            raise TypeError("a problem")


def _check_tables(manifest: dict[str, Any]) -> list[Table]:
    """The model tables to fill, after checking the snapshot has exactly them, with the same columns."""
    tables = backed_up_tables()
    recorded = {table["name"]: tuple(table["columns"]) for table in manifest["tables"]}
    expected = {table.name: tuple(column.name for column in table.columns) for table in tables}
    if recorded != expected:
        differing = sorted(
            name for name in recorded.keys() | expected.keys() if recorded.get(name) != expected.get(name)
        )
        raise BackupError(
            f"the snapshot's tables differ from this sohoa's ({', '.join(differing)}) at the same revision",
            code=storage_errors.BACKUP_REVISION_MISMATCH,
        )
    return tables


def _check_files(snapshot: Path, manifest: dict[str, Any]) -> None:
    """Every data file of the snapshot is there with the SHA-256 its manifest records."""
    for record in [*manifest["tables"], manifest["search"], manifest["objects"]]:
        path = snapshot / record["file"]
        try:
            digest = _file_sha256(path)
        except OSError as exc:
            raise _corrupt(f"cannot read {path}: {exc}") from exc
        if digest != record["sha256"]:
            raise _corrupt(f"{path} does not match the SHA-256 in its manifest")


def _read_object_list(snapshot: Path, manifest: dict[str, Any]) -> Iterator[_ObjectEntry]:
    count = 0
    for line in _read_lines(snapshot / manifest["objects"]["file"]):
        try:
            yield _ObjectEntry(
                str(line["key"]), str(line["sha256"]), int(line["size"]), str(line["content_type"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(f"an entry of the object list cannot be read: {exc!r}") from exc
        count += 1
    if count != manifest["objects"]["count"]:
        raise _corrupt(
            f"the object list has {count} entries, its manifest says {manifest['objects']['count']}"
        )


def _check_objects_present(folder: Path, entries: list[_ObjectEntry]) -> None:
    """Each object's bytes are in the backup folder with the recorded size (the digest is checked as each
    is uploaded: reading everything twice up front would double a long restore)."""
    for entry in entries:
        path = _object_path(folder, entry.sha256)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise _corrupt(f"the bytes of {entry.key} are missing from the backup ({path})") from exc
        if size != entry.size:
            raise _corrupt(
                f"the bytes of {entry.key} in the backup ({path}) have {size} bytes, not {entry.size}"
            )


def _refuse_unless_empty(db: Database, store: ObjectStore) -> None:
    """A restore never merges: any row (in any table sohoa knows) or any object refuses it."""
    first = next(iter(store.keys()), None)
    if first is not None:
        raise BackupError(
            f"the object store is not empty (it holds {first}): restore only into an empty one",
            code=storage_errors.BACKUP_NOT_EMPTY,
        )
    try:
        with db.engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            names = [table.name for table in Base.metadata.sorted_tables] + [SEARCH_TABLE]
            filled = [
                name
                for name in names
                if name in present
                and connection.execute(select(text("1")).select_from(sql_table(name)).limit(1)).first()
            ]
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot read the database: {exc.orig}") from exc
    if filled:
        raise BackupError(
            f"the database is not empty (rows in {', '.join(filled)}): restore only into an empty one",
            code=storage_errors.BACKUP_NOT_EMPTY,
        )


def _upload(
    store: ObjectStore,
    folder: Path,
    entries: list[_ObjectEntry],
    uploaded: list[str],
    progress: Progress | None,
) -> None:
    for number, entry in enumerate(entries, start=1):
        uploaded.append(entry.key)
        digest = store.put_file(
            entry.key, _object_path(folder, entry.sha256), content_type=entry.content_type
        )
        if digest != entry.sha256:
            raise _corrupt(f"the bytes of {entry.key} in the backup do not match its SHA-256 (damaged copy)")
        if progress is not None:
            progress("objects", number, len(entries))


def _insert_table(session: Session, snapshot: Path, table: Table, manifest: dict[str, Any]) -> int:
    """Insert one table's rows in batches; returns how many."""
    record = next(t for t in manifest["tables"] if t["name"] == table.name)
    target = sql_table(
        table.name,
        *(
            sql_column(c.name, JSON(none_as_null=True) if isinstance(c.type, JSON) and c.nullable else c.type)
            for c in table.columns
        ),
    )
    decoders = {c.name: _decoder(c.type) for c in table.columns}
    count = 0
    batch: list[dict[str, Any]] = []
    try:
        for line in _read_lines(snapshot / record["file"]):
            batch.append({name: decode(line[name]) for name, decode in decoders.items()})
            count += 1
            if len(batch) >= INSERT_BATCH:
                session.execute(insert(target), batch)
                batch = []
        if batch:
            session.execute(insert(target), batch)
    except (KeyError, ValueError, TypeError) as exc:
        raise _corrupt(f"a row of {record['file']} cannot be read: {exc!r}") from exc
    except OperationalError as exc:
        raise StorageUnavailable(f"cannot write to the database: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise BackupError(
            f"the database refused a row of {table.name}: {getattr(exc, 'orig', exc)}",
            code=storage_errors.BACKUP_REJECTED,
        ) from exc
    if count != record["rows"]:
        raise _corrupt(f"{record['file']} has {count} rows, its manifest says {record['rows']}")
    return count


def _insert_search(session: Session, snapshot: Path, manifest: dict[str, Any]) -> int:
    """Rebuild the full-text index from the texts the snapshot kept (either dialect's own index)."""
    count = 0
    for line in _read_lines(snapshot / manifest["search"]["file"]):
        index_document(session, line["document_id"], line["body"])
        count += 1
    return count


def _reset_sequences(session: Session, tables: list[Table]) -> int:
    """On PostgreSQL, move each serial id's sequence past the ids just inserted (SQLite takes max + 1)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    reset = 0
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = session.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        ).scalar()
        if sequence is None:
            continue
        largest = session.execute(select(column).order_by(column.desc()).limit(1)).scalar()
        session.execute(
            text("SELECT setval(:sequence, :next, false)"), {"sequence": sequence, "next": (largest or 0) + 1}
        )
        reset += 1
    return reset


def _verify_store(store: ObjectStore, entries: list[_ObjectEntry], progress: Progress | None) -> None:
    """Read every object back from the store and compare it with the manifest; nothing else may be there."""
    expected = {entry.key for entry in entries}
    for key in store.keys(prefix=""):
        if key not in expected:
            raise BackupError(
                f"{key} appeared in the object store during the restore: something else writes to it",
                code=storage_errors.BACKUP_NOT_EMPTY,
            )
    for number, entry in enumerate(entries, start=1):
        if _stored_sha256(store, entry.key) != entry.sha256:
            raise IntegrityMismatch(f"{entry.key} does not match its SHA-256 after the restore")
        if progress is not None:
            progress("verify", number, len(entries))


def _stored_sha256(store: ObjectStore, key: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with store.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    except ObjectNotFound:
        return None
    return digest.hexdigest()


def _remove_quietly(store: ObjectStore, keys: list[str]) -> None:
    """Take back what a failed restore uploaded, so the store is empty again for the next attempt."""
    for key in keys:
        # A failing store keeps what it holds: the rerun then refuses a non-empty store, naming a key.
        with suppress(storage_errors.StorageError):
            store.delete(key)


# --- files ------------------------------------------------------------------------------------------------


@contextmanager
def _gzip_lines(path: Path) -> Iterator[IO[str]]:
    """A gzip text file written in full and flushed to disk, or an error naming it."""
    try:
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
            yield out
        _fsync_file(path)
    except OSError as exc:
        raise _write_error(path, exc) from exc


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(f"cannot read {path}: {exc}") from exc


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.incoming")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _write_error(path, exc) from exc


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_error(path: Path, exc: OSError) -> storage_errors.StorageError:
    """A failed write into the backup folder: a full disk says so (`storage.full`)."""
    if storage_errors.is_disk_full(exc):
        return StorageFull(f"no space left for the backup at {path}: {exc.strerror or exc}")
    return BackupError(f"cannot write the backup at {path}: {exc}", code=storage_errors.BACKUP_UNWRITABLE)
