"""What the staff pages show about digital signatures, for the dossier and review pages and the page
*Chữ ký số*: a document's signature status (`signature_status`: signed by whom and when, or why not; PDF/A),
the words for a `signing.*` code, and moments in Vietnam time.

Pure functions from records to small frozen values the templates print (`_signature.html` draws the line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from api.web.words import WORDS
from ingest.records import DocumentRecord
from ingest.signing import NO_IDENTITY, VIETNAM


def vietnam_time(moment: datetime | None, *, date_only: bool = False) -> str:
    """A stored moment (UTC; SQLite gives it back naive) as people at the counter read it."""
    if moment is None:
        return ""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VIETNAM)
    return f"{local:%d/%m/%Y}" if date_only else f"{local:%d/%m/%Y %H:%M}"


def signing_word(code: str) -> str:
    """The word key for a document's `signature_error` code (`signing.expired` → `signature.why.expired`);
    one we have no words for reads `signature.why.other` with the code."""
    key = "signature.why." + code.removeprefix("signing.")
    return key if code.startswith("signing.") and key in WORDS else "signature.why.other"


@dataclass(frozen=True)
class SignatureStatus:
    """One document's signature, as a badge and a line."""

    shown: bool
    """There is something to say: the document has a PDF or signing left a note."""
    signed: bool
    signer: str = ""
    when: str = ""
    """When it was signed, Vietnam time."""
    why: str | None = None
    """Word key: why it is not signed, or the note on a signature (signed without a timestamp)."""
    code: str | None = None
    """The `signing.*` code behind `why`, shown beside it."""
    failed: bool = False
    """It should have been signed and was not (anything but nobody-configured-to-sign)."""
    pdfa: bool | None = None


def signature_status(record: DocumentRecord) -> SignatureStatus:
    """What the pages say about a document's stored PDF (nothing while it has none)."""
    signature = record.signature
    code = signature.error
    signed = signature.signed_by is not None
    shown = signed or code is not None or record.objects.pdf is not None
    return SignatureStatus(
        shown=shown,
        signed=signed,
        signer=signature.signed_by or "",
        when=f"{vietnam_time(signature.signed_at)} (GMT+7)" if signature.signed_at else "",
        why=signing_word(code) if code else None,
        code=code,
        failed=not signed and code is not None and code != NO_IDENTITY,
        pdfa=signature.pdfa,
    )
