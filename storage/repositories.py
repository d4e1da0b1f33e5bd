"""Repositories: the queries the rest of sohoa needs. They flush, never commit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    CatalogVersion,
    Document,
    DocumentStatus,
    Dossier,
    Page,
    PageLease,
    ProcedureCorrection,
)


class DocumentRepository:
    """Documents and their pages."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, document_id: str, *, with_pages: bool = False) -> Document | None:
        """The document with this id, or None."""
        if not with_pages:
            return self.session.get(Document, document_id)
        statement = select(Document).where(Document.id == document_id).options(selectinload(Document.pages))
        return self.session.scalars(statement).first()

    def get_for_update(self, document_id: str) -> Document | None:
        """The document, locked against concurrent workers where the database supports it."""
        statement = select(Document).where(Document.id == document_id).with_for_update()
        return self.session.scalars(statement).first()

    def many(self, document_ids: Sequence[str]) -> list[Document]:
        """The documents with these ids that exist (no pages), loaded in chunks of 1,000."""
        ids = list(dict.fromkeys(document_ids))
        found: list[Document] = []
        for start in range(0, len(ids), 1000):
            statement = select(Document).where(Document.id.in_(ids[start : start + 1000]))
            found.extend(self.session.scalars(statement))
        return found

    def get_by_sha256(self, sha256: str) -> Document | None:
        """The document holding exactly these bytes, if any (dedup)."""
        return self.session.scalars(select(Document).where(Document.sha256 == sha256)).first()

    def add(self, document: Document) -> Document:
        """Add a new document and flush so its unique constraints are checked now."""
        self.session.add(document)
        self.session.flush()
        return document

    def replace_pages(self, document: Document, pages: Sequence[Page]) -> None:
        """Swap the document's pages for `pages` (a rerun replaces, never duplicates)."""
        document.pages.clear()
        self.session.flush()
        document.pages.extend(pages)

    def iter_all(self, *, batch: int = 200) -> Iterator[Document]:
        """Every document with its pages, oldest first, loaded in batches."""
        statement = (
            select(Document)
            .order_by(Document.created_at, Document.id)
            .options(selectinload(Document.pages))
            .execution_options(yield_per=batch)
        )
        yield from self.session.scalars(statement)

    def statuses(self, document_ids: Sequence[str]) -> dict[str, DocumentStatus]:
        """The status of each of these documents that exists, one query per 1,000 ids."""
        ids = list(dict.fromkeys(document_ids))
        found: dict[str, DocumentStatus] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            rows = self.session.execute(select(Document.id, Document.status).where(Document.id.in_(chunk)))
            found.update((document_id, DocumentStatus(status)) for document_id, status in rows)
        return found

    def ids_with_status(self, *statuses: DocumentStatus) -> list[str]:
        """Ids of documents in any of the given states, oldest first."""
        statement = select(Document.id).where(Document.status.in_(statuses)).order_by(Document.created_at)
        return list(self.session.scalars(statement))

    def failed_with(self, codes: Sequence[str]) -> list[str]:
        """Ids of failed documents whose code is one of `codes` or starts with `<code>.`, oldest first."""
        matches = [Document.error_code == code for code in codes]
        matches += [Document.error_code.startswith(f"{code}.", autoescape=True) for code in codes]
        statement = (
            select(Document.id)
            .where(Document.status == DocumentStatus.FAILED, or_(*matches))
            .order_by(Document.created_at)
        )
        return list(self.session.scalars(statement))

    def review_queue(
        self, unit: str | None, *, after: Document | None = None, limit: int = 1
    ) -> list[Document]:
        """Documents waiting for a person, oldest first (of `unit`; None: every unit), with their pages;
        `after`: only those behind that one in the queue (a reviewer skipped it)."""
        statement = self._waiting(unit).order_by(Document.created_at, Document.id).limit(limit)
        if after is not None:
            statement = statement.where(
                or_(
                    Document.created_at > after.created_at,
                    (Document.created_at == after.created_at) & (Document.id > after.id),
                )
            )
        return list(self.session.scalars(statement.options(selectinload(Document.pages))))

    def review_count(self, unit: str | None) -> int:
        """How many documents wait for a person (of `unit`; None: every unit)."""
        waiting = self._waiting(unit).with_only_columns(func.count()).order_by(None)
        return int(self.session.scalar(waiting) or 0)

    @staticmethod
    def _waiting(unit: str | None) -> Select[Document]:
        statement = select(Document).where(
            Document.status == DocumentStatus.NEEDS_REVIEW, Document.withdrawn_at.is_(None)
        )
        return statement if unit is None else statement.where(Document.unit == unit)

    def in_dossier(self, code: str, *, with_pages: bool = True) -> list[Document]:
        """The documents of one dossier, oldest first (their order gives their numbers in downloads)."""
        statement = (
            select(Document)
            .where(Document.dossier_code == code, Document.withdrawn_at.is_(None))
            .order_by(Document.created_at, Document.id)
        )
        if with_pages:
            statement = statement.options(selectinload(Document.pages))
        return list(self.session.scalars(statement))


