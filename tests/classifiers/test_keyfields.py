"""Key-field extraction: the lines of the synthetic forms, as printed, without tone marks, OCR-damaged."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import numpy as np
import pytest

from classifiers.keyfields import (
    BIRTH_DATE_LABEL,
    COMMON_SURNAMES,
    PROVINCE_CODES,
    Field,
    extract_fields,
    is_citizen_id,
    is_tax_code,
    normalise_tax_code,
    parse_citizen_id,
)
from examples import synth

TODAY = date(2026, 6, 1)


def fields(*pages: str) -> tuple[Field, ...]:
    return extract_fields(pages, today=TODAY)


def values(*pages: str, kind: str | None = None) -> list[str]:
    return [f.value for f in fields(*pages) if kind is None or f.kind == kind]


def strip_tones(text: str) -> str:
    """What OCR gives when it loses every tone mark and diacritic (case and punctuation kept)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# ------------------------------------------------------------------------------------------ validators


def test_province_codes_are_the_63_of_the_circular() -> None:
    assert len(PROVINCE_CODES) == 63
    assert all(re.fullmatch(r"0\d\d", code) for code in PROVINCE_CODES)
    assert (min(PROVINCE_CODES), max(PROVINCE_CODES)) == ("001", "096")
    assert PROVINCE_CODES["086"] == "Vĩnh Long" and PROVINCE_CODES["084"] == "Trà Vinh"
    assert PROVINCE_CODES["083"] == "Bến Tre" and "085" not in PROVINCE_CODES


def test_citizen_id_is_decoded_and_checked() -> None:
    man = parse_citizen_id("086095012345", today=TODAY)
    assert man is not None
    assert (man.province, man.female, man.birth_year) == ("Vĩnh Long", False, 1995)
    woman = parse_citizen_id("084305000001", today=TODAY)
    assert woman is not None and (woman.female, woman.birth_year) == (True, 2005)
    assert is_citizen_id("083226000001", today=TODAY), "born this year"
    assert is_citizen_id("086006000001", today=TODAY), "120 years old this year"
    for bad, why in [
        ("085195012345", "085 is no province code"),
        ("000195012345", "000 is no province code"),
        ("086795012345", "century digit 7"),
        ("086426000001", "century digit 4: 2100s"),
        ("086227000001", "born next year"),
        ("086005000001", "121 years old"),
        ("08619501234", "11 digits"),
        ("0861950123456", "13 digits"),
        ("O86195012345", "a letter"),
        ("０８６１９５０１２３４５", "full-width digits"),
    ]:
        assert not is_citizen_id(bad, today=TODAY), why


def test_citizen_ids_from_the_synth_generator_validate_and_invalid_parts_never_do() -> None:
    rng = np.random.default_rng(7)
    not_provinces = sorted({f"{n:03d}" for n in range(1000)} - set(PROVINCE_CODES))
    for _ in range(500):
        code = str(rng.choice(list(PROVINCE_CODES)))
        year, female = int(rng.integers(TODAY.year - 120, TODAY.year + 1)), bool(rng.random() < 0.5)
        number = synth.cccd_number(rng, code, year, female)
        decoded = parse_citizen_id(number, today=TODAY)
        assert decoded is not None, number
        assert (decoded.province_code, decoded.female, decoded.birth_year) == (code, female, year)
        assert not is_citizen_id(f"{rng.choice(not_provinces)}{number[3:]}", today=TODAY)
        assert not is_citizen_id(f"{number[:3]}{rng.integers(4, 10)}{number[4:]}", today=TODAY)


def test_tax_codes_from_the_synth_generator_validate_and_any_other_check_digit_fails() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        code = synth.tax_code(rng, str(rng.choice(["01", "03", "15", "21", "13", "80"])))
        assert is_tax_code(code) and normalise_tax_code(code) == code
        assert normalise_tax_code(f"{code}-001") == f"{code}-001"
        for digit in set("0123456789") - {code[-1]}:
            assert not is_tax_code(code[:-1] + digit)
    assert normalise_tax_code("0314409058002") == "0314409058-002"
    assert not is_tax_code("0314409058-000"), "branch 000 does not exist"
    assert not is_tax_code("0100233480"), "wrong check digit"


