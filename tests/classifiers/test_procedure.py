import pytest

from classifiers.catalog import load_catalog
from classifiers.procedure import ProcedureClassifier


@pytest.fixture(scope="module")
def classifier() -> ProcedureClassifier:
    return ProcedureClassifier(load_catalog(), min_confidence=0.6)


def test_main_form_title_decides(classifier: ProcedureClassifier) -> None:
    result = classifier.classify(
        ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nTỜ KHAI ĐĂNG KÝ KHAI SINH\nHọ, chữ đệm, tên: A"]
    )
    assert result.procedure_id == "khai-sinh"
    assert result.confidence >= 0.7


def test_title_survives_lost_and_wrong_tone_marks(classifier: ProcedureClassifier) -> None:
    result = classifier.classify(["TO KHAI DANG KY KET HÔN\nHo va ten: B"])
    assert result.procedure_id == "ket-hon"


@pytest.mark.parametrize(
    ("content", "expected"), [("Đăng ký thường trú", "thuong-tru"), ("Đăng ký tạm trú", "tam-tru")]
)
def test_shared_ct01_form_is_decided_by_requested_content(
    classifier: ProcedureClassifier, content: str, expected: str
) -> None:
    page = f"TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nKính gửi: Công an xã\nNội dung đề nghị: {content}\n"
    assert classifier.classify([page]).procedure_id == expected


def test_shared_form_without_content_is_not_guessed(classifier: ProcedureClassifier) -> None:
    result = classifier.classify(["TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nHọ, chữ đệm, tên: C"])
    assert result.procedure_id is None
    assert {c.procedure_id for c in result.candidates} >= {"thuong-tru", "tam-tru"}


def test_receipt_requested_content_and_barcode_code(classifier: ProcedureClassifier) -> None:
    receipt = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\nNội dung yêu cầu giải quyết: Đăng ký khai tử\n"
    assert classifier.classify([receipt]).procedure_id == "khai-tu"
    coded = classifier.classify(["unreadable"], ["000.00.21.H61-250401-0001|1.004194|086095001234|Tờ khai"])
    assert coded.procedure_id == "tam-tru" and coded.confidence > 0.9


def test_unrelated_text_gets_no_procedure(classifier: ProcedureClassifier) -> None:
    result = classifier.classify(["The LinnSequencer 32 Track MIDI Sequencer"])
    assert result.procedure_id is None and result.confidence < 0.6
