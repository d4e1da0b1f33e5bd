"""Key fields in a document's page texts: citizen IDs, old ID cards, tax codes, person names, dates.

Public pieces: `extract_fields` (pages in, `Field` values out), `normalise_field_value` (a person's
correction checked like a found value), `parse_citizen_id` / `is_citizen_id`,
`is_tax_code` / `normalise_tax_code`, `PROVINCE_CODES`, `COMMON_SURNAMES`, `BIRTH_DATE_LABEL`.

The text is what Vietnamese OCR gives: tone marks lost or wrong, `O`/`0` and `l`/`1` confused, stray spaces
inside numbers. Everything is matched on a folded copy of the text (lower case, no tone marks, đ → d) that
keeps digits and punctuation and remembers where each character came from, so values and `raw` are cut
from the printed text. A number is only ever emitted after its own validity check; a label makes a value
more certain and is the only place where spaced or OCR-damaged numbers are repaired.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from stdnum.vn import mst

from classifiers.text import fold, nfc

FieldKind = Literal["citizen_id", "old_id", "tax_code", "person_name", "date"]

BIRTH_DATE_LABEL = "ngay thang nam sinh"
"""`Field.label` of a date printed after "Ngày, tháng, năm sinh" / "Ngày sinh" / "sinh ngày"."""

# fmt: off
PROVINCE_CODES: Mapping[str, str] = MappingProxyType({
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
})
# fmt: on
"""The 63 province codes of birth registration that open a CCCD number (Circular 07/2016/TT-BCA)."""

# fmt: off
COMMON_SURNAMES: frozenset[str] = frozenset(fold(name) for name in (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý", "Lâm", "Trương", "Đinh", "Mai", "Cao", "Tạ", "Thái", "Châu", "Tô", "Lưu", "Hà", "Quách",
    # Khmer surnames common in the former Trà Vinh and Sóc Trăng provinces (Lâm, Châu are above)
    "Thạch", "Kim", "Danh", "Sơn",
))
# fmt: on
"""Accent-folded surnames; a name starting with one of them is more certainly a name."""

MAX_AGE_YEARS = 120
"""A CCCD whose birth year is further back than this is not plausible."""


@dataclass(frozen=True)
class Field:
    """One key field found on a page."""

    kind: FieldKind
    value: str
    """Normalised: 12 digits (citizen_id), 9 digits (old_id), `0123456789` or `0123456789-001` (tax_code),
    the name as printed in NFC with whitespace collapsed (person_name), ISO `YYYY-MM-DD` (date)."""
    page: int
    """1-based page number."""
    confidence: float
    """0..1: how sure the extractor is that this is the field `kind` says (labels count most)."""
    label: str | None
    """The printed label the value followed, folded (`so dinh danh ca nhan cua chu ho`), or None. Birth
    dates carry `BIRTH_DATE_LABEL` whatever the exact wording; other dates carry None."""
    raw: str
    """The matched text as printed (NFC), before normalisation."""


@dataclass(frozen=True)
class CitizenId:
    """What a valid 12-digit personal ID number says about its holder."""

    number: str
    province_code: str
    province: str
    """Province of birth registration (pre-2025 name)."""
    female: bool
    birth_year: int


# --------------------------------------------------------------------------------------------- validators


def parse_citizen_id(value: str, *, today: date | None = None) -> CitizenId | None:
    """The decoded CCCD, or None unless `value` is 12 digits with a known province code, a century/sex
    digit 0-3 (1900s or 2000s) and a birth year neither after `today` nor more than 120 years before it."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return None
    province = PROVINCE_CODES.get(value[:3])
    century = int(value[3])
    if province is None or century > 3:  # 4-9 (2100s and later) are not issued to anyone living
        return None
    year = 1900 + 100 * (century // 2) + int(value[4:6])
    this_year = (today or date.today()).year
    if not this_year - MAX_AGE_YEARS <= year <= this_year:
        return None
    return CitizenId(value, value[:3], province, bool(century % 2), year)


def is_citizen_id(value: str, *, today: date | None = None) -> bool:
    """True for a plausible CCCD / personal ID number (see `parse_citizen_id`)."""
    return parse_citizen_id(value, today=today) is not None


def normalise_tax_code(value: str) -> str | None:
    """`0123456789` or `0123456789-001` when `value` (10 or 13 digits, separators allowed) is a valid MST
    (check digit: weights 31, 29, 23, 19, 17, 13, 7, 5, 3, `10 - sum mod 11`, via python-stdnum)."""
    if not mst.is_valid(value):
        return None
    return str(mst.format(value))


def is_tax_code(value: str) -> bool:
    """True for a valid MST, with or without its `-NNN` branch suffix."""
    return normalise_tax_code(value) is not None


def _valid_date(year: int, month: int, day: int, today: date) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    try:
        latest = today.replace(year=today.year + 5)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + 5, day=28)
    return found if date(1900, 1, 1) <= found <= latest else None


