"""The hot folder against an in-test intake (the seam), with real files, real processes and a fake clock."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from ingest.errors import IngestError
from ingest.hotfolder import (
    Done,
    DroppedFile,
    Duplicate,
    Failed,
    HotFolder,
    Outcome,
    PickedUp,
    Refused,
    Retrying,
    Submitted,
    WatchEvent,
    describe,
)

CODE = "000.00.21.H61-260201-0001"
LOCK = ".sohoa-watch.lock"


class FakeClock:
    """Monotonic seconds moved by the test; UTC follows it from 2026-12-01 19:30:00."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        return datetime(2026, 12, 1, 19, 30, tzinfo=UTC) + timedelta(seconds=self.now - 1000.0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeIntake:
    """Dedups by SHA-256 like the real intake; ids derive from the bytes; the test finishes documents."""

    def __init__(self) -> None:
        self.received: list[tuple[DroppedFile, bytes]] = []
        self.ids_by_sha: dict[str, tuple[str, ...]] = {}
        self.finished: dict[str, Outcome] = {}
        self.refuse: dict[str, tuple[str, str]] = {}
        self.split: dict[str, int] = {}
        self.submit_failures: dict[str, int] = {}
        self.outcome_failures = 0
        self.on_submit: Callable[[DroppedFile], None] | None = None

    def submit(self, dropped: DroppedFile) -> Submitted:
        if self.submit_failures.get(dropped.source, 0):
            self.submit_failures[dropped.source] -= 1
            raise ConnectionError("database is down")
        if self.on_submit:
            self.on_submit(dropped)
        data = dropped.path.read_bytes()
        self.received.append((dropped, data))
        if dropped.source in self.refuse:
            return Submitted((), False, refused=self.refuse[dropped.source])
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.ids_by_sha:
            return Submitted(self.ids_by_sha[sha], True)
        ids = tuple(f"{sha[:8]}-{n}" for n in range(self.split.get(dropped.source, 1)))
        self.ids_by_sha[sha] = ids
        return Submitted(ids, False)

    def outcomes(self, document_ids: Sequence[str]) -> dict[str, Outcome]:
        if self.outcome_failures:
            self.outcome_failures -= 1
            raise ConnectionError("database is down")
        return {i: self.finished[i] for i in document_ids if i in self.finished}

    def finish(self, document_id: str, status: str = "done", code: str | None = None, msg: str = "") -> None:
        self.finished[document_id] = Outcome(document_id, status, code, msg or None)

    def finish_all(self) -> None:
        for ids in self.ids_by_sha.values():
            for document_id in ids:
                self.finished.setdefault(document_id, Outcome(document_id, "done"))

    def sources(self) -> list[str]:
        return [dropped.source for dropped, _ in self.received]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def intake() -> FakeIntake:
    return FakeIntake()


@pytest.fixture
def hot(tmp_path: Path) -> Path:
    root = tmp_path / "hot"
    root.mkdir()
    return root


@pytest.fixture
def watcher(hot: Path, intake: FakeIntake, clock: FakeClock) -> Iterator[HotFolder]:
    with HotFolder(hot, intake, settle_seconds=5, clock=clock, utc_now=clock.utc) as folder:
        yield folder


def drop(root: Path, source: str, data: bytes = b"scan") -> Path:
    path = root / source
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def settle(folder: HotFolder, clock: FakeClock) -> list[WatchEvent]:
    """Two passes the settle time apart: what was dropped before is picked up on the second."""
    events = list(folder.scan_once())
    clock.advance(5)
    return events + list(folder.scan_once())


def files(root: Path) -> list[str]:
    """Every file under the root but the watcher's own lock."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != LOCK)


# --- completeness -------------------------------------------------------------------------------------------

WRITER = """
import sys, time
with open(sys.argv[1], "wb") as handle:
    for n in range(8):
        handle.write(bytes([n]) * 1000)
        handle.flush()
        time.sleep(0.25)
    time.sleep(1.2)  # quiet but still open: the size is stable, the writer is not done
