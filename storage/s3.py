"""S3 backend of the object store (production mode), through the minio SDK.

Same keys and guarantees as `LocalObjectStore`: every object carries the SHA-256 of its bytes in its user
metadata (`x-amz-meta-sha256`), reads check it, and rewriting a key with the same bytes is harmless (an S3 PUT
replaces the whole object or nothing). Works with any S3-compatible server (MinIO, SeaweedFS, Ceph RGW, AWS).

Errors: connection failures, timeouts, 5xx and throttling become `StorageUnavailable` (transient: retry
later); a missing key `ObjectNotFound`; refused credentials a `StorageError` coded `storage.access_denied`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.sse import SseS3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import SSLError as TransportSSLError
from urllib3.response import BaseHTTPResponse

from storage import errors as storage_errors
from storage.errors import IntegrityMismatch, ObjectNotFound, StorageError, StorageUnavailable
from storage.objects import CHUNK, check_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SHA256_HEADER = "x-amz-meta-sha256"
DEFAULT_PART_SIZE = 16 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PRESIGN = timedelta(days=7)

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "ExpiredToken"}
_TRANSIENT = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "OperationAborted"}
_RETRY_STATUSES = (429, 500, 502, 503, 504)


def split_endpoint(endpoint: str, *, secure: bool) -> tuple[str, bool]:
    """`host:port` or `http(s)://host:port` → (host:port, secure); a scheme overrides `secure`."""
    if "://" not in endpoint:
        host, use_tls = endpoint.rstrip("/"), secure
    else:
        parts = urlsplit(endpoint)
        if parts.scheme not in {"http", "https"} or parts.path not in {"", "/"} or parts.query:
            raise StorageError(
                f"S3 endpoint {endpoint!r} must look like host:port or http(s)://host:port",
                code=storage_errors.INVALID_CONFIG,
            )
        host, use_tls = parts.netloc, parts.scheme == "https"
    if not host or "/" in host:
        raise StorageError(f"S3 endpoint {endpoint!r} is not host:port", code=storage_errors.INVALID_CONFIG)
    return host, use_tls


def translate_error(exc: Exception, what: str) -> StorageError:
    """Our coded error for a minio/urllib3 failure while doing `what` (a key or the bucket)."""
    if isinstance(exc, S3Error):
        return _from_s3_error(exc, what)
    if isinstance(exc, ServerError):
        if exc.status_code >= 500:
            return StorageUnavailable(f"S3 server error {exc.status_code} on {what}")
        return StorageError(f"S3 answered HTTP {exc.status_code} on {what}")
    if isinstance(exc, InvalidResponseError):
        # Not S3 XML: typically a proxy or load balancer in front of a failing server.
        return StorageUnavailable(f"S3 endpoint gave a non-S3 answer on {what}: {exc}")
    if isinstance(exc, MaxRetryError) and isinstance(exc.reason, TransportSSLError):
        return StorageError(f"TLS to the S3 endpoint failed on {what}: {exc.reason}", code=storage_errors.TLS)
    if isinstance(exc, TransportSSLError):
        return StorageError(f"TLS to the S3 endpoint failed on {what}: {exc}", code=storage_errors.TLS)
    if isinstance(exc, TransportError):
        return StorageUnavailable(f"S3 endpoint unreachable on {what}: {exc}")
    return StorageError(f"S3 request failed on {what}: {exc}")


def _from_s3_error(exc: S3Error, what: str) -> StorageError:
    """Map an S3 error response by its code, then by its HTTP status."""
    code = exc.code or ""
    status = exc.response.status if exc.response is not None else 0
    message = f"S3 {code or status} on {what}: {exc.message}"
    if code in {"NoSuchKey", "NoSuchVersion"}:
        return ObjectNotFound(f"no object at {what}")
    if code == "NoSuchBucket":
        return StorageError(message, code=storage_errors.BUCKET_MISSING)
    if code in _DENIED:
        return StorageError(message, code=storage_errors.ACCESS_DENIED)
    if code in _TRANSIENT or status >= 500 or status == 429:
        return StorageUnavailable(message)
    return StorageError(message)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn SDK and transport exceptions raised inside the block into our coded errors."""
    try:
        yield
    except (S3Error, ServerError, InvalidResponseError, TransportError) as exc:
        raise translate_error(exc, what) from exc


