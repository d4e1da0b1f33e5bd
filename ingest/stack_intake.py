"""Taking a scanned stack in: store it whole and untouched, then each dossier in it as its own document.

The stack is read page by page for its receipts and separator sheets (`ingest.stacks`), then its parts
are written one at a time and taken in like any file: disk holds the stack and one part, whatever the
stack's length. A rerun of the same stack finds its parts (recorded once all were stored) and adds nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ingest.intake import Facts, document_id_for, file_digest, intake_file
from ingest.services import Services
from ingest.stacks import collate_duplex, part_source, scan_stack, write_parts
from ingest.submit import Incoming, Taken, TakenDocument, spool_dir
from ocr.decode import sniff
from ocr.errors import InputError
from storage.models import DocumentStatus, Stack
from storage.repositories import DocumentRepository


def take_stack(services: Services, incoming: Incoming, *, pages: int) -> Taken | None:
    """Store a stack of several dossiers and its parts; None when the file is one dossier (no split)."""
    settings = services.settings
    with tempfile.TemporaryDirectory(prefix="sohoa-stack-", dir=spool_dir(services)) as work_dir:
        work = Path(work_dir)
        sha256, head = file_digest(incoming.path)
        stack_id = document_id_for(sha256)
        known = _known_parts(services, stack_id, incoming.source)
        if known is not None:  # split before: its parts, without reading the pages again
            return known
        with services.db.unit_of_work() as session:
            if DocumentRepository(session).get_by_sha256(sha256) is not None:
                return None  # taken in whole before (one dossier): a duplicate, nothing to read
        scanned = collate_duplex(incoming.path, spool=work) if incoming.collate_duplex else incoming.path
        plan = scan_stack(scanned, max_pixels=settings.max_page_pixels, max_pages=settings.max_pages)
        if not plan.needs_split and not incoming.collate_duplex:
            return None
        _store_stack(services, incoming, stack_id, sha256, head, pages)
        taken: list[TakenDocument] = []
        for part in write_parts(scanned, plan, spool=work, keep_separators=settings.keep_separator_sheets):
            source = part_source(incoming.source, part.pages)
            facts = Facts(
                dossier_source="separator" if part.dossier else incoming.dossier_source,
                group=None if part.dossier else incoming.group,  # pages before the first start
                stack_id=stack_id,
                procedure=incoming.procedure,
                received=incoming.received,
                applicant=incoming.applicant,
                page_count=len(part.pages),
                unit=incoming.unit,
                received_by=incoming.received_by,
                station=incoming.station,
            )
            dossier = part.dossier or (
                incoming.dossier if len(plan.parts(settings.keep_separator_sheets)) == 1 else None
            )
            result = intake_file(services, part.path, source=source, dossier=dossier, facts=facts)
            taken.append(
                TakenDocument(source, result.document_id, result.duplicate, result.status, len(part.pages))
            )
        with services.db.unit_of_work() as session:
            stack = session.get(Stack, stack_id)
            if stack is not None:
                stack.part_ids = [t.document_id for t in taken]
    return Taken(incoming.source, tuple(taken), stack_id)


def _store_stack(
    services: Services, incoming: Incoming, stack_id: str, sha256: str, head: bytes, pages: int
) -> None:
    """The stack's own bytes first, then its row (parts reference it)."""
    with services.db.unit_of_work() as session:
        if session.get(Stack, stack_id) is not None:
            return
    try:
        extension = sniff(head).extension
    except InputError:
        extension = ".bin"
    key = f"stacks/{stack_id}/original{extension}"
    services.store.put_file(key, incoming.path, content_type="application/octet-stream")
    with services.db.unit_of_work() as session:
        if session.get(Stack, stack_id) is None:
            session.add(
                Stack(
                    id=stack_id,
                    source=incoming.source,
                    sha256=sha256,
                    size_bytes=incoming.path.stat().st_size,
                    original_key=key,
                    page_count=pages,
                )
            )


def _known_parts(services: Services, stack_id: str, source: str) -> Taken | None:
    """The parts of a stack taken in before (every part stored), as duplicates; None if not complete."""
    with services.db.unit_of_work() as session:
        stack = session.get(Stack, stack_id)
        if stack is None or stack.part_ids is None:
            return None
        documents = {d.id: d for d in DocumentRepository(session).many(stack.part_ids)}
        taken = [
            TakenDocument(d.source, d.id, True, DocumentStatus(d.status), d.page_count or 1)
            for d in (documents.get(i) for i in stack.part_ids)
            if d is not None
        ]
    return Taken(source, tuple(taken), stack_id)
