"""Archive packages of dossiers (`sohoa archive export`): the PDFs, the originals and a metadata XML.

    exported = export_dossier(services, "000.00.21.H61-250401-0001", Path("/mnt/luu-tru"))
    outcomes = export_since(services, date(2026, 2, 1), Path("/mnt/luu-tru"))  # dossiers changed since

One folder per dossier, `<target>/<dossier code>/`:

    <code>.<n>.pdf              the stored PDF of document n (`documents.pdf_key`: the searchable PDF,
                                signed PDF/A where signing is on)
    originals/<code>.<n>.<ext>  its original bytes, checked against the SHA-256 recorded at intake
    <code>.xml                  metadata (Decree 30/2020 App. VI), namespace `urn:sohoa:archive:1`, checked
                                against `ingest/schemas/archive-1.xsd` before it is written
    SHA256SUMS                  `sha256sum -c` lines for every other file

`n` is the document's place among the dossier's documents that are not withdrawn, oldest first (created
time, then id): the same number as the API's and web app's download names (`<code>.<n>.pdf`), plain (1, 2,
… 10). Only documents that are done or need review and have a PDF go in; the others keep their number (a gap)
and are listed in `ExportedDossier.left_out` with the reason, so a document retried later fills its own gap
instead of renaming the rest. Withdrawn documents are hidden, as everywhere.

A package is built in a hidden folder beside its final place and swapped in whole, so a reader never sees
half of one, and an export stopped half-way leaves the previous package as it was. Exporting again gives the
same bytes (the XML holds no export time). Objects are streamed in chunks, never whole into memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time as clock
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from lxml import etree
from lxml.builder import ElementMaker
from sqlalchemy import select

from classifiers.catalog import Procedure
from classifiers.completeness import RECEIPT_KIND
from classifiers.fields import DOSSIER_CODE
from classifiers.keyfields import BIRTH_DATE_LABEL
from classifiers.kinds import BY_ID, kind_of_document
from errors import error_code, error_message
from ingest.dossiers import dossier_procedure
from ingest.errors import IngestError
from ingest.records import DocumentRecord
from ingest.services import Services
from storage.errors import IntegrityMismatch, StorageError, StorageFull, StorageUnavailable, is_disk_full
from storage.models import Document, DocumentStatus
from storage.objects import CHUNK, ObjectStore
from storage.repositories import DocumentRepository

NAMESPACE = "urn:sohoa:archive:1"
SCHEMA = "schemas/archive-1.xsd"
"""The XSD of the metadata, inside the `ingest` package."""
SUMS = "SHA256SUMS"
ORIGINALS = "originals"

DEFAULT_RETENTION = "Vĩnh viễn"
"""Thời hạn bảo quản: permanent unless the operator says otherwise (`--retention "20 năm"`)."""
DEFAULT_RIGHTS = "Hạn chế"
"""Chế độ sử dụng: restricted, since the papers of a procedure hold personal data."""
DEFAULT_CREATOR = "Trung tâm Phục vụ hành chính công tỉnh Vĩnh Long"
LANGUAGE = "vi"
UNKNOWN_TYPE = "Tài liệu chưa xác định loại"
LOCAL_TIME = timezone(timedelta(hours=7), "ICT")
"""Vietnam time (no daylight saving): the days of `--since` and of the XML's dates are days there."""
STALE_SECONDS = 3600
"""A hidden build folder untouched this long was left by a killed export: the next export removes it."""

EXPORTED_STATUSES = (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW)

UNKNOWN_DOSSIER = "archive.unknown_dossier"
NOTHING_TO_EXPORT = "archive.nothing_to_export"
BAD_OPTION = "archive.bad_option"
INVALID_METADATA = "archive.invalid_metadata"
"""The XML we built does not match our own XSD: a bug in sohoa, never the operator's doing."""


@dataclass(frozen=True)
class ArchiveOptions:
    """What the package says that sohoa does not know: retention, rights, creator (not blank)."""

    retention: str = DEFAULT_RETENTION
    """Thời hạn bảo quản, e.g. "Vĩnh viễn", "20 năm"."""
    rights: str = DEFAULT_RIGHTS
    """Chế độ sử dụng, e.g. "Hạn chế", "Công khai"."""
    creator: str = DEFAULT_CREATOR
    """The organisation that made the records (tên cơ quan, tổ chức)."""

    def __post_init__(self) -> None:
        for name in ("retention", "rights", "creator"):
            if _clean(getattr(self, name)) is None:
                raise IngestError(f"{name} must not be empty", code=BAD_OPTION)


