"""Dossier completeness: which of a procedure's required components a dossier's documents hold, by kind.

`completeness(procedure, kinds)` compares the kinds of a dossier's documents (`classifiers.kinds`) with the
kinds the procedure's catalog components ask for, and says what is present, missing, optional or cannot be
checked, with a status `complete | incomplete | unknown`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from classifiers.catalog import Component, Procedure
from classifiers.kinds import kind_of_component
from classifiers.text import fold, nfc

Status = Literal["complete", "incomplete", "unknown"]

FORM_KIND = "application_form"
"""The kind of the dossier's own form: one form document answers every form component of the procedure (the
catalog often lists one form twice, "CT01" and "CT01 or CT02", or a paper and an online variant)."""
RECEIPT_KIND = "receipt"

_CASE = re.compile(r"\(\s*(?:áp dụng )?đối với|(?<!trừ )\b(?:trong |đối với )?trường hợp\b|\bnếu\b")
"""Where a component's first clause says it is only needed in some cases ("… trong trường hợp ủy quyền",
"(đối với …)", "nếu …"); "trừ trường hợp" (required, except …) is no case."""
_PAPER = ("hinh thuc truc tiep", "nop truc tiep", "gui truc tiep", "nop ho so truc tiep", "buu chinh")
"""A case about handing the dossier in on paper, as every dossier scanned here was: the component is due."""
_NO_CASES = (
    "neu duoc lap",
    "neu duoc cap",
    "neu bang tieng nuoc ngoai",
    "neu xuat khau",
    "neu nhap khau",
    "neu qua canh",
)
"""An "if" that is no case: how recent or in which form the paper must be ("… có giá trị sử dụng nếu được
cấp chưa quá 12 tháng", "nếu bằng tiếng nước ngoài …", "bản chính nếu xuất khẩu một lần")."""


@dataclass(frozen=True)
class ComponentCheck:
    """One catalog component of the procedure, as checked against the dossier."""

    name: str
    """The component's name in the catalog."""
    kind: str | None
    """The kind of document it asks for (`classifiers.kinds`), None when its name names no kind."""
    optional: bool
    """Only needed in some cases ("nếu có", "Trường hợp …", "… trong trường hợp …", online only)."""
    condition: str | None
    """The case it depends on, as the catalog words it, when optional."""
    document: int | None
    """Index (in `kinds`) of the document that answers it, or None."""


@dataclass(frozen=True)
class Completeness:
    """Whether a dossier holds what its procedure requires."""

    status: Status
    present: tuple[ComponentCheck, ...]
    """Required components a document answers."""
    missing: tuple[ComponentCheck, ...]
    """Required components of a known kind that no document answers."""
    optional: tuple[ComponentCheck, ...]
    """Components needed only in some cases, answered (`document` set) or not; they never make a dossier
    incomplete."""
    unchecked: tuple[ComponentCheck, ...]
    """Required components whose kind cannot be told from their name: they cannot be checked."""
    unidentified: tuple[int, ...]
    """Indexes of documents whose kind is unknown (one of them may be a missing component)."""


def completeness(procedure: Procedure | None, kinds: Sequence[str | None]) -> Completeness:
    """The completeness of a dossier of `procedure` whose documents are of `kinds` (one per document, in
    dossier order; None for a document whose kind was not recognised).

    Rules, in order:
    - no procedure, or one whose catalog lists no components → `unknown`;
    - documents that are there but none recognised (every kind None, or only receipts) → `unknown`: nothing
      was read, so nothing can be said to be missing;
    - a required component of a known kind that no document answers → `incomplete` (whatever else holds);
    - else a required component whose kind is unknown (cannot be checked) → `unknown`;
    - else → `complete`.
    Optional components (the catalog's "nếu có", "Trường hợp …", and a first clause "… trong trường hợp …",
    "(đối với …)", "nếu …" that is not about handing the dossier in on paper) never make a dossier incomplete.
    A document answers one component; every form component is answered by one `application_form`
    document. Documents go to components in catalog order, required components first; a component asking
    for several copies still needs one document (copies are pages of one paper, not separate documents).
    """
    if procedure is None or not procedure.dossier_components:
        return Completeness("unknown", (), (), (), (), _unidentified(kinds))
    wanted = [
        (component, kind_of_component(component.name), _condition(component))
        for component in procedure.dossier_components
    ]
    order = sorted(range(len(wanted)), key=lambda i: wanted[i][2] is not None)
    answered = _assign([(wanted[i][1], wanted[i][2] is not None) for i in order], kinds)
    checks: dict[int, ComponentCheck] = {}
    for position, i in enumerate(order):
        component, kind, condition = wanted[i]
        checks[i] = ComponentCheck(component.name, kind, condition is not None, condition, answered[position])
    ordered = [checks[i] for i in range(len(wanted))]
    present = tuple(c for c in ordered if not c.optional and c.document is not None)
    missing = tuple(c for c in ordered if not c.optional and c.kind is not None and c.document is None)
    unchecked = tuple(c for c in ordered if not c.optional and c.kind is None)
    optional = tuple(c for c in ordered if c.optional)
    recognised = any(kind is not None and kind != RECEIPT_KIND for kind in kinds)
    status: Status
    if kinds and not recognised:
        status = "unknown"
    elif missing:
        status = "incomplete"
    elif unchecked:
        status = "unknown"
    else:
        status = "complete"
    return Completeness(status, present, missing, optional, unchecked, _unidentified(kinds))


def _assign(wanted: Sequence[tuple[str | None, bool]], kinds: Sequence[str | None]) -> list[int | None]:
    """For each (kind, optional) wanted, in turn, the first unused document of that kind; every required form
    component gets the first form document, an optional one (the online variant) only a further form. All
    components of one kind are alike, so taking them in turn is a best matching."""
    free: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        if kind is not None and kind != RECEIPT_KIND:
            free.setdefault(kind, []).append(index)
    forms = free.get(FORM_KIND, [])
    first_form = forms.pop(0) if forms else None
    answered: list[int | None] = []
    for kind, optional in wanted:
        if kind == FORM_KIND and not optional:
            answered.append(first_form)
        elif kind is not None and free.get(kind):
            answered.append(free[kind].pop(0))
        else:
            answered.append(None)
    return answered


def _condition(component: Component) -> str | None:
    """The case a component depends on, or None when every dossier needs it. Online-only components
    ("… nếu … nộp hồ sơ theo hình thức trực tuyến") are cases; paper-channel ones are due."""
    if component.optional:
        return component.condition or component.name
    clause = nfc(re.split(r";|\.\s|\.$", component.name, maxsplit=1)[0])
    found = _CASE.search(clause.lower())
    if found is None:
        return None
    case = clause[found.start() :].strip(" ()")
    folded = fold(case)
    if folded.startswith(_NO_CASES) or any(mark in folded for mark in _PAPER):
        return None
    return case


def _unidentified(kinds: Sequence[str | None]) -> tuple[int, ...]:
    return tuple(index for index, kind in enumerate(kinds) if kind is None)
