"""The synthetic scan generator: deterministic, truthful ground truth, valid IDs, the demo set complete."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifiers.keyfields import is_citizen_id, is_tax_code
from classifiers.text import fold
from examples import synth

FAST_DPI = 72  # text and layout do not depend on resolution; small pages keep the tests quick


def _cccd_problems(number: str, birth_year: int, female: bool) -> list[str]:
    """Check a CCCD against the README rules, independently of the generator's code."""
    problems = []
    if not re.fullmatch(r"\d{12}", number):
        return [f"{number!r} is not 12 digits"]
    if number[:3] not in {"086", "084", "083"}:
        problems.append(f"{number}: province {number[:3]} is not Vĩnh Long, Trà Vinh or Bến Tre")
    century_sex = {(19, False): "0", (19, True): "1", (20, False): "2", (20, True): "3"}
    if number[3] != century_sex.get((birth_year // 100, female)):
        problems.append(f"{number}: digit 4 does not match born {birth_year}, female={female}")
    if number[4:6] != f"{birth_year % 100:02d}":
        problems.append(f"{number}: digits 5-6 do not match born {birth_year}")
    return problems


def test_same_seed_gives_identical_bytes() -> None:
    first = synth.make_page("thuong-tru", seed=7, dpi=200)
    again = synth.make_page("thuong-tru", seed=7, dpi=200)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.lines == again.lines
    assert synth.make_page("thuong-tru", seed=8, dpi=FAST_DPI).lines != first.lines

    spec = synth.Degradation(
        skew=3.0, noise=5, blur=0.7, jpeg_quality=70, border_mm=5, yellow=0.4, specks=0.002
    )
    spoiled = [synth.degrade(first.image, spec, np.random.default_rng(3)).tobytes() for _ in range(2)]
    assert spoiled[0] == spoiled[1]
    pdfs = [synth.make_born_digital_pdf("ket-hon", seed=5)[0] for _ in range(2)]
    assert pdfs[0] == pdfs[1]


@pytest.mark.parametrize("procedure_id", sorted(synth.PROCEDURES))
def test_ground_truth_is_nonempty_nfc_lines(procedure_id: str) -> None:
    for page in (
        synth.make_page(procedure_id, seed=1, dpi=FAST_DPI),
        synth.make_receipt(procedure_id, seed=1, dpi=FAST_DPI),
    ):
        assert page.lines and page.image.mode == "RGB"
        for line in page.lines:
            assert line.strip() == line != ""
            assert unicodedata.normalize("NFC", line) == line
    assert synth.make_blank(seed=1, dpi=FAST_DPI).lines == ()


def test_forms_carry_title_and_requested_content() -> None:
    permanent = synth.make_page("thuong-tru", seed=3, dpi=FAST_DPI).text
    temporary = synth.make_page("tam-tru", seed=3, dpi=FAST_DPI).text
    for text in (permanent, temporary):
        assert "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "Nội dung đề nghị: Đăng ký thường trú" in permanent
    assert "Nội dung đề nghị: Đăng ký tạm trú" in temporary
    assert re.search(r"ngày \d{2} tháng \d{2} năm \d{4}", permanent)


def test_receipt_prints_code_and_qr_payload() -> None:
    code = "000.00.21.H61-250401-0001"
    receipt = synth.make_receipt("khai-sinh", seed=2, dpi=200, dossier_code=code)
    assert f"Mã hồ sơ: {code}" in receipt.lines
    assert "Nội dung yêu cầu giải quyết: Đăng ký khai sinh" in receipt.lines
    assert "ngày 01 tháng 04 năm 2025" in receipt.text
    assert receipt.qr_payload == f"{code}|1.001193|{receipt.applicant_id}|{synth.RECEIPT_TITLE}"
    zxingcpp = pytest.importorskip("zxingcpp")
    found = zxingcpp.read_barcodes(np.asarray(receipt.image.convert("L")))
    assert [r.text for r in found] == [receipt.qr_payload]


def test_id_numbers_are_valid() -> None:
    problems: list[str] = []
    checked = 0
    for seed in range(6):
        for procedure_id in ("ket-hon", "khai-sinh", "thuong-tru"):
            birth: datetime | None = None
            female = False
            for line in synth.make_page(procedure_id, seed=seed, dpi=FAST_DPI).lines:
                label, _, value = line.partition(": ")
                if label.endswith("Ngày, tháng, năm sinh") and birth is None:
                    birth = datetime.strptime(value, "%d/%m/%Y")
                elif label.endswith("Giới tính"):
                    female = value.startswith("Nữ")
                elif label.endswith("Số định danh cá nhân"):  # a person block: birth, sex, then the ID
                    assert birth is not None
                    problems += _cccd_problems(value, birth.year, female)
                    checked += 1
                    birth = None
    assert not problems
    assert checked >= 6 * 4  # ket-hon has two people, the others one


def test_tax_code_check_digit() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        mst = synth.tax_code(rng)
        total = sum(w * int(c) for w, c in zip((31, 29, 23, 19, 17, 13, 7, 5, 3), mst[:9], strict=True))
        assert len(mst) == 10 and int(mst[9]) == 10 - total % 11


def test_quarter_turns_swap_dimensions_and_skew_grows_canvas() -> None:
    page = synth.make_page("tam-tru", seed=4, dpi=FAST_DPI).image
    width, height = page.size
    rng = np.random.default_rng(0)
    assert synth.degrade(page, synth.Degradation(rotate=90), rng).size == (height, width)
    assert synth.degrade(page, synth.Degradation(rotate=270), rng).size == (height, width)
    assert synth.degrade(page, synth.Degradation(rotate=180), rng).size == (width, height)
    skewed = synth.degrade(page, synth.Degradation(skew=4.0), rng)
    assert skewed.width > width and skewed.height > height
    with pytest.raises(ValueError, match="skew"):
        synth.Degradation(skew=20.0)


def test_write_examples_creates_every_listed_file(tmp_path: Path) -> None:
    paths = synth.write_examples(tmp_path)
    assert paths == [tmp_path / spec.name for spec in synth.EXAMPLES]
    assert 8 <= len(paths) <= 10
    for spec, path in zip(synth.EXAMPLES, paths, strict=True):
        assert path.is_file(), spec.name
        assert (path.stat().st_size == 0) == (spec.container == "empty")
        if spec.container in ("tiff", "jpeg", "png"):
            with Image.open(path) as image:
                assert getattr(image, "n_frames", 1) == len(spec.pages)
                assert round(image.info["dpi"][0]) == synth.EXAMPLE_DPI
                portrait = image.height > image.width
                assert portrait == (spec.degradation.rotate in (0, 180))
        elif spec.container == "zip":
            with zipfile.ZipFile(path) as archive:
                assert archive.namelist() == list(spec.members)
                assert all("/" in name for name in spec.members)
        elif spec.container in ("pdf-scan", "pdf-text"):
            assert path.read_bytes().startswith(b"%PDF-")
        elif spec.container == "truncated":
            with pytest.raises(OSError), Image.open(path) as image:
                image.load()
        if spec.readable and spec.container != "empty":
            assert spec.procedure_id in synth.PROCEDURES
            assert spec.dossier_code and synth.DOSSIER_CODE_RE.fullmatch(spec.dossier_code)


def test_corpus_records_its_degradations() -> None:
    pages = synth.make_corpus(4, seed=9, dpi=FAST_DPI)
    assert [p.kind for p in pages] == ["form", "form", "form", "receipt"]
    assert all(p.lines and p.degradation.jpeg_quality for p in pages)


def test_missing_font_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    _, package, files = synth._FONTS["serif"]
    monkeypatch.setitem(synth._FONTS, "serif", ("/nonexistent/fonts", package, files))
    synth._pil_font.cache_clear()
    try:
        with pytest.raises(synth.FontMissingError, match="fonts-liberation2"):
            synth.make_page("khai-sinh", seed=1, dpi=FAST_DPI)
    finally:
        synth._pil_font.cache_clear()


COMPONENT_PROCEDURES = sorted(p for p, spec in synth.PROCEDURES.items() if spec.components)
PRINTED_CCCD = re.compile(r"(?<!\d)\d{12}(?!\d)")


@pytest.mark.parametrize("procedure_id", COMPONENT_PROCEDURES)
def test_component_is_deterministic_and_titled(procedure_id: str) -> None:
    first = synth.make_component(procedure_id, seed=7, dpi=FAST_DPI)
    again = synth.make_component(procedure_id, seed=7, dpi=FAST_DPI)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.lines == again.lines
    assert synth.make_component(procedure_id, seed=8, dpi=FAST_DPI).lines != first.lines
    assert (first.kind, first.procedure_id, first.qr_payload) == ("component", procedure_id, None)
    for line in first.lines:
        assert line.strip() == line != ""
        assert unicodedata.normalize("NFC", line) == line
    title = synth.PROCEDURES[procedure_id].components[0]
    head = first.lines[:10]  # where a classifier looks for titles
    if procedure_id == "thuong-tru":  # a real lending agreement's title, the catalog's category below it
        assert "VĂN BẢN CHO MƯỢN, CHO Ở NHỜ CHỖ Ở HỢP PHÁP" in head
        assert any(fold(title) in fold(line) for line in head)
    else:
        assert title in head


@pytest.mark.parametrize("procedure_id", COMPONENT_PROCEDURES)
def test_component_id_numbers_are_valid(procedure_id: str) -> None:
    for seed in range(6):
        page = synth.make_component(procedure_id, seed=seed, dpi=FAST_DPI)
        numbers = PRINTED_CCCD.findall(page.text)
        assert numbers, f"seed {seed}: no 12-digit CCCD printed"
        assert all(is_citizen_id(n) for n in numbers), numbers
        taxes = re.findall(r"Mã số thuế cá nhân: (\d+)", " ".join(page.text.split()))
        assert all(is_tax_code(t) for t in taxes)
        assert bool(taxes) == (procedure_id == "ho-kinh-doanh")


def test_components_share_the_forms_facts() -> None:
    def texts(procedure_id: str) -> tuple[str, str]:
        form = synth.make_page(procedure_id, seed=3, dpi=FAST_DPI)
        component = synth.make_component(procedure_id, seed=3, dpi=FAST_DPI)
        assert (component.applicant_id, component.dossier_code) == (form.applicant_id, form.dossier_code)
        return " ".join(form.text.split()), " ".join(component.text.split())

    form, certificate = texts("khai-sinh")
    child = re.search(r"Dự định đặt tên con: ([^\d:]+?) Họ", certificate)
    mother = re.search(r"Họ, chữ đệm, tên mẹ: ([^\d:]+?) Ngày", certificate)
    assert child and f"Họ, chữ đệm, tên: {child[1]} Ngày" in form
    assert mother and f"tên người mẹ: {mother[1]};" in form
    form, status = texts("ket-hon")
    assert set(PRINTED_CCCD.findall(status)) == set(PRINTED_CCCD.findall(form))  # both spouses
    assert "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai." in status
    form, lodging = texts("thuong-tru")
    owner = re.search(r"chủ hộ: (\d{12})", form)
    assert owner and owner[1] in lodging and "đăng ký thường trú" in lodging
    form, minutes = texts("ho-kinh-doanh")
    tax = re.search(r"Mã số thuế cá nhân: (\d{10})", form)
    business = re.search(r"Tên hộ kinh doanh: ([^\d:]+?) 2\.", form)
    assert tax and f"Mã số thuế cá nhân: {tax[1]}" in minutes
    assert business and f"Tên hộ kinh doanh: {business[1]} 2." in minutes


def test_component_needs_a_procedure_with_components() -> None:
    with pytest.raises(ValueError, match="has no component documents"):
        synth.make_component("tam-tru", seed=1, dpi=FAST_DPI)
    with pytest.raises(ValueError, match="no index 1"):
        synth.make_component("khai-sinh", seed=1, dpi=FAST_DPI, index=1)
    with pytest.raises(ValueError, match="no template"):
        synth.make_component("khai-tu", seed=1, dpi=FAST_DPI)