# ----------------------------------------------------------------------- the lines of the synthetic forms

FORM_LINES = [
    "Họ, chữ đệm, tên: NGUYỄN VĂN AN",
    "Ngày, tháng, năm sinh: 14/03/1995",
    "Giới tính: Nam",
    "Số định danh cá nhân: 086195012345",
    "Điện thoại: 0100233488",
    "Mã số thuế cá nhân: 1586884559",
    "7. Họ, chữ đệm, tên chủ hộ: THẠCH THỊ SA RÂY",
    "9. Số định danh cá nhân của chủ hộ: 084172003318",
    "Vĩnh Long, ngày 05 tháng 02 năm 2026",
]


def _expected() -> set[tuple[str, str, str | None, float]]:
    return {
        ("person_name", "NGUYỄN VĂN AN", "ho chu dem ten", 0.9),
        ("date", "1995-03-14", BIRTH_DATE_LABEL, 0.8),
        ("citizen_id", "086195012345", "so dinh danh ca nhan", 0.95),
        ("tax_code", "1586884559", "ma so thue ca nhan", 0.95),
        ("person_name", "THẠCH THỊ SA RÂY", "ho chu dem ten chu ho", 0.9),
        ("citizen_id", "084172003318", "so dinh danh ca nhan cua chu ho", 0.95),
        ("date", "2026-02-05", None, 0.9),
    }


def _summary(found: tuple[Field, ...]) -> set[tuple[str, str, str | None, float]]:
    return {(f.kind, f.value, f.label, f.confidence) for f in found}


def test_form_lines_as_printed() -> None:
    found = fields("\n".join(FORM_LINES))
    assert _summary(found) == _expected()
    assert all(f.page == 1 for f in found)
    by_value = {f.value: f for f in found}
    assert by_value["086195012345"].raw == "086195012345"
    assert by_value["2026-02-05"].raw == "ngày 05 tháng 02 năm 2026"
    assert [f.kind for f in found][:2] == ["person_name", "date"], "reading order"


def test_form_lines_without_tone_marks() -> None:
    found = fields(strip_tones("\n".join(FORM_LINES)))
    expected = {(k, strip_tones(v) if k == "person_name" else v, label, c) for k, v, label, c in _expected()}
    assert _summary(found) == expected


def test_form_lines_with_ocr_damage() -> None:
    damaged = "\n".join(
        [
            "Ho, chữ đêm, tẻn; NGUYỄN  VĂN AN",  # wrong tone marks, ';' for ':', double space
            "Ngáy, tháng, nảm sinh. 14/03/1995",
            "Số đinh danh cá nhân 086 195 O12 345",  # no colon, spaces, O for 0
            "Ma so thue ca nhan: 15 8688 4559",
            "7. Họ, chữ đệm, tên chủ hộ THẠCH THỊ SA RÂY",  # no colon after a known qualifier
            "9. Số định danh cá nhân của chủ hộ: O84l72003318",
            "Vinh Long, ngay 5 thang 2 nam 2026",
        ]
    )
    found = {(f.kind, f.value): f for f in fields(damaged)}
    assert found["person_name", "NGUYỄN VĂN AN"].label == "ho chu dem ten"
    assert found["date", "1995-03-14"].label == BIRTH_DATE_LABEL
    assert found["citizen_id", "086195012345"].raw == "086 195 O12 345"
    assert found["citizen_id", "084172003318"].confidence == 0.95
    assert ("tax_code", "1586884559") in found
    assert found["person_name", "THẠCH THỊ SA RÂY"].label == "ho chu dem ten chu ho"
    assert ("date", "2026-02-05") in found
    assert len(found) == 7


def test_receipt_lines() -> None:
    text = "\n".join(
        [
            "Vĩnh Long, ngày 12 tháng 10 năm 2025",
            "Mã hồ sơ: 000.00.21.H61-251012-0384",
            "Ông (Bà): Sơn Văn Minh Hải",
            "Số định danh cá nhân: 086098593334",
            "Số điện thoại: 0860011574",
            "4. Thời gian nhận hồ sơ: 09 giờ 56 phút, ngày 12 tháng 10 năm 2025",
            "Vào Sổ theo dõi hồ sơ, Quyển số: 10, Số thứ tự: 0384",
            "(Ký và ghi rõ họ tên)",
        ]
    )
    assert _summary(fields(text)) == {
        ("date", "2025-10-12", None, 0.9),
        ("person_name", "Sơn Văn Minh Hải", "ong ba", 0.9),
        ("citizen_id", "086098593334", "so dinh danh ca nhan", 0.95),
    }