# ----------------------------------------------------------------------------- folding that keeps positions


@dataclass(frozen=True)
class _Folded:
    """A page's NFC text and its folded copy; `origin[i]` is where folded character i came from."""

    source: str
    text: str
    origin: tuple[int, ...]
    line_starts: tuple[int, ...]
    """Positions in `text` where a line begins (0 and every position after a newline)."""

    def line(self, position: int) -> tuple[int, int]:
        """Start and end (exclusive, before its newline) of the line holding `position`."""
        index = bisect_right(self.line_starts, position) - 1
        end = self.line_starts[index + 1] - 1 if index + 1 < len(self.line_starts) else len(self.text)
        return self.line_starts[index], end

    def raw(self, start: int, end: int) -> str:
        """The source text behind the folded span [start, end)."""
        if end <= start:
            return ""
        return self.source[self.origin[start] : self.origin[end - 1] + 1]


# fmt: off
_SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "\r": " ", "\t": " ", "\u00a0": " ", "\f": "\n",
            "\v": "\n", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "：": ":", "；": ";"}
# fmt: on


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if ch.isspace() and ch != "\n":
        return " "
    decomposed = unicodedata.normalize("NFD", ch.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_keeping_positions(text: str) -> _Folded:
    """Lower case, tone marks and diacritics stripped, đ → d; digits and punctuation stay where they are."""
    source = nfc(text)
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(source):
        for out in _fold_char(ch):
            chars.append(out)
            origin.append(index)
    text = "".join(chars)
    starts = (0, *(m.end() for m in re.finditer("\n", text)))
    return _Folded(source, text, tuple(origin), starts)


# -------------------------------------------------------------------------------------------- patterns

_W = r"[ ,./-]*"  # between the words of a label: OCR may drop the space or keep the printed comma


def _words(*words: str) -> str:
    return _W.join(words)


_ID_LABEL = re.compile(
    r"(?<![a-z0-9])(?:"
    rf"(?P<both>(?:so{_W})?(?:cmnd{_W}(?:hoac{_W})?cccd|cccd{_W}(?:hoac{_W})?cmnd))"
    rf"|(?P<cccd>(?:so{_W})?{_words('dinh', 'danh')}(?:{_W}{_words('ca', 'nhan')})?"
    rf"|(?:so{_W})?cccd"
    rf"|(?:so{_W})?(?:the{_W})?{_words('can', 'cuoc')}(?:{_W}{_words('cong', 'dan')})?)"
    rf"|(?P<cmnd>(?:so{_W})?(?:cmnd|cmt)"
    rf"|(?:so{_W})?(?:giay{_W})?{_words('chung', 'minh')}{_W}(?:{_words('nhan', 'dan')}|thu))"
    rf"|(?P<mst>{_words('ma', 'so', 'thue')}|mst)"
    r")(?![a-z])"
)
"""Labels that announce an ID number; the group name says which numbers may follow."""

_DIGITISH = "0-9oil|"  # folded: O/o → 0, l/I/| → 1 inside a labelled value
_NUMBER_SEP = r"(?:[ ]*[.-][ ]*|[ ]{1,2})"
_LABELLED_VALUE = re.compile(
    r"(?P<qual>[^\d\n:;]{0,40}?)(?P<sep>[:;.]?)[ ]*(?:\n[ ]*)?"
    rf"(?P<val>(?>(?:(?<![a-z])[oil|]{{1,2}})?\d[{_DIGITISH}]*(?:{_NUMBER_SEP}[{_DIGITISH}]+)*))"
)
"""What follows an ID label: an optional qualifier ("của chủ hộ", "cá nhân"), one separator, the number."""
_GROUP = re.compile(rf"[{_DIGITISH}]+")
_LETTER_FOR_DIGIT = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1"})
_MAX_REPAIRED = 3  # more letters than this in a value: not a damaged number
_LONGEST_NUMBER = 16  # characters of a labelled value worth reading (13 digits and a little more)
_LOOKBACK = 60  # characters before a name or date searched for what introduces it
_NAME_SPAN = 120  # characters after a name label that may hold the name

_PHONE_LABEL = re.compile(
    r"(?<![a-z0-9])(?:dien[ ]*thoai|s?dt|di[ ]*dong|tel|fax|hotline|zalo"
    r"|so[ ]*tai[ ]*khoan|tai[ ]*khoan|stk)(?![a-z])"
)
"""Labels of numbers that may look like a tax code but are not one (phones, bank accounts)."""

_BARE_CITIZEN_ID = re.compile(r"(?<![\w])(?<!\d[.,/-])\d{12}(?![\w])(?![.,/-]\d)")
_BARE_TAX_CODE = re.compile(r"(?<![\w])(?<!\d[.,/-])\d{10}(?:[ ]?-[ ]?\d{3})?(?![\w])(?![.,/-]\d)")

_LONG_DATE = re.compile(
    r"(?<![a-z])ngay[ ]*(?P<d>\d{1,2})[ ]*,?[ ]*thang[ ]*(?P<m>\d{1,2})[ ]*,?[ ]*nam[ ]*(?P<y>\d{4})(?!\d)"
)
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(?<!\d[./-])(?P<d>\d{1,2})[ ]?(?P<s>[/.-])[ ]?(?P<m>\d{1,2})[ ]?(?P=s)[ ]?(?P<y>\d{4})"
    r"(?!\d)(?![./-]\d)"
)
_BIRTH_BEFORE = re.compile(
    rf"(?:{_words('ngay', 'thang', 'nam')}[ ]*sinh|ngay[ ]*sinh|(?<!chung )(?<!chung)sinh(?:[ ]*ngay)?)"
    r"[ ]*[:;.,]?[ ]*$"
)

