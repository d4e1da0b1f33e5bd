"""Metadata tables: dossiers, documents, pages, imports, scanned stacks, units, identities, the audit trail
and the imported procedure catalogs (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of all sohoa tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class DocumentStatus(StrEnum):
    """Where a document is in its life: queued → processing → done | needs_review | failed."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """True once no more work will happen without a person acting."""
        return self in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW, DocumentStatus.FAILED)


class Dossier(Base):
    """A dossier (hồ sơ), identified by its dossier code."""

    __tablename__ = "dossiers"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="dossier", order_by="Document.created_at")


class Document(Base):
    """One input file and everything derived from it."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.QUEUED, index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    review_reasons: Mapped[list[Any]] = mapped_column(default=list)
    dossier_code: Mapped[str | None] = mapped_column(ForeignKey("dossiers.code"), index=True)
    dossier_source: Mapped[str | None] = mapped_column(String(16))
    """How the dossier was known: "given" (option, form field, folder name), "manifest", "separator" (the
    sheet or receipt that started its part of a scanned stack), "barcode" or "text" (found on a page), or
    "group" (taken from the files that came with it)."""
    group_key: Mapped[str | None] = mapped_column(String(255), index=True)
    """Files that came together (one folder of an import, one ZIP directory, one upload batch, one burst in
    the hot folder): a document without a code of its own takes the code found on the others."""
    stack_id: Mapped[str | None] = mapped_column(ForeignKey("stacks.id"), index=True)
    """The scanned stack this document was split from, if any (its `source` names the pages)."""
    given_procedure: Mapped[str | None] = mapped_column(String(64))
    """A procedure a person stated up front (manifest): recorded as the procedure, the classifier's view
    kept as candidates."""
    received_on: Mapped[date | None] = mapped_column(Date)
    applicant: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    """The unit that received it (the uploading identity's unit, `sohoa import --unit`); None: the province.
    An identity of a unit sees only that unit's documents."""
    received_by: Mapped[str | None] = mapped_column(String(160))
    """Who handed it in: an identity (`key:<name>`, `user:<name>`) or a local operator (`cli:<user>`)."""
    station: Mapped[str | None] = mapped_column(String(64), index=True)
    """The scanning station or counter it came from, when the face knows it (figures per station)."""
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A reviewer withdrew it (a mistaken scan): hidden from dossiers, listings and search, kept (with its
    audit trail) until an admin purges it."""
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    procedure_id: Mapped[str | None] = mapped_column(String(64), index=True)
    procedure_confidence: Mapped[float | None] = mapped_column(Float)
    procedure_candidates: Mapped[list[Any]] = mapped_column(default=list)
    catalog_version: Mapped[str | None] = mapped_column(String(12))
    """The version of the procedure catalog it was classified with (an imported one's
    `catalog_versions.version`, else the fingerprint of the shipped or configured catalog)."""
    document_kind: Mapped[str | None] = mapped_column(String(48))
    """The kind of component document it is (form, birth certificate, …)."""
    fields: Mapped[list[Any]] = mapped_column(default=list)
    """Key fields found in the text: kind, value, page, confidence, label."""
    signed_by: Mapped[str | None] = mapped_column(Text)
    """Who signed the stored PDF (the certificate's common name); None: not signed."""
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signature_error: Mapped[str | None] = mapped_column(String(64))
    """Why the stored PDF is not signed when it should be (`signing.no_identity`, `signing.expired`, …)."""
    pdfa: Mapped[bool | None] = mapped_column(Boolean)
    """Whether the stored PDF claims PDF/A-2b (False: a born-digital source kept what PDF/A forbids)."""
    page_count: Mapped[int | None] = mapped_column(Integer)
    mean_ocr_confidence: Mapped[float | None] = mapped_column(Float)
    original_key: Mapped[str] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(Text)
    text_key: Mapped[str | None] = mapped_column(Text)
    words_key: Mapped[str | None] = mapped_column(Text)
    """TSV of every OCR word with its box and confidence."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """Who holds the processing lease: a Celery task id, or `pages` while page tasks read a fanned-out
    document."""
    claimed_process: Mapped[str | None] = mapped_column(String(255))
    """The process running the lease's task (`host:pid`); empty while the task waits to be retried."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the lease was last renewed; a lease not renewed for `lease_seconds` may be taken over."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    dossier: Mapped[Dossier | None] = relationship(back_populates="documents")
    pages: Mapped[list[Page]] = relationship(
        back_populates="document", order_by="Page.number", cascade="all, delete-orphan"
    )


class Page(Base):
    """One page of a document with its text and what cleanup measured."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    text_source: Mapped[str] = mapped_column(String(8))
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    blank: Mapped[bool] = mapped_column(Boolean, default=False)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    skew: Mapped[float] = mapped_column(Float, default=0.0)
    dpi: Mapped[float | None] = mapped_column(Float)

    document: Mapped[Document] = relationship(back_populates="pages")


class PageLease(Base):
    """One page of a fanned-out document: who is reading it, their last heartbeat, and whether it is read."""

    __tablename__ = "page_leases"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The page task holding it; empty while the page waits in the queue."""
    claimed_process: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its result is stored (`work/<document>/page-NNNNN.json`)."""


class ProcedureCorrection(Base):
    """A person set or confirmed a document's procedure: who, when, old → new. Feeds `sohoa train`."""

    __tablename__ = "procedure_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    old_procedure: Mapped[str | None] = mapped_column(String(64))
    new_procedure: Mapped[str] = mapped_column(String(64))
    corrected_by: Mapped[str] = mapped_column(String(128))
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Stack(Base):
    """A scanned file holding several dossiers, split at receipts and separator sheets into documents.

    The stack's own bytes are stored first, untouched, like any original; its parts are new files.
    """

    __tablename__ = "stacks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_key: Mapped[str] = mapped_column(Text)
    page_count: Mapped[int] = mapped_column(Integer)
    part_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    """The documents of its parts in page order, set once every part is stored (None: split unfinished)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportRun(Base):
    """A bulk import (`sohoa import`): what was asked, so rerunning it or `--resume ID` picks it up again."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Paths, manifest, dossier and options, as given."""
    state: Mapped[str] = mapped_column(String(16), default="running")
    """running | interrupted | finished."""
    kind: Mapped[str] = mapped_column(String(8), default="import", server_default="import")
    """import (`sohoa import`, the id a hash of the request) or batch (`POST /api/v1/batches`)."""
    created_by: Mapped[str | None] = mapped_column(String(32), index=True)
    """The identity that sent an API batch (a scanner sees its own batches)."""
    unit: Mapped[str | None] = mapped_column(String(64))
    """The unit receiving its files; None: the province."""
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportItem(Base):
    """One file (or stack part) of an import and the document that holds it, or why it could not be read."""

    __tablename__ = "import_items"
    __table_args__ = (UniqueConstraint("import_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    pages: Mapped[int | None] = mapped_column(Integer)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    """The bytes were already known before this import took them in."""
    error_code: Mapped[str | None] = mapped_column(String(64))
    """Why the file could not be taken in (no document then)."""
    error_message: Mapped[str | None] = mapped_column(Text)
    last_run: Mapped[int] = mapped_column(Integer, default=1)
    """The run of the import that last sent this document to be processed."""


class Role(StrEnum):
    """What an identity may do (see `api.auth.PERMISSIONS`)."""

    SCANNER = "scanner"
    """Uploads scans and follows its own batches."""
    REVIEWER = "reviewer"
    """Reads, and corrects procedures, dossiers and fields."""
    READER = "reader"
    """Reads records and downloads files."""
    ADMIN = "admin"
    """Everything, including keys, accounts, the catalog and the audit trail."""


class Unit(Base):
    """A commune, a department or the centre: identities and documents belong to one (or to the province)."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Identity(Base):
    """An API key (a client system, a scanning station) or a staff account (a person); secrets only hashed."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """key | user."""
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    """None: the whole province (sees every unit's documents)."""
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the API key; the key itself is shown once and never stored."""
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    """The key's first characters, so a person can tell keys apart in a list."""
    password_hash: Mapped[str | None] = mapped_column(Text)
    """argon2id hash of a staff account's password."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when the key is revoked or the account disabled; it then authenticates nothing."""
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Failed web logins in a row; reset by a good one."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """After too many failed logins the account refuses every password until then."""

    @property
    def label(self) -> str:
        """How the audit trail names it: `key:<name>` or `user:<name>`."""
        return f"{self.kind}:{self.name}"


class SigningCertificate(Base):
    """A staff account's signing identity: the PKCS#12 it uploaded, sealed under the server's secret so a
    copy of the database signs nothing, and what the certificate says (shown without opening the seal)."""

    __tablename__ = "signing_certificates"

    identity_id: Mapped[str] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    sealed_pkcs12: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the certificate."""
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A browser signed in to the staff web app. The cookie holds a random token; only its SHA-256 is kept, so
    a copy of the database signs nobody in."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back by every form and script that changes something (synchronizer token)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(Base):
    """One audited action. Append-only; each entry's hash covers its fields and the previous entry's hash,
    so an edited or deleted entry breaks the chain (`sohoa audit verify`)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """1, 2, 3 … with no gaps: a missing number is a deleted entry."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(160), index=True)
    """`key:<name>`, `user:<name>`, `cli:<os user>` or `anonymous`."""
    actor_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    """document.read, document.download, search, document.upload, procedure.correct, key.create, …"""
    document_id: Mapped[str | None] = mapped_column(String(32), index=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(64))
    """The unit of what was touched (the document's), else the actor's."""
    address: Mapped[str | None] = mapped_column(String(64))
    """The client's IP address (None for the command line)."""
    outcome: Mapped[str] = mapped_column(String(64))
    """ok, or the refusal or error code (auth.forbidden, document.not_found, …)."""
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Webhook(Base):
    """A client system's URL, sent a signed JSON event when its documents or dossiers finish."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    """HMAC-SHA256 key of the signatures (kept: sohoa must sign with it; shown once to the client)."""
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Event names it wants (document.done, document.needs_review, document.failed, dossier.done,
    dossier.needs_review); empty: all."""
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    """The identity that registered it; it sees and deletes it."""
    unit: Mapped[str | None] = mapped_column(String(64))
    """Only documents of this unit (the owner's); None: the whole province."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event for one hook, and every attempt to deliver it (an outbox row: written when the event
    happens, sent by the deliverer, never by the pipeline itself)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("hook_id", "event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(200))
    """What makes the event unique (a document's id and finish time): the same event is queued once."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending | sending | delivered | failed (gave up after the last attempt)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    """HTTP status of the last attempt (None: no answer)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CatalogVersion(Base):
    """A procedure catalog a province imported (`sohoa catalog import`), its content stored as
    `catalogs/<version>.jsonl.gz`. The active one (at most one: a partial unique index) is what every
    worker classifies with."""

    __tablename__ = "catalog_versions"
    __table_args__ = (
        Index(
            "uq_catalog_versions_active",
            "active",
            unique=True,
            sqlite_where=sql_text("active"),
            postgresql_where=sql_text("active"),
        ),
    )

    version: Mapped[str] = mapped_column(String(12), primary_key=True)
    """`Catalog.version`: the fingerprint of its content, so the same file imported twice is one row."""
    source: Mapped[str] = mapped_column(Text)
    """The name of the file it was imported from."""
    procedures: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(160))
    """`cli:<os user>`, or an identity's label."""
    active: Mapped[bool] = mapped_column(Boolean, default=False)