@pytest.mark.parametrize(
    ("line", "kind", "value", "confidence"),
    [
        ("Số CCCD: 086195012345", "citizen_id", "086195012345", 0.95),
        ("Căn cước công dân số: 086 195 012 345", "citizen_id", "086195012345", 0.95),
        ("Can cuoc cong dan: 086.195.012.345", "citizen_id", "086195012345", 0.95),
        ("Số CMND/CCCD: 086l95O12345", "citizen_id", "086195012345", 0.95),
        ("số cmnd: 331234567", "old_id", "331234567", 0.85),
        ("Chứng minh nhân dân số 33l 234 567", "old_id", "331234567", 0.85),
        ("Số CMT: 331234567", "old_id", "331234567", 0.85),
        ("Giấy chứng minh thư số: 331234567", "old_id", "331234567", 0.85),
        ("Mã số thuế: 0100233488 - 001", "tax_code", "0100233488-001", 0.95),
        ("MST: 0314409058002", "tax_code", "0314409058-002", 0.95),
        ("Mã số thuế cá nhân: 086195012345", "citizen_id", "086195012345", 0.9),  # ID as MST since 07/2025
        ("Người nộp 086195012345 đã ký", "citizen_id", "086195012345", 0.7),
        ("Công ty TNHH An Phát, 0314409058", "tax_code", "0314409058", 0.6),
        ("Họ và tên: Xa Văn Minh", "person_name", "Xa Văn Minh", 0.7),
        ("HỌ VÀ TÊN NGUYỄN THỊ HOA", "person_name", "NGUYỄN THỊ HOA", 0.9),
        ("Họ tên: Lê Văn Tám, sinh năm 1980", "person_name", "Lê Văn Tám", 0.9),
        ("Họ và tên: Trần Thị Bé Ba Giới tính: Nữ", "person_name", "Trần Thị Bé Ba", 0.9),
        ("1. Họ, chữ đệm, tên: ĐỖ HOÀNG LỘC 2. Quốc tịch: Việt Nam", "person_name", "ĐỖ HOÀNG LỘC", 0.9),
        ("Sinh ngày 1/2/1990", "date", "1990-02-01", 0.8),
        ("ký ngày 05-02-2026", "date", "2026-02-05", 0.8),
        ("ngày 05.02.2026", "date", "2026-02-05", 0.8),
        ("NGÀY 05 THÁNG 02 NĂM 2026", "date", "2026-02-05", 0.9),
    ],
)
def test_single_lines(line: str, kind: str, value: str, confidence: float) -> None:
    found = fields(line)
    assert [(f.kind, f.value, f.confidence) for f in found] == [(kind, value, confidence)]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("Số định danh cá nhân: 085195012345", "085 is not a province code"),
        ("Số định danh cá nhân: 086795012345", "century digit 7"),
        ("086795012345", "century digit 7, unlabelled"),
        ("Số CCCD: 086228012345", "born in 2028"),
        ("Mã số thuế: 0100233480", "wrong check digit"),
        ("0100233480", "wrong check digit, unlabelled"),
        ("Số điện thoại: 0100233488", "a phone number that happens to pass the MST check"),
        ("SĐT 0100233488", "the same with a short label"),
        ("Số tài khoản: 0100233488", "a bank account"),
        ("Số CMND: 0100233488", "10 digits after an ID label are no tax code"),
        ("0861950123456", "13 digits"),
        ("Số CCCD: 0861950123456", "13 digits after a label"),
        ("Số CCCD: 086 195 012 345 6", "13 digits in spaced groups"),
        ("086 195 012 345", "spaced digits need a label"),
        ("O86195012345", "letters for digits need a label"),
        ("Số CCCD: 086195012345ngày", "glued to a word"),
        ("Số CCCD: O86l95OI2345", "too many letters to be a damaged number"),
        ("31/02/2025", "no 31 February"),
        ("ngày 31 tháng 02 năm 2025", "no 31 February, long form"),
        ("12/13/2020", "month 13"),
        ("01/01/1899", "before 1900"),
        ("01/01/2032", "more than five years ahead"),
        ("Vốn kinh doanh: 350.000.000 đồng", "an amount"),
        ("Mã hồ sơ: 000.00.21.H61-251012-0384", "a dossier code"),
        ("Số CMND: 000000000", "nine zeros"),
        ("123456789", "nine digits need a CMND label"),
        ("(Ký, ghi rõ họ, chữ đệm, tên)", "a signing note is no name"),
        ("ghi rõ họ tên và đóng dấu", "the label inside a sentence"),
        ("Họ và tên: An", "one word"),
        ("Họ và tên: Nguyễn Văn An Bình Minh Hoàng Long Vũ", "eight words"),
        ("Họ và tên: Nguyễn V4n An", "a digit in the name"),
        ("Họ và tên:", "nothing after the label"),
        ("Ông Bà Nguyễn Văn An", "Ông (Bà) needs its colon"),
    ],
)
def test_nothing_is_emitted_for(line: str, why: str) -> None:
    assert fields(line) == (), why