@dataclass(frozen=True)
class ExportedDocument:
    """One document of a package."""

    sequence: int
    document_id: str
    file_name: str
    """`<code>.<n>.pdf`, in the package folder."""
    original_name: str
    """`originals/<code>.<n>.<ext>`."""
    pages: int
    blank_pages: tuple[int, ...]
    """Page numbers (1-based) of blank pages: counted, kept, flagged."""
    status: str
    """done or needs_review."""


@dataclass(frozen=True)
class LeftOut:
    """A document of the dossier that is not in its package, and why."""

    sequence: int
    document_id: str
    source: str
    reason: str
    """failed (see `error_code`), unfinished (queued or being processed) or no_pdf."""
    status: str
    error_code: str | None


@dataclass(frozen=True)
class ExportedDossier:
    """A package written (or rewritten, byte for byte the same when nothing changed)."""

    code: str
    folder: Path
    metadata: Path
    """The XML file."""
    documents: tuple[ExportedDocument, ...]
    left_out: tuple[LeftOut, ...]
    pages: int
    size_bytes: int
    """Bytes of every file of the package."""


@dataclass(frozen=True)
class FailedExport:
    """A dossier of `export_since` that could not be exported; its previous package, if any, is intact."""

    code: str
    error_code: str
    message: str


DossierOutcome = ExportedDossier | FailedExport


@dataclass(frozen=True)
class _Member:
    """What the package needs of one document, read in one short transaction before any copying."""

    sequence: int
    id: str
    source: str
    status: str
    error_code: str | None
    pdf_key: str | None
    original_key: str
    sha256: str
    media_type: str | None
    kind: str | None
    procedure_id: str | None
    texts: tuple[str, ...]
    blank_pages: tuple[int, ...]
    page_count: int
    fields: tuple[dict[str, Any], ...]
    day: date
    """When it was received: `received_on`, else the day it was taken in (Vietnam time)."""
    applicant: str | None
    signed_by: str | None
    signed_at: datetime | None
    pdfa: bool | None

    @property
    def exported(self) -> bool:
        return self.status in EXPORTED_STATUSES and self.pdf_key is not None


@dataclass(frozen=True)
class _Dossier:
    code: str
    members: tuple[_Member, ...]
    procedure: Procedure | None
    catalog_version: str


@dataclass(frozen=True)
class _Copied:
    member: _Member
    file_name: str
    original_name: str
    pdf_sha256: str


class _Package:
    """The files of a package being built in `folder`, with the SHA-256 and size of each as written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sums: dict[str, tuple[str, int]] = {}

    def copy(self, store: ObjectStore, key: str, name: str) -> str:
        """Stream object `key` into the new file `name`, chunk by chunk; returns the SHA-256 of its bytes."""
        digest, size = hashlib.sha256(), 0
        path = self.folder / name
        with store.open(key) as stream, _new_file(path) as out:
            while True:
                try:
                    chunk = stream.read(CHUNK)
                except OSError as exc:
                    raise StorageUnavailable(f"cannot read {key}: {exc}") from exc
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                _write(out, chunk, path)
        self.sums[name] = (digest.hexdigest(), size)
        return digest.hexdigest()

    def write(self, name: str, data: bytes) -> None:
        path = self.folder / name
        with _new_file(path) as out:
            _write(out, data, path)
        self.sums[name] = (hashlib.sha256(data).hexdigest(), len(data))

    def write_sums(self) -> int:
        """`SHA256SUMS` (what `sha256sum -c` reads) over every other file; returns the package's size."""
        data = "".join(f"{sha}  {name}\n" for name, (sha, _) in sorted(self.sums.items())).encode()
        self.write(SUMS, data)
        return sum(size for _, size in self.sums.values())