_NAME_LABEL = re.compile(
    r"(?<![a-z0-9])(?:"
    rf"(?P<name>{_words('ho', 'chu', 'dem')}{_W}(?:va{_W})?ten"
    rf"|{_words('ho', 'va', 'ten')}|{_words('ho', 'ten')})"
    r"|(?P<sir>ong[ /]*\(?[ ]*ba[ ]*\)?)"
    r")(?![a-z])"
)
# fmt: off
_NAME_QUALIFIERS = (  # words between a name label and the name; none is also a surname (Võ, ...)
    "nguoi me", "nguoi cha", "chu ho", "chu ho kinh doanh", "nguoi yeu cau", "nguoi khai", "nguoi ke khai",
    "nguoi duoc khai sinh", "nguoi giam ho", "nguoi duoc giam ho", "nguoi dai dien", "nguoi nop ho so",
    "nguoi su dung dat", "nguoi viet don", "nguoi chet", "nguoi uy quyen", "nguoi duoc uy quyen",
    "ben nam", "ben nu", "khai sinh",
)
# fmt: on
_QUALIFIER_RE = re.compile(
    r"[ ]+(?P<q>"
    + "|".join(q.replace(" ", "[ ]+") for q in sorted(_NAME_QUALIFIERS, key=len, reverse=True))
    + r")(?![a-z])"
)
_ENUMERATOR = re.compile(r"[ \-•*+]*(?:(?:[0-9li]{1,2}|[ivx]{1,4}|[a-z])[.)][ ]*)?")
_FIELD_SEPARATOR_BEFORE = re.compile(r"(?:[;:|][ ]*|[ ]{3,})$")
"""A name label starts its line (after an enumerator such as "7." or "b)"), or follows a separator or a
column gap; anywhere else ("ghi rõ họ tên") it is part of a sentence."""
_NAME_STOP = re.compile(
    r"[;,.(:\[]|[ ]{3,}|[ ]\d|(?<![a-z])(?:"
    + "|".join(
        (
            _words("ngay", "thang", "nam", "sinh"),
            r"ngay[ ]*sinh",
            r"nam[ ]*sinh",
            r"sinh[ ]*ngay",
            r"sinh[ ]*nam",
            r"gioi[ ]*tinh",
            r"dan[ ]*toc",
            r"quoc[ ]*tich",
            r"so[ ]*dinh[ ]*danh",
            "cccd",
            "cmnd",
            r"noi[ ]*cu[ ]*tru",
            r"noi[ ]*sinh",
            r"que[ ]*quan",
            r"dia[ ]*chi",
            r"dien[ ]*thoai",
            "sdt",
            r"ma[ ]*so[ ]*thue",
            "mst",
        )
    )
    + r")(?![a-z])"
)
"""Where a name ends: punctuation that no name holds, a wide gap, a number (the next field's "2."),
or the next label on the line. A digit inside a word stays, and rejects the name (OCR damage)."""