def test_a_labelled_number_ends_where_its_separators_change() -> None:
    found = fields("Số CMND/CCCD: 086195012345 - 12/03/2021")
    assert [(f.kind, f.value, f.raw) for f in found] == [
        ("citizen_id", "086195012345", "086195012345"),
        ("date", "2021-03-12", "12/03/2021"),
    ]
    assert fields("Số CCCD: 086 195 012 345 - 12/03/2021")[0].raw == "086 195 012 345"


def test_fields_run_together_on_one_line() -> None:
    found = fields("Họ, chữ đệm, tên NGUYỄN VĂN AN Ngày, tháng, năm sinh: 14/03/1995; Giới tính: Nam")
    assert [(f.kind, f.value, f.label) for f in found] == [
        ("person_name", "NGUYỄN VĂN AN", "ho chu dem ten"),
        ("date", "1995-03-14", BIRTH_DATE_LABEL),
    ]


def test_birth_dates_are_told_from_other_dates() -> None:
    text = "Ngày sinh: 02/09/1985\nthời hạn tạm trú đến ngày 12/03/2027\nGiấy chứng sinh ngày 03/04/2024"
    labels = {f.value: f.label for f in fields(text)}
    assert labels == {"1985-09-02": BIRTH_DATE_LABEL, "2027-03-12": None, "2024-04-03": None}


def test_same_value_once_per_page_with_its_best_confidence() -> None:
    page = "Số định danh cá nhân: 086195012345\nNgười ký: 086195012345\n086195012345"
    found = fields(page, "086195012345")
    assert [(f.page, f.confidence, f.label) for f in found] == [
        (1, 0.95, "so dinh danh ca nhan"),
        (2, 0.7, None),
    ]


def test_today_bounds_birth_years() -> None:
    assert extract_fields(["Số CCCD: 086227012345"], today=date(2026, 12, 31)) == ()
    assert [f.value for f in extract_fields(["Số CCCD: 086227012345"], today=date(2027, 1, 1))] == [
        "086227012345"
    ]


def test_surnames_are_folded_and_include_khmer_ones() -> None:
    assert {"nguyen", "huynh", "thach", "kim", "son", "danh", "lam", "chau"} <= COMMON_SURNAMES
    assert values("Ho va ten: THACH THI SA RAY", kind="person_name") == ["THACH THI SA RAY"]
    assert fields("Ho va ten: THACH THI SA RAY")[0].confidence == 0.9


# ------------------------------------------------------------------------ recall over synthetic dossiers

PROCEDURE_IDS = list(synth.PROCEDURES)


def synth_text(procedure_id: str, seed: int, receipt: bool) -> str:
    """The page text `make_page` / `make_receipt` draws, before line wrapping (no image is rendered:
    `test_unwrapped_synth_text_reads_like_the_rendered_lines` checks that this changes nothing here)."""
    facts = synth._facts(procedure_id, seed, None)
    if receipt:
        items = synth._receipt_items(facts, synth._rng(seed, procedure_id, "receipt"))
    else:
        items = synth._form_items(facts, synth._rng(seed, procedure_id, "form"))
    return "\n".join(t for t in (i if isinstance(i, str) else i.text for i in items) if t)


