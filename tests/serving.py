"""A real `sohoa serve` for tests: its own free port, its own data, its log kept for the failure message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

SOHOA = str(Path(sys.executable).with_name("sohoa"))
SERVER_ONLY = ("SOHOA_BROKER_URL", "SOHOA_DATABASE_URL", "SOHOA_S3_ENDPOINT")
"""Settings of the developer's shell a test server must not inherit unless the test sets them."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sohoa_serve(env: dict[str, str], log: Path, *, start_timeout: float = 90.0) -> Iterator[str]:
    """Start `sohoa serve` with these SOHOA_* settings, wait until /healthz answers, yield its base URL."""
    environment = {k: v for k, v in os.environ.items() if k not in SERVER_ONLY} | env
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [SOHOA, "serve", "--port", str(port)], env=environment, stdout=output, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"sohoa serve did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_finished(http: httpx.Client, document_id: str, timeout: float = 180.0) -> dict[str, Any]:
    """Poll a document's record (a real server's client or a TestClient) until it is finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = http.get(f"/api/v1/documents/{document_id}").json()
        if record["status"] in {"done", "needs_review", "failed"}:
            return dict(record)
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} did not finish in {timeout} s")
