import zipfile
from pathlib import Path

import pytest

from ingest.sources import InputItem, SourceProblem, SpoolError, iter_inputs, local_copy


def _expand(
    paths: list[Path], limit: int = 10_000
) -> tuple[list[tuple[InputItem, bytes]], list[SourceProblem]]:
    items: list[tuple[InputItem, bytes]] = []
    problems: list[SourceProblem] = []
    for entry in iter_inputs(paths, max_file_bytes=limit):
        if isinstance(entry, SourceProblem):
            problems.append(entry)
            continue
        with entry.open() as stream:
            items.append((entry, stream.read()))
    return items, problems


def test_folders_recurse_with_relative_names_and_skip_system_files(tmp_path: Path) -> None:
    root = tmp_path / "scans"
    (root / "2025" / "04").mkdir(parents=True)
    (root / "2025" / "04" / "b.tif").write_bytes(b"b")
    (root / "a.pdf").write_bytes(b"a")
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "Thumbs.db").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(b"junk")
    items, problems = _expand([root])
    assert [i.source for i, _ in items] == ["2025/04/b.tif", "a.pdf"]
    assert items[0][1] == b"b" and not problems
    assert [(i.relative, i.folder) for i, _ in items] == [("2025/04/b.tif", "2025/04"), ("a.pdf", "")]


def test_zip_members_are_named_inside_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("hoso/1.jpg", b"one")
        zf.writestr("__MACOSX/hoso/._1.jpg", b"junk")
        zf.writestr("hoso/", b"")
        zf.writestr("big.tif", b"x" * 200)
    items, problems = _expand([archive], limit=100)
    assert [(i.source, data) for i, data in items] == [("batch.zip/hoso/1.jpg", b"one")]
    assert [(i.relative, i.folder) for i, _ in items] == [("hoso/1.jpg", "batch.zip/hoso")]
    assert [(p.source, p.code) for p in problems] == [("batch.zip/big.tif", "input.too_large")]


def test_missing_paths_and_broken_archives_are_problems_not_crashes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    single = tmp_path / "one.png"
    single.write_bytes(b"png")
    items, problems = _expand([tmp_path / "nope", broken, single])
    assert [i.source for i, _ in items] == ["one.png"]
    assert [p.code for p in problems] == ["input.not_found", "input.archive_unreadable"]


def test_a_member_with_a_bad_crc_is_a_problem_of_that_member_alone(tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a.jpg", b"first member, intact")
        zf.writestr("b.jpg", b"second member, to be damaged")
        zf.writestr("c.jpg", b"third member, intact")
    raw = bytearray(archive.read_bytes())
    at = raw.index(b"second member")
    raw[at] ^= 0xFF  # the stored bytes no longer match the member's CRC-32
    archive.write_bytes(bytes(raw))
    outcomes: dict[str, str] = {}
    for entry in iter_inputs([archive], max_file_bytes=10_000):
        assert isinstance(entry, InputItem)
        try:
            with local_copy(entry, spool=tmp_path, limit=10_000) as path:
                outcomes[entry.relative] = path.read_bytes().decode()
        except SpoolError as exc:
            outcomes[entry.relative] = exc.code
    assert outcomes == {
        "a.jpg": "first member, intact",
        "b.jpg": "input.unreadable",
        "c.jpg": "third member, intact",
    }


def test_a_huge_member_is_streamed_to_disk_not_held_in_memory(tmp_path: Path) -> None:
    import tracemalloc

    archive = tmp_path / "big.zip"
    size = 300 * 1024 * 1024  # 300 MiB of zeros: a few hundred KiB compressed
    with (
        zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("big.tif", "w") as handle,
    ):
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            handle.write(block)
    for entry in iter_inputs([archive], max_file_bytes=size):  # members are read while the archive is open
        assert isinstance(entry, InputItem)
        tracemalloc.start()
        try:
            with local_copy(entry, spool=tmp_path, limit=size) as path:
                assert path.stat().st_size == size
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB while spooling 300 MiB"


def test_a_member_that_expands_past_the_limit_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.tif", bytes(5_000))
    for entry in iter_inputs([archive], max_file_bytes=10_000):
        assert isinstance(entry, InputItem)
        with pytest.raises(SpoolError) as raised, local_copy(entry, spool=tmp_path, limit=1_000):
            pass
        assert raised.value.code == "input.too_large"
