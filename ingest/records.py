"""The record of a document: one typed model that the API returns and `sohoa export` writes, line by line.

    record = DocumentRecord.of(document, catalog)  # pages loaded; the catalog gives `procedure_code`
    record.model_dump_json()                       # the export line; the API serialises the same model

Built from the database row in one place (`DocumentRecord.of`), so a field added here reaches clients
and exports together, with its description in the OpenAPI schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from classifiers.catalog import Catalog, default_catalog_path, load_curated
from classifiers.keyfields import FieldKind
from ingest.catalogs import CODE_SHAPE
from storage.models import Document, DocumentStatus, Page


def _utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without their zone, which RFC 3339 requires."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""A moment in UTC, written with its offset (`…Z`) whatever the database returned."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorRecord(_Record):
    """Why a document failed: a stable code and a message for people."""

    code: str
    message: str


class PageRecord(_Record):
    """One page of a document."""

    number: int
    text: str
    ocr_confidence: float | None = Field(description="Mean word confidence 0–1; None: text from the PDF.")
    blank: bool
    rotation: int = Field(description="Degrees the page was turned to stand upright.")
    skew: float = Field(description="Degrees the page was levelled by.")
    text_source: Literal["ocr", "pdf"]

    @classmethod
    def of(cls, page: Page) -> PageRecord:
        return cls(
            number=page.number,
            text=page.text,
            ocr_confidence=page.ocr_confidence,
            blank=page.blank,
            rotation=page.rotation,
            skew=page.skew,
            text_source="pdf" if page.text_source == "pdf" else "ocr",
        )


class FieldRecord(_Record):
    """A key field found in the text (or set by a reviewer)."""

    kind: FieldKind
    value: str
    page: int
    confidence: float
    label: str | None = None


class CandidateRecord(_Record):
    """A procedure the classifier weighed, with its score and the evidence for it."""

    model_config = ConfigDict(frozen=True, extra="allow")

    procedure: str
    score: float
    evidence: str = ""


class ObjectKeys(_Record):
    """Object-store keys of what is kept for the document."""

    original: str
    pdf: str | None
    text: str | None
    words: str | None = Field(default=None, description="TSV of OCR words with boxes and confidences.")


class SignatureRecord(_Record):
    """The stored PDF's digital signature and archival form, as recorded when it was signed."""

    signed_by: str | None = Field(default=None, description="The signer's name (certificate common name).")
    signed_at: UtcTime | None = None
    error: str | None = Field(
        default=None,
        description="Why it is not signed (`signing.no_identity`: nobody is configured to sign; "
        "`signing.expired`, `signing.timestamp_unavailable`, …).",
    )
    pdfa: bool | None = Field(default=None, description="Whether the stored PDF claims PDF/A-2b.")


class DocumentRecord(_Record):
    """Everything a client needs about one document."""

    id: str
    source: str = Field(description="The file name it came in as (a stack's part names its pages).")
    sha256: str
    size_bytes: int
    media_type: str | None
    status: DocumentStatus
    error: ErrorRecord | None
    review_reasons: list[str]
    dossier: str | None
    dossier_source: str | None = Field(description="How the document got its dossier code.")
    unit: str | None = Field(description="The unit that received it; None: the province.")
    received_by: str | None = Field(description="The identity that handed it in (key:…, user:…, cli:…).")
    station: str | None = Field(default=None, description="The scanning station or counter it came from.")
    withdrawn_at: UtcTime | None = Field(
        description="Set when a reviewer withdrew it: hidden from dossiers and search."
    )
    withdrawn_reason: str | None
    procedure: str | None
    procedure_code: str | None = Field(
        default=None,
        description="The national procedure code (D.DDDDDD) of `procedure`; None when the catalog has none.",
    )
    procedure_confidence: float | None
    procedure_candidates: list[CandidateRecord]
    catalog_version: str | None = Field(
        default=None, description="The version of the procedure catalog it was classified with."
    )
    document_kind: str | None = Field(
        default=None,
        description="The kind of component document it is (`application_form`, `receipt`, `birth_notice`, "
        "`id_card`, `land_use_certificate`, …: see `classifiers/kinds.py`); None when its title names none.",
    )
    fields: list[FieldRecord]
    page_count: int | None
    mean_ocr_confidence: float | None
    signature: SignatureRecord = Field(
        default_factory=lambda: SignatureRecord(),
        description="Who signed the stored PDF and when; `GET …/verify` checks the file itself.",
    )
    pages: list[PageRecord]
    objects: ObjectKeys
    created_at: UtcTime | None
    finished_at: UtcTime | None

    @classmethod
    def of(cls, document: Document, catalog: Catalog | None = None) -> DocumentRecord:
        """The record of a row whose pages are loaded; `procedure_code` from `catalog` (the one in use:
        without it, the shipped curated entries' codes)."""
        error = (
            ErrorRecord(code=document.error_code, message=document.error_message or "")
            if document.error_code
            else None
        )
        return cls(
            id=document.id,
            source=document.source,
            sha256=document.sha256,
            size_bytes=document.size_bytes,
            media_type=document.media_type,
            status=DocumentStatus(document.status),
            error=error,
            review_reasons=list(document.review_reasons or []),
            dossier=document.dossier_code,
            dossier_source=document.dossier_source,
            unit=document.unit,
            received_by=document.received_by,
            station=document.station,
            withdrawn_at=document.withdrawn_at,
            withdrawn_reason=document.withdrawn_reason,
            procedure=document.procedure_id,
            procedure_code=procedure_code(document.procedure_id, catalog),
            procedure_confidence=document.procedure_confidence,
            procedure_candidates=[CandidateRecord(**c) for c in document.procedure_candidates or []],
            catalog_version=document.catalog_version,
            document_kind=document.document_kind,
            fields=[FieldRecord(**f) for f in document.fields or []],
            page_count=document.page_count,
            mean_ocr_confidence=document.mean_ocr_confidence,
            signature=SignatureRecord(
                signed_by=document.signed_by,
                signed_at=document.signed_at,
                error=document.signature_error,
                pdfa=document.pdfa,
            ),
            pages=[PageRecord.of(page) for page in document.pages],
            objects=ObjectKeys(
                original=document.original_key,
                pdf=document.pdf_key,
                text=document.text_key,
                words=document.words_key,
            ),
            created_at=document.created_at,
            finished_at=document.finished_at,
        )


def procedure_code(procedure_id: str | None, catalog: Catalog | None) -> str | None:
    """The national code of a procedure id, from `catalog` when given. Without it: the id itself when it
    has a code's shape (national entries are their own id), else the code of the shipped curated entry of
    that slug, which every default or imported catalog keeps."""
    if procedure_id is None:
        return None
    procedure = catalog.get(procedure_id) if catalog is not None else None
    if procedure is not None:
        return procedure.code
    if CODE_SHAPE.fullmatch(procedure_id):
        return procedure_id
    return _curated_codes().get(procedure_id) if catalog is None else None


@cache
def _curated_codes() -> dict[str, str]:
    """Slug → national code of the shipped curated entries (read once, on first use)."""
    return {p.id: p.code for p in load_curated(default_catalog_path()) if p.code}


def document_record(document: Document, catalog: Catalog | None = None) -> dict[str, Any]:
    """The record as plain JSON values (what `sohoa export` writes on one line)."""
    return DocumentRecord.of(document, catalog).model_dump(mode="json")
