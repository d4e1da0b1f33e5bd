"""Which dossier a document is filed under: its own pages, what it was given, and the files it came with.

    given (option, folder, manifest, stack start) ─┐
    found on its pages (QR, `Mã hồ sơ:` line) ─────┼─> file_under → code + how it was known, or review
    the files that came with it (group) ───────────┘   (resolve_group, after each document of a group)

A code a person or a manifest gave wins, but a page that prints a different one sends the document to review
with both. A document with no code of its own takes the one its group agrees on (`dossier_source: group`);
when the group holds several codes it goes to review with all of them, never guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from classifiers.fields import DossierDecision
from ingest.services import Services
from storage.models import Document, DocumentStatus
from storage.repositories import DossierRepository

log = logging.getLogger(__name__)

OWN_SOURCES = ("given", "manifest", "separator", "barcode", "text")
"""How a document can know its dossier by itself; "group" is borrowed from the others."""
GROUP_REASON = "dossier.ambiguous"
CONFLICT_REASON = "dossier.conflict"


@dataclass(frozen=True)
class Filing:
    """Where a document goes, how that was known, and what a person must look at."""

    code: str | None
    source: str | None
    review_reasons: tuple[str, ...] = ()


def file_under(given: str | None, given_source: str | None, found: DossierDecision) -> Filing:
    """Decide a document's dossier from the code it was given and the codes on its pages."""
    if found.conflict:
        codes = ", ".join(dict.fromkeys((*([given] if given else []), *found.conflict)))
        return Filing(given, given_source, (CONFLICT_REASON, f"dossier codes disagree: {codes}"))
    if given and found.code and found.code != given:
        reason = f"dossier codes disagree: {given} ({given_source}), {found.code} (on the page)"
        return Filing(given, given_source, (CONFLICT_REASON, reason))
    if given:
        return Filing(given, given_source)
    return Filing(found.code, found.source)


def object_prefix(document_id: str, dossier: str | None) -> str:
    """Where a document's objects live: under its dossier once known, in the inbox until then."""
    return f"dossiers/{dossier}/{document_id}" if dossier else f"inbox/{document_id}"


def resolve_group(services: Services, group_key: str) -> int:
    """Give the documents of a group without a code of their own the code the group agrees on.

    Idempotent, and safe to run after every document of the group finishes (each run sees more of them);
    returns how many documents changed. Objects move under the dossier (copied, verified, then the old
    keys deleted after the rows point at the new ones).
    """
    if services.settings.dossier_grouping == "off":
        return 0
    moves: list[tuple[str, str]] = []
    changed = 0
    with services.db.unit_of_work() as session:
        members = list(
            session.scalars(
                select(Document)
                .where(Document.group_key == group_key)
                .order_by(Document.id)
                .with_for_update()
            )
        )
        own = {d.dossier_code for d in members if d.dossier_code and d.dossier_source in OWN_SOURCES}
        for document in members:
            if document.status not in (DocumentStatus.DONE, DocumentStatus.NEEDS_REVIEW):
                continue  # still being read (it is resolved when it finishes), or failed
            if document.dossier_code and document.dossier_source in OWN_SOURCES:
                continue
            if len(own) == 1:
                code = next(iter(own))
                if document.dossier_code != code:
                    DossierRepository(session).ensure(code)
                    moves.extend(refile(services, document, code))
                    document.dossier_code, document.dossier_source = code, "group"
                    changed += 1
            elif len(own) > 1 and GROUP_REASON not in (document.review_reasons or []):
                codes = ", ".join(sorted(own))
                moves.extend(refile(services, document, None))
                document.dossier_code = document.dossier_source = None
                document.review_reasons = [
                    *(document.review_reasons or []),
                    GROUP_REASON,
                    f"the files that came with it carry several dossier codes: {codes}",
                ]
                document.status = DocumentStatus.NEEDS_REVIEW
                changed += 1
    for old, _new in moves:
        services.store.delete(old)
    return changed


def refile(services: Services, document: Document, code: str | None) -> list[tuple[str, str]]:
    """Copy the document's objects under `code` (or back to the inbox) and point the row at the copies."""
    prefix = object_prefix(document.id, code)
    moves: list[tuple[str, str]] = []
    for attribute in ("original_key", "pdf_key", "text_key", "words_key"):
        key: str | None = getattr(document, attribute)
        if key is None:
            continue
        target = f"{prefix}/{key.rsplit('/', 1)[-1]}"
        if target != key:
            services.store.copy(key, target)
            setattr(document, attribute, target)
            moves.append((key, target))
    return moves


def resolve_group_quietly(services: Services, group_key: str | None) -> None:
    """`resolve_group` after a document is recorded: a failure is logged, the next member retries it."""
    if not group_key:
        return
    try:
        resolve_group(services, group_key)
    except Exception as exc:  # the document itself is recorded; its group is resolved again later
        log.warning("group %s not resolved yet: %s", group_key, exc)
