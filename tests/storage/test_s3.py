"""S3ObjectStore against a real SeaweedFS (see tests/fixtures_s3.py)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from minio.error import S3Error
from urllib3.response import HTTPResponse

from storage.errors import IntegrityMismatch, ObjectNotFound, StorageError, StorageUnavailable
from storage.s3 import SHA256_HEADER, S3ObjectStore, split_endpoint, translate_error
from tests.fixtures_s3 import SeaweedServer, free_ports, unique_bucket

MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tamper(server: SeaweedServer, store: S3ObjectStore, key: str, data: bytes) -> None:
    """Overwrite an object behind the store's back, keeping its old recorded digest."""
    old = server.client().stat_object(store.bucket, key).metadata[SHA256_HEADER]
    server.client().put_object(store.bucket, key, io.BytesIO(data), len(data), metadata={SHA256_HEADER: old})


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_bytes_round_trip_records_sha256(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    data = "Hồ sơ đăng ký kinh doanh".encode()
    digest = s3_store.put_bytes("dossiers/A-1/doc/text.txt", data, content_type="text/plain")
    assert digest == sha(data)
    assert s3_store.get_bytes("dossiers/A-1/doc/text.txt") == data
    with s3_store.open("dossiers/A-1/doc/text.txt") as stream:
        assert stream.read() == data
    info = s3_server.client().stat_object(s3_store.bucket, "dossiers/A-1/doc/text.txt")
    assert info.metadata[SHA256_HEADER] == digest
    assert info.content_type == "text/plain"
    assert s3_store.sha256_of("dossiers/A-1/doc/text.txt") == digest
    assert s3_store.exists("dossiers/A-1/doc/text.txt")


def test_empty_object(s3_store: S3ObjectStore) -> None:
    assert s3_store.put_bytes("inbox/e/empty.bin", b"", content_type="application/octet-stream") == sha(b"")
    assert s3_store.get_bytes("inbox/e/empty.bin") == b""
    with s3_store.open("inbox/e/empty.bin") as stream:
        assert stream.read() == b""


def test_large_file_goes_up_in_parts(
    s3_server: SeaweedServer, s3_store: S3ObjectStore, tmp_path: Path
) -> None:
    source = tmp_path / "scan.tif"
    source.write_bytes(os.urandom(12 * MiB + 123))  # 5 MiB parts: 3 parts
    digest = s3_store.put_file("inbox/big/original.tif", source, content_type="image/tiff")
    assert digest == sha(source.read_bytes())
    info = s3_server.client().stat_object(s3_store.bucket, "inbox/big/original.tif")
    assert info.size == source.stat().st_size
    assert info.etag is not None and info.etag.endswith("-3"), "multipart ETag: md5-of-parts '-' part count"
    assert info.metadata[SHA256_HEADER] == digest
    assert s3_store.get_bytes("inbox/big/original.tif") == source.read_bytes()
    with s3_store.open("inbox/big/original.tif") as stream:
        assert sha(stream.read()) == digest


def test_rewriting_the_same_bytes_is_harmless(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    first = s3_store.put_bytes("inbox/d/original.pdf", b"%PDF-1.4 same", content_type="application/pdf")
    second = s3_store.put_bytes("inbox/d/original.pdf", b"%PDF-1.4 same", content_type="application/pdf")
    source = tmp_path / "same.pdf"
    source.write_bytes(b"%PDF-1.4 same")
    third = s3_store.put_file("inbox/d/original.pdf", source, content_type="application/pdf")
    assert first == second == third
    assert s3_store.get_bytes("inbox/d/original.pdf") == b"%PDF-1.4 same"
    assert list(s3_store.keys()) == ["inbox/d/original.pdf"]


def test_tampered_object_is_refused(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("dossiers/B-2/doc/original.pdf", b"genuine bytes", content_type="application/pdf")
    tamper(s3_server, s3_store, "dossiers/B-2/doc/original.pdf", b"forged bytes!")
    with pytest.raises(IntegrityMismatch) as caught:
        s3_store.get_bytes("dossiers/B-2/doc/original.pdf")
    assert caught.value.code == "storage.corrupt"
    with s3_store.open("dossiers/B-2/doc/original.pdf") as stream, pytest.raises(IntegrityMismatch):
        stream.read()


def test_partial_stream_reads_are_not_checked(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("inbox/p/page.png", b"0123456789", content_type="image/png")
    tamper(s3_server, s3_store, "inbox/p/page.png", b"9876543210")
    with s3_store.open("inbox/p/page.png") as stream:
        assert stream.read(4) == b"9876", "verification happens only when the stream reaches its end"


def test_missing_key(s3_store: S3ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        s3_store.get_bytes("inbox/none/original.pdf")
    assert caught.value.code == "storage.not_found"
    with pytest.raises(ObjectNotFound):
        s3_store.open("inbox/none/original.pdf")
    with pytest.raises(ObjectNotFound):
        s3_store.copy("inbox/none/original.pdf", "inbox/none/copy.pdf")
    assert not s3_store.exists("inbox/none/original.pdf")
    assert s3_store.sha256_of("inbox/none/original.pdf") is None


def test_delete_is_idempotent(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("inbox/x/text.txt", b"x", content_type="text/plain")
    s3_store.delete("inbox/x/text.txt")
    s3_store.delete("inbox/x/text.txt")
    s3_store.delete("inbox/never/text.txt")
    assert not s3_store.exists("inbox/x/text.txt")


def test_server_side_copy_keeps_the_digest(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    digest = s3_store.put_bytes("inbox/c/original.pdf", b"%PDF copy me", content_type="application/pdf")
    s3_store.copy("inbox/c/original.pdf", "dossiers/C-3/c/original.pdf")
    assert s3_store.get_bytes("dossiers/C-3/c/original.pdf") == b"%PDF copy me"
    assert s3_store.sha256_of("dossiers/C-3/c/original.pdf") == digest
    info = s3_server.client().stat_object(s3_store.bucket, "dossiers/C-3/c/original.pdf")
    assert info.content_type == "application/pdf"


def test_copy_of_a_foreign_object_records_its_digest(
    s3_server: SeaweedServer, s3_store: S3ObjectStore
) -> None:
    s3_server.client().put_object(s3_store.bucket, "inbox/f/scan.jpg", io.BytesIO(b"jpeg"), 4, "image/jpeg")
    assert s3_store.sha256_of("inbox/f/scan.jpg") is None
    assert s3_store.get_bytes("inbox/f/scan.jpg") == b"jpeg", "no recorded digest: nothing to check against"
    s3_store.copy("inbox/f/scan.jpg", "inbox/f/copy.jpg")
    assert s3_store.sha256_of("inbox/f/copy.jpg") == sha(b"jpeg")
    assert s3_server.client().stat_object(s3_store.bucket, "inbox/f/copy.jpg").content_type == "image/jpeg"


def test_keys_lists_recursively_by_prefix(s3_store: S3ObjectStore) -> None:
    keys = [
        "dossiers/A-1/d1/original.pdf",
        "dossiers/A-1/d1/text.txt",
        "dossiers/A-2/d2/original.pdf",
        "inbox/x/a",
    ]
    for key in keys:
        s3_store.put_bytes(key, key.encode(), content_type="text/plain")
    assert sorted(s3_store.keys()) == keys
    assert sorted(s3_store.keys("dossiers/A-1/")) == keys[:2]
    assert sorted(s3_store.keys("dossiers/A-")) == keys[:3]
    assert list(s3_store.keys("nothing/")) == []


def test_invalid_keys_are_refused_before_any_request(s3_store: S3ObjectStore) -> None:
    for key in ["../escape", "/abs", "a//b", "a/.hidden", "spaces in/key"]:
        with pytest.raises(StorageError) as caught:
            s3_store.put_bytes(key, b"x", content_type="text/plain")
        assert caught.value.code == "storage.invalid_key"


def test_wrong_credentials_are_access_denied(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("inbox/a/text.txt", b"secret", content_type="text/plain")
    wrong_secret = s3_server.store(s3_store.bucket, secret_key="not-the-secret")
    unknown_key = s3_server.store(s3_store.bucket, access_key="nobody", secret_key="whatever")
    for store in (wrong_secret, unknown_key):
        with pytest.raises(StorageError) as caught:
            store.get_bytes("inbox/a/text.txt")
        assert caught.value.code == "storage.access_denied"
        assert not isinstance(caught.value, StorageUnavailable), "not transient: retrying will not help"
        with pytest.raises(StorageError) as caught:
            store.put_bytes("inbox/a/other.txt", b"x", content_type="text/plain")
        assert caught.value.code == "storage.access_denied"


def test_anonymous_requests_are_refused(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("inbox/a/text.txt", b"secret", content_type="text/plain")
    assert http_status(f"{s3_server.url}/{s3_store.bucket}/inbox/a/text.txt") == 403
    assert http_status(f"{s3_server.url}/{s3_store.bucket}?list-type=2") == 403
    assert http_status(f"{s3_server.url}/") == 403


def test_presigned_url_downloads_until_it_expires(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("dossiers/P-1/p/original.pdf", b"%PDF shared", content_type="application/pdf")
    url = s3_store.presigned_url("dossiers/P-1/p/original.pdf", timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"%PDF shared"
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert http_status(forged) == 403
    other_key = url.replace("/p/original.pdf", "/p/other.pdf")
    assert http_status(other_key) == 403
    short = s3_store.presigned_url("dossiers/P-1/p/original.pdf", timedelta(seconds=1))
    time.sleep(2.1)
    assert http_status(short) == 403
    with pytest.raises(ValueError):
        s3_store.presigned_url("dossiers/P-1/p/original.pdf", timedelta(days=8))


def test_server_side_encryption_is_requested(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    encrypted = s3_server.store(s3_store.bucket, server_side_encryption=True)
    encrypted.put_bytes("inbox/s/original.pdf", b"%PDF sealed", content_type="application/pdf")
    encrypted.copy("inbox/s/original.pdf", "inbox/s/copy.pdf")
    for key in ("inbox/s/original.pdf", "inbox/s/copy.pdf"):
        info = s3_server.client().stat_object(s3_store.bucket, key)
        assert info.metadata.get("x-amz-server-side-encryption") == "AES256"
        assert encrypted.get_bytes(key) == b"%PDF sealed"
    plain = s3_server.client().stat_object(s3_store.bucket, "inbox/s/original.pdf")
    assert plain.metadata[SHA256_HEADER] == sha(b"%PDF sealed")


def test_ensure_bucket_survives_a_creation_race(s3_server: SeaweedServer) -> None:
    bucket = unique_bucket()
    errors: list[BaseException] = []

    def create() -> None:
        try:
            s3_server.store(bucket).ensure_bucket()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        s3_server.store(bucket).ensure_bucket()
    finally:
        s3_server.drop_bucket(bucket)


def test_missing_bucket_is_a_configuration_error(s3_server: SeaweedServer) -> None:
    store = s3_server.store(unique_bucket())
    with pytest.raises(StorageError) as caught:
        store.get_bytes("inbox/a/text.txt")
    assert caught.value.code == "storage.bucket_missing"


def test_closed_port_is_unavailable_quickly() -> None:
    (port,) = free_ports(1)  # nothing listens there once the probe socket is closed
    store = S3ObjectStore(f"http://127.0.0.1:{port}", access_key="a", secret_key="b", bucket="sohoa")
    began = time.monotonic()
    with pytest.raises(StorageUnavailable) as caught:
        store.put_bytes("inbox/a/text.txt", b"x", content_type="text/plain")
    assert time.monotonic() - began < 15, "hang guard: a dead endpoint must fail in seconds"
    assert caught.value.code == "storage.unavailable"
    with pytest.raises(StorageUnavailable):
        store.ensure_bucket()


def test_hung_server_times_out_as_unavailable(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("inbox/h/text.txt", b"x", content_type="text/plain")
    impatient = s3_server.store(s3_store.bucket, timeout=1.0, retries=0)
    s3_server.freeze()
    try:
        began = time.monotonic()
        with pytest.raises(StorageUnavailable):
            impatient.get_bytes("inbox/h/text.txt")
        assert time.monotonic() - began < 15
    finally:
        s3_server.thaw()
    assert s3_store.get_bytes("inbox/h/text.txt") == b"x"


def test_outage_is_transient_and_data_survives_it(s3_server: SeaweedServer, s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("dossiers/O-1/o/original.pdf", b"%PDF before", content_type="application/pdf")
    with s3_server.unreachable():
        with pytest.raises(StorageUnavailable):
            s3_store.get_bytes("dossiers/O-1/o/original.pdf")
        with pytest.raises(StorageUnavailable):
            s3_store.put_bytes("dossiers/O-1/o/text.txt", b"during", content_type="text/plain")
    assert s3_store.get_bytes("dossiers/O-1/o/original.pdf") == b"%PDF before"
    s3_store.put_bytes("dossiers/O-1/o/text.txt", b"after", content_type="text/plain")
    assert s3_store.get_bytes("dossiers/O-1/o/text.txt") == b"after"
    assert s3_store.get_bytes("dossiers/O-1/o/original.pdf") == b"%PDF before"


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("minio:9000", True, ("minio:9000", True)),
        ("minio:9000", False, ("minio:9000", False)),
        ("http://minio:9000", True, ("minio:9000", False)),
        ("https://s3.example.vn/", False, ("s3.example.vn", True)),
    ],
)
def test_endpoint_forms(endpoint: str, secure: bool, expected: tuple[str, bool]) -> None:
    assert split_endpoint(endpoint, secure=secure) == expected


@pytest.mark.parametrize("endpoint", ["ftp://minio:9000", "http://minio:9000/bucket", "http://", "host/path"])
def test_bad_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(StorageError) as caught:
        split_endpoint(endpoint, secure=True)
    assert caught.value.code == "storage.invalid_config"


@pytest.mark.parametrize(
    ("code", "status", "expected_code"),
    [
        ("SlowDown", 503, "storage.unavailable"),
        ("InternalError", 500, "storage.unavailable"),
        ("ServiceUnavailable", 503, "storage.unavailable"),
        ("SomethingNew", 502, "storage.unavailable"),
        ("AccessDenied", 403, "storage.access_denied"),
        ("InvalidAccessKeyId", 403, "storage.access_denied"),
        ("SignatureDoesNotMatch", 403, "storage.access_denied"),
        ("NoSuchKey", 404, "storage.not_found"),
        ("NoSuchBucket", 404, "storage.bucket_missing"),
        ("InvalidArgument", 400, "storage.failed"),
    ],
)
def test_s3_error_codes_map_to_ours(code: str, status: int, expected_code: str) -> None:
    """Codes SeaweedFS cannot be made to send on demand (throttling, 5xx) mapped the same way."""
    error = S3Error(HTTPResponse(status=status), code, "message", "/b/k", "req", "host")
    assert translate_error(error, "b/k").code == expected_code