"""


def _holds_open(process: subprocess.Popen[bytes], name: str) -> bool:
    """Whether the process has a file of that name open (it lives on a moment after closing it, longer on a
    loaded machine: being alive is not holding the file)."""
    try:
        return any(Path(f.path).name == name for f in psutil.Process(process.pid).open_files())
    except psutil.NoSuchProcess:  # gone, or a zombie waiting to be reaped
        return False


def test_a_file_a_real_process_is_still_writing_is_taken_once_complete(hot: Path, intake: FakeIntake) -> None:
    target = hot / "quay-1" / "scan.pdf"
    target.parent.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    held_at_submit: list[bool] = []
    intake.on_submit = lambda dropped: held_at_submit.append(_holds_open(writer, target.name))
    try:
        with HotFolder(hot, intake, settle_seconds=0.5) as folder:
            deadline = time.monotonic() + 12
            while not intake.received and time.monotonic() < deadline:
                folder.scan_once()
                time.sleep(0.1)
            for _ in range(5):  # a few more passes: still exactly once
                folder.scan_once()
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait(5)
    assert held_at_submit == [False], "picked up while the writer still held the file open"
    assert [(d.source, data) for d, data in intake.received] == [
        ("quay-1/scan.pdf", b"".join(bytes([n]) * 1000 for n in range(8)))
    ]
    assert files(hot) == ["processing/quay-1/scan.pdf"]


def test_a_growing_file_settles_again_after_each_change(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    path = drop(hot, "a.tif", b"part 1")
    watcher.scan_once()
    clock.advance(4)
    with path.open("ab") as handle:  # written and closed between passes, as an SMB client does
        handle.write(b" part 2")
    watcher.scan_once()
    clock.advance(4)
    assert watcher.scan_once() == () and not intake.received
    clock.advance(1)
    watcher.scan_once()
    assert [(d.source, data) for d, data in intake.received] == [("a.tif", b"part 1 part 2")]


def test_an_empty_file_is_input_too_but_only_after_settling(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "empty.pdf", b"")
    watcher.scan_once()
    clock.advance(4.9)
    watcher.scan_once()
    assert not intake.received
    clock.advance(0.1)
    watcher.scan_once()
    assert [(d.source, data) for d, data in intake.received] == [("empty.pdf", b"")]


def test_temporary_hidden_and_system_files_and_own_folders_are_left_alone(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    ignored = [
        ".hidden.jpg",
        "Thumbs.db",
        "quay-1/desktop.ini",
        "a.tmp",
        "b.PART",
        "c.crdownload",
        "d.filepart",
        "~$don.docx",
        ".git/config",
        "$RECYCLE.BIN/old.jpg",
        "done/earlier.jpg",
        "failed/earlier.jpg",
    ]
    for source in ignored:
        drop(hot, source, source.encode())
    drop(hot, "quay-1/real.jpg")
    settle(watcher, clock)
    assert intake.sources() == ["quay-1/real.jpg"]
    assert set(files(hot)) == {*ignored, "processing/quay-1/real.jpg"}


# --- moving on ----------------------------------------------------------------------------------------------


def test_finished_files_go_to_done_or_to_failed_with_an_error_record(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "quay-1/good.jpg", b"good")
    drop(hot, "quay-1/stack.pdf", b"stack")
    intake.split["quay-1/stack.pdf"] = 2
    settle(watcher, clock)
    good, stack = (submitted_ids(intake, s) for s in ("quay-1/good.jpg", "quay-1/stack.pdf"))
    intake.finish(good[0], "needs_review")
    intake.finish(stack[1], "failed", "input.unreadable", "Không đọc được trang 2")
    events = watcher.scan_once()
    assert files(hot) == ["done/quay-1/good.jpg", "processing/quay-1/stack.pdf"]
    assert events == (Done("quay-1/good.jpg", good, good, False, hot / "done/quay-1/good.jpg"),)

    intake.finish(stack[0])
    clock.advance(30)
    events = watcher.scan_once()
    moved = hot / "failed/quay-1/stack.pdf"
    assert events == (
        Failed("quay-1/stack.pdf", stack, stack[1], "input.unreadable", "Không đọc được trang 2", moved),
    )
    assert files(hot) == [
        "done/quay-1/good.jpg",
        "failed/quay-1/stack.pdf",
        "failed/quay-1/stack.pdf.error.json",
    ]
    text = (hot / "failed/quay-1/stack.pdf.error.json").read_text(encoding="utf-8")
    assert "Không đọc được" in text  # UTF-8, not \\u escapes
    assert json.loads(text) == {
        "file": "quay-1/stack.pdf",
        "code": "input.unreadable",
        "message": "Không đọc được trang 2",
        "document_id": stack[1],
        "document_ids": list(stack),
        "failed_at": "2026-12-01T19:30:35Z",
    }
    assert not (hot / "processing/quay-1").exists()


def test_a_refused_file_goes_to_failed_at_once(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "notes.txt", b"hello")
    intake.refuse["notes.txt"] = ("input.unsupported", "không phải bản quét")
    events = settle(watcher, clock)
    moved = hot / "failed/notes.txt"
    assert events == [Refused("notes.txt", "input.unsupported", "không phải bản quét", moved)]
    record = json.loads(moved.with_name("notes.txt.error.json").read_text(encoding="utf-8"))
    assert record["document_id"] is None and record["code"] == "input.unsupported"
    assert record["file"] == "notes.txt" and record["failed_at"] == "2026-12-01T19:30:05Z"
    assert moved.read_bytes() == b"hello"


def test_a_duplicate_whose_documents_are_finished_goes_to_done_at_once(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "first.jpg", b"same bytes")
    settle(watcher, clock)
    intake.finish_all()
    watcher.scan_once()
    drop(hot, "copy.jpg", b"same bytes")
    events = settle(watcher, clock)
    ids = intake.ids_by_sha[hashlib.sha256(b"same bytes").hexdigest()]
    assert events == [Duplicate("copy.jpg", ids), Done("copy.jpg", ids, (), True, hot / "done/copy.jpg")]
    assert len(intake.ids_by_sha) == 1 and files(hot) == ["done/copy.jpg", "done/first.jpg"]


def test_taken_names_get_a_suffix_and_nothing_is_overwritten(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "done/scan.pdf", b"old")
    drop(hot, "failed/bad.pdf.error.json", b"{}")  # only the record is left: its name is still taken
    for round_ in range(2):
        drop(hot, "scan.pdf", f"new {round_}".encode())
        settle(watcher, clock)  # the second one arrives while the first is still in processing/
    drop(hot, "bad.pdf", b"bad")
    intake.refuse["bad.pdf"] = ("input.unreadable", "hỏng")
    settle(watcher, clock)
    assert files(hot) == [
        "done/scan.pdf",
        "failed/bad (2).pdf",
        "failed/bad (2).pdf.error.json",
        "failed/bad.pdf.error.json",
        "processing/scan (2).pdf",
        "processing/scan.pdf",
    ]
    assert [d.source for d, _ in intake.received[:2]] == ["scan.pdf", "scan.pdf"]
    intake.finish_all()
    watcher.scan_once()
    assert (hot / "done/scan.pdf").read_bytes() == b"old"
    assert {(hot / "done" / n).read_bytes() for n in ("scan (2).pdf", "scan (3).pdf")} == {b"new 0", b"new 1"}
    assert json.loads((hot / "failed/bad.pdf.error.json").read_text()) == {}


# --- what a file's place says -------------------------------------------------------------------------------


def test_dossier_codes_and_stations_come_from_the_folders(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, f"quay-1/{CODE}/p3.jpg", b"1")
    drop(hot, "000.00.21.H61-260201-0002/a.jpg", b"2")
    drop(hot, "quay-2/a.jpg", b"3")
    drop(hot, "top.jpg", b"4")
    drop(hot, f"quay-3/{CODE}/000.00.21.h61-260201-0009/x.jpg", b"5")
    settle(watcher, clock)
    got = {d.source: (d.dossier, d.station, d.group, d.path) for d, _ in intake.received}
    assert got[f"quay-1/{CODE}/p3.jpg"] == (
        CODE,
        "quay-1",
        f"watch:quay-1/{CODE}:20261201T193005Z",
        hot / "processing" / "quay-1" / CODE / "p3.jpg",
    )
    assert got["000.00.21.H61-260201-0002/a.jpg"][:2] == ("000.00.21.H61-260201-0002", None)
    assert got["quay-2/a.jpg"][:2] == (None, "quay-2")
    assert got["top.jpg"][:3] == (None, None, "watch:.:20261201T193005Z")
    assert got[f"quay-3/{CODE}/000.00.21.h61-260201-0009/x.jpg"][:2] == (
        "000.00.21.H61-260201-0009",
        "quay-3",
    )
    assert describe("quay-1/000.00.21.H61-261301-0001/a.jpg") == (None, "quay-1")  # month 13: not a code


def test_groups_are_bursts_per_folder_split_by_the_gap(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    def pick(source: str, after: float) -> str:
        drop(hot, source, source.encode())
        clock.advance(after)
        settle(watcher, clock)
        return next(d.group for d, _ in intake.received if d.source == source)

    first = pick("quay-1/1.jpg", 0)  # picked up at +5 s
    assert first == "watch:quay-1:20261201T193005Z"
    assert pick("quay-1/2.jpg", 110) == first  # +120 s: within the gap of the previous
    assert pick("quay-1/3.jpg", 110) == first  # +235 s: a chain of short gaps stays one burst
    assert pick("quay-2/1.jpg", 0) == "watch:quay-2:20261201T193400Z"  # other folder, other group
    assert pick("quay-1/4.jpg", 116) == "watch:quay-1:20261201T193601Z"  # 126 s after 3.jpg: new burst


def test_a_bulk_drop_is_taken_in_one_pass_in_name_order_and_one_group(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    for n in (3, 1, 2):
        drop(hot, f"{CODE}/p{n}.jpg", bytes([n]))
    settle(watcher, clock)
    assert intake.sources() == [f"{CODE}/p1.jpg", f"{CODE}/p2.jpg", f"{CODE}/p3.jpg"]
    assert len({d.group for d, _ in intake.received}) == 1


# --- restarts, locks, failures ------------------------------------------------------------------------------


def test_recover_resubmits_what_a_crashed_watcher_left_in_processing_once(
    hot: Path, intake: FakeIntake, clock: FakeClock
) -> None:
    crashed = HotFolder(hot, intake, settle_seconds=5, clock=clock, utc_now=clock.utc)
    drop(hot, "quay-1/a.jpg", b"a")
    settle(crashed, clock)
    crashed.close()  # gone without finishing: a.jpg is submitted but its outcome never seen
    drop(hot, "processing/quay-1/b.jpg", b"b")  # moved, then the crash came before submit
    assert intake.sources() == ["quay-1/a.jpg"]

    with HotFolder(hot, intake, settle_seconds=5, clock=clock, utc_now=clock.utc) as again:
        assert intake.sources() == ["quay-1/a.jpg", "quay-1/a.jpg", "quay-1/b.jpg"]
        assert len(intake.ids_by_sha) == 2  # a.jpg came back as a duplicate: nothing imported twice
        for _ in range(3):
            clock.advance(5)
            again.scan_once()
        assert len(intake.received) == 3
        assert intake.received[2][0].station == "quay-1"
        intake.finish_all()
        again.scan_once()
    assert files(hot) == ["done/quay-1/a.jpg", "done/quay-1/b.jpg"]


def test_one_watcher_per_folder_and_an_unusable_folder_is_a_coded_error(
    hot: Path, intake: FakeIntake, tmp_path: Path
) -> None:
    with HotFolder(hot, intake):
        with pytest.raises(IngestError) as caught:
            HotFolder(hot, intake).recover()
        assert caught.value.code == "watch.already_running"
        assert str(os.getpid()) in caught.value.message
    with HotFolder(hot, intake):  # released on close
        pass
    for unusable in (tmp_path / "missing", drop(tmp_path, "a-file", b"")):
        with pytest.raises(IngestError) as caught:
            HotFolder(unusable, intake).recover()
        assert caught.value.code == "watch.folder_unusable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_unusable(hot: Path, intake: FakeIntake) -> None:
    hot.chmod(0o555)
    try:
        with pytest.raises(IngestError) as caught:
            HotFolder(hot, intake).recover()
        assert caught.value.code == "watch.folder_unusable"
    finally:
        hot.chmod(0o755)


def test_an_intake_that_fails_for_a_while_loses_nothing_and_holds_nothing_else_up(
    hot: Path, intake: FakeIntake, clock: FakeClock, watcher: HotFolder
) -> None:
    drop(hot, "a.jpg", b"a")
    drop(hot, "b.jpg", b"b")
    intake.submit_failures["a.jpg"] = 2
    events = settle(watcher, clock)
    assert intake.sources() == ["b.jpg"]
    assert isinstance(events[0], Retrying) and events[0].sources == ("a.jpg",)
    assert events[0].stage == "submit" and events[0].code == "internal.error"
    assert files(hot) == ["processing/a.jpg", "processing/b.jpg"]
    watcher.scan_once()
    assert intake.sources() == ["b.jpg"]
    (picked,) = watcher.scan_once()
    assert intake.sources() == ["b.jpg", "a.jpg"] and isinstance(picked, PickedUp)

    intake.finish_all()
    intake.outcome_failures = 1
    (event,) = watcher.scan_once()
    assert isinstance(event, Retrying) and event.stage == "outcomes"
    assert set(event.sources) == {"a.jpg", "b.jpg"}
    assert files(hot) == ["processing/a.jpg", "processing/b.jpg"]
    watcher.scan_once()
    assert files(hot) == ["done/a.jpg", "done/b.jpg"] and len(intake.received) == 2


def test_run_watches_until_stopped_and_events_reach_the_callback(hot: Path, intake: FakeIntake) -> None:
    seen: list[WatchEvent] = []
    stop = threading.Event()
    with HotFolder(hot, intake, settle_seconds=0.1, on_event=seen.append) as folder:
        thread = threading.Thread(target=folder.run, args=(stop,), kwargs={"poll_seconds": 0.05})
        thread.start()
        drop(hot, "a.jpg", b"a")
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        intake.finish_all()
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert [type(e) for e in seen] == [PickedUp, Done]


def submitted_ids(intake: FakeIntake, source: str) -> tuple[str, ...]:
    data = next(data for dropped, data in intake.received if dropped.source == source)
    return intake.ids_by_sha[hashlib.sha256(data).hexdigest()]