def export_dossier(
    services: Services, code: str, target: Path, options: ArchiveOptions | None = None
) -> ExportedDossier:
    """Write the package of dossier `code` into `target/<code>/`, replacing an earlier one whole.

    Refused with `archive.unknown_dossier` when there is no such dossier (or all its documents were
    withdrawn), `archive.nothing_to_export` when none of its documents is done or in review with a PDF,
    `storage.corrupt` when an original no longer matches its SHA-256, another `storage.*` code when the
    store or the target folder cannot be read or written; the previous package is then left as it was.
    """
    dossier = _load(services, code)
    chosen = [m for m in dossier.members if m.exported]
    if not chosen:
        raise IngestError(
            f"dossier {code} has no document that is processed and has a PDF", code=NOTHING_TO_EXPORT
        )
    final = Path(target) / code
    _remove_leftovers(Path(target), code)
    with _building(final) as package:
        copied = [_copy_member(services.store, dossier.code, member, package) for member in chosen]
        xml = metadata_xml(dossier, copied, options or ArchiveOptions())
        validate_metadata(xml)
        package.write(f"{code}.xml", xml)
        size = package.write_sums()
    return ExportedDossier(
        code=code,
        folder=final,
        metadata=final / f"{code}.xml",
        documents=tuple(
            ExportedDocument(
                sequence=c.member.sequence,
                document_id=c.member.id,
                file_name=c.file_name,
                original_name=c.original_name,
                pages=c.member.page_count,
                blank_pages=c.member.blank_pages,
                status=c.member.status,
            )
            for c in copied
        ),
        left_out=tuple(_left_out(m) for m in dossier.members if not m.exported),
        pages=sum(c.member.page_count for c in copied),
        size_bytes=size,
    )


def export_since(
    services: Services,
    day: date,
    target: Path,
    options: ArchiveOptions | None = None,
    *,
    progress: Callable[[DossierOutcome], None] | None = None,
) -> list[DossierOutcome]:
    """Export every dossier with a document finished (done or in review) on or after `day` (Vietnam time),
    in code order. A dossier that fails is reported as a `FailedExport` and the others go on."""
    outcomes: list[DossierOutcome] = []
    for code in dossiers_finished_since(services, day):
        outcome: DossierOutcome
        try:
            outcome = export_dossier(services, code, target, options)
        except (IngestError, StorageError) as exc:
            if error_code(exc) == INVALID_METADATA:
                raise  # a bug: every other dossier would fail the same way
            outcome = FailedExport(code, error_code(exc), error_message(exc))
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes


def dossiers_finished_since(services: Services, day: date) -> list[str]:
    """Codes of the dossiers with a document (not withdrawn) that finished done or in review on or after
    `day`, a day in Vietnam time."""
    start = datetime.combine(day, time(), LOCAL_TIME).astimezone(UTC)
    statement = (
        select(Document.dossier_code)
        .where(
            Document.dossier_code.is_not(None),
            Document.withdrawn_at.is_(None),
            Document.finished_at >= start,
            Document.status.in_([s.value for s in EXPORTED_STATUSES]),
        )
        .distinct()
        .order_by(Document.dossier_code)
    )
    with services.db.unit_of_work() as session:
        return [str(code) for code in session.scalars(statement)]


# --- reading the dossier ---------------------------------------------------------------------------------


def _load(services: Services, code: str) -> _Dossier:
    with services.db.unit_of_work() as session:
        documents = DocumentRepository(session).in_dossier(code)
        if not documents:
            raise IngestError(f"no dossier {code}", code=UNKNOWN_DOSSIER)
        records = [DocumentRecord.of(d, services.catalog) for d in documents]
        members = tuple(_member(number, d) for number, d in enumerate(documents, start=1))
    return _Dossier(
        code=code,
        members=members,
        procedure=dossier_procedure(records, services.catalog),
        catalog_version=services.catalog.version,
    )


def _member(sequence: int, document: Document) -> _Member:
    return _Member(
        sequence=sequence,
        id=document.id,
        source=document.source,
        status=document.status,
        error_code=document.error_code,
        pdf_key=document.pdf_key,
        original_key=document.original_key,
        sha256=document.sha256,
        media_type=document.media_type,
        kind=document.document_kind,
        procedure_id=document.procedure_id,
        texts=tuple(page.text for page in document.pages),
        blank_pages=tuple(page.number for page in document.pages if page.blank),
        page_count=max(document.page_count or len(document.pages), 1),
        fields=tuple(dict(f) for f in document.fields or [] if isinstance(f, dict)),
        day=document.received_on or _local_day(document.created_at),
        applicant=_clean(document.applicant),
        signed_by=_clean(document.signed_by),
        signed_at=document.signed_at,
        pdfa=document.pdfa,
    )