class LeaseRepository:
    """Heartbeats and hand-overs of processing leases: a document's, and the pages' of a fanned-out one."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def renew_document(self, document_id: str, task: str, process: str, now: datetime) -> bool:
        """Renew the document's lease if `task` in `process` still holds it; False when it was taken."""
        result = self.session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == DocumentStatus.PROCESSING)
            .where(Document.claimed_by == task, Document.claimed_process == process)
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_for_retry(self, document_id: str, task: str, process: str, until: datetime) -> None:
        """The task waits to be retried (storage unreachable): its next delivery, on any process, resumes;
        others keep off until `until`."""
        self.session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == DocumentStatus.PROCESSING)
            .where(Document.claimed_by == task, Document.claimed_process == process)
            .values(claimed_process=None, heartbeat_at=until)
            .execution_options(synchronize_session=False)
        )

    def pages(self, document_id: str) -> list[PageLease]:
        """The page leases of a fanned-out document, by page number."""
        statement = select(PageLease).where(PageLease.document_id == document_id).order_by(PageLease.number)
        return list(self.session.scalars(statement))

    def page_for_update(self, document_id: str, number: int) -> PageLease | None:
        """One page's lease, locked against concurrent page tasks where the database supports it."""
        statement = (
            select(PageLease)
            .where(PageLease.document_id == document_id, PageLease.number == number)
            .with_for_update()
        )
        return self.session.scalars(statement).first()

    def ensure_pages(self, document_id: str, count: int, done: set[int]) -> list[PageLease]:
        """Page leases 1..count, made where missing; pages in `done` (their result stored) are marked done."""
        existing = {lease.number: lease for lease in self.pages(document_id)}
        for number in range(1, count + 1):
            lease = existing.get(number)
            if lease is None:
                lease = existing[number] = PageLease(document_id=document_id, number=number, done=False)
                self.session.add(lease)
            if number in done:
                lease.done = True
        self.session.flush()
        return [existing[n] for n in range(1, count + 1)]

    def renew_page(self, document_id: str, number: int, task: str, process: str, now: datetime) -> bool:
        """Renew a page's lease (and the fanned-out document's heartbeat); False when it was taken."""
        result = self.session.execute(
            update(PageLease)
            .where(PageLease.document_id == document_id, PageLease.number == number)
            .where(PageLease.claimed_by == task, PageLease.claimed_process == process)
            .where(PageLease.done.is_(False))
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status == DocumentStatus.PROCESSING)
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish_page(self, document_id: str, number: int, task: str, process: str) -> bool:
        """Mark the page read, if `task` still holds it; False when another took it over meanwhile."""
        result = self.session.execute(
            update(PageLease)
            .where(PageLease.document_id == document_id, PageLease.number == number)
            .where(PageLease.claimed_by == task, PageLease.claimed_process == process)
            .values(done=True, claimed_by=None, claimed_process=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def pages_left(self, document_id: str) -> int:
        """Pages of a fanned-out document not read yet."""
        statement = (
            select(func.count())
            .select_from(PageLease)
            .where(PageLease.document_id == document_id, PageLease.done.is_(False))
        )
        return int(self.session.scalar(statement) or 0)

    def drop_pages(self, document_id: str) -> None:
        """Forget the page leases of a document that is recorded."""
        self.session.execute(delete(PageLease).where(PageLease.document_id == document_id))


@dataclass(frozen=True)
class DossierFilter:
    """Which dossiers to list: those with at least one document matching every set field."""

    procedure: str | None = None
    status: str | None = None
    unit: str | None = None
    received_from: date | None = None
    received_to: date | None = None


@dataclass(frozen=True)
class DossierSummary:
    """One dossier in a listing."""

    code: str
    documents: int
    pages: int
    statuses: dict[str, int]
    procedures: list[str]
    units: list[str | None]
    received_on: date | None
    last_change: datetime | None


class DossierRepository:
    """Dossiers by code."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, code: str) -> Dossier | None:
        """The dossier with this code, or None."""
        return self.session.get(Dossier, code)

    def summaries(self, where: DossierFilter, *, limit: int, offset: int = 0) -> list[DossierSummary]:
        """Dossiers with a document matching `where` (documents of other units never counted when
        `where.unit` is set), most recently changed first."""
        matching = select(Document.dossier_code).where(
            Document.dossier_code.is_not(None), Document.withdrawn_at.is_(None)
        )
        if where.procedure is not None:
            matching = matching.where(Document.procedure_id == where.procedure)
        if where.status is not None:
            matching = matching.where(Document.status == where.status)
        if where.unit is not None:
            matching = matching.where(Document.unit == where.unit)
        if where.received_from is not None:
            matching = matching.where(Document.received_on >= where.received_from)
        if where.received_to is not None:
            matching = matching.where(Document.received_on <= where.received_to)
        members = select(Document).where(
            Document.dossier_code.in_(matching.distinct()), Document.withdrawn_at.is_(None)
        )
        if where.unit is not None:
            members = members.where(Document.unit == where.unit)
        page = (
            select(Document.dossier_code, func.max(Document.updated_at).label("changed"))
            .where(Document.id.in_(members.with_only_columns(Document.id)))
            .group_by(Document.dossier_code)
            .order_by(func.max(Document.updated_at).desc(), Document.dossier_code)
            .limit(limit)
            .offset(offset)
        )
        codes = [str(code) for code, _ in self.session.execute(page)]
        if not codes:
            return []
        documents = list(self.session.scalars(members.where(Document.dossier_code.in_(codes))))
        by_code: dict[str, list[Document]] = {code: [] for code in codes}
        for document in documents:
            by_code[str(document.dossier_code)].append(document)
        return [_summary(code, by_code[code]) for code in codes]

    def ensure(self, code: str) -> Dossier:
        """The dossier with this code, created if new."""
        dossier = self.session.get(Dossier, code)
        if dossier is not None:
            return dossier
        try:
            with self.session.begin_nested():
                dossier = Dossier(code=code)
                self.session.add(dossier)
        except IntegrityError:  # another worker created it a moment ago
            dossier = self.session.get(Dossier, code)
            if dossier is None:
                raise
        return dossier


def _summary(code: str, documents: list[Document]) -> DossierSummary:
    statuses: dict[str, int] = {}
    for document in documents:
        statuses[document.status] = statuses.get(document.status, 0) + 1
    received = [d.received_on for d in documents if d.received_on]
    changed = [d.updated_at for d in documents if d.updated_at]
    return DossierSummary(
        code=code,
        documents=len(documents),
        pages=sum(d.page_count or 0 for d in documents),
        statuses=statuses,
        procedures=sorted({d.procedure_id for d in documents if d.procedure_id}),
        units=sorted({d.unit for d in documents}, key=lambda u: u or ""),
        received_on=min(received) if received else None,
        last_change=max(changed) if changed else None,
    )


class CorrectionRepository:
    """The audit trail of procedure corrections, and the training set it makes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, correction: ProcedureCorrection) -> ProcedureCorrection:
        """Record one correction."""
        self.session.add(correction)
        self.session.flush()
        return correction

    def for_document(self, document_id: str) -> list[ProcedureCorrection]:
        """A document's corrections, oldest first."""
        statement = (
            select(ProcedureCorrection)
            .where(ProcedureCorrection.document_id == document_id)
            .order_by(ProcedureCorrection.corrected_at, ProcedureCorrection.id)
        )
        return list(self.session.scalars(statement))

    def confirmed_count(self) -> int:
        """How many distinct documents a person has set or confirmed the procedure of."""
        statement = select(func.count(func.distinct(ProcedureCorrection.document_id)))
        return int(self.session.scalar(statement) or 0)

    def confirmed_documents(self) -> list[tuple[Document, str]]:
        """Every corrected document with the procedure its latest correction confirmed (pages loaded)."""
        latest: dict[str, str] = {}
        for correction in self.session.scalars(
            select(ProcedureCorrection).order_by(ProcedureCorrection.corrected_at, ProcedureCorrection.id)
        ):
            latest[correction.document_id] = correction.new_procedure
        if not latest:
            return []
        documents = self.session.scalars(
            select(Document).where(Document.id.in_(latest)).options(selectinload(Document.pages))
        )
        return [(document, latest[document.id]) for document in documents]


class CatalogVersionRepository:
    """The procedure catalogs a province imported, and which one is active."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, version: str) -> CatalogVersion | None:
        return self.session.get(CatalogVersion, version)

    def active(self) -> CatalogVersion | None:
        """The catalog every worker classifies with, or None (then the shipped one)."""
        return self.session.scalars(select(CatalogVersion).where(CatalogVersion.active.is_(True))).first()

    def active_version(self) -> str | None:
        """Only the active version: what each worker asks on every refresh tick."""
        statement = select(CatalogVersion.version).where(CatalogVersion.active.is_(True))
        return self.session.scalars(statement).first()

    def all(self) -> list[CatalogVersion]:
        """Every imported catalog, newest first."""
        statement = select(CatalogVersion).order_by(CatalogVersion.imported_at.desc(), CatalogVersion.version)
        return list(self.session.scalars(statement))

    def activate(self, catalog: CatalogVersion) -> CatalogVersion:
        """Make `catalog` (new or known) the only active one; flushed in two steps so the partial unique
        index never sees two active rows."""
        self.session.execute(
            update(CatalogVersion)
            .where(CatalogVersion.active.is_(True), CatalogVersion.version != catalog.version)
            .values(active=False)
            .execution_options(synchronize_session="fetch")
        )
        catalog.active = True
        self.session.add(catalog)
        self.session.flush()
        return catalog
