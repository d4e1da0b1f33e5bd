"""Deterministic synthetic scans of Vietnamese administrative papers, with their ground-truth text.

Used by `make demo` (sample scans), pytest fixtures and the OCR accuracy benchmark, so that nobody needs real
citizens' papers. Every page, person and defect comes from a seed: the same seed gives identical bytes.

    python examples/synth.py OUT_DIR        (or: python -m examples.synth OUT_DIR)
"""

from __future__ import annotations

import io
import re
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import img2pdf
import numpy as np
import segno
from fpdf import FPDF
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

Pixels = NDArray[np.uint8]
PageKind = Literal["receipt", "form", "component", "blank"]
Variant = Literal["regular", "bold", "italic", "bolditalic"]
Style = Literal["title", "head", "head_rule", "body", "bold", "italic", "note", "sign"]
Align = Literal["left", "center", "right"]
Column = Literal["full", "left", "right"]
Container = Literal["tiff", "jpeg", "png", "pdf-scan", "pdf-text", "zip", "empty", "truncated"]

A4_PT = (595.28, 841.89)
MARGINS_PT = (85.0, 57.0, 42.5, 57.0)  # left 30 mm, top 20, right 15, bottom 20: Decree 30/2020 ranges
LINE_SPACING = 1.35
INK, PAPER, PEN = (22, 22, 26), (251, 250, 246), (30, 45, 135)
NATIONAL_NAME, MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"
RECEIPT_TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
EXAMPLE_DPI = 200  # the lowest resolution the scanning rules allow: small demo files
EXAMPLE_JPEG_QUALITY = 85

QR_SEPARATOR = "|"
QR_PAYLOAD_FORMAT = "{dossier_code}|{procedure_code}|{applicant_id}|{document_name}"
"""What a receipt's QR code holds (UTF-8, byte mode): four fields joined by `|`, e.g.
`000.00.21.H61-260205-0001|1.001612|086190012345|GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ`."""
DOSSIER_CODE_RE = re.compile(r"(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})")
"""Dossier code `AAA.BB.CC.Xnn-YYMMDD-NNNN` (Circular 01/2018/TT-VPCP Art. 19)."""
AGENCY_CODES = ("000.00.21.H61", "000.20.31.H61", "000.24.35.H61")  # README's example, then made-up ones

