"""Corrections are audited, change the document, and teach the learned model after `train_model`."""

from __future__ import annotations

import pytest

from classifiers.model import ModelError
from examples.synth import make_page
from ingest.errors import IngestError
from ingest.review import retrain_due, retrain_if_due, set_procedure, train_model
from ingest.services import MODEL_KEY, Services, build_services
from ingest.settings import Settings
from storage.models import Document, DocumentStatus, Page
from storage.repositories import CorrectionRepository, DocumentRepository


def _stored(services: Services, document_id: str, text: str, **fields: object) -> str:
    """A processed document row with one page of text (no OCR needed for review logic)."""
    with services.db.unit_of_work() as session:
        document = Document(
            id=document_id,
            source=f"{document_id}.jpg",
            sha256=document_id.ljust(64, "0"),
            size_bytes=1,
            original_key=f"inbox/{document_id}/original.jpg",
            status=fields.pop("status", DocumentStatus.DONE),
            **fields,
        )
        DocumentRepository(session).add(document)
        DocumentRepository(session).replace_pages(document, [Page(number=1, text=text, text_source="ocr")])
    return document_id


def _without_title(text: str, title: str) -> str:
    return "\n".join(line for line in text.splitlines() if title not in line and "Mẫu" not in line)


def test_correction_changes_the_document_and_is_audited(services: Services) -> None:
    text = make_page("tam-tru", seed=1, dpi=72).text
    document_id = _stored(
        services,
        "a1",
        text,
        status=DocumentStatus.NEEDS_REVIEW,
        procedure_id=None,
        review_reasons=["procedure.low_confidence"],
    )
    changed = set_procedure(services, document_id, "tam-tru", by="Nguyễn Thị Lan")
    assert changed.procedure_id == "tam-tru" and changed.status == DocumentStatus.DONE
    set_procedure(services, document_id, "thuong-tru", by="Trần Văn Bình")
    with services.db.unit_of_work() as session:
        trail = CorrectionRepository(session).for_document(document_id)
        assert [(c.old_procedure, c.new_procedure, c.corrected_by) for c in trail] == [
            (None, "tam-tru", "Nguyễn Thị Lan"),
            ("tam-tru", "thuong-tru", "Trần Văn Bình"),
        ]
        assert all(c.corrected_at is not None for c in trail)


def test_unknown_procedures_and_documents_are_refused(services: Services) -> None:
    document_id = _stored(services, "b1", "text")
    with pytest.raises(IngestError) as unknown:
        set_procedure(services, document_id, "no-such-procedure", by="x")
    assert unknown.value.code == "procedure.unknown_id"
    with pytest.raises(IngestError) as missing:
        set_procedure(services, "nope", "khai-sinh", by="x")
    assert missing.value.code == "document.not_found"


def test_training_needs_confirmed_documents(services: Services) -> None:
    with pytest.raises(ModelError):
        train_model(services)


def test_after_training_the_model_decides_what_rules_cannot(services: Services) -> None:
    """Pages without their form title give the rules nothing; confirmed examples teach the model."""
    titles = {"ket-hon": "TỜ KHAI ĐĂNG KÝ KẾT HÔN", "ho-kinh-doanh": "GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH"}
    for seed in range(4):
        for procedure, title in titles.items():
            text = _without_title(make_page(procedure, seed=seed, dpi=72).text, title)
            document_id = _stored(
                services, f"{procedure[:3]}{seed}", text, status=DocumentStatus.NEEDS_REVIEW
            )
            set_procedure(services, document_id, procedure, by="reviewer")
    unseen = _without_title(make_page("ket-hon", seed=40, dpi=72).text, titles["ket-hon"])
    before = services.classifier.classify([unseen])
    assert before.procedure_id is None
    report = train_model(services)
    assert report.examples == 8 and report.procedures == 2
    after = services.classifier.classify([unseen])
    assert after.procedure_id == "ket-hon"
    assert after.candidates[0].evidence.startswith("learned model")
    assert services.store.exists(MODEL_KEY)


def _confirm_untitled(services: Services, seeds: range) -> None:
    titles = {"ket-hon": "TỜ KHAI ĐĂNG KÝ KẾT HÔN", "ho-kinh-doanh": "GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH"}
    for seed in seeds:
        for procedure, title in titles.items():
            text = _without_title(make_page(procedure, seed=seed, dpi=72).text, title)
            document_id = _stored(
                services, f"{procedure[:3]}{seed}", text, status=DocumentStatus.NEEDS_REVIEW
            )
            set_procedure(services, document_id, procedure, by="reviewer")


def test_model_retrains_by_itself_after_enough_new_confirmations(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"retrain_after_confirmations": 6}))
    try:
        _confirm_untitled(services, range(2))
        assert not retrain_due(services) and retrain_if_due(services) is None  # 4 confirmed: not yet
        _confirm_untitled(services, range(2, 3))
        report = retrain_if_due(services)  # 6 confirmed, model trained on 0
        assert report is not None and report.examples == 6
        assert services.classifier.model is not None and services.classifier.model.examples == 6
        _confirm_untitled(services, range(3, 5))
        assert not retrain_due(services)  # 4 new since the model: not yet
        _confirm_untitled(services, range(5, 6))
        assert retrain_due(services)
    finally:
        services.close()


def test_other_processes_pick_up_a_newly_trained_model(settings: Settings) -> None:
    """A worker built before training sees the stored model on its next refresh."""
    trainer = build_services(settings)
    worker = build_services(settings.model_copy(update={"model_refresh_seconds": 0}))
    try:
        _confirm_untitled(trainer, range(4))
        assert worker.classifier.model is None
        train_model(trainer)
        worker.refresh_model()
        assert worker.classifier.model is not None and worker.classifier.model.examples == 8
    finally:
        trainer.close()
        worker.close()


def test_retraining_disabled_with_zero(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"retrain_after_confirmations": 0}))
    try:
        _confirm_untitled(services, range(4))
        assert retrain_if_due(services) is None and services.classifier.model is None
    finally:
        services.close()