def _left_out(member: _Member) -> LeftOut:
    if member.status == DocumentStatus.FAILED:
        reason = "failed"
    elif member.status in EXPORTED_STATUSES:
        reason = "no_pdf"
    else:
        reason = "unfinished"
    return LeftOut(member.sequence, member.id, member.source, reason, member.status, member.error_code)


# --- writing the files -----------------------------------------------------------------------------------


def package_names(code: str, sequence: int, original_key: str) -> tuple[str, str]:
    """The PDF's and the original's names in the package: `<code>.<n>.pdf`, `originals/<code>.<n><ext>`
    (the original's extension as stored, `.bin` when it has none)."""
    extension = PurePosixPath(original_key).suffix.lower() or ".bin"
    return f"{code}.{sequence}.pdf", f"{ORIGINALS}/{code}.{sequence}{extension}"


def _copy_member(store: ObjectStore, code: str, member: _Member, package: _Package) -> _Copied:
    assert member.pdf_key is not None
    pdf_name, original_name = package_names(code, member.sequence, member.original_key)
    pdf_sha256 = package.copy(store, member.pdf_key, pdf_name)
    if package.copy(store, member.original_key, original_name) != member.sha256:
        raise IntegrityMismatch(
            f"the original of document {member.id} ({member.original_key}) does not match the SHA-256 "
            "recorded at intake"
        )
    return _Copied(member, pdf_name, original_name, pdf_sha256)


