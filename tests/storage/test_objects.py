from pathlib import Path

import pytest

from storage.errors import ObjectNotFound, StorageError
from storage.objects import LocalObjectStore


def test_put_get_copy_delete_round_trip(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    digest = store.put_bytes(
        "dossiers/A-1/doc/original.pdf", b"%PDF-1.4 bytes", content_type="application/pdf"
    )
    assert len(digest) == 64
    assert store.get_bytes("dossiers/A-1/doc/original.pdf") == b"%PDF-1.4 bytes"
    store.copy("dossiers/A-1/doc/original.pdf", "inbox/doc/original.pdf")
    with store.open("inbox/doc/original.pdf") as handle:
        assert handle.read() == b"%PDF-1.4 bytes"
    store.delete("dossiers/A-1/doc/original.pdf")
    assert not store.exists("dossiers/A-1/doc/original.pdf")
    assert not (tmp_path / "objects" / "dossiers").exists(), "empty folders are pruned"
    with pytest.raises(ObjectNotFound):
        store.get_bytes("dossiers/A-1/doc/original.pdf")


def test_put_file_streams_and_hashes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (3 * 1024 * 1024 + 7))
    digest = store.put_file("inbox/big/original.bin", source, content_type="application/octet-stream")
    assert digest == __import__("hashlib").sha256(source.read_bytes()).hexdigest()
    assert store.get_bytes("inbox/big/original.bin") == source.read_bytes()


@pytest.mark.parametrize("key", ["../escape", "/abs/key", "a/../b", "a//b", "a/.hidden", "spaces in/key"])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    with pytest.raises(StorageError) as caught:
        store.put_bytes(key, b"x", content_type="text/plain")
    assert caught.value.code == "storage.invalid_key"


def test_rewriting_a_key_is_atomic_and_leaves_no_temporaries(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put_bytes("inbox/d/text.txt", b"one", content_type="text/plain")
    store.put_bytes("inbox/d/text.txt", b"two", content_type="text/plain")
    assert store.get_bytes("inbox/d/text.txt") == b"two"
    assert [p.name for p in (tmp_path / "objects" / "inbox" / "d").iterdir()] == ["text.txt"]
