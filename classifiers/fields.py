"""Key fields found in page text or barcode payloads. First field: the dossier code (mã hồ sơ).

Dossier code format (Circular 01/2018/TT-VPCP Art. 19): `AAA.BB.CC.Xnn-YYMMDD-NNNN`, e.g.
`000.00.21.H61-250401-0001`: receiving agency, receipt date, sequence of that day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from classifiers.text import fold

DOSSIER_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")
"""A well-formed dossier code, whole string."""

_CODE_IN_TEXT = re.compile(
    r"(?<![\w.])(\d{3})\s?\.\s?(\d{2})\s?\.\s?(\d{2})\s?\.\s?([A-Z][0-9O]{2})\s?[-–]\s?([0-9O]{6})\s?[-–]\s?([0-9O]{4})(?![\w])"
)
_LABEL = re.compile(r"ma\s*ho\s*so")


@dataclass(frozen=True)
class DossierCodeHit:
    """One dossier code seen on a page."""

    code: str
    page: int
    source: Literal["barcode", "text"]
    labelled: bool
    """True when printed after a `Mã hồ sơ:` label (stronger than a bare match)."""


def is_dossier_code(value: str) -> bool:
    """True for a syntactically valid dossier code with a plausible receipt date."""
    if not DOSSIER_CODE.match(value):
        return False
    date = value.split("-")[1]
    month, day = int(date[2:4]), int(date[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


def _normalise(groups: tuple[str, ...]) -> str:
    agency, b, c, district, date, sequence = groups
    digits = [part.replace("O", "0") for part in (date, sequence)]
    return f"{agency}.{b}.{c}.{district[0]}{district[1:].replace('O', '0')}-{digits[0]}-{digits[1]}"


def codes_in_text(text: str) -> list[tuple[str, bool]]:
    """Dossier codes in a page's text, each with whether a `Mã hồ sơ` label precedes it on its line."""
    found: list[tuple[str, bool]] = []
    for line in text.splitlines():
        for match in _CODE_IN_TEXT.finditer(line):
            code = _normalise(match.groups())
            if is_dossier_code(code):
                labelled = bool(_LABEL.search(fold(line[: match.start()])))
                found.append((code, labelled))
    return found


def find_dossier_codes(pages: Iterable[tuple[int, str, Iterable[str]]]) -> list[DossierCodeHit]:
    """All dossier codes on the given (page number, text, barcode payloads) triples, barcodes first."""
    hits: list[DossierCodeHit] = []
    for number, text, payloads in pages:
        for payload in payloads:
            for code, _ in codes_in_text(payload):
                hits.append(DossierCodeHit(code=code, page=number, source="barcode", labelled=True))
        for code, labelled in codes_in_text(text):
            hits.append(DossierCodeHit(code=code, page=number, source="text", labelled=labelled))
    return hits


@dataclass(frozen=True)
class DossierDecision:
    """The dossier a document belongs to, or why none was chosen."""

    code: str | None
    source: Literal["barcode", "text"] | None = None
    """Where the chosen code was seen: a barcode/QR payload wins over printed text."""
    conflict: tuple[str, ...] = ()
    """Distinct labelled codes when they disagree: reported for review, never guessed."""


def decide_dossier(hits: list[DossierCodeHit]) -> DossierDecision:
    """One code when all strong evidence (barcodes, labelled lines) agrees; a conflict otherwise."""
    strong = [hit.code for hit in hits if hit.source == "barcode" or hit.labelled]
    pool = strong or [hit.code for hit in hits]
    distinct = tuple(dict.fromkeys(pool))
    if not distinct:
        return DossierDecision(code=None)
    if len(distinct) > 1:
        return DossierDecision(code=None, conflict=distinct)
    code = distinct[0]
    seen_in_barcode = any(h.code == code and h.source == "barcode" for h in hits)
    return DossierDecision(code=code, source="barcode" if seen_in_barcode else "text")


SEPARATOR_PREFIX = "SOHOA-SEPARATOR:"
"""Start of the QR payload of a separator sheet printed by sohoa; the dossier code follows."""

_SEPARATOR_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
"""Codes a separator may carry: like `ingest.intake.check_dossier_code`, old archives predate the format."""


@dataclass(frozen=True)
class DossierStart:
    """A page that opens a dossier in a scanned stack, and what told us so."""

    code: str
    kind: Literal["receipt", "separator"]
    """"separator" for sohoa's printed sheet, "receipt" for any other barcode holding a valid dossier code."""


def separator_payload(code: str) -> str:
    """The QR text of the separator sheet for `code` (validate the code before printing it)."""
    return f"{SEPARATOR_PREFIX}{code}"


def dossier_start(payloads: Iterable[str]) -> DossierStart | None:
    """Whether a page with these barcode payloads starts a dossier, and with which code.

    A separator payload wins over a receipt's; among several receipt codes the first one read wins.
    A payload with the separator prefix but no usable code is ignored (never taken for a receipt).
    """
    receipt: DossierStart | None = None
    for raw in payloads:
        payload = raw.strip()
        if payload.startswith(SEPARATOR_PREFIX):
            code = payload[len(SEPARATOR_PREFIX) :].strip()
            if _SEPARATOR_CODE.match(code):
                return DossierStart(code=code, kind="separator")
            continue
        if receipt is None and (codes := codes_in_text(payload)):
            receipt = DossierStart(code=codes[0][0], kind="receipt")
    return receipt
