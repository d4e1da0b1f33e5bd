import tracemalloc
from pathlib import Path
from typing import Any

import pdfplumber.page
import pytest
from pdfminer.pdfpage import PDFPage

from ocr.textlayer import TextLayerReader, extract_text_layer, is_usable_text
from tests.conftest import shared_testdata
from tests.ocr.pdfs import born_digital_pdf, page_text, scanned_pdf


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


def test_each_page_of_a_born_digital_pdf_gives_its_own_layer(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(born_digital_pdf(5))
    with TextLayerReader(path) as reader:
        assert [reader.text_of(i) for i in (4, 0, 2)] == [page_text(5), page_text(1), page_text(3)]
        assert reader.text_of(5) is None, "no such page: nothing to reuse"
    assert extract_text_layer(path, 1) == page_text(2) == extract_text_layer(path.read_bytes(), 1)


def test_reading_page_by_page_keeps_no_page_data(tmp_path: Path) -> None:
    """pdfminer caches every stream it parsed (the scanned images): the reader lets them go after a page."""
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf(30, distinct=3, dpi=150))
    size = path.stat().st_size
    with TextLayerReader(path) as reader:
        reader.text_of(0)
        tracemalloc.start()
        try:
            assert all(reader.text_of(i) is None for i in range(30))
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert held < size / 10, f"{held} bytes still held after reading a {size}-byte PDF"


class PagesBuilt:
    """Counts the page objects pdfminer and pdfplumber build, through their public page classes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pdfminer = self.pdfplumber = 0
        miner, plumber = PDFPage.__init__, pdfplumber.page.Page.__init__

        def count_miner(page: PDFPage, *args: Any, **kwargs: Any) -> None:
            self.pdfminer += 1
            miner(page, *args, **kwargs)

        def count_plumber(page: pdfplumber.page.Page, *args: Any, **kwargs: Any) -> None:
            self.pdfplumber += 1
            plumber(page, *args, **kwargs)

        monkeypatch.setattr(PDFPage, "__init__", count_miner)
        monkeypatch.setattr(pdfplumber.page.Page, "__init__", count_plumber)


def test_a_page_is_found_without_building_the_pages_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pdfplumber's `PDF.pages` (and `PDF.close`) builds every page: a page task reading page 3 of a long
    PDF paid for all of them, and a document of many short-lived readers became quadratic."""
    path = tmp_path / "long.pdf"
    path.write_bytes(born_digital_pdf(300))
    built = PagesBuilt(monkeypatch)
    with TextLayerReader(path) as reader:
        assert reader.text_of(2) == page_text(3)
    assert (built.pdfminer, built.pdfplumber) == (3, 1)
    with TextLayerReader(path) as reader:
        layers = [reader.text_of(i) for i in range(300)]
        assert reader.text_of(300) is None
    assert layers == [page_text(n) for n in range(1, 301)]
    assert (built.pdfminer, built.pdfplumber) == (3 + 300, 1 + 300), "the page tree is walked once"
