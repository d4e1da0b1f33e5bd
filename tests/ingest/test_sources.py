import zipfile
from pathlib import Path

from ingest.sources import InputItem, SourceProblem, iter_inputs


def _expand(paths: list[Path], limit: int = 10_000) -> tuple[list[InputItem], list[SourceProblem]]:
    entries = list(iter_inputs(paths, max_file_bytes=limit))
    return [e for e in entries if isinstance(e, InputItem)], [
        e for e in entries if isinstance(e, SourceProblem)
    ]


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
    assert [i.source for i in items] == ["2025/04/b.tif", "a.pdf"]
    assert items[0].read() == b"b" and not problems


def test_zip_members_are_named_inside_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("hoso/1.jpg", b"one")
        zf.writestr("__MACOSX/hoso/._1.jpg", b"junk")
        zf.writestr("hoso/", b"")
        zf.writestr("big.tif", b"x" * 200)
    items, problems = _expand([archive], limit=100)
    assert [(i.source, i.read()) for i in items] == [("batch.zip/hoso/1.jpg", b"one")]
    assert [(p.source, p.code) for p in problems] == [("batch.zip/big.tif", "input.too_large")]


def test_missing_paths_and_broken_archives_are_problems_not_crashes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    single = tmp_path / "one.png"
    single.write_bytes(b"png")
    items, problems = _expand([tmp_path / "nope", broken, single])
    assert [i.source for i in items] == ["one.png"]
    assert [p.code for p in problems] == ["input.not_found", "input.archive_unreadable"]
