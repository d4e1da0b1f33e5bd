"""People confirm or correct a document's procedure; the model learns from what they confirmed.

`set_procedure` is what `sohoa review` and `PUT /api/v1/documents/{id}/procedure` call; `train_model`
is `sohoa train`, and runs by itself once `retrain_after_confirmations` new confirmations have come in since
the model in use was trained (`retrain_due`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from classifiers.model import MIN_EXAMPLES, ModelError, train
from ingest.errors import IngestError
from ingest.services import MODEL_KEY, Services
from storage.models import Document, DocumentStatus, ProcedureCorrection
from storage.repositories import CorrectionRepository, DocumentRepository

log = logging.getLogger(__name__)

PROCEDURE_REASONS = ("procedure.unknown", "procedure.low_confidence")


@dataclass(frozen=True)
class TrainingReport:
    """What `train_model` did."""

    examples: int
    procedures: int
    key: str
    """Object-store key the model was saved under."""
    temperature: float


def set_procedure(services: Services, document_id: str, procedure_id: str, *, by: str) -> Document:
    """Set a document's procedure as a person decided it, audited; clears the procedure review reason."""
    if services.catalog.get(procedure_id) is None:
        raise IngestError(f"{procedure_id!r} is not a procedure of the catalog", code="procedure.unknown_id")
    if not by.strip():
        raise IngestError("say who makes the correction", code="review.no_reviewer")
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code="document.not_found")
        if document.status == DocumentStatus.FAILED:
            raise IngestError("a failed document has no text to classify", code="review.document_failed")
        CorrectionRepository(session).add(
            ProcedureCorrection(
                document_id=document.id,
                old_procedure=document.procedure_id,
                new_procedure=procedure_id,
                corrected_by=by.strip(),
            )
        )
        document.procedure_id = procedure_id
        document.procedure_confidence = 1.0
        reasons = [r for r in document.review_reasons or [] if r not in PROCEDURE_REASONS]
        document.review_reasons = reasons
        if document.status == DocumentStatus.NEEDS_REVIEW and not reasons:
            document.status = DocumentStatus.DONE
        session.flush()
        session.expunge(document)
        return document


def train_model(services: Services) -> TrainingReport:
    """Retrain the learned model on every confirmed document and store it where every worker loads it."""
    with services.db.unit_of_work() as session:
        confirmed = CorrectionRepository(session).confirmed_documents()
        texts = ["\n".join(page.text for page in document.pages) for document, _ in confirmed]
        labels = [procedure for _, procedure in confirmed]
    model = train(texts, labels)
    data = model.to_json()
    services.store.put_bytes(MODEL_KEY, data, content_type="application/json")
    services.refresh_model(force=True)
    return TrainingReport(
        examples=model.examples,
        procedures=len(model.classes),
        key=MODEL_KEY,
        temperature=round(model.temperature, 3),
    )


def retrain_due(services: Services) -> bool:
    """True when enough documents were confirmed since the model in use was trained to train it again."""
    every = services.settings.retrain_after_confirmations
    if every <= 0:
        return False
    with services.db.unit_of_work() as session:
        confirmed = CorrectionRepository(session).confirmed_count()
    trained_on = services.classifier.model.examples if services.classifier.model else 0
    return confirmed >= MIN_EXAMPLES and confirmed - trained_on >= every


def retrain_if_due(services: Services) -> TrainingReport | None:
    """Retrain after a confirmation when due; a model that cannot be trained yet is not an error."""
    services.refresh_model(force=True)
    if not retrain_due(services):
        return None
    try:
        return train_model(services)
    except ModelError as exc:  # e.g. every confirmation so far names the same procedure
        log.info("not retraining yet: %s", exc.message)
        return None