# fmt: off
_CONFIDENCE = {"cccd_labelled": 0.95, "cccd_bare": 0.7, "cccd_as_mst": 0.9, "old_id": 0.85,
               "mst_labelled": 0.95, "mst_bare": 0.6, "name_surname": 0.9, "name_other": 0.7,
               "date_long": 0.9, "date_numeric": 0.8}
# fmt: on


# ------------------------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _Hit:
    field: Field
    start: int  # position in the folded page text, for ordering


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in spans)


def _number_groups(folded: _Folded, val_start: int, val: str) -> list[tuple[int, int, str]]:
    """The digit groups of a labelled value as (start, end, separator before), stopping at a group with
    no real digit or one glued to a following letter (the start of a word, not a number)."""
    groups: list[tuple[int, int, str]] = []
    previous_end, length = val_start, 0
    for match in _GROUP.finditer(val):
        length += len(match.group())
        if length > _LONGEST_NUMBER:
            break
        start, end = val_start + match.start(), val_start + match.end()
        following = folded.text[end : end + 1]
        if not any(c.isdigit() for c in match.group()) or following.isalpha():
            break
        separator = (folded.text[previous_end:start].strip() or " ") if groups else ""
        groups.append((start, end, separator))
        previous_end = end
    return groups


def _labelled_numbers(folded: _Folded, page: int, today: date) -> tuple[list[_Hit], list[tuple[int, int]]]:
    """ID numbers that follow their labels, and the spans those labelled values cover (bare matches
    inside them are not emitted: a 10-digit run after "Số CMND" is not a tax code)."""
    hits: list[_Hit] = []
    covered: list[tuple[int, int]] = []
    for label in _ID_LABEL.finditer(folded.text):
        family = label.lastgroup or ""
        value = _LABELLED_VALUE.match(folded.text, label.end())
        if value is None:
            continue
        if any(c.isdigit() for c in value.group("qual")):
            continue
        label_text = fold(folded.raw(label.start(), value.end("qual")))
        found = _read_labelled_number(folded, value.start("val"), value.group("val"), family, today)
        if found is None:
            covered.append((label.start(), value.end()))
            continue
        kind, normalised, confidence, end = found
        covered.append((label.start(), end))
        raw = folded.raw(value.start("val"), end)
        hits.append(_Hit(Field(kind, normalised, page, confidence, label_text, raw), value.start("val")))
    return hits, covered


def _read_labelled_number(
    folded: _Folded, val_start: int, val: str, family: str, today: date
) -> tuple[FieldKind, str, float, int] | None:
    """The longest run of leading digit groups that makes a valid number for this label family.

    A shorter run is only taken when the groups it drops are set apart by a different separator from the
    ones inside it ("086195012345 - 12/03/2021" yes, "086 195 012 345 6" no)."""
    groups = _number_groups(folded, val_start, val)
    for count in range(len(groups), 0, -1):
        kept = groups[:count]
        if count < len(groups):
            inner = {sep for _, _, sep in kept[1:]}
            if groups[count][2] in inner:
                continue
        chars = "".join(folded.text[s:e] for s, e, _ in kept)
        if sum(not c.isdigit() for c in chars) > _MAX_REPAIRED:
            continue
        digits = chars.translate(_LETTER_FOR_DIGIT)
        found = _classify_labelled(digits, family, today)
        if found is not None:
            return (*found, kept[-1][1])
    return None