_FONTS: dict[str, tuple[str, str, tuple[str, ...]]] = {  # family: folder, Debian package, 4 variant files
    "serif": ("/usr/share/fonts/truetype/liberation2", "fonts-liberation2", tuple(
        f"LiberationSerif-{v}.ttf" for v in ("Regular", "Bold", "Italic", "BoldItalic"))),
    "sans": ("/usr/share/fonts/truetype/liberation2", "fonts-liberation2", tuple(
        f"LiberationSans-{v}.ttf" for v in ("Regular", "Bold", "Italic", "BoldItalic"))),
    # fonts-dejavu-core has no serif italic: the born-digital PDF prints its italics upright.
    "dejavu": ("/usr/share/fonts/truetype/dejavu", "fonts-dejavu-core",
               ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")),
}
_VARIANTS: tuple[Variant, ...] = ("regular", "bold", "italic", "bolditalic")
_STYLES: dict[Style, tuple[Variant, float]] = {  # variant and size in points
    "title": ("bold", 14.0), "head": ("bold", 12.0), "head_rule": ("bold", 12.5), "body": ("regular", 12.0),
    "bold": ("bold", 12.0), "italic": ("italic", 12.0), "note": ("italic", 10.5), "sign": ("regular", 12.0),
}


class FontMissingError(FileNotFoundError):
    """A TrueType font the generator draws with is not installed; the message names the apt package."""


@dataclass(frozen=True)
class Procedure:
    """The slice of procedures.yaml a template needs, plus whom the form is addressed to."""

    id: str
    code: str
    name: str
    form_title: str
    components: tuple[str, ...]
    addressee: str  # "{unit}" becomes the applicant's commune or ward
    form_note: str


_BTP = "Mẫu ban hành kèm theo Thông tư số 04/2020/TT-BTP"
_CT01 = "Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA"
PROCEDURES: dict[str, Procedure] = {p.id: p for p in (
    Procedure("khai-sinh", "1.001193", "Đăng ký khai sinh", "TỜ KHAI ĐĂNG KÝ KHAI SINH", ("GIẤY CHỨNG SINH",),
              "Ủy ban nhân dân {unit}", _BTP),
    Procedure("ket-hon", "1.000894", "Đăng ký kết hôn", "TỜ KHAI ĐĂNG KÝ KẾT HÔN",
              ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN",), "Ủy ban nhân dân {unit}", _BTP),
    Procedure("thuong-tru", "1.004222", "Đăng ký thường trú", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
              ("GIẤY TỜ, TÀI LIỆU CHỨNG MINH CHỖ Ở HỢP PHÁP",), "Công an {unit}", _CT01),
    Procedure("tam-tru", "1.004194", "Đăng ký tạm trú", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", (),
              "Công an {unit}", _CT01),
    Procedure("ho-kinh-doanh", "1.001612", "Đăng ký thành lập hộ kinh doanh",
              "GIẤY ĐỀ NGHỊ ĐĂNG KÝ HỘ KINH DOANH", ("BIÊN BẢN HỌP THÀNH VIÊN HỘ GIA ĐÌNH",),
              "Phòng Kinh tế {unit}",
              "Phụ lục III-1 ban hành kèm theo Nghị định số 01/2021/NĐ-CP"),
    Procedure("dang-ky-dat-dai-lan-dau", "1.013978",
              "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho hộ gia đình, cá nhân",
              "ĐƠN ĐĂNG KÝ ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT", (), "Văn phòng đăng ký đất đai tỉnh Vĩnh Long",
              "Mẫu số 04/ĐK ban hành kèm theo Nghị định số 101/2024/NĐ-CP"),
)}
"""Procedures with a form template; ids, codes, names and titles as in the domain catalog."""

# Former provinces merged into Vĩnh Long on 1 July 2025: name, CCCD province code, today's communes/wards,
# old districts (still written on older papers as birthplace or home town).
_PROVINCES = (
    ("Vĩnh Long", "086", ("phường Thanh Đức", "phường Long Châu", "phường Phước Hậu", "xã Long Hồ",
                          "xã Mang Thít", "xã Tam Bình", "xã Trà Ôn", "xã Vũng Liêm"),
     ("huyện Long Hồ", "huyện Mang Thít", "huyện Tam Bình", "huyện Trà Ôn", "thị xã Bình Minh")),
    ("Trà Vinh", "084", ("phường Trà Vinh", "phường Nguyệt Hóa", "xã Càng Long", "xã Cầu Kè", "xã Tiểu Cần",
                         "xã Cầu Ngang", "xã Trà Cú"),
     ("huyện Càng Long", "huyện Cầu Kè", "huyện Tiểu Cần", "huyện Cầu Ngang", "huyện Trà Cú")),
    ("Bến Tre", "083", ("phường Bến Tre", "phường An Hội", "phường Phú Khương", "xã Ba Tri", "xã Bình Đại",
                        "xã Giồng Trôm", "xã Mỏ Cày", "xã Chợ Lách"),
     ("huyện Ba Tri", "huyện Bình Đại", "huyện Giồng Trôm", "huyện Mỏ Cày Nam", "huyện Chợ Lách")),
)
_SURNAMES = ("Nguyễn", "Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi", "Đỗ",
             "Hồ", "Ngô", "Dương", "Lâm", "Thạch", "Sơn", "Kim")
_MIDDLE = {False: ("Văn", "Minh", "Hoàng", "Quốc", "Hữu", "Thanh", "Đức", "Văn Minh"),
           True: ("Thị", "Ngọc", "Thị Thu", "Thị Mỹ", "Kim", "Thanh", "Thị Ngọc")}
_GIVEN = {False: ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khang", "Long", "Nam", "Phúc", "Quang",
                  "Tài", "Thắng", "Trí", "Tuấn", "Vinh", "Lộc", "Nghĩa"),
          True: ("Anh", "Châu", "Diễm", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nhung", "Phương",
                 "Thảo", "Trang", "Tuyết", "Vy", "Yến", "Hằng", "Nguyệt")}
_STREETS = ("đường Phạm Thái Bường", "đường 2 Tháng 9", "đường Trần Phú", "đường Nguyễn Huệ",
            "đường Hùng Vương", "đường Lê Lợi", "đường Nguyễn Đình Chiểu", "đường Đồng Khởi")
_HAMLETS = ("ấp Phú Hòa", "ấp Tân Thuận", "ấp Long Bình", "ấp Hòa Lợi", "ấp An Thạnh", "ấp Mỹ Hưng",
            "ấp Bình Thành", "ấp Phước Thới")


@dataclass(frozen=True)
class Person:
    """A synthetic citizen; `id_number` is a well-formed 12-digit CCCD for `birth` and `female`."""

    name: str
    female: bool
    birth: date
    id_number: str
    birth_province: str
    unit: str
    address: str
    hometown: str
    phone: str


@dataclass(frozen=True)
class _Facts:  # what the pages of one dossier share, so its receipt and form name the same people
    procedure: Procedure
    dossier_code: str
    received: date
    signed: date
    applicant: Person
    partner: Person


def _rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator for one purpose of one seed (crc32, unlike `hash`, is stable across processes)."""
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _long_date(d: date) -> str:
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def cccd_number(rng: np.random.Generator, province_code: str, birth_year: int, female: bool) -> str:
    """12-digit personal ID: province of birth registration, century/sex digit, 2-digit year, 6 digits."""
    century = (birth_year // 100 - 19) * 2 + int(female)
    if not 0 <= century <= 9:
        raise ValueError(f"birth year {birth_year} has no century digit")
    return f"{province_code}{century}{birth_year % 100:02d}{int(rng.integers(0, 1_000_000)):06d}"


def tax_code(rng: np.random.Generator, prefix: str = "15") -> str:
    """10-digit MST: 2-digit province prefix, 7 digits, check digit (weights 31…3, `10 - sum mod 11`)."""
    while True:
        body = prefix + f"{int(rng.integers(1, 10_000_000)):07d}"
        total = sum(w * int(c) for w, c in zip((31, 29, 23, 19, 17, 13, 7, 5, 3), body, strict=True))
        if total % 11:  # remainder 0 would need a check "digit" of 10: no valid MST has that body
            return body + str(10 - total % 11)


def _person(rng: np.random.Generator, on: date, ages: tuple[int, int], female: bool | None = None,
            surname: str | None = None, unit: str | None = None) -> Person:
    female = bool(rng.random() < 0.5) if female is None else female
    province, code, units, districts = _PROVINCES[int(rng.integers(len(_PROVINCES)))]
    birth = date(on.year - int(rng.integers(ages[0], ages[1] + 1)), 1, 1) + timedelta(int(rng.integers(365)))
    name = f"{surname or _pick(rng, _SURNAMES)} {_pick(rng, _MIDDLE[female])} {_pick(rng, _GIVEN[female])}"
    unit = unit or _pick(rng, units)
    place = f"Số {int(rng.integers(1, 250))}, {_pick(rng, _STREETS)}" if unit.startswith("phường") else \
        _pick(rng, _HAMLETS)
    phone = f"0{_pick(rng, ('90', '91', '93', '94', '96', '97', '98', '86', '70', '77', '79'))}"
    return Person(name, female, birth, cccd_number(rng, code, birth.year, female), province, unit,
                  f"{place}, {unit}, tỉnh Vĩnh Long", f"{_pick(rng, districts)}, tỉnh {province}",
                  f"{phone}{int(rng.integers(0, 10_000_000)):07d}")


def _facts(procedure_id: str, seed: int, dossier_code: str | None) -> _Facts:
    if procedure_id not in PROCEDURES:
        raise ValueError(f"no template for procedure {procedure_id!r}; known: {', '.join(PROCEDURES)}")
    rng = _rng(seed, procedure_id, "facts")
    if dossier_code is None:
        received = date(2025, 7, 1) + timedelta(int(rng.integers(0, 270)))
        dossier_code = f"{_pick(rng, AGENCY_CODES)}-{received:%y%m%d}-{int(rng.integers(1, 400)):04d}"
    elif match := DOSSIER_CODE_RE.fullmatch(dossier_code):
        received = datetime.strptime(match[2], "%y%m%d").date()
    else:
        raise ValueError(f"dossier code {dossier_code!r} is not AAA.BB.CC.Xnn-YYMMDD-NNNN")
    ages = {"khai-sinh": (21, 40), "ket-hon": (21, 38)}.get(procedure_id, (22, 72))  # men marry at 20+
    applicant = _person(rng, received, ages)
    partner = _person(rng, received, ages, female=not applicant.female)
    return _Facts(PROCEDURES[procedure_id], dossier_code, received,
                  received - timedelta(int(rng.integers(0, 3))), applicant, partner)


@dataclass(frozen=True)
class Item:
    """One paragraph of a template; the layout wraps it and every drawn line is a ground-truth line."""

    text: str
    style: Style = "body"
    align: Align = "left"
    column: Column = "full"  # a run of left/right items is set side by side; Item("") ends a run
    gap: float = 0.0  # blank space before, in body lines


def _person_lines(p: Person, number: int = 0) -> list[str]:
    labels = ("Họ, chữ đệm, tên", "Ngày, tháng, năm sinh", "Giới tính", "Số định danh cá nhân", "Nơi cư trú")
    values = (p.name.upper(), f"{p.birth:%d/%m/%Y}", "Nữ" if p.female else "Nam", p.id_number, p.address)
    return [f"{f'{number + i}. ' if number else ''}{label}: {value}"
            for i, (label, value) in enumerate(zip(labels, values, strict=True))]


_SIGN_NOTE = "(Ký, ghi rõ họ, chữ đệm, tên)"


def _signature(place: str, *roles: tuple[str, str], note: str = _SIGN_NOTE) -> list[Item]:
    """Place and date over the right column, then one signing block per (title, name), side by side."""
    items = [Item(place, "italic", "center", "right", gap=0.8), Item("")] if place else []
    sides: tuple[Column, ...] = ("right",) if len(roles) == 1 else ("left", "right")
    for (title, name), side in zip(roles, sides, strict=True):
        items += [Item(title, "bold", "center", side, gap=0.0 if place else 0.8),
                  Item(note, "note", "center", side), Item("", "sign", "center", side),
                  Item(name, "bold", "center", side)]
    return items


@dataclass(frozen=True)
class _Newborn:  # the child of a khai-sinh dossier
    name: str
    girl: bool
    born: date


@dataclass(frozen=True)
class _Business:  # the household business of a ho-kinh-doanh dossier
    name: str
    activity: str
    tax_code: str
    capital: int
    workers: int


def _newborn(f: _Facts, rng: np.random.Generator) -> _Newborn:
    """The child; drawn first from the form's generator, so the birth certificate names the same child."""
    father = f.partner if f.applicant.female else f.applicant
    girl = bool(rng.random() < 0.5)
    name = f"{father.name.split()[0]} {_pick(rng, _MIDDLE[girl])} {_pick(rng, _GIVEN[girl])}"
    return _Newborn(name, girl, f.received - timedelta(int(rng.integers(3, 60))))


def _household_head(f: _Facts, rng: np.random.Generator) -> Person:
    """CT01's head of household (who owns the home); drawn first from the form's generator, so the
    lodging agreement of the same dossier names the same owner."""
    a = f.applicant
    return _person(rng, f.received, (35, 75), surname=a.name.split()[0], unit=a.unit)


def _business(f: _Facts, rng: np.random.Generator) -> _Business:
    """The business applied for; drawn first from the form's generator, so the members' minutes agree."""
    trade, activity = [
        ("TẠP HÓA", "Bán lẻ lương thực, thực phẩm trong các cửa hàng chuyên doanh"),
        ("CÀ PHÊ", "Dịch vụ phục vụ đồ uống"), ("SỬA XE", "Bảo dưỡng, sửa chữa mô tô, xe máy"),
        ("CƠM TẤM", "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động"),
        ("VẬT TƯ NÔNG NGHIỆP", "Bán buôn phân bón, thuốc trừ sâu dùng trong nông nghiệp"),
    ][int(rng.integers(5))]
    mst = tax_code(rng, _pick(rng, ("15", "21", "13")))
    capital = int(rng.integers(5, 80)) * 10_000_000
    return _Business(f"{trade} {f.applicant.name.split()[-1].upper()}", activity, mst, capital,
                     int(rng.integers(1, 9)))


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def _form_fields(f: _Facts, rng: np.random.Generator) -> list[Item | str]:
    """The body of each procedure's application form (wording after the official templates)."""
    a, b, pid, sign = f.applicant, f.partner, f.procedure.id, f"Vĩnh Long, {_long_date(f.signed)}"
    if pid == "khai-sinh":
        mother, father = (a, b) if a.female else (b, a)
        child = _newborn(f, rng)
        return [Item("Người yêu cầu:", "bold"), *_person_lines(a),
                f"Quan hệ với người được khai sinh: {'Mẹ' if a.female else 'Cha'}",
                Item("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", "bold", gap=0.3),
                f"Họ, chữ đệm, tên: {child.name.upper()}", f"Ngày, tháng, năm sinh: {child.born:%d/%m/%Y}",
                f"Giới tính: {'Nữ' if child.girl else 'Nam'}; Dân tộc: Kinh; Quốc tịch: Việt Nam",
                f"Nơi sinh: Bệnh viện Đa khoa tỉnh {a.birth_province}", f"Quê quán: {father.hometown}",
                f"Họ, chữ đệm, tên người mẹ: {mother.name.upper()}; năm sinh: {mother.birth.year}",
                f"Họ, chữ đệm, tên người cha: {father.name.upper()}; năm sinh: {father.birth.year}",
                Item("Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật và chịu trách "
                     "nhiệm trước pháp luật về cam đoan của mình.", gap=0.3),
                *_signature(sign, ("NGƯỜI YÊU CẦU", a.name))]
    if pid == "ket-hon":
        bride, groom = (a, b) if a.female else (b, a)
        return [Item("Thông tin bên nữ:", "bold"), *_person_lines(bride), "Kết hôn lần thứ: Nhất",
                Item("Thông tin bên nam:", "bold", gap=0.3), *_person_lines(groom), "Kết hôn lần thứ: Nhất",
                Item("Chúng tôi cam đoan những lời khai trên đây là đúng sự thật, việc kết hôn của chúng tôi "
                     "là tự nguyện, không vi phạm quy định của Luật Hôn nhân và gia đình Việt Nam.", gap=0.3),
                *_signature(sign, ("BÊN NỮ", bride.name), ("BÊN NAM", groom.name))]
    if pid in ("thuong-tru", "tam-tru"):  # CT01: only the requested content tells the two apart
        head = _household_head(f, rng)
        content = (f"Đăng ký thường trú vào chỗ ở hợp pháp tại {head.address}." if pid == "thuong-tru" else
                   f"Đăng ký tạm trú tại {head.address}; thời hạn tạm trú đến ngày "
                   f"{f.received + timedelta(int(rng.integers(180, 720))):%d/%m/%Y}.")
        return [*_person_lines(a, 1), f"6. Số điện thoại liên hệ: {a.phone}",
                f"7. Họ, chữ đệm, tên chủ hộ: {head.name.upper()}",
                f"8. Mối quan hệ với chủ hộ: {_pick(rng, ('Con', 'Cháu', 'Em ruột'))}",
                f"9. Số định danh cá nhân của chủ hộ: {head.id_number}", f"10. Nội dung đề nghị: {content}",
                "11. Những thành viên trong hộ gia đình cùng thay đổi: Không",
                *_signature(sign, ("Ý KIẾN CỦA CHỦ HỘ", head.name), ("NGƯỜI KÊ KHAI", a.name))]
    if pid == "ho-kinh-doanh":
        business = _business(f, rng)
        return [Item("Chủ hộ kinh doanh:", "bold"), *_person_lines(a), f"Điện thoại: {a.phone}",
                f"Mã số thuế cá nhân: {business.tax_code}",
                Item("Đăng ký hộ kinh doanh với các nội dung sau:", "bold", gap=0.3),
                f"1. Tên hộ kinh doanh: {business.name}",
                f"2. Địa chỉ trụ sở hộ kinh doanh: {a.address}",
                f"3. Ngành, nghề kinh doanh: {business.activity}",
                f"4. Vốn kinh doanh: {_money(business.capital)} đồng",
                f"5. Số lượng lao động: {business.workers} người",
                Item("Tôi cam kết về tính hợp pháp, chính xác, trung thực và chịu trách nhiệm trước pháp "
                     "luật về nội dung đăng ký hộ kinh doanh.", gap=0.3),
                *_signature(sign, ("CHỦ HỘ KINH DOANH", a.name))]
    use = _pick(rng, ("Đất ở tại nông thôn", "Đất trồng cây lâu năm", "Đất trồng lúa"))
    return [Item("I. PHẦN KÊ KHAI CỦA NGƯỜI ĐĂNG KÝ", "bold"), Item("1. Người sử dụng đất:", "bold"),
            *_person_lines(a), Item("2. Thửa đất đăng ký:", "bold", gap=0.3),
            f"Thửa đất số: {int(rng.integers(1, 900))}; Tờ bản đồ số: {int(rng.integers(1, 60))}",
            f"Địa chỉ thửa đất: {_pick(rng, _HAMLETS)}, {a.unit}, tỉnh Vĩnh Long",
            f"Diện tích: {int(rng.integers(80, 2500))},{int(rng.integers(10))} m²; hình thức sử dụng: riêng",
            f"Mục đích sử dụng: {use}", f"Thời điểm bắt đầu sử dụng: năm {int(rng.integers(1980, 2014))}",
            f"Nguồn gốc sử dụng: {_pick(rng, ('Nhận chuyển nhượng', 'Được cha mẹ tặng cho', 'Khai hoang'))}",
            "3. Đề nghị: Cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
            Item("Tôi cam đoan nội dung kê khai trên đơn là đúng sự thật, nếu sai tôi hoàn toàn chịu trách "
                 "nhiệm trước pháp luật.", gap=0.3), *_signature(sign, ("NGƯỜI VIẾT ĐƠN", a.name))]


def _form_items(f: _Facts, rng: np.random.Generator) -> list[Item | str]:
    p = f.procedure
    return [Item(p.form_note, "note", "right"), Item(NATIONAL_NAME, "head", "center", gap=0.3),
            Item(MOTTO, "head_rule", "center"), Item(p.form_title, "title", "center", gap=1.0),
            Item(f"Kính gửi: {p.addressee.format(unit=f.applicant.unit)}", align="center", gap=0.4),
            *_form_fields(f, rng)]


def _receipt_items(f: _Facts, rng: np.random.Generator) -> list[Item | str]:
    a, p = f.applicant, f.procedure
    days = int(rng.choice((3, 5, 7, 10, 15)))
    due, left = f.received, days
    while left:  # working days
        due += timedelta(1)
        left -= due.weekday() < 5
    at = f"{int(rng.integers(7, 11)):02d} giờ {int(rng.integers(0, 60)):02d} phút"
    officer = _person(rng, f.received, (24, 55))
    return [Item("UBND TỈNH VĨNH LONG", "head", "center", "left"),
            Item("TRUNG TÂM PHỤC VỤ", "head", "center", "left"),
            Item("HÀNH CHÍNH CÔNG", "head_rule", "center", "left"),
            Item(NATIONAL_NAME, "head", "center", "right"), Item(MOTTO, "head_rule", "center", "right"),
            Item(f"Vĩnh Long, {_long_date(f.received)}", "italic", "center", "right", gap=0.2),
            Item(RECEIPT_TITLE, "title", "center", gap=1.0),
            Item(f"Mã hồ sơ: {f.dossier_code}", "bold", "center"),
            Item("(Liên: Giao người nộp hồ sơ)", "note", "center"),
            Item("Trung tâm Phục vụ hành chính công tỉnh Vĩnh Long tiếp nhận hồ sơ của:", gap=0.6),
            f"Ông (Bà): {a.name}", f"Số định danh cá nhân: {a.id_number}", f"Địa chỉ: {a.address}",
            f"Số điện thoại: {a.phone}", f"Nội dung yêu cầu giải quyết: {p.name}",
            "1. Thành phần hồ sơ nộp gồm:",
            *(f"- {t[0]}{t[1:].lower()}: 01 bản chính" for t in (p.form_title, *p.components)),
            "2. Số lượng hồ sơ: 01 (bộ)",
            f"3. Thời gian giải quyết hồ sơ theo quy định là: {days:02d} ngày làm việc",
            f"4. Thời gian nhận hồ sơ: {at}, {_long_date(f.received)}",
            f"5. Thời gian trả kết quả giải quyết hồ sơ: {at}, {_long_date(due)}",
            "6. Đăng ký nhận kết quả tại: Trung tâm Phục vụ hành chính công tỉnh Vĩnh Long",
            f"Vào Sổ theo dõi hồ sơ, Quyển số: {f.received:%m}, Số thứ tự: {f.dossier_code[-4:]}",
            *_signature("", ("NGƯỜI NỘP HỒ SƠ", a.name), ("NGƯỜI TIẾP NHẬN HỒ SƠ", officer.name),
                        note="(Ký và ghi rõ họ tên)")]


def _birth_certificate(f: _Facts, title: str, rng: np.random.Generator,
                       form_rng: np.random.Generator) -> list[Item | str]:
    """GIẤY CHỨNG SINH: issued by the hospital where the child was born (after the Ministry of Health's
    template): the mother, the birth, the child, the name the parents mean to give."""
    a, b = f.applicant, f.partner
    mother, father = (a, b) if a.female else (b, a)
    child = _newborn(f, form_rng)
    hospital = f"Bệnh viện Đa khoa tỉnh {a.birth_province}"  # where the form says the child was born
    issued = min(f.received, child.born + timedelta(int(rng.integers(1, 4))))
    at = f"{int(rng.integers(0, 24)):02d} giờ {int(rng.integers(0, 60)):02d} phút"
    births, grams = int(rng.integers(1, 4)), int(rng.integers(26, 41)) * 100
    midwife = _person(rng, f.received, (25, 55), female=True)
    director = _person(rng, f.received, (40, 60))
    return [Item("SỞ Y TẾ TỈNH VĨNH LONG", "head", "center", "left"),
            Item(hospital.upper(), "head_rule", "center", "left"),
            Item(f"Số: {int(rng.integers(100, 3000))}/GCS", align="center", column="left", gap=0.2),
            Item(NATIONAL_NAME, "head", "center", "right"), Item(MOTTO, "head_rule", "center", "right"),
            Item(title, "title", "center", gap=1.0),
            Item(f"Quyển số: {int(rng.integers(1, 20)):02d}/{issued.year}", align="center"),
            Item(f"Họ, chữ đệm, tên mẹ: {mother.name.upper()}", gap=0.4),
            f"Ngày, tháng, năm sinh: {mother.birth:%d/%m/%Y}; Dân tộc: Kinh",
            f"Số CCCD/Hộ chiếu: {mother.id_number}", f"Nơi cư trú: {mother.address}",
            f"Đã sinh con vào lúc: {at}, {_long_date(child.born)}", f"Tại: {hospital}",
            f"Số lần sinh: {births:02d}; Số con hiện sống: {births:02d}; Số con trong lần sinh này: 01",
            f"Giới tính của con: {'Nữ' if child.girl else 'Nam'}; Cân nặng: {_money(grams)} gam",
            "Hiện trạng sức khỏe của con khi cấp giấy: Bình thường",
            f"Dự định đặt tên con: {child.name.upper()}", f"Họ, chữ đệm, tên cha: {father.name.upper()}",
            *_signature(f"Vĩnh Long, {_long_date(issued)}", ("NGƯỜI ĐỠ ĐẺ", midwife.name),
                        ("THỦ TRƯỞNG CƠ SỞ Y TẾ", director.name), note="(Ký, ghi rõ họ, tên)")]


def _marital_status(f: _Facts, title: str, rng: np.random.Generator,
                    form_rng: np.random.Generator) -> list[Item | str]:
    """GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN: issued by the People's Committee of the commune where the
    applicant lives (after Circular 04/2020/TT-BTP), naming the intended spouse as its purpose."""
    a, b, unit = f.applicant, f.partner, f.applicant.unit
    issued = f.received - timedelta(int(rng.integers(5, 60)))
    since = date(issued.year - int(rng.integers(2, 15)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    chairman = _person(rng, f.received, (40, 62))
    sir, partner_sir = ("bà" if a.female else "ông"), ("bà" if b.female else "ông")
    return [Item("ỦY BAN NHÂN DÂN", "head", "center", "left"),
            Item(unit.upper(), "head_rule", "center", "left"),
            Item(f"Số: {int(rng.integers(10, 900))}/UBND-XNTTHN", align="center", column="left", gap=0.2),
            Item(NATIONAL_NAME, "head", "center", "right"), Item(MOTTO, "head_rule", "center", "right"),
            Item(f"{unit[0].upper()}{unit[1:]}, {_long_date(issued)}", "italic", "center", "right", gap=0.2),
            Item(title, "title", "center", gap=1.0),
            Item(f"ỦY BAN NHÂN DÂN {unit.upper()}", "bold", "center", gap=0.4),
            Item(f"Xét đề nghị của {sir} {a.name} về việc cấp Giấy xác nhận tình trạng hôn nhân,", gap=0.3),
            Item("XÁC NHẬN:", "bold", "center"),
            f"Họ, chữ đệm, tên: {a.name.upper()}", f"Ngày, tháng, năm sinh: {a.birth:%d/%m/%Y}",
            f"Giới tính: {'Nữ' if a.female else 'Nam'}; Dân tộc: Kinh; Quốc tịch: Việt Nam",
            f"Số định danh cá nhân: {a.id_number}", f"Nơi cư trú: {a.address}",
            f"Trong thời gian cư trú tại {unit}, tỉnh Vĩnh Long từ ngày {since:%d/%m/%Y} đến ngày "
            f"{issued:%d/%m/%Y}", "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai.",
            Item(f"Mục đích sử dụng: Để làm thủ tục đăng ký kết hôn với {partner_sir} {b.name}, sinh ngày "
                 f"{b.birth:%d/%m/%Y}, Số định danh cá nhân: {b.id_number}, nơi cư trú: {b.address}."),
            f"Giấy này có giá trị sử dụng 06 tháng kể từ ngày cấp, đến ngày "
            f"{issued + timedelta(183):%d/%m/%Y}.",
            Item("Nơi nhận:", "bold", column="left", gap=0.8),
            Item("- Người yêu cầu;", "note", column="left"),
            Item("- Lưu: VT, hộ tịch.", "note", column="left"),
            Item("TM. ỦY BAN NHÂN DÂN", "bold", "center", "right", gap=0.8),
            Item("CHỦ TỊCH", "bold", "center", "right"),
            Item("(Ký, ghi rõ họ, chữ đệm, tên, đóng dấu)", "note", "center", "right"),
            Item("", "sign", "center", "right"), Item(chairman.name, "bold", "center", "right")]


def _lodging_agreement(f: _Facts, title: str, rng: np.random.Generator,
                       form_rng: np.random.Generator) -> list[Item | str]:
    """A lending agreement (văn bản cho mượn, cho ở nhờ chỗ ở hợp pháp), the usual proof of a lawful
    residence for đăng ký thường trú; the catalog's category title is its subtitle, as no paper prints it
    alone. The owner is the CT01 form's head of household."""
    a, owner = f.applicant, _household_head(f, form_rng)
    certificate = f"{_pick(rng, ('CS', 'CT', 'DA', 'DB', 'BĐ'))} {int(rng.integers(0, 1_000_000)):06d}"
    granted = date(int(rng.integers(2005, 2024)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    signed = f.signed - timedelta(int(rng.integers(1, 20)))
    return [Item(NATIONAL_NAME, "head", "center", gap=0.3), Item(MOTTO, "head_rule", "center"),
            Item("VĂN BẢN CHO MƯỢN, CHO Ở NHỜ CHỖ Ở HỢP PHÁP", "title", "center", gap=1.0),
            Item(f"({title[0]}{title[1:].lower()} để đăng ký cư trú)", "italic", "center"),
            Item(f"Kính gửi: Công an {owner.unit}", align="center", gap=0.4),
            Item("Bên cho mượn, cho ở nhờ (chủ sở hữu chỗ ở hợp pháp):", "bold", gap=0.3),
            *_person_lines(owner), Item("Bên mượn, ở nhờ:", "bold", gap=0.3), *_person_lines(a),
            Item("Hai bên thống nhất các nội dung sau:", "bold", gap=0.3),
            Item(f"1. Bên cho mượn đồng ý cho bên mượn được ở nhờ và đăng ký thường trú tại chỗ ở hợp pháp: "
                 f"{owner.address}."),
            Item("2. Chỗ ở thuộc quyền sở hữu của bên cho mượn theo Giấy chứng nhận quyền sử dụng đất, "
                 f"quyền sở hữu nhà ở và tài sản khác gắn liền với đất số {certificate}, cấp ngày "
                 f"{granted:%d/%m/%Y}; diện tích cho ở nhờ: {int(rng.integers(20, 120))} m²."),
            Item("3. Thời hạn cho mượn, cho ở nhờ: không xác định thời hạn. Văn bản được lập thành 02 bản có "
                 "giá trị như nhau, mỗi bên giữ 01 bản."),
            *_signature(f"Vĩnh Long, {_long_date(signed)}", ("BÊN MƯỢN", a.name),
                        ("BÊN CHO MƯỢN", owner.name))]


def _household_minutes(f: _Facts, title: str, rng: np.random.Generator,
                       form_rng: np.random.Generator) -> list[Item | str]:
    """BIÊN BẢN HỌP THÀNH VIÊN HỘ GIA ĐÌNH: the household members agree to found the business of the
    form (Decree 01/2021/NĐ-CP) and name the applicant its owner; an adult child joins older couples."""
    a, b, business = f.applicant, f.partner, _business(f, form_rng)
    father = b if a.female else a
    members = [(a, "chủ hộ"), (b, "vợ" if b.female else "chồng")]
    younger = f.received.year - max(a.birth.year, b.birth.year)
    if younger >= 45 and rng.random() < 0.6:
        members.append((_person(rng, f.received, (18, younger - 25), surname=father.name.split()[0]), "con"))
    met = f.signed - timedelta(int(rng.integers(1, 15)))
    hour, minute = int(rng.integers(7, 16)), int(rng.integers(0, 60))
    sir = "bà" if a.female else "ông"
    roster = [f"{number}. {p.name.upper()}, sinh ngày {p.birth:%d/%m/%Y} ({role}), CCCD: {p.id_number}"
              for number, (p, role) in enumerate(members, start=1)]
    third = members[2][0].name if len(members) > 2 else None  # signs under the second member
    more = [Item("", "sign", "center", "left"), Item(third, "bold", "center", "left")] if third else []
    return [Item(NATIONAL_NAME, "head", "center", gap=0.3), Item(MOTTO, "head_rule", "center"),
            Item(title, "title", "center", gap=1.0),
            Item("(V/v thành lập hộ kinh doanh)", "italic", "center"),
            Item(f"Hôm nay, vào lúc {hour:02d} giờ {minute:02d} phút, {_long_date(met)}, tại {a.address}, "
                 "các thành viên hộ gia đình gồm có:", gap=0.4), *roster,
            Item("Các thành viên nhất trí thành lập hộ kinh doanh với các nội dung sau:", "bold", gap=0.3),
            f"1. Tên hộ kinh doanh: {business.name}", f"2. Địa chỉ trụ sở: {a.address}",
            f"3. Ngành, nghề kinh doanh: {business.activity}",
            f"4. Vốn kinh doanh: {_money(business.capital)} đồng, do các thành viên cùng góp",
            f"5. Cử {sir} {a.name}, Mã số thuế cá nhân: {business.tax_code}, làm chủ hộ kinh doanh.",
            Item(f"Cuộc họp kết thúc lúc {hour + 1:02d} giờ {minute:02d} phút cùng ngày; các thành viên nhất "
                 "trí và cùng ký tên."),
            *_signature("", ("CÁC THÀNH VIÊN", b.name), ("CHỦ HỘ", a.name), note="(Ký và ghi rõ họ tên)"),
            *more]


ComponentBuilder = Callable[[_Facts, str, np.random.Generator, np.random.Generator], list[Item | str]]
_COMPONENTS: dict[str, ComponentBuilder] = {
    "GIẤY CHỨNG SINH": _birth_certificate,
    "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN": _marital_status,
    "GIẤY TỜ, TÀI LIỆU CHỨNG MINH CHỖ Ở HỢP PHÁP": _lodging_agreement,
    "BIÊN BẢN HỌP THÀNH VIÊN HỘ GIA ĐÌNH": _household_minutes,
}
"""How each component title of `PROCEDURES` is drawn: (facts, title, own generator, the form's generator)."""


Measure = Callable[[str, Variant, float], float]  # width in points of a text, font variant, size in points


@dataclass(frozen=True)
class _Placed:
    text: str
    style: Style
    variant: Variant
    size: float
    x: float
    y: float  # top of the line box, points from the top of the page
    width: float


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and measure(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _layout(items: Sequence[Item | str], measure: Measure, top: float) -> list[_Placed]:
    """Flow items down an A4 page in points; runs of left/right items form a two-column band."""
    left, right = MARGINS_PT[0], A4_PT[0] - MARGINS_PT[2]
    split = left + 0.42 * (right - left)
    boxes = {"full": (left, right), "left": (left, split), "right": (split, right)}
    paras = [Item(i) if isinstance(i, str) else i for i in items]
    out: list[_Placed] = []

    def place(item: Item, y: float) -> float:
        (x0, x1), (variant, size) = boxes[item.column], _STYLES[item.style]
        y += item.gap * _STYLES["body"][1] * LINE_SPACING
        if item.style == "sign":
            out.append(_Placed("", "sign", variant, size, x0, y, x1 - x0))
            return y + 3.0 * size * LINE_SPACING
        text = unicodedata.normalize("NFC", item.text)
        if item.style in ("head", "head_rule"):  # header lines stay on one line, shrunk if they must
            while size > 7 and measure(text, variant, size) > x1 - x0:
                size -= 0.5
        lines = [text] if item.style in ("head", "head_rule") else \
            _wrap(text, x1 - x0, lambda s: measure(s, variant, size))
        for line in lines:
            w = measure(line, variant, size)
            x = {"left": x0, "center": x0 + (x1 - x0 - w) / 2, "right": x1 - w}[item.align]
            out.append(_Placed(line, item.style, variant, size, x, y, w))
            y += size * (LINE_SPACING + (0.25 if item.style == "head_rule" else 0.0))
        return y

    y, i = top, 0
    while i < len(paras):
        if paras[i].column == "full":
            y, i = place(paras[i], y), i + 1
            continue
        j = next((k for k in range(i, len(paras)) if paras[k].column == "full"), len(paras))
        ends = [y]
        for side in ("left", "right"):
            yy = y
            for item in paras[i:j]:
                yy = place(item, yy) if item.column == side else yy
            ends.append(yy)
        y, i = max(ends), j
    if y > A4_PT[1] - MARGINS_PT[3] / 2:
        raise ValueError(f"template overflows the A4 page ({y:.0f} pt)")
    return out


def _stacked(items: Sequence[Item | str]) -> list[Item | str]:
    """Each run of left/right items laid out full-width, one after the other (left block first), so the
    drawn lines read top to bottom in the order a single-column OCR reading order gives them."""
    out: list[Item | str] = []
    run: list[Item] = []
    for item in [*items, None]:
        if isinstance(item, Item) and item.column != "full":
            run.append(item)
            continue
        out += [replace(i, column="full") for side in ("left", "right") for i in run if i.column == side]
        run = []
        if item is not None:
            out.append(item)
    return out


def _font_path(family: str, variant: Variant) -> Path:
    folder, package, files = _FONTS[family]
    path = Path(folder) / files[_VARIANTS.index(variant)]
    if not path.is_file():
        raise FontMissingError(f"font {path} is missing: install the Debian package {package} "
                               f"(apt-get install {package})")
    return path


@lru_cache(maxsize=128)
def _pil_font(family: str, variant: Variant, px: float) -> ImageFont.FreeTypeFont:
    # BASIC layout gives the same pixels with or without libraqm; NFC Vietnamese needs no shaping.
    return ImageFont.truetype(str(_font_path(family, variant)), px, layout_engine=ImageFont.Layout.BASIC)


def _draw_signature(draw: ImageDraw.ImageDraw, p: _Placed, scale: float, rng: np.random.Generator) -> None:
    t = np.linspace(0.0, 1.0, 240)  # a ballpoint scribble: two sine waves with a slant
    f1, f2, phase = rng.uniform(1.5, 3.5), rng.uniform(4.0, 7.0), rng.uniform(0, 6.3)
    width, height = 0.45 * p.width, 1.4 * p.size
    xs = p.x + (p.width - width) / 2 + width * (t + 0.06 * np.sin(2 * np.pi * f2 * t + phase))
    ys = p.y + 1.6 * p.size + height * (0.35 * np.sin(2 * np.pi * f1 * t + phase) - 0.25 * t)
    draw.line([(float(x) * scale, float(y) * scale) for x, y in zip(xs, ys, strict=True)], fill=PEN,
              width=max(2, round(0.9 * scale)), joint="curve")


def _render_image(items: Sequence[Item | str], *, dpi: int, family: str, rng: np.random.Generator,
                  qr_payload: str | None = None,
                  stacked: bool = False) -> tuple[Image.Image, tuple[str, ...]]:
    """Draw a template on an A4 sheet at `dpi`; returns the RGB page and the lines drawn."""
    if family not in _FONTS:
        raise ValueError(f"unknown font family {family!r}; known: {', '.join(_FONTS)}")
    items = _stacked(items) if stacked else items
    scale = dpi / 72
    image = Image.new("RGB", (round(A4_PT[0] * scale), round(A4_PT[1] * scale)), PAPER)
    draw, top = ImageDraw.Draw(image), MARGINS_PT[1]
    if qr_payload is not None:  # top-left, the header below it
        matrix = np.array([list(row) for row in segno.make(qr_payload, error="m").matrix], dtype=bool)
        module = max(2, round(62 * scale) // matrix.shape[0])  # about 22 mm wide
        qr = np.where(np.kron(matrix, np.ones((module, module), dtype=bool)), 0, 255).astype(np.uint8)
        image.paste(Image.fromarray(qr).convert("RGB"), (round(MARGINS_PT[0] * scale), round(34 * scale)))
        top = 34 + qr.shape[0] / scale + 8
    placed = _layout(items, lambda s, v, size: _pil_font(family, v, size * scale).getlength(s) / scale, top)
    for p in placed:
        if p.style == "sign":
            _draw_signature(draw, p, scale, rng)
            continue
        draw.text((p.x * scale, (p.y + 0.15 * p.size) * scale), p.text, fill=INK,
                  font=_pil_font(family, p.variant, p.size * scale))
        if p.style == "head_rule":
            y = (p.y + 1.45 * p.size) * scale
            draw.line([((p.x + 0.2 * p.width) * scale, y), ((p.x + 0.8 * p.width) * scale, y)], fill=INK,
                      width=max(1, round(0.7 * scale)))
    image.info["dpi"] = (dpi, dpi)
    return image, tuple(p.text for p in placed if p.text)


@dataclass(frozen=True)
class Degradation:
    """How a page is spoiled on its way through a scanner; the defaults leave it untouched."""

    rotate: Literal[0, 90, 180, 270] = 0  # clockwise quarter turn; undo with (360 - rotate) % 360 clockwise
    skew: float = 0.0  # degrees, counter-clockwise positive, |skew| <= 15; the canvas grows, nothing is cut
    noise: float = 0.0  # Gaussian sensor noise, standard deviation in grey levels
    blur: float = 0.0  # Gaussian blur sigma in pixels
    jpeg_quality: int | None = None  # JPEG round trip at this quality
    border_mm: float = 0.0  # dark scanner-lid border along the edges
    yellow: float = 0.0  # aged-paper tint, 0-1
    specks: float = 0.0  # fraction of pixels turned into salt-and-pepper dust, 0-0.05

    def __post_init__(self) -> None:
        checks = {"rotate": self.rotate in (0, 90, 180, 270), "skew": abs(self.skew) <= 15,
                  "noise": self.noise >= 0, "blur": self.blur >= 0, "border_mm": self.border_mm >= 0,
                  "jpeg_quality": self.jpeg_quality is None or 1 <= self.jpeg_quality <= 100,
                  "yellow": 0 <= self.yellow <= 1, "specks": 0 <= self.specks <= 0.05}
        if bad := [name for name, ok in checks.items() if not ok]:
            raise ValueError(f"Degradation out of range: {', '.join(bad)}")


@dataclass(frozen=True)
class SynthPage:
    """One synthetic page and its truth: `lines` are exactly the text lines drawn, NFC, top to bottom."""

    image: Image.Image = field(compare=False, repr=False)
    lines: tuple[str, ...]
    kind: PageKind
    dpi: int
    procedure_id: str | None = None
    dossier_code: str | None = None  # the dossier the page belongs to; printed only on receipts
    applicant_id: str | None = None
    qr_payload: str | None = None
    degradation: Degradation = field(default_factory=Degradation)

    @property
    def text(self) -> str:
        """Ground truth as one string, one drawn line per line."""
        return "\n".join(self.lines)


def qr_payload(dossier_code: str, procedure_code: str, applicant_id: str, document_name: str) -> str:
    """The text of a receipt's QR code, per `QR_PAYLOAD_FORMAT`; no field may contain the separator."""
    fields = {"dossier_code": dossier_code, "procedure_code": procedure_code, "applicant_id": applicant_id,
              "document_name": document_name}
    if any(QR_SEPARATOR in value for value in fields.values()):
        raise ValueError(f"QR fields may not contain {QR_SEPARATOR!r}")
    return QR_PAYLOAD_FORMAT.format(**fields)


def make_page(procedure_id: str, *, seed: int, dpi: int = 300, dossier_code: str | None = None,
              stacked: bool = False, family: str | None = None) -> SynthPage:
    """The procedure's main application form, filled in; the same seed and code give the same people.

    `stacked` sets side-by-side blocks (signatures) one under the other, full width, so `lines` follow the
    top-to-bottom reading order; `family` is "serif" (the default), "sans" or "dejavu"."""
    f = _facts(procedure_id, seed, dossier_code)
    image, lines = _render_image(_form_items(f, _rng(seed, procedure_id, "form")), dpi=dpi,
                                 family=family or "serif", rng=_rng(seed, procedure_id, "form-ink"),
                                 stacked=stacked)
    return SynthPage(image, lines, "form", dpi, procedure_id, f.dossier_code, f.applicant.id_number)


def make_receipt(procedure_id: str, *, seed: int, dpi: int = 300, dossier_code: str | None = None,
                 stacked: bool = False, family: str | None = None) -> SynthPage:
    """The receipt the service center prints for the dossier, with its QR code top-left.

    `stacked` and `family` as for `make_page` (the receipt's default family is "sans")."""
    f = _facts(procedure_id, seed, dossier_code)
    qr = qr_payload(f.dossier_code, f.procedure.code, f.applicant.id_number, RECEIPT_TITLE)
    image, lines = _render_image(_receipt_items(f, _rng(seed, procedure_id, "receipt")), dpi=dpi,
                                 family=family or "sans", rng=_rng(seed, procedure_id, "receipt-ink"),
                                 qr_payload=qr, stacked=stacked)
    return SynthPage(image, lines, "receipt", dpi, procedure_id, f.dossier_code, f.applicant.id_number, qr)


def make_component(procedure_id: str, *, seed: int, dpi: int = 300, index: int = 0, family: str | None = None,
                   stacked: bool = False, dossier_code: str | None = None) -> SynthPage:
    """A supporting paper of the dossier (kind "component") whose title is the procedure's `index`-th
    component title: the same seed gives the same people (and child, home owner, business) as the form.

    `stacked`, `family` and `dossier_code` as for `make_page`; a procedure without components is an error."""
    f = _facts(procedure_id, seed, dossier_code)
    titles = f.procedure.components
    if not titles:
        having = ", ".join(p.id for p in PROCEDURES.values() if p.components)
        raise ValueError(f"procedure {procedure_id!r} has no component documents; these have: {having}")
    if not 0 <= index < len(titles):
        raise ValueError(f"procedure {procedure_id!r} has {len(titles)} component(s); no index {index}")
    items = _COMPONENTS[titles[index]](f, titles[index], _rng(seed, procedure_id, "component", str(index)),
                                       _rng(seed, procedure_id, "form"))
    image, lines = _render_image(items, dpi=dpi, family=family or "serif",
                                 rng=_rng(seed, procedure_id, "component-ink", str(index)), stacked=stacked)
    return SynthPage(image, lines, "component", dpi, procedure_id, f.dossier_code, f.applicant.id_number)


def make_blank(*, seed: int, dpi: int = 300) -> SynthPage:
    """A blank back side: paper tone and a little grain, no text (it is still a page to keep)."""
    size = (round(A4_PT[1] * dpi / 72), round(A4_PT[0] * dpi / 72), 1)
    grain = _rng(seed, "blank").normal(0.0, 1.2, size).astype(np.float32)
    image = Image.fromarray(np.clip(np.array(PAPER, np.float32) + grain, 0, 255).astype(np.uint8))
    image.info["dpi"] = (dpi, dpi)
    return SynthPage(image, (), "blank", dpi)


def make_born_digital_pdf(procedure_id: str, *, seed: int,
                          dossier_code: str | None = None) -> tuple[bytes, tuple[str, ...]]:
    """The form of `make_page` typeset by fpdf2 with an embedded DejaVu font: a real text layer."""
    f = _facts(procedure_id, seed, dossier_code)
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime.combine(f.signed, time(9, 30), timezone(timedelta(hours=7))))
    pdf.set_title(f.procedure.form_title)
    pdf.set_lang("vi")
    codes: dict[Variant, str] = {"regular": "", "bold": "B", "italic": "I", "bolditalic": "BI"}
    for variant, code in codes.items():
        pdf.add_font("doc", code, str(_font_path("dejavu", variant)))
    pdf.add_page()

    def measure(text: str, variant: Variant, size: float) -> float:
        pdf.set_font("doc", codes[variant], size)
        return float(pdf.get_string_width(text))

    placed = _layout(_form_items(f, _rng(seed, procedure_id, "form")), measure, MARGINS_PT[1])
    for p in placed:
        if p.text:
            pdf.set_font("doc", codes[p.variant], p.size)
            pdf.text(p.x, p.y + 1.05 * p.size, p.text)
        if p.style == "head_rule":
            pdf.line(p.x + 0.2 * p.width, p.y + 1.45 * p.size, p.x + 0.8 * p.width, p.y + 1.45 * p.size)
    return bytes(pdf.output()), tuple(p.text for p in placed if p.text)


def tint_yellow(a: Pixels, strength: float) -> Pixels:
    """Aged paper: keep red, dim green a little and blue more."""
    return np.clip(a * np.array([1.0, 1 - 0.05 * strength, 1 - 0.22 * strength]), 0, 255).astype(np.uint8)


def rotate_quarter(a: Pixels, degrees: int) -> Pixels:
    """Exact clockwise turn by 90, 180 or 270 degrees: a sheet fed sideways or upside down."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return a if degrees == 0 else np.asarray(cv2.rotate(a, codes[degrees]), dtype=np.uint8)


def skew(a: Pixels, degrees: float) -> Pixels:
    """A sheet laid crooked: rotate, growing the canvas, and fill the corners with its own paper colour."""
    h, w = a.shape[:2]
    fill = tuple(float(v) for v in np.median(np.concatenate([a[:4], a[-4:]]).reshape(-1, 3), axis=0))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    out = cv2.warpAffine(a, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)
    return np.asarray(out, dtype=np.uint8)


def dark_border(a: Pixels, width: int, rng: np.random.Generator) -> Pixels:
    """The scanner lid showing around the sheet: dark bands of uneven width on each side."""
    out, shade = a.copy(), int(rng.integers(25, 60))
    top, bottom, left, right = (max(1, int(width * rng.uniform(0.5, 1.0))) for _ in range(4))
    out[:top], out[out.shape[0] - bottom:] = shade, shade
    out[:, :left], out[:, out.shape[1] - right:] = shade, shade
    return out


def blur(a: Pixels, sigma: float) -> Pixels:
    """Soft focus of cheap scanner optics."""
    return np.asarray(cv2.GaussianBlur(a, (0, 0), sigma), dtype=np.uint8)


def gaussian_noise(a: Pixels, sigma: float, rng: np.random.Generator) -> Pixels:
    """Sensor noise, shared by the three channels (scanner noise is mostly luminance)."""
    grain = rng.standard_normal((*a.shape[:2], 1), dtype=np.float32) * sigma
    return np.clip(a + grain, 0, 255).astype(np.uint8)


def salt_and_pepper(a: Pixels, amount: float, rng: np.random.Generator) -> Pixels:
    """Dust and toner specks: single dark or white pixels."""
    out, draw = a.copy(), rng.random(a.shape[:2], dtype=np.float32)
    out[draw < amount / 2], out[draw > 1 - amount / 2] = 20, 255
    return out


def jpeg(a: Pixels, quality: int) -> Pixels:
    """A round trip through JPEG at `quality`, as scanners and e-mail do."""
    ok, data = cv2.imencode(".jpg", a[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)[:, :, ::-1])


def degrade(image: Image.Image, spec: Degradation, rng: np.random.Generator) -> Image.Image:
    """Apply `spec` in scanner order: tint, quarter turn, skew, border, blur, noise, specks, JPEG."""
    dpi = int(image.info.get("dpi", (300, 300))[0])
    a: Pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    a = rotate_quarter(tint_yellow(a, spec.yellow) if spec.yellow else a, spec.rotate)
    a = skew(a, spec.skew) if spec.skew else a
    a = dark_border(a, round(spec.border_mm / 25.4 * dpi), rng) if spec.border_mm else a
    a = blur(a, spec.blur) if spec.blur else a
    a = gaussian_noise(a, spec.noise, rng) if spec.noise else a
    a = salt_and_pepper(a, spec.specks, rng) if spec.specks else a
    a = jpeg(a, spec.jpeg_quality) if spec.jpeg_quality is not None else a
    out = Image.fromarray(np.ascontiguousarray(a))
    out.info["dpi"] = (dpi, dpi)
    return out


def random_degradation(rng: np.random.Generator) -> Degradation:
    """A mild, plausible mix of scan defects for benchmark corpora; about one page in eight is turned."""
    turn = int(rng.choice((0, 90, 180, 270), p=(0.875, 0.05, 0.05, 0.025)))
    return Degradation(rotate=90 if turn == 90 else 180 if turn == 180 else 270 if turn == 270 else 0,
                       skew=round(float(rng.uniform(-3, 3)), 2), noise=round(float(rng.uniform(0, 8)), 1),
                       blur=round(float(rng.uniform(0, 1.0)), 2), jpeg_quality=int(rng.integers(55, 96)),
                       border_mm=float(rng.choice((0.0, 0.0, 4.0))), yellow=round(float(rng.random() / 2), 2),
                       specks=float(rng.choice((0.0, 0.0005, 0.002))))


def make_corpus(n_docs: int, *, seed: int, dpi: int = 300, degraded: bool = True) -> list[SynthPage]:
    """`n_docs` one-page documents cycling through the templates (every fourth a receipt), for benchmarks."""
    pages, ids = [], list(PROCEDURES)
    for i in range(n_docs):
        sub = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        page = (make_receipt if i % 4 == 3 else make_page)(ids[i % len(ids)], seed=sub, dpi=dpi)
        if degraded:
            spec = random_degradation(_rng(sub, "degradation"))
            page = replace(page, image=degrade(page.image, spec, _rng(sub, "defects")), degradation=spec)
        pages.append(page)
    return pages


@dataclass(frozen=True)
class ExampleSpec:
    """One demo file and what the pipeline should find in it; tests compare their results with this."""

    name: str
    container: Container
    procedure_id: str | None
    dossier_code: str | None  # the dossier the papers belong to; only "receipt" pages print it (and a QR)
    pages: tuple[PageKind, ...]
    degradation: Degradation = field(default_factory=Degradation)
    seed: int = 0
    members: tuple[str, ...] = ()  # zip only: member paths, one page each, in `pages` order
    readable: bool = True

    @property
    def upright_turn(self) -> int:
        """Clockwise quarter turn that makes the pages upright again."""
        return (360 - self.degradation.rotate) % 360


_H61 = "000.00.21.H61-2602"
EXAMPLES: tuple[ExampleSpec, ...] = (
    ExampleSpec("ho-so-ho-kinh-doanh.tif", "tiff", "ho-kinh-doanh", f"{_H61}05-0001",
                ("receipt", "form", "blank"), Degradation(noise=2, blur=0.5, yellow=0.15), 11),
    ExampleSpec("thuong-tru-nghieng-4-do.jpg", "jpeg", "thuong-tru", f"{_H61}10-0023", ("form",),
                Degradation(skew=4.0, noise=3, blur=0.4), 12),
    ExampleSpec("tam-tru-xoay-90.png", "png", "tam-tru", f"{_H61}09-0031", ("form",),
                Degradation(rotate=90, yellow=0.25), 13),
    ExampleSpec("khai-sinh-lon-nguoc.pdf", "pdf-scan", "khai-sinh", f"{_H61}06-0004", ("form",),
                Degradation(rotate=180, noise=2), 14),
    ExampleSpec("ket-hon-ban-dien-tu.pdf", "pdf-text", "ket-hon", f"{_H61}03-0012", ("form",), seed=15),
    ExampleSpec("ket-hon-giay-tiep-nhan.jpg", "jpeg", "ket-hon", f"{_H61}03-0012", ("receipt",),
                Degradation(skew=-1.5, noise=3, border_mm=6, yellow=0.5, specks=0.0015), 15),
    ExampleSpec("ho-so-dat-dai.zip", "zip", "dang-ky-dat-dai-lan-dau", f"{_H61}11-0007", ("receipt", "form"),
                Degradation(skew=0.8, noise=2), 16,
                ("ho-so-dat-dai/01-tiep-nhan.jpg", "ho-so-dat-dai/02-don-dang-ky.jpg")),
    ExampleSpec("empty.pdf", "empty", None, None, (), readable=False),
    ExampleSpec("damaged.jpg", "truncated", "khai-sinh", None, ("form",), seed=17, readable=False),
)
"""The demo set `write_examples` writes; the two ket-hon files are one dossier (same seed and code)."""


def _jpeg_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=EXAMPLE_JPEG_QUALITY, dpi=(EXAMPLE_DPI, EXAMPLE_DPI))
    return buf.getvalue()


def example_pages(spec: ExampleSpec) -> list[SynthPage]:
    """The degraded pages an example file holds, in order, with their ground truth."""
    pages: list[SynthPage] = []
    for index, kind in enumerate(spec.pages):
        if kind == "blank":
            page = make_blank(seed=spec.seed, dpi=EXAMPLE_DPI)
        else:
            make = {"receipt": make_receipt, "component": make_component}.get(kind, make_page)
            page = make(spec.procedure_id or "", seed=spec.seed, dpi=EXAMPLE_DPI,
                        dossier_code=spec.dossier_code)
        image = degrade(page.image, spec.degradation, _rng(spec.seed, spec.name, str(index)))
        pages.append(replace(page, image=image, degradation=spec.degradation))
    return pages


def write_example(spec: ExampleSpec, out_dir: Path) -> Path:
    """Write one example file into `out_dir`; returns its path."""
    path, dpi = out_dir / spec.name, EXAMPLE_DPI
    images = [p.image for p in example_pages(spec)] if spec.container != "pdf-text" else []
    if spec.container == "tiff":
        images[0].save(path, format="TIFF", save_all=True, append_images=images[1:], compression="jpeg",
                       quality=EXAMPLE_JPEG_QUALITY, dpi=(dpi, dpi))
    elif spec.container == "png":
        images[0].save(path, format="PNG", dpi=(dpi, dpi))
    elif spec.container in ("jpeg", "truncated"):
        data = _jpeg_bytes(images[0])
        path.write_bytes(data if spec.container == "jpeg" else data[: len(data) * 2 // 5])
    elif spec.container == "pdf-scan":
        stamp = datetime(2026, 2, 6, 9, 30, tzinfo=timezone(timedelta(hours=7)))
        path.write_bytes(img2pdf.convert([_jpeg_bytes(i) for i in images], engine=img2pdf.Engine.internal,
                                         creationdate=stamp, moddate=stamp,
                                         layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))))
    elif spec.container == "pdf-text":
        path.write_bytes(make_born_digital_pdf(spec.procedure_id or "", seed=spec.seed,
                                               dossier_code=spec.dossier_code)[0])
    elif spec.container == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            for member, image in zip(spec.members, images, strict=True):
                info = zipfile.ZipInfo(member, date_time=(2026, 2, 11, 8, 0, 0))  # fixed: same bytes each run
                archive.writestr(info, _jpeg_bytes(image), compress_type=zipfile.ZIP_DEFLATED)
    else:
        path.write_bytes(b"")
    return path


def write_examples(out_dir: Path) -> list[Path]:
    """Write the demo set described by `EXAMPLES` into `out_dir` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_example(spec, out_dir) for spec in EXAMPLES]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the demo set into the directory given as the only argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python examples/synth.py OUT_DIR", file=sys.stderr)
        return 2
    for spec, path in zip(EXAMPLES, write_examples(Path(args[0])), strict=True):
        turn = f", turned {spec.degradation.rotate}°" if spec.degradation.rotate else ""
        print(f"{path}  {spec.container}, {spec.procedure_id or '-'}, {spec.dossier_code or '-'}{turn}, "
              f"{path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
