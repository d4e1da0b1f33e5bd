import pytest

from ocr.textlayer import extract_text_layer, is_usable_text
from tests.conftest import shared_testdata


def test_vietnamese_text_is_usable_and_garbage_is_not() -> None:
    assert is_usable_text("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nHọ, chữ đệm, tên: Nguyễn Văn An")
    assert not is_usable_text("Trang 1")
    assert not is_usable_text("(cid:12)(cid:44)(cid:3) " * 10 + "abc")
    assert not is_usable_text("䴀甀氀琀椀挀漀氀漀爀 䈀氀愀挀欀 倀甀爀攀 䈀氀愀挀欀 ⠀䬀 㴀 䴀愀最攀渀琀愀")


@pytest.mark.parametrize(
    ("name", "usable"), [("graph_ocred.pdf", True), ("cmyk.pdf", False), ("skew.pdf", False)]
)
def test_real_pdfs_decide_per_page(name: str, usable: bool) -> None:
    data = shared_testdata("ocrmypdf-resources", name).read_bytes()
    assert (extract_text_layer(data, 0) is not None) is usable
