"""People confirm or correct a document's procedure; the model learns from what they confirmed.

`set_procedure` is what `sohoa review` and `PUT /api/v1/documents/{id}/procedure` call; `train_model`
is `sohoa train`.
"""

from __future__ import annotations

from dataclasses import dataclass

from classifiers.model import ProcedureModel, train
from ingest.errors import IngestError
from ingest.services import Services
from storage.models import Document, DocumentStatus, ProcedureCorrection
from storage.repositories import CorrectionRepository, DocumentRepository

PROCEDURE_REASONS = ("procedure.unknown", "procedure.low_confidence")


@dataclass(frozen=True)
class TrainingReport:
    """What `train_model` did."""

    examples: int
    procedures: int
    path: str


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
    """Retrain the learned model on every confirmed document and save it where the classifier loads it."""
    with services.db.unit_of_work() as session:
        confirmed = CorrectionRepository(session).confirmed_documents()
        texts = ["\n".join(page.text for page in document.pages) for document, _ in confirmed]
        labels = [procedure for _, procedure in confirmed]
    model = train(texts, labels)
    path = services.settings.effective_model_path
    model.save(path)
    services.classifier.model = ProcedureModel.load(path)
    return TrainingReport(examples=model.examples, procedures=len(model.classes), path=str(path))
