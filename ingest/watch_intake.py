"""The hot folder's intake: what `HotFolder` hands over goes through the one way in (`Submitter`)."""

from __future__ import annotations

from collections.abc import Sequence

from ingest import errors
from ingest.errors import IngestError
from ingest.hotfolder import DroppedFile, Outcome, Submitted
from ingest.messages import Language, error_text
from ingest.services import Services
from ingest.submit import Incoming, Submitter
from storage.models import DocumentStatus
from storage.repositories import DocumentRepository


class SubmitterIntake:
    """`HotFolderIntake` over a `Submitter`: store, split stacks, send; outcomes read from the database."""

    def __init__(self, services: Services, submitter: Submitter, *, language: Language = "vi") -> None:
        self.services = services
        self.submitter = submitter
        self.language = language

    def submit(self, dropped: DroppedFile) -> Submitted:
        """Take the file in and send it on; bad input is refused with its code, passing trouble raises."""
        incoming = Incoming(
            source=dropped.source,
            path=dropped.path,
            dossier=dropped.dossier,
            group=dropped.group,
            station=dropped.station,
        )
        try:
            taken = self.submitter.submit(incoming)
        except IngestError as exc:
            if errors.is_transient(exc):
                raise
            return Submitted(
                (), duplicate=False, refused=(exc.code, error_text(exc.code, exc.message, self.language))
            )
        ids = tuple(d.document_id for d in taken.documents)
        return Submitted(ids, duplicate=all(d.duplicate for d in taken.documents))

    def outcomes(self, document_ids: Sequence[str]) -> dict[str, Outcome]:
        """The finished ones among these documents, with a sentence for people when they failed."""
        found: dict[str, Outcome] = {}
        with self.services.db.unit_of_work() as session:
            for document in DocumentRepository(session).many(document_ids):
                status = DocumentStatus(document.status)
                if not status.finished:
                    continue
                message = (
                    error_text(document.error_code, document.error_message, self.language)
                    if document.error_code
                    else None
                )
                found[document.id] = Outcome(document.id, status.value, document.error_code, message)
        return found
