"""Printable separator sheets: staff put one on top of each dossier before scanning a whole stack.

`separator_sheet_pdf(code)` makes the A4 page; its QR code holds `classifiers.fields.separator_payload(code)`,
which `classifiers.fields.dossier_start` recognises when `ingest.stacks.scan_stack` walks the stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import segno
from fpdf import FPDF

from classifiers.fields import separator_payload
from ingest.errors import IngestError
from ingest.intake import check_dossier_code

FONT_MISSING = "separator.font_missing"

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu (fonts-dejavu-core)
    Path("/usr/share/fonts/dejavu"),  # Fedora, Arch
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)
"""Where DejaVu Sans is looked for: it covers every Vietnamese letter with its tone marks."""
_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")

TITLE = "TỜ PHÂN CÁCH HỒ SƠ"
INSTRUCTION = "Đặt tờ này lên trước hồ sơ khi quét; các trang sau nó thuộc hồ sơ này."
QR_SIDE_MM = 90.0
"""Side of the QR code: big enough to read from a 150 dpi scan of a crumpled or skewed sheet."""
_PAGE_W, _MARGIN = 210.0, 15.0
_FIXED_DATE = datetime(2020, 1, 1, tzinfo=UTC)
"""Written as creation date so the same code always gives the same bytes."""


def separator_sheet_pdf(code: str, *, font_dirs: Sequence[Path] = FONT_DIRS) -> bytes:
    """An A4 PDF page to print and lay on top of dossier `code` before scanning a stack.

    Raises `input.bad_dossier_code` for an unusable code, `separator.font_missing` without DejaVu Sans.
    """
    code = check_dossier_code(code)
    regular, bold = _font_files(font_dirs)
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(f"{TITLE} {code}")
    pdf.set_lang("vi")
    pdf.add_font("dejavu", "", str(regular))
    pdf.add_font("dejavu", "B", str(bold))
    pdf.add_page()
    _centered(pdf, TITLE, top=28.0, style="B", size=30.0)
    _draw_qr(pdf, separator_payload(code), top=52.0, side=QR_SIDE_MM)
    _centered(pdf, "Mã hồ sơ:", top=160.0, style="", size=16.0)
    _centered(pdf, code, top=172.0, style="B", size=34.0)
    _centered(pdf, INSTRUCTION, top=200.0, style="", size=13.0)
    return bytes(pdf.output())


def _font_files(font_dirs: Sequence[Path]) -> tuple[Path, Path]:
    """DejaVu Sans regular and bold from the first folder holding both."""
    for folder in font_dirs:
        paths = tuple(folder / name for name in _FONT_FILES)
        if all(path.is_file() for path in paths):
            return paths[0], paths[1]
    searched = ", ".join(str(folder) for folder in font_dirs)
    raise IngestError(
        f"DejaVu Sans is not installed (looked in {searched}): apt-get install fonts-dejavu-core",
        code=FONT_MISSING,
    )


def _centered(pdf: FPDF, text: str, *, top: float, style: str, size: float) -> None:
    """One line centred across the page, shrunk until it fits between the margins."""
    pdf.set_font("dejavu", style, size)
    width = pdf.get_string_width(text)
    room = _PAGE_W - 2 * _MARGIN
    if width > room:
        size *= room / width
        pdf.set_font("dejavu", style, size)
        width = pdf.get_string_width(text)
    pdf.text((_PAGE_W - width) / 2, top + size * 0.3528, text)  # baseline about one cap height down


def _draw_qr(pdf: FPDF, payload: str, *, top: float, side: float) -> None:
    """Draw the QR code as filled vector modules (sharp at any print or scan resolution)."""
    matrix = segno.make_qr(payload, error="h").matrix
    module = side / len(matrix)
    left = (_PAGE_W - side) / 2
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            run = column
            while run < len(cells) and cells[run]:
                run += 1
            pdf.rect(left + column * module, top + row * module, (run - column) * module, module, style="F")
            column = run