def recorded_sha256(info: Object) -> str | None:
    """The SHA-256 stored in an object's user metadata, if it has one."""
    metadata = info.metadata
    value = metadata.get(SHA256_HEADER) if metadata is not None else None
    return str(value) if value else None


class S3ObjectStore:
    """Objects in one S3 bucket; network I/O only happens in method calls, never in the constructor."""

    def __init__(
        self,
        endpoint: str,
        *,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        server_side_encryption: bool = False,
        timeout: float = 30.0,
        connect_timeout: float = 3.0,
        retries: int = 2,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if not _BUCKET_NAME.match(bucket):
            raise StorageError(f"invalid S3 bucket name {bucket!r}", code=storage_errors.INVALID_CONFIG)
        if part_size < MIN_PART_SIZE:
            raise StorageError(
                "S3 multipart parts must be at least 5 MiB", code=storage_errors.INVALID_CONFIG
            )
        host, use_tls = split_endpoint(endpoint, secure=secure)
        self.bucket = bucket
        self.endpoint_url = f"{'https' if use_tls else 'http'}://{host}"
        self._part_size = part_size
        self._sse = SseS3() if server_side_encryption else None
        self._client = Minio(
            host,
            access_key=access_key,
            secret_key=secret_key,
            secure=use_tls,
            region=region,
            http_client=_http_pool(timeout=timeout, connect_timeout=connect_timeout, retries=retries),
        )

    def ensure_bucket(self) -> None:
        """Create the bucket if missing; call once at start-up (it doubles as a reachability probe)."""
        with _translated(f"bucket {self.bucket}"):
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as exc:
                # Another process created it between our check and our create: fine if we can reach it.
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
                if not self._client.bucket_exists(self.bucket):
                    raise

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self._put(check_key(key), io.BytesIO(data), len(data), content_type=content_type, digest=digest)
        return digest

    def put_file(self, key: str, path: Path, *, content_type: str) -> str:
        """Stream a file up (multipart above the part size); the file is read twice: hash, then upload."""
        check_key(key)
        digest = _file_sha256(path)
        with path.open("rb") as handle:
            reader = _HashingReader(handle)
            size = os.fstat(handle.fileno()).st_size
            self._put(key, cast(BinaryIO, reader), size, content_type=content_type, digest=digest)
        if reader.hexdigest() != digest:
            self.delete(key)
            raise IntegrityMismatch(f"{path} changed while it was uploaded to {key}")
        return digest

    def get_bytes(self, key: str) -> bytes:
        """The whole object, checked against its recorded SHA-256 (`IntegrityMismatch` if it differs)."""
        with _translated(check_key(key)):
            response = self._client.get_object(self.bucket, key)
            try:
                data = response.read()
                expected = response.headers.get(SHA256_HEADER)
            finally:
                response.close()
                response.release_conn()
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise IntegrityMismatch(f"object {key} does not match its recorded SHA-256")
        return data

    def open(self, key: str) -> BinaryIO:
        """A stream of the object, verified lazily: reading it to the end raises `IntegrityMismatch`
        on that last read if the bytes do not match their recorded SHA-256 (partial reads are not checked)."""
        with _translated(check_key(key)):
            response = self._client.get_object(self.bucket, key)
        expected = response.headers.get(SHA256_HEADER)
        return io.BufferedReader(_VerifyingReader(response, key, expected or None), CHUNK)

    def exists(self, key: str) -> bool:
        try:
            self._stat(check_key(key))
        except ObjectNotFound:
            return False
        return True

    def copy(self, source: str, target: str) -> None:
        """Server-side copy; checks the target's size and recorded SHA-256 against the source's."""
        info = self._stat(check_key(source))
        check_key(target)
        expected = recorded_sha256(info)
        with _translated(target):
            if expected:
                self._client.copy_object(self.bucket, target, CopySource(self.bucket, source), sse=self._sse)
            else:  # written by another tool: hash it once and record the digest on the copy
                expected = self._streamed_sha256(source)
                metadata = {"Content-Type": info.content_type or "application/octet-stream"}
                self._client.copy_object(
                    self.bucket,
                    target,
                    CopySource(self.bucket, source),
                    sse=self._sse,
                    metadata={**metadata, SHA256_HEADER: expected},
                    metadata_directive=REPLACE,
                )
        copied = self._stat(target)
        if copied.size != info.size or recorded_sha256(copied) != expected:
            raise IntegrityMismatch(f"copy of {source} to {target} does not match its source")

    def delete(self, key: str) -> None:
        with _translated(check_key(key)):
            self._client.remove_object(self.bucket, key)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix` (a plain string prefix), in S3 listing order."""
        with _translated(f"listing {prefix or '/'}"):
            for item in self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                name = item.object_name
                if name and not name.endswith("/"):
                    yield name

    def sha256_of(self, key: str) -> str | None:
        """The recorded SHA-256 (metadata only, no download); None if absent or never recorded."""
        try:
            return recorded_sha256(self._stat(check_key(key)))
        except ObjectNotFound:
            return None

    def presigned_url(self, key: str, expires: timedelta) -> str:
        """A GET URL anyone holding it can use until `expires` from now (1 second to 7 days)."""
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN:
            raise ValueError("presigned URLs expire between 1 second and 7 days from now")
        with _translated(check_key(key)):
            return self._client.presigned_get_object(self.bucket, key, expires=expires)

    def _put(self, key: str, data: BinaryIO, length: int, *, content_type: str, digest: str) -> None:
        """One PUT (or multipart upload above the part size) carrying the digest in the metadata."""
        with _translated(key):
            self._client.put_object(
                self.bucket,
                key,
                data,
                length,
                content_type=content_type,
                metadata={SHA256_HEADER: digest},
                sse=self._sse,
                part_size=self._part_size,
            )

    def _stat(self, key: str) -> Object:
        with _translated(key):
            return self._client.stat_object(self.bucket, key)

    def _streamed_sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with _translated(key):
            response = self._client.get_object(self.bucket, key)
            try:
                for chunk in response.stream(CHUNK):
                    digest.update(chunk)
            finally:
                response.close()
                response.release_conn()
        return digest.hexdigest()


def _http_pool(*, timeout: float, connect_timeout: float, retries: int) -> urllib3.PoolManager:
    """Connections with short connect timeouts and few retries, so a dead endpoint fails in seconds."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(connect_timeout, timeout), read=timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(
            total=retries,
            backoff_factor=0.2,
            status_forcelist=_RETRY_STATUSES,
            raise_on_status=False,  # hand the last error response to minio, which reads its S3 code
        ),
    )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc}", code=storage_errors.SOURCE_UNREADABLE) from exc
    return digest.hexdigest()


class _HashingReader:
    """A file reader that hashes what the uploader actually read, to catch a file changed mid-upload."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class _VerifyingReader(io.RawIOBase):
    """Object bytes as they arrive from S3; the read that reaches the end checks the whole digest."""

    def __init__(self, response: BaseHTTPResponse, key: str, expected: str | None) -> None:
        super().__init__()
        self._response = response
        self._key = key
        self._expected = expected
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with _translated(self._key):
            chunk = self._response.read(len(view))
        view[: len(chunk)] = chunk
        if chunk:
            self._digest.update(chunk)
        elif self._expected is not None:
            expected, self._expected = self._expected, None
            if self._digest.hexdigest() != expected:
                raise IntegrityMismatch(f"object {self._key} does not match its recorded SHA-256")
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()
