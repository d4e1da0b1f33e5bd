"""The embedded pool: a document past its hard time limit is stopped and failed with a code; others go on."""

from pathlib import Path

from examples.synth import EXAMPLES, write_example
from ingest.intake import intake
from ingest.runner import LocalRunner
from ingest.services import build_services
from ingest.settings import Settings
from storage.repositories import DocumentRepository


def test_a_document_over_its_time_limit_is_failed_and_the_batch_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    services = build_services(settings.model_copy(update={"document_timeout_seconds": 0.5, "workers": 1}))
    try:
        slow = write_example(next(s for s in EXAMPLES if s.name == "ho-so-ho-kinh-doanh.tif"), tmp_path)
        bad = write_example(next(s for s in EXAMPLES if s.name == "empty.pdf"), tmp_path)
        ids = [intake(services, p.read_bytes(), source=p.name).document_id for p in (slow, bad)]
        with LocalRunner(services) as runner:
            finished = {f.document_id: f.status.value for f in runner.run(ids)}
        assert finished == {ids[0]: "failed", ids[1]: "failed"}
        with services.db.unit_of_work() as session:
            repository = DocumentRepository(session)
            timed_out, empty = repository.get(ids[0]), repository.get(ids[1])
            assert timed_out is not None and timed_out.error_code == "processing.timeout"
            assert empty is not None and empty.error_code == "input.empty", "the next document still ran"
            assert services.store.get_bytes(timed_out.original_key) == slow.read_bytes()
    finally:
        services.close()