def _classify_labelled(digits: str, family: str, today: date) -> tuple[FieldKind, str, float] | None:
    if family == "mst":
        if len(digits) in (10, 13) and (code := normalise_tax_code(digits)):
            return "tax_code", code, _CONFIDENCE["mst_labelled"]
        if parse_citizen_id(digits, today=today):  # individuals' tax code is their ID number since 07/2025
            return "citizen_id", digits, _CONFIDENCE["cccd_as_mst"]
        return None
    if len(digits) == 12 and parse_citizen_id(digits, today=today):
        return "citizen_id", digits, _CONFIDENCE["cccd_labelled"]
    if family in ("cmnd", "both") and len(digits) == 9 and len(set(digits)) > 1:
        return "old_id", digits, _CONFIDENCE["old_id"]
    return None


def _bare_numbers(folded: _Folded, page: int, today: date, covered: Sequence[tuple[int, int]]) -> list[_Hit]:
    """Unlabelled 12-digit CCCDs and 10-digit tax codes, contiguous digits only."""
    text, hits = folded.text, []
    for match in _BARE_CITIZEN_ID.finditer(text):
        if _overlaps(match.start(), match.end(), covered) or not parse_citizen_id(match.group(), today=today):
            continue
        field = Field(
            "citizen_id", match.group(), page, _CONFIDENCE["cccd_bare"], None, folded.raw(*match.span())
        )
        hits.append(_Hit(field, match.start()))
    phone_labels = [m.start() for m in _PHONE_LABEL.finditer(text)]
    for match in _BARE_TAX_CODE.finditer(text):
        if _overlaps(match.start(), match.end(), covered):
            continue
        line_start, _ = folded.line(match.start())
        if bisect_left(phone_labels, match.start()) > bisect_left(phone_labels, line_start):
            continue  # a phone or account label earlier on the line
        code = normalise_tax_code(match.group().replace(" ", ""))
        if code is None:
            continue
        field = Field("tax_code", code, page, _CONFIDENCE["mst_bare"], None, folded.raw(*match.span()))
        hits.append(_Hit(field, match.start()))
    return hits


def _dates(folded: _Folded, page: int, today: date, covered: Sequence[tuple[int, int]]) -> list[_Hit]:
    """Long-form and numeric dates that are real calendar days between 1900 and five years from today."""
    text, hits = folded.text, []
    for pattern, confidence in (
        (_LONG_DATE, _CONFIDENCE["date_long"]),
        (_NUMERIC_DATE, _CONFIDENCE["date_numeric"]),
    ):
        for match in pattern.finditer(text):
            if _overlaps(match.start(), match.end(), covered):
                continue
            found = _valid_date(int(match["y"]), int(match["m"]), int(match["d"]), today)
            if found is None:
                continue
            line_start, _ = folded.line(match.start())
            birth = _BIRTH_BEFORE.search(text[max(line_start, match.start() - _LOOKBACK) : match.start()])
            field = Field(
                "date",
                found.isoformat(),
                page,
                confidence,
                BIRTH_DATE_LABEL if birth else None,
                folded.raw(*match.span()),
            )
            hits.append(_Hit(field, match.start()))
    return hits


def _names(folded: _Folded, page: int) -> list[_Hit]:
    """Person names after a name label: the rest of the line up to `;` or the next label, 2-7 words."""
    text, hits = folded.text, []
    for label in _NAME_LABEL.finditer(text):
        line_start, line_end = folded.line(label.start())
        window = max(line_start, label.start() - _LOOKBACK)
        before = text[window : label.start()]
        if "ghi ro" in before or not (
            _FIELD_SEPARATOR_BEFORE.search(before) or (window == line_start and _ENUMERATOR.fullmatch(before))
        ):
            continue
        line_end = min(line_end, label.end() + _NAME_SPAN)
        start = _name_start(text, label.end(), line_end, strict=label.lastgroup == "sir")
        if start is None:
            continue
        stop = _NAME_STOP.search(text, start, line_end)
        end = stop.start() if stop else line_end
        raw = folded.raw(start, end).strip()
        name = " ".join(raw.split())
        words = name.split()
        if not 2 <= len(words) <= 7 or not all(_is_name_word(w) for w in words):
            continue
        label_text = fold(folded.raw(label.start(), start)) or None
        confidence = _CONFIDENCE["name_surname" if fold(words[0]) in COMMON_SURNAMES else "name_other"]
        hits.append(_Hit(Field("person_name", name, page, confidence, label_text, raw), start))
    return hits


