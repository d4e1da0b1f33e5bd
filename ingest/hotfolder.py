"""The hot folder: a folder a scanner (or an SMB share) drops files into, watched and handed to intake.

Public pieces: `HotFolder` (`recover`, `scan_once`, `run`, `close`), the seam it feeds,
`HotFolderIntake`, with its values `DroppedFile`, `Submitted` and `Outcome`, and the events given to
`on_event` (`PickedUp`, `Duplicate`, `Refused`, `Done`, `Failed`, `Retrying`; together `WatchEvent`).

Life of a file under the root: it is picked up only once complete (size, mtime and inode unchanged for
`settle_seconds` across passes, and no local process holds it open for writing), moved to
`processing/<source>`, submitted, and once all its documents are finished moved to `done/<source>` or
`failed/<source>` with `failed/<source>.error.json` beside it. Nothing is overwritten: a taken name gets a
suffix (`scan (2).pdf`). A file stays in `processing/` until its outcome is known, so a restart (`recover`)
simply resubmits what is there; the intake dedups by content, so nothing is imported twice.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Literal, Protocol

import psutil

from classifiers.fields import is_dossier_code
from ingest.errors import INTERNAL, IngestError, error_code, error_message
from ingest.sources import IGNORED_NAMES

logger = logging.getLogger(__name__)

PROCESSING, DONE, FAILED = "processing", "done", "failed"
LOCK_NAME = ".sohoa-watch.lock"
TEMP_SUFFIXES = (".tmp", ".part", ".crdownload", ".filepart")
IGNORED_DIRS = {"$recycle.bin", "system volume information", "@eadir", "#recycle", "#snapshot", "lost+found"}
"""Folders file servers and OSes keep for themselves (compared lower-case)."""

OK_STATUSES = {"done", "needs_review"}
FAILED_STATUS = "failed"
OUTCOME_CHUNK = 500
"""At most this many ids per `outcomes` call (keeps SQL `IN` lists bounded)."""

ALREADY_RUNNING = "watch.already_running"
FOLDER_UNUSABLE = "watch.folder_unusable"
MOVE_FAILED = "watch.move_failed"
NOTHING_IMPORTED = "watch.nothing_imported"


# --- the seam -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DroppedFile:
    """A complete file taken from the hot folder, handed to the intake."""

    path: Path
    """Where the file is now: under `<root>/processing/`."""
    source: str
    """Its path relative to the hot folder as dropped, POSIX: `quay-1/000.00.21.H61-260201-0001/p3.jpg`."""
    dossier: str | None
    """From a folder in `source` named like a dossier code; the innermost wins."""
    station: str | None
    """The top-level subfolder when it is not a dossier code (the counter or scanner name)."""
    group: str
    """Files that came together: same folder, same burst (`watch:<folder>:<UTC start, 20261201T193000Z>`)."""


@dataclass(frozen=True)
class Submitted:
    """What the intake did with a dropped file."""

    document_ids: tuple[str, ...]
    """One, or several when a scanned stack was split."""
    duplicate: bool
    """The same bytes were taken in before: nothing new was added."""
    refused: tuple[str, str] | None = None
    """`(code, message)` when the file could not be taken in at all."""


@dataclass(frozen=True)
class Outcome:
    """A finished document."""

    document_id: str
    status: str
    """`done`, `needs_review` or `failed`."""
    error_code: str | None = None
    error_message: str | None = None


class HotFolderIntake(Protocol):
    """Where the hot folder hands complete files; idempotent by content (resubmitting adds nothing)."""

    def submit(self, dropped: DroppedFile) -> Submitted: ...

    def outcomes(self, document_ids: Sequence[str]) -> dict[str, Outcome]:
        """Outcomes of the given documents that are finished; unfinished ones are left out."""
        ...


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickedUp:
    """A complete file was taken in; its new documents are on their way."""

    source: str
    document_ids: tuple[str, ...]
    group: str
    dossier: str | None
    station: str | None


@dataclass(frozen=True)
class Duplicate:
    """A file whose bytes were taken in before: nothing new; it goes to done/ once those documents finish."""

    source: str
    document_ids: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """The intake could not take the file in at all; it is in failed/ with its `.error.json`."""

    source: str
    code: str
    message: str
    moved_to: Path


@dataclass(frozen=True)
class Done:
    """Every document of the file finished well (done or needs review); the file is in done/."""

    source: str
    document_ids: tuple[str, ...]
    needs_review: tuple[str, ...]
    duplicate: bool
    moved_to: Path


@dataclass(frozen=True)
class Failed:
    """A document of the file failed; the file is in failed/ with its `.error.json` (first failure)."""

    source: str
    document_ids: tuple[str, ...]
    document_id: str
    code: str
    message: str
    moved_to: Path


@dataclass(frozen=True)
class Retrying:
    """A step failed for now (intake down, file locked); the files stay where they are and it is retried."""

    stage: Literal["pick_up", "submit", "outcomes", "finish"]
    sources: tuple[str, ...]
    code: str
    message: str


WatchEvent = PickedUp | Duplicate | Refused | Done | Failed | Retrying


# --- small pure pieces --------------------------------------------------------------------------------------


def is_ignored_name(name: str) -> bool:
    """True for names a watcher must never take: hidden, system, and partial-download files."""
    lower = name.lower()
    return (
        name.startswith((".", "~$"))
        or lower in IGNORED_NAMES
        or lower in {"thumbs.db", "desktop.ini"}
        or lower.endswith(TEMP_SUFFIXES)
    )


def describe(source: str) -> tuple[str | None, str | None]:
    """The dossier code (innermost folder named like one) and station (top folder unless a code)."""
    folders = PurePosixPath(source).parts[:-1]
    codes = [_as_code(part) for part in folders]
    dossier = next((code for code in reversed(codes) if code is not None), None)
    station = folders[0] if folders and codes[0] is None else None
    return dossier, station


def _as_code(folder: str) -> str | None:
    candidate = folder.strip().upper()  # staff type `h61` as often as `H61`
    return candidate if is_dossier_code(candidate) else None


def group_label(folder: str, started: datetime) -> str:
    """The group string of a burst of files in `folder` (POSIX, `.` for the root) started at `started`."""
    return f"watch:{folder}:{started.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def free_name(directory: Path, relative: PurePosixPath, *, sidecar: bool = False) -> Path:
    """`directory/relative`, or `name (2).ext`, `name (3).ext` … when taken (or its `.error.json`)."""
    base = directory.joinpath(*relative.parts)
    candidate, number = base, 1
    while os.path.lexists(candidate) or (sidecar and os.path.lexists(error_path(candidate))):
        number += 1
        candidate = base.with_name(f"{base.stem} ({number}){base.suffix}")
    return candidate


def error_path(path: Path) -> Path:
    """The `.error.json` written beside a file in failed/."""
    return path.with_name(path.name + ".error.json")


def files_open_for_writing(under: str) -> frozenset[str]:
    """Real paths below `under` that some process on this machine holds open for writing.

    Processes we may not inspect are skipped; where the OS does not report the open mode, any open counts.
    Writers on other machines (SMB clients) are invisible here: the settle time covers them.
    """
    prefix = under.rstrip(os.sep) + os.sep
    busy: set[str] = set()
    for process in psutil.process_iter():
        try:
            opened = process.open_files()
        except (psutil.Error, OSError):
            continue
        busy.update(f.path for f in opened if f.path.startswith(prefix) and getattr(f, "mode", "?") != "r")
    return frozenset(busy)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _ids(pending: _Pending) -> tuple[str, ...]:
    return pending.submitted.document_ids if pending.submitted else ()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_json(path: Path, record: dict[str, object]) -> None:
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    # backslashreplace keeps undecodable file names as valid JSON escapes instead of failing the write
    path.write_bytes(text.encode("utf-8", errors="backslashreplace"))


# --- internal state -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    signature: tuple[int, int, int]
    since: float


@dataclass(frozen=True)
class _Pending:
    dropped: DroppedFile
    submitted: Submitted | None = None
    failures: int = 0


@dataclass(frozen=True)
class _Failure:
    """What `.error.json` records about a file in failed/."""

    code: str
    message: str
    document_id: str | None
    document_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Burst:
    label: str
    last: float


# --- the watcher --------------------------------------------------------------------------------------------


class HotFolder:
    """Watches one folder and hands each complete file to `intake`; one watcher per folder (a file lock).

    `clock` (monotonic seconds) measures settle times and burst gaps; `utc_now` names bursts and stamps
    `.error.json` files. Use it as a context manager, or call `recover()` first and `close()` at the end.
    """

    def __init__(
        self,
        root: Path | str,
        intake: HotFolderIntake,
        *,
        settle_seconds: float = 5.0,
        group_gap_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        utc_now: Callable[[], datetime] = _utc_now,
        on_event: Callable[[WatchEvent], None] | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self._intake = intake
        self._settle = settle_seconds
        self._gap = group_gap_seconds
        self._clock = clock
        self._utc_now = utc_now
        self._on_event = on_event
        self._lock_fd: int | None = None
        self._seen: dict[Path, _Seen] = {}
        self._pending: dict[Path, _Pending] = {}
        self._bursts: dict[str, _Burst] = {}
        self._events: list[WatchEvent] = []
        self._outcomes_failing = False

    @property
    def processing(self) -> Path:
        """Where files wait for their documents to finish (also what `recover` resubmits)."""
        return self.root / PROCESSING

    def __enter__(self) -> HotFolder:
        self.recover()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # public steps

    def recover(self) -> tuple[WatchEvent, ...]:
        """Take the folder's lock and resubmit every file left in processing/ (a restart after a crash).

        Raises `IngestError` `watch.already_running` when another watcher holds the folder and
        `watch.folder_unusable` when the root is missing or not writable. Safe to call again.
        """
        self._start()
        self._resume()
        self._advance()
        return self._flush()

    def scan_once(self) -> tuple[WatchEvent, ...]:
        """One pass: pick up complete files, submit them, move finished ones; returns the events emitted."""
        if self._lock_fd is None:
            self._start()
            self._resume()
        for path in self._complete_files(self._clock()):
            self._pick_up(path)
        self._advance()
        self._forget_old_bursts(self._clock())
        return self._flush()

    def run(self, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        """Watch until `stop` is set; the pass in progress is finished before returning."""
        if self._lock_fd is None:
            self.recover()
        while not stop.is_set():
            self.scan_once()
            stop.wait(poll_seconds)

    def close(self) -> None:
        """Release the folder's lock (files in processing/ stay there for the next watcher)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # starting

    def _start(self) -> None:
        if self._lock_fd is not None:
            return
        if not self.root.is_dir():
            raise IngestError(f"{self.root} is not a folder", code=FOLDER_UNUSABLE)
        try:
            fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise IngestError(f"cannot use {self.root}: {exc.strerror}", code=FOLDER_UNUSABLE) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise IngestError(
                f"another watcher (pid {holder}) is already watching {self.root}", code=ALREADY_RUNNING
            ) from None
        except OSError as exc:  # e.g. ENOLCK on a network file system without locks
            os.close(fd)
            raise IngestError(f"cannot lock {self.root}: {exc.strerror}", code=FOLDER_UNUSABLE) from exc
        try:
            self._prepare_folders()
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except (OSError, IngestError):
            os.close(fd)
            raise
        self._lock_fd = fd

    def _resume(self) -> None:
        """Track every file under processing/ that is not tracked yet: it is (re)submitted on this pass."""
        now = self._clock()
        for path in sorted(self._walk(self.processing, top_level_skip=set())):
            if path not in self._pending:
                source = path.relative_to(self.processing).as_posix()
                self._pending[path] = _Pending(self._dropped(path, source, now))
                logger.info("hot folder: resuming %s left in processing/", source)

    def _prepare_folders(self) -> None:
        try:
            for name in (PROCESSING, DONE, FAILED):
                (self.root / name).mkdir(exist_ok=True)
        except OSError as exc:
            raise IngestError(f"cannot use {self.root}: {exc.strerror}", code=FOLDER_UNUSABLE) from exc
        for folder in (self.root, *(self.root / name for name in (PROCESSING, DONE, FAILED))):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise IngestError(f"{folder} is not writable", code=FOLDER_UNUSABLE)

    # finding complete files

    def _walk(self, top: Path, *, top_level_skip: set[str]) -> Iterator[Path]:
        """Regular files below `top`, symlinks and ignored names skipped; unreadable folders are logged."""
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                logger.warning("hot folder: cannot list %s: %s", folder, exc.strerror)
                continue
            for entry in entries:
                if is_ignored_name(entry.name):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        skip = entry.name.lower() in IGNORED_DIRS or (
                            folder == top and entry.name in top_level_skip
                        )
                        if not skip:
                            stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        yield Path(entry.path)
                except OSError:
                    continue

    def _complete_files(self, now: float) -> list[Path]:
        """Files unchanged for the settle time that no local process is writing, in name order."""
        stable = self._settled_files(now)
        if not stable:
            return []
        busy = files_open_for_writing(os.path.realpath(self.root))
        complete = [p for p in stable if os.path.realpath(p) not in busy]
        for path in set(stable) - set(complete):
            logger.debug("hot folder: %s is still open for writing", path)
        return sorted(complete, key=lambda p: p.relative_to(self.root).as_posix())

    def _settled_files(self, now: float) -> list[Path]:
        seen: dict[Path, _Seen] = {}
        stable: list[Path] = []
        for path in self._walk(self.root, top_level_skip={PROCESSING, DONE, FAILED}):
            signature = _signature(path)
            if signature is None:
                continue
            before = self._seen.get(path)
            if before is None or before.signature != signature:
                seen[path] = _Seen(signature, now)
            else:
                seen[path] = before
                if now - before.since >= self._settle:
                    stable.append(path)
        self._seen = seen
        return stable

    # picking up and submitting

    def _pick_up(self, path: Path) -> None:
        source = path.relative_to(self.root).as_posix()
        seen = self._seen.pop(path)
        if _signature(path) != seen.signature:
            return  # changed after the pass looked at it: it settles again from the next pass
        target = free_name(self.processing, PurePosixPath(source))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:
            self._seen[path] = seen
            logger.warning("hot folder: cannot move %s to processing/: %s", source, exc)
            self._emit(Retrying("pick_up", (source,), MOVE_FAILED, error_message(exc)))
            return
        self._pending[target] = _Pending(self._dropped(target, source, self._clock()))
        logger.info("hot folder: picked up %s", source)

    def _dropped(self, path: Path, source: str, now: float) -> DroppedFile:
        dossier, station = describe(source)
        folder = PurePosixPath(source).parent.as_posix()
        return DroppedFile(path, source, dossier, station, self._group_for(folder, now))

    def _group_for(self, folder: str, now: float) -> str:
        burst = self._bursts.get(folder)
        same_burst = burst is not None and now - burst.last <= self._gap
        label = burst.label if burst and same_burst else group_label(folder, self._utc_now())
        self._bursts[folder] = _Burst(label, now)
        return label

    def _forget_old_bursts(self, now: float) -> None:
        self._bursts = {f: b for f, b in self._bursts.items() if now - b.last <= self._gap}

    def _advance(self) -> None:
        """Submit what is not yet submitted, file refusals, and move files whose documents all finished."""
        for key in list(self._pending):
            if self._pending[key].submitted is None:
                self._submit(key)
        for key, pending in list(self._pending.items()):
            if pending.submitted and pending.submitted.refused:
                self._finish_refused(key, pending, *pending.submitted.refused)
        self._check_outcomes()

    def _submit(self, key: Path) -> None:
        pending = self._pending[key]
        dropped = pending.dropped
        try:
            result = self._intake.submit(dropped)
        except Exception as exc:  # the intake is another component: any failure of it is retried next pass
            self._pending[key] = replace(pending, failures=pending.failures + 1)
            self._log_intake_failure("submit", dropped.source, exc, first=pending.failures == 0)
            self._emit(Retrying("submit", (dropped.source,), error_code(exc), error_message(exc)))
            return
        if result.refused is None and not result.document_ids:
            result = replace(result, refused=(NOTHING_IMPORTED, "the intake returned no document"))
        self._pending[key] = replace(pending, submitted=result, failures=0)
        if result.refused is not None:
            return
        if result.duplicate:
            logger.info("hot folder: %s is a duplicate of %s", dropped.source, ", ".join(result.document_ids))
            self._emit(Duplicate(dropped.source, result.document_ids))
        else:
            self._emit(
                PickedUp(dropped.source, result.document_ids, dropped.group, dropped.dossier, dropped.station)
            )

    def _check_outcomes(self) -> None:
        waiting = {k: p for k, p in self._pending.items() if p.submitted and not p.submitted.refused}
        ids = list(dict.fromkeys(i for p in waiting.values() for i in _ids(p)))
        if not ids:
            return
        outcomes: dict[str, Outcome] = {}
        try:
            for start in range(0, len(ids), OUTCOME_CHUNK):
                outcomes.update(self._intake.outcomes(ids[start : start + OUTCOME_CHUNK]))
        except Exception as exc:  # as in _submit: retried on the next pass, nothing moves meanwhile
            sources = tuple(p.dropped.source for p in waiting.values())
            self._log_intake_failure(
                "outcomes", f"{len(sources)} file(s)", exc, first=not self._outcomes_failing
            )
            self._outcomes_failing = True
            self._emit(Retrying("outcomes", sources, error_code(exc), error_message(exc)))
            return
        self._outcomes_failing = False
        for key, pending in waiting.items():
            assert pending.submitted is not None
            finished = [outcomes.get(i) for i in pending.submitted.document_ids]
            if all(o is not None and o.status in OK_STATUSES | {FAILED_STATUS} for o in finished):
                self._finish(key, pending, [o for o in finished if o is not None])

    def _log_intake_failure(self, stage: str, what: str, exc: Exception, *, first: bool) -> None:
        if first:
            logger.warning("hot folder: %s failed for %s, retrying next pass", stage, what, exc_info=exc)
        else:
            logger.warning("hot folder: %s failed again for %s: %s", stage, what, error_message(exc))

    # finishing

    def _finish(self, key: Path, pending: _Pending, outcomes: list[Outcome]) -> None:
        dropped = pending.dropped
        assert pending.submitted is not None
        ids, duplicate = pending.submitted.document_ids, pending.submitted.duplicate
        failed = next((o for o in outcomes if o.status == FAILED_STATUS), None)
        if failed is None:
            moved = self._move_out(key, DONE)
            if moved is not None:
                review = tuple(o.document_id for o in outcomes if o.status == "needs_review")
                logger.info("hot folder: %s done", dropped.source)
                self._emit(Done(dropped.source, ids, review, duplicate, moved))
            return
        code = failed.error_code or INTERNAL
        message = failed.error_message or "the document failed"
        moved = self._move_out(key, FAILED, error=_Failure(code, message, failed.document_id, ids))
        if moved is not None:
            logger.info("hot folder: %s failed: %s", dropped.source, code)
            self._emit(Failed(dropped.source, ids, failed.document_id, code, message, moved))

    def _finish_refused(self, key: Path, pending: _Pending, code: str, message: str) -> None:
        moved = self._move_out(key, FAILED, error=_Failure(code, message, None, ()))
        if moved is not None:
            logger.info("hot folder: %s refused: %s", pending.dropped.source, code)
            self._emit(Refused(pending.dropped.source, code, message, moved))

    def _move_out(self, key: Path, to: str, *, error: _Failure | None = None) -> Path | None:
        """Move a processed file to done/ or failed/ (with its `.error.json`); None: retry next pass."""
        source = self._pending[key].dropped.source
        target = free_name(self.root / to, PurePosixPath(source), sidecar=error is not None)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(key, target)
        except OSError as exc:
            logger.warning("hot folder: cannot move %s to %s/: %s", source, to, exc)
            self._emit(Retrying("finish", (source,), MOVE_FAILED, error_message(exc)))
            return None
        del self._pending[key]
        self._prune_empty(key.parent)
        if error is not None:
            self._write_error(target, source, error)
        return target

    def _write_error(self, target: Path, source: str, error: _Failure) -> None:
        record: dict[str, object] = {
            "file": source,
            "code": error.code,
            "message": error.message,
            "document_id": error.document_id,
            "document_ids": list(error.document_ids),
            "failed_at": _iso(self._utc_now()),
        }
        try:
            _write_json(error_path(target), record)
        except OSError as exc:  # the file is already in failed/; the event and this log still say why
            logger.error("hot folder: cannot write %s: %s (%s)", error_path(target), exc, error)

    def _prune_empty(self, folder: Path) -> None:
        while folder != self.processing and self.processing in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _emit(self, event: WatchEvent) -> None:
        self._events.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a broken renderer must not stop files from moving; the log keeps it
                logger.exception("hot folder: on_event failed for %r", event)

    def _flush(self) -> tuple[WatchEvent, ...]:
        events, self._events = tuple(self._events), []
        return events
