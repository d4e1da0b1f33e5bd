"""The Celery task is a thin shell around the same pipeline function the embedded pool runs."""

from pathlib import Path

from examples.synth import EXAMPLES, write_example
from ingest.celery_app import PROCESS_DOCUMENT, create_celery
from ingest.intake import intake
from ingest.services import Services
from storage.repositories import DocumentRepository


def test_task_is_json_only_late_acking_and_runs_the_pipeline(
    services: Services, tmp_path: Path, redis_broker_url: str
) -> None:
    settings = services.settings.model_copy(update={"broker_url": redis_broker_url})
    app = create_celery(settings)
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    task = app.tasks[PROCESS_DOCUMENT]

    path = write_example(next(s for s in EXAMPLES if s.name == "tam-tru-xoay-90.png"), tmp_path)
    document_id = intake(services, path.read_bytes(), source=path.name).document_id
    assert task.apply(args=[document_id]).get() == "done"
    assert task.apply(args=[document_id]).get() == "done", "a redelivered task finds the work done"
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get(document_id)
        assert document is not None and document.attempts == 1


def test_an_app_runs_its_own_tasks_not_those_of_an_earlier_app(
    services: Services, tmp_path: Path, redis_broker_url: str
) -> None:
    """Celery shares tasks between apps by default; ours must keep each app's own settings."""
    elsewhere = services.settings.model_copy(
        update={"broker_url": redis_broker_url, "database_url": "sqlite:////nonexistent/dir/x.db"}
    )
    for _ in range(5):  # finalized apps whose tasks would point at a database that does not exist
        assert create_celery(elsewhere).tasks[PROCESS_DOCUMENT].name == PROCESS_DOCUMENT
    app = create_celery(services.settings.model_copy(update={"broker_url": redis_broker_url}))
    path = write_example(next(s for s in EXAMPLES if s.name == "tam-tru-xoay-90.png"), tmp_path)
    document_id = intake(services, path.read_bytes(), source=path.name).document_id
    assert app.tasks[PROCESS_DOCUMENT].apply(args=[document_id]).get() == "done"