def _name_start(text: str, after_label: int, line_end: int, *, strict: bool) -> int | None:
    """Where the name begins after its label: past one separator, or past a known qualifier ("người mẹ").
    `strict` labels ("Ông (Bà)") need a printed separator."""
    rest = text[after_label:line_end]
    if match := re.match(r"[ ]*[:;.]", rest):
        return after_label + match.end()
    if match := re.match(r"[ ]+([^\d:;.,]{1,40}?)[ ]*([:;.])", rest):
        qualifier = " ".join(match.group(1).split())
        if qualifier in _NAME_QUALIFIERS or (
            match.group(2) == ":" and len(qualifier.split()) <= 4 and not _NAME_STOP.search(qualifier)
        ):
            return after_label + match.end()
    if strict:
        return None
    if match := _QUALIFIER_RE.match(rest):
        return after_label + match.end()
    return after_label


def _is_name_word(word: str) -> bool:
    """Letters only, and only Latin ones (Vietnamese letters fold to a-z)."""
    return word.isalpha() and all("a" <= c <= "z" for c in fold(word).replace(" ", ""))


def _page_hits(text: str, page: int, today: date) -> Iterator[_Hit]:
    folded = _fold_keeping_positions(text)
    labelled, covered = _labelled_numbers(folded, page, today)
    yield from labelled
    yield from _bare_numbers(folded, page, today, covered)
    yield from _dates(folded, page, today, covered)
    yield from _names(folded, page)


def _still_valid(field: Field, today: date) -> bool:
    """The last gate: nothing leaves this module that fails its kind's check."""
    if field.kind == "citizen_id":
        return is_citizen_id(field.value, today=today)
    if field.kind == "tax_code":
        return is_tax_code(field.value)
    if field.kind == "old_id":
        return len(field.value) == 9 and field.value.isascii() and field.value.isdigit()
    if field.kind == "date":
        found = date.fromisoformat(field.value)
        return _valid_date(found.year, found.month, found.day, today) is not None
    return bool(field.value)


FIELD_KINDS: tuple[FieldKind, ...] = ("citizen_id", "old_id", "tax_code", "person_name", "date")


def normalise_field_value(kind: FieldKind, value: str, *, today: date | None = None) -> str | None:
    """A value a person typed for a field, in the form `Field.value` has, or None if it fails the kind's
    check (a reviewer's correction passes the same gate as what the extractor finds)."""
    today = today or date.today()
    text = " ".join(nfc(value).split())
    if kind in ("citizen_id", "old_id"):
        text = re.sub(r"[\s.-]", "", text)
    if kind == "tax_code":
        return normalise_tax_code(text)
    if kind == "date":
        try:
            found = date.fromisoformat(text)
        except ValueError:
            return None
        text = found.isoformat()
    if not text or len(text) > 200:
        return None
    return text if _still_valid(Field(kind, text, 1, 1.0, None, text), today) else None


def extract_fields(pages: Sequence[str], *, today: date | None = None) -> tuple[Field, ...]:
    """Every key field on the pages (their texts in page order), page by page in reading order.

    The same (kind, value) on one page is reported once, with its highest confidence (a labelled sighting
    wins a tie). `today` bounds plausible birth years and dates; it defaults to the current date."""
    today = today or date.today()
    found: list[_Hit] = []
    for number, text in enumerate(pages, start=1):
        best: dict[tuple[FieldKind, str], _Hit] = {}
        for hit in _page_hits(text, number, today):
            if not _still_valid(hit.field, today):
                continue
            key = (hit.field.kind, hit.field.value)
            kept = best.get(key)
            if kept is None or _better(hit.field, kept.field):
                best[key] = hit if kept is None else _Hit(hit.field, min(hit.start, kept.start))
        found.extend(sorted(best.values(), key=lambda h: h.start))
    return tuple(hit.field for hit in found)


def _better(new: Field, old: Field) -> bool:
    if new.confidence != old.confidence:
        return new.confidence > old.confidence
    return new.label is not None and old.label is None
