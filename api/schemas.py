"""What goes in and out of the API, separately typed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from classifiers.completeness import ComponentCheck
from ingest.dossiers import DossierCheck
from ingest.records import DocumentRecord

DocumentOut = DocumentRecord
"""The API returns the export record itself (`ingest.records`), not a copy of it."""


class ErrorOut(BaseModel):
    """A coded error."""

    code: str
    message: str


class LinksOut(BaseModel):
    """Where to download a document's files; None for what is not made yet."""

    original: str
    pdf: str | None
    text: str | None
    direct: bool = Field(description="True: presigned object-store URLs; false: this API's routes.")
    expires_at: datetime | None = Field(description="When presigned URLs stop working.")


class ProcedureIn(BaseModel):
    """A person's decision about a document's procedure."""

    procedure: str = Field(min_length=1, max_length=64, description="Catalog id, e.g. 'thuong-tru'.")


class DossierIn(BaseModel):
    """A person's decision about a document's dossier."""

    dossier: str | None = Field(max_length=64, description="Dossier code; null: the document is in none.")


class WithdrawIn(BaseModel):
    """Why a scan is withdrawn (a wrong dossier's page, a duplicate scan, a blank sheet)."""

    reason: str = Field(min_length=3, max_length=500)


class FieldIn(BaseModel):
    """A key field as a person read it on the page."""

    kind: Literal["citizen_id", "old_id", "tax_code", "person_name", "date"]
    value: str = Field(min_length=1, max_length=200)
    replaces: str | None = Field(
        default=None, max_length=200, description="The value found that this corrects; null: a new field."
    )


class UploadOut(BaseModel):
    """Answer to an upload: the document id, and whether those bytes were already known."""

    id: str
    status: str
    duplicate: bool = Field(description="True when the same bytes were uploaded before; no new document.")
    documents: list[str] = Field(
        default_factory=list,
        description="Every document the upload became: one, or one per dossier of a scanned stack "
        "(split at receipts and separator sheets); `id` is the first.",
    )


class ComponentOut(BaseModel):
    """One component of the procedure's dossier, as checked against the documents."""

    name: str = Field(description="The component as the catalog names it.")
    kind: str | None = Field(description="The kind of document it asks for; null: its name names none.")
    optional: bool
    condition: str | None = Field(description="The case it is needed in, when optional.")
    document: str | None = Field(description="The id of the document that answers it, if any.")


class CompletenessOut(BaseModel):
    """Whether the dossier holds what its procedure requires, by the kinds of its documents."""

    status: Literal["complete", "incomplete", "unknown"]
    procedure: str | None = Field(description="The dossier's procedure: the receipt's, else its documents'.")
    procedure_code: str | None
    present: list[ComponentOut]
    missing: list[ComponentOut]
    optional: list[ComponentOut] = Field(description="Needed only in some cases: never make it incomplete.")
    unchecked: list[ComponentOut] = Field(description="Required, but of no kind that can be checked.")


class DossierOut(BaseModel):
    """A dossier, its documents and its completeness."""

    code: str
    documents: list[DocumentRecord]
    completeness: CompletenessOut


class DossierSummaryOut(BaseModel):
    """One dossier of a listing."""

    code: str
    documents: int
    pages: int
    statuses: dict[str, int]
    procedures: list[str]
    units: list[str | None]
    received_on: str | None
    last_change: str | None


class DossierListOut(BaseModel):
    """A page of dossiers, most recently changed first."""

    dossiers: list[DossierSummaryOut]
    limit: int
    offset: int


class HealthOut(BaseModel):
    """Liveness and mode."""

    status: Literal["ok"]
    mode: Literal["embedded", "production"]


class SearchHitOut(BaseModel):
    """One document matching a search, best first."""

    id: str
    rank: float = Field(description="Relevance; only comparable within one search.")
    snippet: str = Field(description="Words around the first match, from the document's text.")
    source: str
    status: Literal["queued", "processing", "done", "needs_review", "failed"]
    dossier: str | None
    procedure: str | None


