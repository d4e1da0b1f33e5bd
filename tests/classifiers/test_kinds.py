"""Document kinds: catalog component names and OCR'd document titles labelled with the small taxonomy."""

from __future__ import annotations

import random
import re
import unicodedata
from functools import cache

import pytest

from classifiers.catalog import Catalog, load_catalog, load_national, national_catalog_path
from classifiers.kinds import BY_ID, KINDS, kind, kind_of_component, kind_of_document
from classifiers.text import fold
from examples import synth

FAST_DPI = 72  # the text of a synthetic page does not depend on its resolution


@cache
def _catalog() -> Catalog:
    return load_catalog()


def _component_name(procedure_id: str, opening: str) -> str:
    """The full, untidy name of a real component of the shipped catalog, found by how it opens."""
    procedure = _catalog().get(procedure_id)
    assert procedure is not None, procedure_id
    names = [c.name for c in procedure.dossier_components if c.name.startswith(opening)]
    assert names, f"{procedure_id} has no component opening with {opening!r}"
    return names[0]


def _without_marks(text: str) -> str:
    """What OCR without Vietnamese gives: every tone mark and diacritic lost (đ kept, as tesseract does)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _damaged(text: str, rate: float, seed: int) -> str:
    """Letters misread (i/l/1/r/n confusions) or dropped at `rate`, deterministically."""
    rng = random.Random(seed)
    out = []
    for ch in text:
        draw = rng.random()
        if ch.isalpha() and draw < rate:
            out.append(rng.choice("ilI1rn"))
        elif not (ch.isalpha() and draw < rate * 1.3):
            out.append(ch)
    return "".join(out)


# --- the taxonomy


def test_the_taxonomy_is_small_with_stable_ascii_ids_and_folded_phrases() -> None:
    assert 20 <= len(KINDS) <= 40
    assert len(BY_ID) == len(KINDS)
    for item in KINDS:
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", item.id), item.id
        assert item.vi and item.en and item.patterns
        assert all(pattern == fold(pattern) and pattern for pattern in item.patterns), item.id
    assert kind("birth_notice").vi == "Giấy chứng sinh"
    with pytest.raises(KeyError):
        kind("no_such_kind")


def test_no_title_phrase_belongs_to_two_kinds() -> None:
    owners: dict[str, str] = {}
    for item in KINDS:
        for pattern in item.patterns:
            assert owners.setdefault(pattern, item.id) == item.id, pattern


# --- catalog components


@pytest.mark.parametrize(
    ("procedure_id", "opening", "expected"),
    [
        ("khai-sinh", "Giấy chứng sinh; trường hợp", "birth_notice"),
        ("khai-sinh", "Tờ khai đăng ký khai sinh theo mẫu (nếu", "application_form"),
        ("khai-sinh", "Mẫu hộ tịch điện tử tương tác", "application_form"),
        ("khai-sinh", "Hộ chiếu/Thẻ căn cước công dân/", "id_card"),
        ("khai-sinh", "Văn bản ủy quyền (được chứng thực)", "authorization"),
        ("khai-sinh", "Giấy tờ có giá trị chứng minh thông tin về cư trú", "residence_proof"),
        ("khai-sinh", "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản", "minutes"),
        ("khai-tu", "Giấy báo tử hoặc giấy tờ thay Giấy báo tử", "death_notice"),
        # names a death notice only further on ("… không có Giấy báo tử"): that must not decide
        ("khai-tu", "Giấy tờ, tài liệu, chứng cứ do cơ quan", None),
        ("thuong-tru", "Hợp đồng, văn bản về việc cho thuê, cho mượn", "residence_proof"),
        ("thuong-tru", "Đối với Quân đội nhân dân: Giấy giới thiệu", "introduction_letter"),
        ("thuong-tru", "Tờ khai thay đổi thông tin cư trú (mẫu CT01", "application_form"),
        ("bien-dong-dat-dai", "Bản gốc Giấy chứng nhận đã cấp", "land_use_certificate"),
        ("1.012766", "(1) Đơn đăng ký biến động đất đai", "application_form"),
        ("1.000689", "Bản chính Giấy chứng sinh;", "birth_notice"),
        ("1.000703", "Bản sao hoặc bản sao có chứng thực hoặc bản sao điện tử", "decision"),
        ("1.012549", "Phiếu thu nhận thông tin căn cước (Mẫu CC01", "application_form"),
        ("1.003005", "Phiếu lý lịch tư pháp", "criminal_record"),
        ("1.003005", "Giấy khám sức khỏe", "health_certificate"),
        ("2.001199", "(i) Giấy đề nghị đăng ký doanh nghiệp", "application_form"),
    ],
)
def test_real_catalog_components_get_their_kind(
    procedure_id: str, opening: str, expected: str | None
) -> None:
    assert kind_of_component(_component_name(procedure_id, opening)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hợp đồng ủy quyền có công chứng", "authorization"),  # the longer phrase, not "hợp đồng"
        ("Đơn đề nghị cấp Giấy chứng nhận quyền sử dụng đất", "application_form"),  # the earlier phrase
        ("Bản sao Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở", "land_use_certificate"),
        ("Giấy chứng nhận kết hôn của cha mẹ", "marriage_certificate"),
        ("Giấy chứng nhận đủ điều kiện an toàn thực phẩm", "certificate"),
        ("02 ảnh chân dung cỡ 4x6", "photo"),
        ("Trường hợp ủy quyền thì nộp Giấy ủy quyền", "authorization"),
        ("Hồ sơ khác có liên quan", None),
        ("", None),
    ],
)
def test_component_names_by_their_head(name: str, expected: str | None) -> None:
    assert kind_of_component(name) == expected


def test_most_required_national_components_get_a_kind() -> None:
    """The taxonomy was derived from the catalog: it labels most of what the 1,601 national procedures
    require (measured 77.5% of 5,296 required components), and every kind but the receipt is asked for."""
    national = load_national(national_catalog_path())
    assert len(national) == 1601
    components = [c for p in national for c in p.dossier_components]
    required = [c for c in components if not c.optional]
    labelled = [kind_of_component(c.name) for c in required]
    assert sum(k is not None for k in labelled) / len(required) >= 0.75
    asked = {kind_of_component(c.name) for c in components}
    assert {item.id for item in KINDS} - asked == {"receipt"}


# --- documents


@cache
def _synth_documents() -> list[tuple[str, str, str]]:
    """(what, text, expected kind) for every synthetic form, receipt and component paper."""
    documents = []
    for procedure_id, procedure in synth.PROCEDURES.items():
        documents.append(
            ("form", synth.make_page(procedure_id, seed=5, dpi=FAST_DPI).text, "application_form")
        )
        documents.append(("receipt", synth.make_receipt(procedure_id, seed=5, dpi=FAST_DPI).text, "receipt"))
        for index, title in enumerate(procedure.components):
            text = synth.make_component(procedure_id, seed=5, dpi=FAST_DPI, index=index).text
            documents.append((title, text, SYNTH_COMPONENT_KINDS[title]))
    return documents


SYNTH_COMPONENT_KINDS = {
    "GIẤY CHỨNG SINH": "birth_notice",
    "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN": "marital_status_certificate",
    "GIẤY TỜ, TÀI LIỆU CHỨNG MINH CHỖ Ở HỢP PHÁP": "residence_proof",  # printed as "VĂN BẢN CHO MƯỢN …"
    "BIÊN BẢN HỌP THÀNH VIÊN HỘ GIA ĐÌNH": "minutes",
}


@pytest.mark.parametrize("damage", ["clean", "no tone marks", "misread letters", "both"])
def test_synthetic_documents_get_their_kind_from_their_title(damage: str) -> None:
    for seed, (what, text, expected) in enumerate(_synth_documents()):
        read = {
            "clean": text,
            "no tone marks": _without_marks(text),
            "misread letters": _damaged(text, 0.03, seed),
            "both": _damaged(_without_marks(text), 0.05, seed),
        }[damage]
        match = kind_of_document([read])
        assert match.kind == expected, (what, damage, match)
        assert match.score >= 80 and match.evidence, (what, damage, match)


def test_a_receipt_listing_components_stays_a_receipt() -> None:
    text = synth.make_receipt("khai-sinh", seed=11, dpi=FAST_DPI).text
    assert "Giấy chứng sinh" in text and "Tờ khai đăng ký khai sinh" in text  # it lists them
    for read in (text, _without_marks(text)):
        match = kind_of_document([read])
        assert match.kind == "receipt"
        assert fold(match.evidence) == "giay tiep nhan ho so va hen tra ket qua"


def test_a_receipt_whose_title_is_unreadable_is_known_by_what_it_prints() -> None:
    text = synth.make_receipt("ket-hon", seed=2, dpi=FAST_DPI).text
    text = text.replace(synth.RECEIPT_TITLE, "G?A? T??P N??N ?? ?? V? ??N ??? ??? ???")
    match = kind_of_document([text])
    assert match.kind == "receipt"
    assert match.score < 80  # weaker evidence than a title


def test_the_receipt_list_alone_does_not_make_a_document_those_components() -> None:
    """The list of a receipt, without the receipt's head, is body text: no title, no kind."""
    text = synth.make_receipt("khai-sinh", seed=11, dpi=FAST_DPI).text
    body = text[text.index("1. Thành phần hồ sơ") :]
    assert kind_of_document([body]).kind != "birth_notice"


