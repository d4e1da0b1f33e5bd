"""The bulk benchmark's archive generator: exact page count, layout, unique bytes, own receipts."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.bulk_archive import COMMUNES, Archive, ArchiveParams, write_archive
from examples.synth import DOSSIER_CODE_RE
from ocr.barcodes import read_barcodes

PARAMS = ArchiveParams(pages=20, seed=3, pool_size=8, dpi=120)  # small pages keep the test quick


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pool")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Archive:
    return write_archive(PARAMS, tmp_path_factory.mktemp("tree") / "tree", cache_dir=cache, processes=1)


def _files(root: Path) -> Iterator[tuple[str, bytes]]:
    """(source as sohoa names it, bytes) of every file, ZIP members included."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        yield f"{relative}/{member.filename}", archive.read(member)
        else:
            yield relative, path.read_bytes()


def test_exact_pages_and_back_office_layout(archive: Archive) -> None:
    assert archive.pages == PARAMS.pages
    assert sum(len(d.pages) for d in archive.dossiers) == PARAMS.pages
    files = dict(_files(archive.root))
    assert set(files) == {f.source for f in archive.files}
    for source in files:
        year, commune, *rest = source.split("/")
        assert year in {"2024", "2025"} and commune in COMMUNES
        folder = rest[-2]
        assert DOSSIER_CODE_RE.fullmatch(folder), source
        assert len(rest) == 2 or (len(rest) == 3 and rest[0].endswith(".zip")), source
    assert any(".zip/" in s for s in files), "a ZIP holding dossier folders"
    summary = archive.summary()
    assert summary["dossiers_with_receipt"] >= 1
    assert summary["pages"] == PARAMS.pages


def test_every_file_has_unique_bytes_and_images_are_200dpi_style_grayscale(archive: Archive) -> None:
    files = dict(_files(archive.root))
    digests = {hashlib.sha256(data).hexdigest() for data in files.values()}
    assert len(digests) == len(files)
    for source, data in files.items():
        if source.endswith(".jpg"):
            with Image.open(io.BytesIO(data)) as image:
                assert image.mode == "L"
                assert round(image.info["dpi"][0]) == PARAMS.dpi


def test_marked_copies_of_a_pool_page_have_the_same_pixels(archive: Archive) -> None:
    """Pages reused from the pool differ in bytes only (a JPEG comment), not in what OCR sees."""
    by_pool: dict[int, list[bytes]] = {}
    for dossier in archive.dossiers:
        if dossier.container != "jpeg":
            continue
        folder = archive.root / str(dossier.year) / dossier.commune / dossier.code
        if dossier.zip_name or not folder.is_dir():
            continue
        for path, page in zip(sorted(folder.iterdir()), dossier.pages, strict=True):
            if page.pool is not None:
                by_pool.setdefault(page.pool, []).append(path.read_bytes())
    reused = [copies for copies in by_pool.values() if len(copies) > 1]
    assert reused, "some pool page used twice"
    first, second = reused[0][:2]
    assert first != second
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(first))), np.asarray(Image.open(io.BytesIO(second)))
    )


def test_receipts_carry_their_own_dossier_code(archive: Archive) -> None:
    files = dict(_files(archive.root))
    receipts = [f for f in archive.files if f.receipt and f.source.endswith(".jpg")]
    assert receipts
    for file in receipts:
        gray = np.asarray(Image.open(io.BytesIO(files[file.source])).convert("L"))
        texts = [b.text for b in read_barcodes(gray)]
        assert any(t.startswith(file.dossier + "|") for t in texts), (file.source, texts)


def test_same_parameters_same_bytes(archive: Archive, cache: Path, tmp_path: Path) -> None:
    again = write_archive(PARAMS, tmp_path / "again", cache_dir=cache, processes=1)
    assert again.pool_cached
    assert dict(_files(again.root)) == dict(_files(archive.root))
