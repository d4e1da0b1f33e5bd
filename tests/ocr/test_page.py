"""The page composer on its own: which stages run, and the OCR second opinion on orientation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from examples.synth import make_blank
from ocr.decode import open_document
from ocr.page import PageOptions, process_page
from ocr.tesseract import Recognition, TesseractEngine

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class CountingEngine(TesseractEngine):
    """Real tesseract, counting how often it is asked to recognise a page."""

    def __init__(self) -> None:
        super().__init__(languages="vie")
        self.calls = 0

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3) -> Recognition:
        self.calls += 1
        return super().recognize(image, dpi=dpi, psm=psm)


def _png(image: Image.Image, dpi: int = 300) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def _page(data: bytes, engine: TesseractEngine, tmp_path: Path):
    [source] = open_document(data).pages()
    return process_page(source, engine=engine, options=PageOptions(), spool=tmp_path)


def test_blank_page_is_flagged_without_ocr(tmp_path: Path) -> None:
    engine = CountingEngine()
    result = _page(_png(make_blank(seed=3, dpi=300).image), engine, tmp_path)
    assert result.blank and result.text == "" and engine.calls == 0
    assert result.layer.placement is None, "kept exactly as scanned"


def test_short_upside_down_note_is_turned_by_the_ocr_second_opinion(tmp_path: Path) -> None:
    """Two lines are too few to trust the ink balance; OCR confidence both ways decides."""
    image = Image.new("L", (2480, 900), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 60)
    draw.text((150, 300), "Đã nhận đủ hồ sơ theo quy định", font=font, fill=0)
    draw.text((150, 420), "Người tiếp nhận ký tên", font=font, fill=0)
    engine = CountingEngine()
    result = _page(_png(image.rotate(180)), engine, tmp_path)
    assert result.rotation == 180
    assert "hồ sơ" in result.text
    assert engine.calls <= 2


def test_capitals_only_line_reads_right_either_way_up(tmp_path: Path) -> None:
    """Capitals have no ascenders or descenders, so the ink balance cannot tell; OCR confidence must."""
    image = Image.new("L", (2480, 700), 255)
    font = ImageFont.truetype(FONT, 70)
    ImageDraw.Draw(image).text((150, 300), "GIAY TIEP NHAN HO SO", font=font, fill=0)
    for turned in (0, 180):
        result = _page(_png(image.rotate(turned)), CountingEngine(), tmp_path)
        assert result.rotation == turned, turned
        assert "TIEP NHAN" in result.text


def test_scribbles_are_not_words() -> None:
    from ocr.tesseract import Word, is_noise

    def word(text: str, confidence: float) -> Word:
        return Word(text=text, confidence=confidence, left=0, top=0, width=1, height=1, line_key=(1, 1, 1))

    assert is_noise(word("—=--.", 0.3)) and is_noise(word("~Ï", 0.2))
    assert not is_noise(word("Hạnh", 0.3)), "a badly read word is still text"
    assert not is_noise(word("-", 0.9)), "a confident dash is punctuation"