class BatchFileOut(BaseModel):
    """One file of a batch: the document it became, or why it could not be taken in."""

    source: str
    document_id: str | None
    status: Literal["queued", "processing", "done", "needs_review", "failed"] | None
    pages: int | None
    duplicate: bool
    dossier: str | None
    error_code: str | None
    error_message: str | None


class BatchOut(BaseModel):
    """A batch and where it stands."""

    id: str
    name: str | None
    unit: str | None
    created_by: str | None = Field(description="Id of the identity that sent it.")
    created_at: str
    counts: dict[str, int] = Field(description="Files by document status; `refused`: not taken in.")
    pages: int
    pages_done: int
    finished: bool = Field(description="Every file taken in is done, needs review or failed.")
    files: list[BatchFileOut]


class AuditEntryOut(BaseModel):
    """One entry of the audit trail."""

    seq: int
    at: str
    actor: str
    action: str
    outcome: str
    document_id: str | None
    dossier_code: str | None
    unit: str | None
    address: str | None
    detail: dict[str, object]
    hash: str


class AuditOut(BaseModel):
    """A page of the audit trail, newest first."""

    entries: list[AuditEntryOut]


class SearchOut(BaseModel):
    """A page of search results."""

    query: str
    hits: list[SearchHitOut]


class ProcedureOut(BaseModel):
    """One procedure of the catalog."""

    id: str
    code: str | None = Field(description="National procedure code D.DDDDDD, when known.")
    name: str
    components: list[str] = Field(description="Documents a dossier of this procedure usually holds.")


def completeness_out(check: DossierCheck) -> CompletenessOut:
    """The API's shape of a dossier's check (document indexes become document ids)."""
    ids = [record.id for record in check.documents]

    def component(c: ComponentCheck) -> ComponentOut:
        document = ids[c.document] if c.document is not None else None
        return ComponentOut(
            name=c.name, kind=c.kind, optional=c.optional, condition=c.condition, document=document
        )

    result = check.completeness
    return CompletenessOut(
        status=result.status,
        procedure=check.procedure.id if check.procedure else None,
        procedure_code=check.procedure.code if check.procedure else None,
        present=[component(c) for c in result.present],
        missing=[component(c) for c in result.missing],
        optional=[component(c) for c in result.optional],
        unchecked=[component(c) for c in result.unchecked],
    )


class ProcedureListOut(BaseModel):
    """Procedures matching a search."""

    query: str
    procedures: list[ProcedureOut]


class SignatureCheckOut(BaseModel):
    """One signature of a PDF as the validator saw it."""

    field: str
    signer: str | None
    signed_at: datetime | None
    timestamped: bool
    intact: bool = Field(description="The signed bytes are unchanged since signing.")
    trusted: bool = Field(description="The certificate chains up to one of the centre's trusted roots.")
    whole_file: bool = Field(description="Nothing was added to the file after this signature.")


class VerificationOut(BaseModel):
    """Whether a stored PDF's signature holds: `valid` only when every signature is intact and trusted and the
    last one covers the whole file; `problems` are codes (`verify.changed`, `verify.not_whole_file`,
    `verify.untrusted`, `verify.not_signed`)."""

    document: str | None = None
    valid: bool
    message: str
    problems: list[str]
    signer: str | None
    signed_at: datetime | None
    changed_since_signing: bool
    pdfa: bool | None = Field(
        default=None, description="Whether the file claims PDF/A-2b and shows no structure PDF/A forbids."
    )
    signatures: list[SignatureCheckOut]


class CertificateOut(BaseModel):
    """A staff account's signing certificate, as its certificate says (the key itself is never shown)."""

    account: str
    common_name: str
    subject: str
    issuer: str
    serial: str
    fingerprint: str
    not_before: datetime
    not_after: datetime
    trusted: bool = Field(
        description="Whether it chains up to a root this centre trusts "
        "(SOHOA_SIGNING_TRUST_ROOTS); signatures by an untrusted one do not verify."
    )
