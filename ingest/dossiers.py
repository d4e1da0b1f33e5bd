"""A dossier as a whole: which procedure it is for, and whether its documents hold what that procedure
requires (`classifiers.completeness`, by the documents' kinds) — for the API, `sohoa dossier`, the staff
dossier page and `sohoa report completeness`."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import select

from classifiers.catalog import Catalog, Procedure
from classifiers.completeness import RECEIPT_KIND, Completeness, completeness
from ingest.records import DocumentRecord
from ingest.services import Services
from storage.models import Document, Dossier
from storage.repositories import DocumentRepository


@dataclass(frozen=True)
class DossierCheck:
    """A dossier's procedure (None: not known yet) and its completeness."""

    code: str
    procedure: Procedure | None
    completeness: Completeness
    documents: tuple[DocumentRecord, ...]


def dossier_procedure(records: Sequence[DocumentRecord], catalog: Catalog) -> Procedure | None:
    """The receipt's procedure (it names the dossier's), else the one most of its documents have."""
    for record in records:
        if record.document_kind == RECEIPT_KIND and record.procedure:
            found = catalog.get(record.procedure)
            if found is not None:
                return found
    counted = Counter(r.procedure for r in records if r.procedure)
    for procedure_id, _count in counted.most_common():
        found = catalog.get(procedure_id)
        if found is not None:
            return found
    return None


def check_dossier(code: str, records: Sequence[DocumentRecord], catalog: Catalog) -> DossierCheck:
    """The completeness of a dossier from the records of its documents (in dossier order)."""
    procedure = dossier_procedure(records, catalog)
    kinds = [r.document_kind for r in records]
    return DossierCheck(code, procedure, completeness(procedure, kinds), tuple(records))


def every_dossier(services: Services, *, unit: str | None = None) -> Iterator[DossierCheck]:
    """Each dossier's check, in code order (of `unit`'s documents only, when given)."""
    with services.db.unit_of_work() as session:
        codes = list(session.scalars(select(Dossier.code).order_by(Dossier.code)))
    for code in codes:
        with services.db.unit_of_work() as session:
            filed: list[Document] = DocumentRepository(session).in_dossier(code, with_pages=False)
            records = [
                DocumentRecord.of(d, services.catalog) for d in filed if unit is None or d.unit == unit
            ]
        if records:
            yield check_dossier(code, records, services.catalog)


REPORT_COLUMNS = (
    "dossier",
    "procedure",
    "procedure_code",
    "procedure_name",
    "status",
    "documents",
    "present",
    "missing",
    "unchecked",
    "missing_components",
)


def write_report(checks: Iterator[DossierCheck], out: TextIO) -> Counter[str]:
    """One CSV row per dossier (REPORT_COLUMNS); returns the count of dossiers per status."""
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    statuses: Counter[str] = Counter()
    for check in checks:
        result = check.completeness
        statuses[result.status] += 1
        writer.writerow(
            [
                check.code,
                check.procedure.id if check.procedure else "",
                (check.procedure.code or "") if check.procedure else "",
                check.procedure.name if check.procedure else "",
                result.status,
                len(check.documents),
                len(result.present),
                len(result.missing),
                len(result.unchecked),
                "; ".join(c.name for c in result.missing),
            ]
        )
    return statuses
