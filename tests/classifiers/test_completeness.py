"""Dossier completeness: a dossier's document kinds against its procedure's required components."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pytest

from classifiers.catalog import Catalog, Component, Procedure, load_catalog
from classifiers.completeness import ComponentCheck, completeness
from classifiers.kinds import kind_of_component, kind_of_document
from classifiers.text import fold
from examples import synth

FAST_DPI = 72


@cache
def _catalog() -> Catalog:
    return load_catalog()


def _procedure(procedure_id: str) -> Procedure:
    procedure = _catalog().get(procedure_id)
    assert procedure is not None and procedure.dossier_components, procedure_id
    return procedure


def _procedure_of(*components: Component) -> Procedure:
    return Procedure(
        id="thu-nghiem",
        code=None,
        name="Thủ tục thử nghiệm",
        form_titles=(),
        components=(),
        dossier_components=components,
    )


def _opening(checks: Sequence[ComponentCheck], opening: str) -> list[str]:
    """Names of the checks that open with `opening` (tone marks optional)."""
    return [check.name for check in checks if fold(check.name).startswith(fold(opening))]


BIRTH = ["receipt", "application_form", "birth_notice", "id_card"]
"""A birth registration handed in on paper: the centre's receipt, the form, the hospital's birth notice and a
copy of the parent's ID card."""


def test_a_complete_birth_registration() -> None:
    result = completeness(_procedure("khai-sinh"), BIRTH)
    assert result.status == "complete"
    assert not result.missing and not result.unchecked
    present = {check.kind: check.document for check in result.present}
    assert present == {"application_form": 1, "birth_notice": 2, "id_card": 3}


def test_a_birth_registration_without_the_birth_notice_is_incomplete() -> None:
    result = completeness(_procedure("khai-sinh"), ["receipt", "application_form", "id_card"])
    assert result.status == "incomplete"
    assert [check.kind for check in result.missing] == ["birth_notice"]
    assert _opening(result.missing, "Giấy chứng sinh")
    assert {check.kind for check in result.present} == {"application_form", "id_card"}


def test_a_death_registration_without_the_form_is_incomplete() -> None:
    procedure = _procedure("khai-tu")
    assert completeness(procedure, ["application_form", "death_notice", "id_card"]).status == "complete"
    result = completeness(procedure, ["death_notice", "id_card"])
    assert result.status == "incomplete"
    assert [check.kind for check in result.missing] == ["application_form"]


def test_missing_optional_components_leave_a_dossier_complete() -> None:
    result = completeness(_procedure("khai-sinh"), BIRTH)
    optional = {check.kind: check for check in result.optional}
    # "Văn bản ủy quyền … trong trường hợp ủy quyền …": required by the catalog's flag, a case by its words
    assert optional["authorization"].document is None
    assert "ủy quyền" in (optional["authorization"].condition or "")
    # the online variant of the form is not expected of a paper dossier
    assert _opening(result.optional, "Mẫu hộ tịch điện tử tương tác")
    assert _opening(result.optional, "Trường hợp trẻ em bị bỏ rơi")
    assert all(check.optional and check.condition for check in result.optional)


def test_an_optional_component_handed_in_is_shown_with_its_document() -> None:
    result = completeness(_procedure("khai-sinh"), [*BIRTH, "authorization"])
    assert result.status == "complete"
    assert {check.kind: check.document for check in result.optional}["authorization"] == 4


def test_an_unknown_procedure_is_unknown() -> None:
    result = completeness(None, BIRTH)
    assert result.status == "unknown"
    assert not (result.present or result.missing or result.optional or result.unchecked)
    no_components = _procedure_of()
    assert completeness(no_components, BIRTH).status == "unknown"


def test_a_required_component_of_no_known_kind_makes_an_otherwise_complete_dossier_unknown() -> None:
    procedure = _procedure_of(
        Component("Tờ khai theo mẫu"), Component("Tài liệu chứng minh nguồn gốc hàng hóa")
    )
    assert kind_of_component(procedure.dossier_components[1].name) is None
    result = completeness(procedure, ["application_form"])
    assert result.status == "unknown"
    assert [check.name for check in result.unchecked] == ["Tài liệu chứng minh nguồn gốc hàng hóa"]
    # … but a missing component that can be checked still makes it incomplete
    assert completeness(procedure, ["id_card"]).status == "incomplete"


def test_a_dossier_of_unrecognised_documents_is_unknown_not_incomplete() -> None:
    result = completeness(_procedure("khai-sinh"), [None, None, "receipt"])
    assert result.status == "unknown"
    assert result.unidentified == (0, 1)


def test_one_document_answers_one_component_but_one_form_answers_every_form_component() -> None:
    two_notices = _procedure_of(
        Component("Tờ khai thay đổi thông tin cư trú (mẫu CT01)"),
        Component("Tờ khai thay đổi thông tin cư trú (mẫu CT01) hoặc mẫu CT02"),
        Component("Giấy chứng sinh của trẻ thứ nhất"),
        Component("Giấy chứng sinh của trẻ thứ hai"),
    )
    one = completeness(two_notices, ["application_form", "birth_notice"])
    assert one.status == "incomplete"
    assert [check.document for check in one.present] == [0, 0, 1]
    assert len(one.missing) == 1
    both = completeness(two_notices, ["application_form", "birth_notice", "birth_notice"])
    assert both.status == "complete"
    assert [check.document for check in both.present] == [0, 0, 1, 2]


def test_every_component_of_every_procedure_is_placed_once() -> None:
    for procedure in _catalog().procedures:
        result = completeness(procedure, BIRTH)
        placed = len(result.present) + len(result.missing) + len(result.optional) + len(result.unchecked)
        assert placed == len(procedure.dossier_components), procedure.id
        assert result.status in {"complete", "incomplete", "unknown"}


@pytest.mark.parametrize("with_notice", [True, False])
def test_from_pages_to_completeness(with_notice: bool) -> None:
    """Synthetic pages read for their kind, then checked: the receipt lists the birth notice, but only the
    notice itself answers for it."""
    pages = [
        synth.make_receipt("khai-sinh", seed=4, dpi=FAST_DPI).text,
        synth.make_page("khai-sinh", seed=4, dpi=FAST_DPI).text,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nCĂN CƯỚC CÔNG DÂN\nSố: 0862040132",
    ]
    if with_notice:
        pages.append(synth.make_component("khai-sinh", seed=4, dpi=FAST_DPI).text)
    kinds = [kind_of_document([page]).kind for page in pages]
    result = completeness(_procedure("khai-sinh"), kinds)
    assert result.status == ("complete" if with_notice else "incomplete")