CCCD = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
SOCIALIST REPUBLIC OF VIET NAM
Independence - Freedom - Happiness
CAN CUOC CONG DAN
Citizen Identity Card
Số / No.: 086204013237
Họ và tên / Full name: VÕ MINH VINH
"""

LAND_CERTIFICATE = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
GIẤY CHỨNG NHẬN
QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT
I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất
"""

AUTHORIZATION = """CONG HOA XA HOI CHU NGHIA VIET NAM
Doc lap - Tu do - Hanh phuc
HOP DONG UY QUYEN
Hom nay, ngay 05 thang 02 nam 2026, tai Uy ban nhan dan xa Long Ho
"""

DECISION = """ỦY BAN NHÂN DÂN             CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
XÃ TAM BÌNH                 Độc lập - Tự do - Hạnh phúc
Số: 12/QĐ-UBND              Tam Bình, ngày 05 tháng 02 năm 2026
QUYÊT ĐlNH
Về việc giao đất
"""

POLICE_HEADED = """CÔNG AN TỈNH VĨNH LONG
CÔNG AN XÃ LONG HỒ
GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ
Công an xã Long Hồ xác nhận ông Võ Minh Vinh
"""

UNTITLED = """Kính gửi: Ủy ban nhân dân xã Long Hồ
Tôi tên là Võ Minh Vinh
Căn cước công dân số: 086204013237
"""


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        ([CCCD], "id_card"),
        ([LAND_CERTIFICATE], "land_use_certificate"),  # a title broken over two lines
        ([AUTHORIZATION], "authorization"),  # no tone marks at all
        ([DECISION], "decision"),  # two columns merged by OCR, the title misread
        ([POLICE_HEADED], "residence_proof"),  # "CÔNG AN …" is not "CÔNG VĂN …"
        (["", "\n\n", CCCD], None),  # only the first two pages are read for a title
        (["   \n", CCCD], "id_card"),  # a blank first page lets the second decide
        ([UNTITLED], None),  # a body line mentioning a paper is no title
        ([], None),
    ],
)
def test_ocr_like_documents(pages: list[str], expected: str | None) -> None:
    assert kind_of_document(pages).kind == expected


def test_nothing_recognised_has_no_evidence() -> None:
    match = kind_of_document(["Lorem ipsum dolor sit amet\nconsectetur adipiscing elit"])
    assert (match.kind, match.score, match.evidence) == (None, 0.0, "")
