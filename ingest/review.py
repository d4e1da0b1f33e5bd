"""People confirm or correct a document's procedure, dossier and key fields; the model learns from the
procedures they confirmed.

`set_procedure` is what `sohoa review` and `PUT /api/v1/documents/{id}/procedure` call, `set_dossier` and
`set_field` the dossier and field corrections of the API (audited there); `train_model`
is `sohoa train`, and runs by itself once `retrain_after_confirmations` new confirmations have come in since
the model in use was trained (`retrain_due`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from classifiers.keyfields import FieldKind, normalise_field_value
from classifiers.model import MIN_EXAMPLES, ModelError, train
from ingest import errors
from ingest.errors import IngestError
from ingest.services import MODEL_KEY, Services
from storage.models import Document, DocumentStatus, ProcedureCorrection, utcnow
from storage.repositories import CorrectionRepository, DocumentRepository, DossierRepository

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
        raise IngestError(
            f"{procedure_id!r} is not a procedure of the catalog", code=errors.UNKNOWN_PROCEDURE
        )
    if not by.strip():
        raise IngestError("say who makes the correction", code=errors.NO_REVIEWER)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        if document.status == DocumentStatus.FAILED:
            raise IngestError("a failed document has no text to classify", code=errors.DOCUMENT_FAILED)
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
    _sign_after_approval(services, document_id, by=by.strip())
    return document


DOSSIER_REASONS = ("dossier.ambiguous", "dossier.conflict")
"""Review reasons a person settles by stating the dossier."""


@dataclass(frozen=True)
class Change:
    """What a correction changed, for the audit trail."""

    old: str | None
    new: str | None


def set_dossier(services: Services, document_id: str, code: str | None, *, by: str | None = None) -> Change:
    """File the document under the dossier a person stated (None: under none). Its objects move under the
    dossier like a found code's; the dossier review reasons are settled."""
    from ingest.filing import refile
    from ingest.intake import check_dossier_code

    code = check_dossier_code(code) if code else None
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        if not DocumentStatus(document.status).finished:
            raise IngestError(
                "the document is still being read; try again when it is done", code=errors.REVIEW_BUSY
            )
        old = document.dossier_code
        if code:
            DossierRepository(session).ensure(code)
        moves = refile(services, document, code)
        document.dossier_code, document.dossier_source = code, "person" if code else None
        _settle(document, DOSSIER_REASONS)
    for previous, _new in moves:
        services.store.delete(previous)
    _sign_after_approval(services, document_id, by=by)
    return Change(old, code)


def accept(services: Services, document_id: str, *, by: str) -> list[str]:
    """A reviewer looked at the pages and accepts the reading as it stands (low OCR confidence, a blank
    page, the dossier it is filed under): every review reason left is settled and the document is done.
    Returns the reasons settled. A procedure is decided with `set_procedure` first."""
    if not by.strip():
        raise IngestError("say who accepts the document", code=errors.NO_REVIEWER)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        if document.status == DocumentStatus.FAILED:
            raise IngestError("a failed document has nothing to accept", code=errors.DOCUMENT_FAILED)
        if not DocumentStatus(document.status).finished:
            raise IngestError(
                "the document is still being read; try again when it is done", code=errors.REVIEW_BUSY
            )
        settled = [r for r in document.review_reasons or [] if " " not in r]
        _settle(document, tuple(settled))
    _sign_after_approval(services, document_id, by=by.strip())
    return settled


def _sign_after_approval(services: Services, document_id: str, *, by: str | None) -> None:
    """Sign a document a decision just made done, when signing waited for approval (`ingest.signatures`).
    The decision stands whatever happens here: a store that fails now leaves the document unsigned."""
    from ingest.signatures import sign_on_approval
    from storage.errors import StorageError

    try:
        sign_on_approval(services, document_id, by=by)
    except (StorageError, OSError) as exc:
        log.warning("document %s approved but not signed: %s", document_id, exc)


def set_field(
    services: Services, document_id: str, kind: FieldKind, value: str, *, replaces: str | None, by: str
) -> Change:
    """Set a key field as a person read it: replaces the field of `kind` whose value is `replaces` (or adds
    one); the value must pass the same check as what the extractor finds."""
    normalised = normalise_field_value(kind, value)
    if normalised is None:
        raise IngestError(f"{value[:80]!r} is not a valid {kind}", code=errors.BAD_FIELD)
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        fields = list(document.fields or [])
        old = next((f for f in fields if f.get("kind") == kind and f.get("value") == replaces), None)
        if replaces is not None and old is None:
            raise IngestError(f"the document has no {kind} {replaces[:80]!r}", code=errors.NO_SUCH_FIELD)
        if old is not None:
            fields.remove(old)
        fields.append(
            {
                "kind": kind,
                "value": normalised,
                "page": old.get("page", 1) if old else 1,
                "confidence": 1.0,
                "label": old.get("label") if old else None,
                "raw": value[:200],
                "corrected_by": by,
            }
        )
        document.fields = fields
    return Change(replaces, normalised)


def withdraw(services: Services, document_id: str, reason: str) -> None:
    """Hide a mistaken scan from dossiers, listings and search; its bytes, record and audit trail stay."""
    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        if document.withdrawn_at is None:
            document.withdrawn_at, document.withdrawn_reason = utcnow(), reason.strip()


def purge(services: Services, document_id: str) -> list[str]:
    """Delete a withdrawn document for good: its objects, pages, text and row (its audit entries stay, and
    say it was purged). Refused for a document that was not withdrawn first. Returns the deleted keys."""
    from storage.search import remove_document

    with services.db.unit_of_work() as session:
        document = DocumentRepository(session).get_for_update(document_id)
        if document is None:
            raise IngestError(f"no document {document_id}", code=errors.DOCUMENT_NOT_FOUND)
        if document.withdrawn_at is None:
            raise IngestError("withdraw the document before purging it", code=errors.NOT_WITHDRAWN)
        keys = [
            k for k in (document.original_key, document.pdf_key, document.text_key, document.words_key) if k
        ]
        remove_document(session, document.id)
        session.delete(document)
    for key in keys:
        services.store.delete(key)
    return keys


def _settle(document: Document, reasons: tuple[str, ...]) -> None:
    """Drop review reasons a person settled (a code and the sentence that explains it after it); a
    document with none left is done."""
    left: list[str] = []
    dropping = False
    for reason in document.review_reasons or []:
        if reason in reasons:
            dropping = True
            continue
        if dropping and " " in reason:  # the explanation of the code just dropped
            continue
        dropping = False
        left.append(reason)
    document.review_reasons = left
    if document.status == DocumentStatus.NEEDS_REVIEW and not left:
        document.status = DocumentStatus.DONE


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
