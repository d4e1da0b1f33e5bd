"""Classification against the whole shipped catalog (1,600 procedures of the national catalog merged with the
curated ones): national procedures found by their code, their forms and their requested content; shared
forms decided by the request or sent to review with candidates; the two misses the issue names."""

from __future__ import annotations

import pytest

from classifiers.catalog import Catalog, load_catalog
from classifiers.procedure import ProcedureClassifier
from classifiers.titles import form_titles_of

HEADER = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def classifier(catalog: Catalog) -> ProcedureClassifier:
    return ProcedureClassifier(catalog, min_confidence=0.6)


def test_the_default_catalog_holds_every_local_procedure_of_the_national_file(catalog: Catalog) -> None:
    national = [p for p in catalog.procedures if p.levels]
    assert len(national) == 1601
    assert all({"Cấp tỉnh", "Cấp xã"} & set(p.levels) for p in national)
    birth = catalog.get("khai-sinh")
    assert birth is not None and birth.form_titles == ("TỜ KHAI ĐĂNG KÝ KHAI SINH",)  # curated title kept
    assert birth.field == "Hộ tịch" and birth.dossier_components  # completed from the national entry
    assert catalog.get("1.001193") is None and catalog.by_code("1.001193") is birth  # one entry, not two


@pytest.mark.parametrize("code", ["2.002039", "3.000284", "6.001430"])
def test_a_receipts_qr_code_names_a_national_procedure_wherever_it_stands(
    classifier: ProcedureClassifier, catalog: Catalog, code: str
) -> None:
    procedure = catalog.by_code(code)  # codes start with any digit, not only 1 and 2
    assert procedure is not None
    payload = f"SOHOA|ma_ho_so=000.00.21.H61-260112-0031;thu_tuc={code};cccd=086095001234;ten=Đơn"
    verdict = classifier.classify(["ảnh mờ"], [payload])
    assert verdict.procedure_id == procedure.id and verdict.confidence > 0.9


def test_a_receipts_printed_request_decides_among_the_whole_catalog(
    classifier: ProcedureClassifier, catalog: Catalog
) -> None:
    receipt = (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\nMã hồ sơ: 000.00.21.H61-260112-0031\n"
        "Nội dung yêu cầu giải quyết: Nhập quốc tịch Việt Nam ở trong nước\n"
    )
    verdict = classifier.classify([receipt])
    assert verdict.procedure_id == catalog.by_code("2.002039").id  # type: ignore[union-attr]


def test_a_national_procedure_is_found_by_the_form_its_components_name(
    classifier: ProcedureClassifier, catalog: Catalog
) -> None:
    chosen = next(p for p in catalog.procedures if p.levels and not p.form_titles and form_titles_of(p))
    title = form_titles_of(chosen)[0].upper()
    page = f"{HEADER}{title}\nKính gửi: Ủy ban nhân dân tỉnh Vĩnh Long\nTôi đề nghị: {chosen.name}\n"
    verdict = classifier.classify([page])
    assert chosen.id in [c.procedure_id for c in verdict.candidates]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Đăng ký thường trú", "thuong-tru"),
        ("Đăng ký tạm trú", "tam-tru"),
        ("Xóa đăng ký thường trú", "1.003197"),
    ],
)
def test_the_shared_residence_form_is_decided_by_its_requested_content(
    classifier: ProcedureClassifier, request_text: str, expected: str
) -> None:
    form = "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nKính gửi: Công an xã"
    page = f"{HEADER}{form}\nNội dung đề nghị: {request_text}\n"
    assert classifier.classify([page]).procedure_id == expected


def test_the_shared_residence_form_without_its_request_goes_to_review_with_the_candidates(
    classifier: ProcedureClassifier,
) -> None:
    verdict = classifier.classify(
        [f"{HEADER}TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nHọ, chữ đệm, tên: Lê Văn C\n"]
    )
    assert verdict.procedure_id is None
    ids = [c.procedure_id for c in verdict.candidates]
    assert {"thuong-tru", "tam-tru"} <= set(ids) and len(ids) > 2


def test_a_household_business_form_is_not_confused_with_an_enterprise_one(
    classifier: ProcedureClassifier,
) -> None:
    page = (
        f"{HEADER}GIẤY ĐỀ NGHỊ\nĐĂNG KÝ HỘ KINH DOANH\nKính gửi: Phòng Tài chính - Kế hoạch huyện Long Hồ\n"
        "Tôi là (ghi họ tên bằng chữ in hoa): NGUYỄN VĂN AN\n"
        "Đăng ký hộ kinh doanh với các thông tin sau đây:\n1. Tên hộ kinh doanh: CỬA HÀNG TẠP HÓA AN\n"
        "2. Địa chỉ trụ sở hộ kinh doanh: ấp Phước Yên, xã Long Hồ\n3. Ngành, nghề kinh doanh: bán lẻ\n"
        "4. Vốn kinh doanh: 50.000.000 đồng\n"
    )
    verdict = classifier.classify([page])
    assert verdict.procedure_id == "ho-kinh-doanh", verdict.candidates


def test_a_death_notice_goes_to_the_death_registration(classifier: ProcedureClassifier) -> None:
    page = (
        "BỆNH VIỆN ĐA KHOA TỈNH VĨNH LONG\nSố: 125/GBT\nGIẤY BÁO TỬ\n"
        "Họ, chữ đệm, tên người chết: Trần Văn Bảy\nĐã chết vào lúc 05 giờ 30 phút, ngày 02/11/2026\n"
    )
    verdict = classifier.classify([page])
    assert verdict.procedure_id == "khai-tu" and verdict.confidence >= 0.6