def printed_numbers(text: str) -> tuple[set[str], set[str], set[str]]:
    """Ground truth from the clean text: 12-digit IDs, tax codes, phone numbers."""
    ids = set(re.findall(r"(?<!\d)\d{12}(?!\d)", text))
    taxes = set(re.findall(r"Mã số thuế[^:\n]*: (\d{10})", text))
    phones = set(re.findall(r"[Đđ]iện thoại[^:\n]*: (\d{10})", text))
    return ids, taxes, phones


def check_page(text: str, *, procedure_id: str, seed: int, receipt: bool) -> None:
    ids, taxes, phones = printed_numbers(text)
    found = fields(text)
    got_ids = {f.value for f in found if f.kind == "citizen_id"}
    got_taxes = {f.value for f in found if f.kind == "tax_code"}
    where = f"{procedure_id} seed {seed} {'receipt' if receipt else 'form'}"
    assert ids and got_ids == ids, where
    assert got_taxes == taxes, where
    assert not got_taxes & phones, where
    assert all(is_citizen_id(v, today=TODAY) for v in got_ids), where
    assert all(is_tax_code(v) for v in got_taxes), where
    assert not [f for f in found if f.kind == "old_id"], where
    for f in found:
        if f.kind in ("citizen_id", "tax_code"):
            assert f.confidence >= 0.9 and f.label, (where, f)
    applicant = synth._facts(procedure_id, seed, None).applicant
    names = {f.value for f in found if f.kind == "person_name"}
    assert (applicant.name if receipt else applicant.name.upper()) in names, where
    if not receipt:
        births = {f.value for f in found if f.kind == "date" and f.label == BIRTH_DATE_LABEL}
        assert applicant.birth.isoformat() in births, where


def test_every_printed_id_and_tax_code_is_found_on_synthetic_pages() -> None:
    for procedure_id in PROCEDURE_IDS:
        for seed in range(20):
            for receipt in (False, True):
                text = synth_text(procedure_id, seed, receipt)
                check_page(text, procedure_id=procedure_id, seed=seed, receipt=receipt)


def test_ids_and_tax_codes_survive_lost_tone_marks_on_synthetic_pages() -> None:
    for procedure_id in PROCEDURE_IDS:
        for seed in range(20):
            for receipt in (False, True):
                text = synth_text(procedure_id, seed, receipt)
                ids, taxes, _ = printed_numbers(text)
                found = fields(strip_tones(text))
                assert {f.value for f in found if f.kind == "citizen_id"} == ids
                assert {f.value for f in found if f.kind == "tax_code"} == taxes


def ocr_damage(text: str) -> str:
    """Labelled numbers printed in spaced groups, with a letter O for their first zero and ';' for ':'."""

    def spaced(match: re.Match[str]) -> str:
        number = match["number"]
        groups = [number[i : i + 3] for i in range(0, len(number), 3)]
        return f"{match['label']}; {' '.join(groups).replace('0', 'O', 1)}"

    return re.sub(r"(?P<label>(?:Số định danh|Mã số thuế)[^:\n]*): (?P<number>\d{10,12})\b", spaced, text)


def test_ids_and_tax_codes_survive_spaced_and_misread_digits_on_synthetic_pages() -> None:
    for procedure_id in PROCEDURE_IDS:
        for seed in range(20):
            text = synth_text(procedure_id, seed, False)
            ids, taxes, _ = printed_numbers(text)
            damaged = ocr_damage(text)
            assert damaged != text and " O" in damaged
            found = fields(damaged)
            assert {f.value for f in found if f.kind == "citizen_id"} == ids
            assert {f.value for f in found if f.kind == "tax_code"} == taxes


def test_unwrapped_synth_text_reads_like_the_rendered_lines() -> None:
    for procedure_id in PROCEDURE_IDS:
        page = synth.make_page(procedure_id, seed=0, dpi=72)
        assert fields(page.text) == fields(synth_text(procedure_id, 0, False))
        check_page(page.text, procedure_id=procedure_id, seed=0, receipt=False)