@contextmanager
def _new_file(path: Path) -> Iterator[BinaryIO]:
    """A new file, flushed to disk when the block ends."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("xb")
    except OSError as exc:
        raise _target_error(path, exc) from exc
    with handle:
        yield handle
        try:
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise _target_error(path, exc) from exc


def _write(out: BinaryIO, data: bytes, path: Path) -> None:
    try:
        out.write(data)
    except OSError as exc:
        raise _target_error(path, exc) from exc


@contextmanager
def _building(final: Path) -> Iterator[_Package]:
    """A hidden folder beside `final` to build the package in (made with the usual permissions, unlike
    `mkdtemp`'s owner-only ones); swapped in for `final` when the block ends normally, removed otherwise."""
    staging = final.with_name(f".{final.name}.partial-{secrets.token_hex(6)}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise _target_error(final.parent, exc) from exc
    try:
        yield _Package(staging)
        _sync_folder(staging)
        _swap(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a swap


def _swap(staging: Path, final: Path) -> None:
    """Put `staging` where `final` is: two renames (the old package first moved aside), then the old one
    removed. A crash between the renames leaves no package at `final` and the old one hidden beside it,
    which the next export removes."""
    old = final.with_name(f".{final.name}.old-{secrets.token_hex(6)}")
    try:
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        _sync_folder(final.parent)
    except OSError as exc:
        raise _target_error(final, exc) from exc
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(target: Path, code: str) -> None:
    """Hidden build folders of this dossier that killed exports left behind (untouched for an hour)."""
    if not target.is_dir():
        return
    for path in target.glob(f".{code}.*"):
        kind = path.name[len(code) + 2 :].split("-", 1)[0]
        try:
            stale = clock.time() - path.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if kind in ("partial", "old") and path.is_dir() and stale:
            shutil.rmtree(path, ignore_errors=True)


def _sync_folder(path: Path) -> None:
    """Make a folder's entries (new names, renames) durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _target_error(path: Path, exc: OSError) -> StorageError:
    """Writing the package failed: a full disk (`storage.full`) or another failure (`storage.failed`)."""
    if is_disk_full(exc):
        return StorageFull(f"no space left for {path}: {exc.strerror or exc}")
    return StorageError(f"cannot write {path}: {exc.strerror or exc}")


# --- the metadata ----------------------------------------------------------------------------------------

_E = ElementMaker(namespace=NAMESPACE, nsmap={None: NAMESPACE})


def metadata_xml(dossier: _Dossier, copied: Sequence[_Copied], options: ArchiveOptions) -> bytes:
    """The package's XML (UTF-8, indented): the dossier's fields, then one `Document` per exported one."""
    members = [c.member for c in copied]
    procedure = dossier.procedure
    receipt_day = receipt_date(dossier.code)
    start = min([m.day for m in members] + ([receipt_day] if receipt_day else []))
    end = max([m.day for m in members] + [start])
    pages = sum(m.page_count for m in members)
    blank = sum(len(m.blank_pages) for m in members)
    keywords = _keywords(procedure, members)
    retention, rights, creator = (
        " ".join(v.split()) for v in (options.retention, options.rights, options.creator)
    )
    root = _E.Dossier(
        *_present(
            _E.FileCode(dossier.code),
            _E.Title(_title(dossier.code, procedure, _applicant(members))),
            _E.Retention(retention),
            _E.Rights(rights),
            _E.Creator(creator),
            _E.Language(LANGUAGE),
            _E.StartDate(start.isoformat()),
            _E.EndDate(end.isoformat()),
            _E.DocumentCount(str(len(members))),
            _E.PageCount(str(pages)),
            _E.BlankPageCount(str(blank)),
            _E.Description(_description(procedure, members, pages, blank)),
            _E.Keywords(*(_E.Keyword(k) for k in keywords)) if keywords else None,
            _E.ProcedureId(procedure.id) if procedure else None,
            _E.ProcedureCode(procedure.code) if procedure and procedure.code else None,
            _E.ProcedureName(_clean(procedure.name)) if procedure and _clean(procedure.name) else None,
            _E.CatalogVersion(dossier.catalog_version),
            _E.Documents(*(_document_element(c, receipt_day) for c in copied)),
        ),
        version="1",
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _document_element(copied: _Copied, receipt_day: date | None) -> Any:
    member = copied.member
    kind = BY_ID.get(member.kind or "")
    kind_label = kind.vi if kind else UNKNOWN_TYPE
    issued = _issued_date(member, receipt_day)
    signature = (
        _E.Signature(
            *_present(
                _E.SignedBy(member.signed_by),
                _E.SignedAt(_utc_text(member.signed_at)) if member.signed_at else None,
            )
        )
        if member.signed_by
        else None
    )
    return _E.Document(
        *_present(
            _E.Sequence(str(member.sequence)),
            _E.DocumentId(member.id),
            _E.FileName(copied.file_name),
            _E.OriginalFileName(copied.original_name),
            _E.SourceName(_clean(member.source) or member.id),
            _E.Type(kind_label),
            _E.Kind(member.kind) if kind else None,
            # Number (số, ký hiệu) and Organ (cơ quan ban hành): the schema has them; no extractor reads
            # them yet, so they are left out rather than guessed.
            _E.IssuedDate(issued.isoformat()) if issued else None,
            _E.Subject(_subject(member, kind_label)),
            _E.PageCount(str(member.page_count)),
            _E.BlankPages(*(_E.Page(str(n)) for n in member.blank_pages)) if member.blank_pages else None,
            _E.Status(member.status),
            _E.ProcedureId(member.procedure_id) if member.procedure_id else None,
            _E.MediaType(member.media_type) if member.media_type else None,
            _E.PdfSha256(copied.pdf_sha256),
            _E.OriginalSha256(member.sha256),
            _E.PdfA("true" if member.pdfa else "false") if member.pdfa is not None else None,
            signature,
        )
    )


def validate_metadata(xml: bytes) -> None:
    """Check a package's XML against `archive-1.xsd`; `archive.invalid_metadata` naming the first problem."""
    schema = archive_schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise IngestError(
            f"the archive metadata is not well-formed XML: {exc}", code=INVALID_METADATA
        ) from exc
    if not schema.validate(document):
        problem = schema.error_log[0]
        raise IngestError(
            f"the archive metadata does not match {SCHEMA} (line {problem.line}): {problem.message}",
            code=INVALID_METADATA,
        )


def archive_schema() -> Any:
    """The metadata's XSD as an `lxml.etree.XMLSchema` (parsed per call: a schema object is not meant to be
    shared between threads, and parsing it takes a millisecond)."""
    with resources.files("ingest").joinpath(SCHEMA).open("rb") as handle:
        return etree.XMLSchema(etree.parse(handle))


def receipt_date(code: str) -> date | None:
    """The receipt day a well-formed dossier code holds (`…-YYMMDD-NNNN`), else None."""
    if not DOSSIER_CODE.match(code):
        return None
    digits = code.split("-")[1]
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def _title(code: str, procedure: Procedure | None, applicant: str | None) -> str:
    """ "Hồ sơ đăng ký khai sinh của Nguyễn Văn An"; "Hồ sơ <code>" while the procedure is not known."""
    name = _clean(procedure.name) if procedure else None
    title = f"Hồ sơ {_lower_first(name)}" if name else f"Hồ sơ {code}"
    return f"{title} của {applicant}" if applicant else title


def _lower_first(name: str) -> str:
    """A procedure name inside a sentence: "Đăng ký khai sinh" → "đăng ký khai sinh"; "UBND …" kept."""
    if len(name) > 1 and name[1].islower():
        return name[0].lower() + name[1:]
    return name


_APPLICANT_LABELS = re.compile(r"^(ong ba|ong|ba)$|nguoi nop")


def _applicant(members: Sequence[_Member]) -> str | None:
    """Who handed the dossier in: as stated at intake (a manifest's `applicant`), else the name after
    "Ông (Bà):" or "Người nộp hồ sơ" on its receipt."""
    for member in members:
        if member.applicant:
            return member.applicant
    for member in members:
        if member.kind != RECEIPT_KIND:
            continue
        for field in member.fields:
            if field.get("kind") == "person_name" and _APPLICANT_LABELS.search(str(field.get("label") or "")):
                name = _clean(str(field.get("value") or ""))
                if name:
                    return name
    return None


def _issued_date(member: _Member, receipt_day: date | None) -> date | None:
    """When the paper was issued, as far as sohoa can tell: a receipt's is the day its dossier code holds;
    another paper's, the latest date printed on it (birth dates aside) that is not after it was received —
    the place-and-date line of a form or a decision. None when no date qualifies."""
    if member.kind == RECEIPT_KIND and receipt_day is not None:
        return receipt_day
    latest: date | None = None
    for field in member.fields:
        if field.get("kind") != "date" or field.get("label") == BIRTH_DATE_LABEL:
            continue
        try:
            day = date.fromisoformat(str(field.get("value")))
        except ValueError:
            continue
        if day <= member.day and (latest is None or day > latest):
            latest = day
    return latest


def _subject(member: _Member, kind_label: str) -> str:
    """The title printed on its first page as read ("GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH"), when that title
    gives the kind it has; else the kind's name."""
    match = kind_of_document(member.texts)
    title = _clean(match.evidence)
    printed = any(match.evidence in text for text in member.texts)
    if match.kind is not None and match.kind == member.kind and title and printed:
        return title
    return kind_label


def _keywords(procedure: Procedure | None, members: Sequence[_Member]) -> list[str]:
    """The procedure's field (lĩnh vực) and the kinds of papers held, once each."""
    words = [_clean(procedure.field) if procedure else None]
    words += [BY_ID[m.kind].vi for m in members if m.kind in BY_ID]
    return [w for w in dict.fromkeys(words) if w]


def _description(procedure: Procedure | None, members: Sequence[_Member], pages: int, blank: int) -> str:
    parts = [f"Hồ sơ số hóa gồm {len(members)} tài liệu, {pages} trang"]
    if blank:
        parts[0] += f" (trong đó {blank} trang trắng)"
    if procedure is not None:
        named = f"thủ tục {_clean(procedure.name)}"
        parts.append(f"{named} (mã {procedure.code})" if procedure.code else named)
        if _clean(procedure.field):
            parts.append(f"lĩnh vực {_clean(procedure.field)}")
    reviews = sum(m.status == DocumentStatus.NEEDS_REVIEW for m in members)
    if reviews:
        parts.append(f"{reviews} tài liệu còn chờ cán bộ kiểm tra")
    return "; ".join(parts) + "."


def _present(*elements: Any) -> list[Any]:
    return [e for e in elements if e is not None]


def _clean(text: str | None) -> str | None:
    """Whitespace collapsed (XML text of one line), None when nothing is left."""
    cleaned = " ".join((text or "").split())
    return cleaned or None


def _utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without their zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local_day(moment: datetime) -> date:
    return _utc(moment).astimezone(LOCAL_TIME).date()


def _utc_text(moment: datetime) -> str:
    return _utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")
