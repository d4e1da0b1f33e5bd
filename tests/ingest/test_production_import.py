"""`sohoa import --wait` with a broker: originals go to S3, documents to the queue, the CLI waits."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from examples.synth import EXAMPLES, write_example
from ingest.services import Services
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository
from tests.production import SOHOA, Workers, settings_env


def test_import_wait_enqueues_and_waits_for_worker_processes(
    production_services: Services, workers: Workers, tmp_path: Path
) -> None:
    workers.start(concurrency=2)
    scans = tmp_path / "scans"
    scans.mkdir()
    names = ("ket-hon-giay-tiep-nhan.jpg", "tam-tru-xoay-90.png", "damaged.jpg")
    for name in names:
        write_example(next(s for s in EXAMPLES if s.name == name), scans)
    env = {**os.environ, **settings_env(production_services.settings)}
    result = subprocess.run(
        [str(SOHOA), "import", str(scans), "--wait"], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"đã xử lý lần này: xong\s*│ 2 ", result.stdout) and re.search(
        r"lỗi\s*│ 1 ", result.stdout
    ), result.stdout
    with production_services.db.unit_of_work() as session:
        repository = DocumentRepository(session)
        statuses = {d.source: d.status for d in repository.iter_all()}
        assert statuses == {
            "ket-hon-giay-tiep-nhan.jpg": DocumentStatus.DONE,
            "tam-tru-xoay-90.png": DocumentStatus.DONE,
            "damaged.jpg": DocumentStatus.FAILED,
        }
        for document in repository.iter_all():
            assert production_services.store.sha256_of(document.original_key) == document.sha256
