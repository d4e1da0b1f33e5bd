"""Document kinds: which component of a dossier a paper is (the form, a birth notice, an ID card copy, a
land-use certificate, a receipt …), from a small taxonomy derived from the national catalog's component names.

`KINDS` is the taxonomy (stable ids, Vietnamese and English labels, title phrases); `kind_of_component`
gives the kind a catalog component asks for, `kind_of_document` the kind of an OCR'd document from its title
lines. Both match folded text (no tone marks, no punctuation): the earliest title phrase wins, the longest at
the same place, so "Hợp đồng ủy quyền" is an authorization and not a contract, and "Đơn đề nghị cấp Giấy
chứng nhận …" is a form and not a certificate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from rapidfuzz.distance import Levenshtein

from classifiers.text import fold


@dataclass(frozen=True)
class Kind:
    """One kind of dossier component."""

    id: str
    """Stable snake_case identifier, used in exports and the API."""
    vi: str
    """Vietnamese label, as staff name the paper."""
    en: str
    """English label."""
    patterns: tuple[str, ...]
    """Folded title phrases: a component name or a document title that starts with one is of this kind."""


def _kind(kind_id: str, vi: str, en: str, *phrases: str) -> Kind:
    return Kind(kind_id, vi, en, tuple(dict.fromkeys(fold(p) for p in phrases)))


KINDS: tuple[Kind, ...] = (
    _kind(
        "receipt",
        "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        "Dossier receipt",
        "giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        "giấy tiếp nhận hồ sơ",
        "phiếu tiếp nhận hồ sơ",
        "phiếu tiếp nhận và hẹn trả kết quả",
        "phiếu hẹn trả kết quả",
        "giấy biên nhận hồ sơ",
        "biên nhận hồ sơ",
        "phiếu biên nhận hồ sơ",
    ),
    _kind(
        "application_form",
        "Đơn, tờ khai, giấy đề nghị",
        "Application form or request",
        "tờ khai",
        "tờ khai đăng ký",
        "tờ khai đề nghị",
        "tờ khai thay đổi",
        "tờ khai yêu cầu",
        "bản khai",
        "đơn đề nghị",
        "đơn đăng ký",
        "đơn đăng kí",
        "đơn xin",
        "đơn yêu cầu",
        "đơn trình báo",
        "đơn khiếu nại",
        "đơn đề xuất",
        "giấy đề nghị",
        "giấy khai",
        "giấy đăng ký kiểm tra",
        "giấy đăng ký kiểm dịch",
        "văn bản đề nghị",
        "văn bản yêu cầu",
        "văn bản đăng ký",
        "công văn",
        "văn bản đề xuất",
        "đơn giải trình",
        "tờ trình",
        "phiếu đề nghị",
        "phiếu yêu cầu",
        "phiếu đăng ký",
        "phiếu khai",
        "phiếu thu nhận thông tin",
        "mẫu hộ tịch điện tử tương tác",
        "mẫu điện tử tương tác",
        "biểu mẫu điện tử tương tác",
        "phiếu báo thay đổi",
        "đơn theo mẫu",
        "bản đăng ký",
        "trình báo",
    ),
    _kind(
        "id_card",
        "Căn cước, CMND, hộ chiếu (giấy tờ tùy thân)",
        "Identity card or passport",
        "căn cước công dân",
        "thẻ căn cước",
        "căn cước điện tử",
        "căn cước",
        "giấy chứng nhận căn cước",
        "chứng minh nhân dân",
        "giấy chứng minh nhân dân",
        "hộ chiếu",
        "giấy tờ tùy thân",
        "giấy tờ tuỳ thân",
        "giấy tờ pháp lý của cá nhân",
        "giấy tờ chứng minh nhân thân",
        "giấy tờ nhân thân",
        "citizen identity card",
        "identity card",
        "passport",
    ),
    _kind("birth_notice", "Giấy chứng sinh", "Birth notice (from the place of birth)", "giấy chứng sinh"),
    _kind(
        "birth_certificate",
        "Giấy khai sinh, trích lục khai sinh",
        "Birth certificate",
        "giấy khai sinh",
        "trích lục khai sinh",
        "bản sao giấy khai sinh",
    ),
    _kind(
        "death_notice",
        "Giấy báo tử",
        "Death notice",
        "giấy báo tử",
        "giấy tờ thay giấy báo tử",
        "giấy tờ thay thế giấy báo tử",
    ),
    _kind(
        "civil_status_extract",
        "Trích lục hộ tịch (khai tử, kết hôn, …)",
        "Civil-status extract",
        "trích lục hộ tịch",
        "trích lục khai tử",
        "trích lục ghi chú",
        "giấy chứng tử",
    ),
    _kind(
        "marital_status_certificate",
        "Giấy xác nhận tình trạng hôn nhân",
        "Certificate of marital status",
        "giấy xác nhận tình trạng hôn nhân",
        "xác nhận tình trạng hôn nhân",
        "văn bản xác nhận tình trạng hôn nhân",
        "giấy tờ chứng minh tình trạng hôn nhân",
    ),
    _kind(
        "marriage_certificate",
        "Giấy chứng nhận kết hôn",
        "Marriage certificate",
        "giấy chứng nhận kết hôn",
        "trích lục kết hôn",
        "giấy đăng ký kết hôn",
    ),
    _kind(
        "residence_proof",
        "Giấy tờ chứng minh chỗ ở, nơi cư trú",
        "Proof of residence",
        "giấy tờ tài liệu chứng minh chỗ ở hợp pháp",
        "giấy tờ chứng minh chỗ ở hợp pháp",
        "tài liệu chứng minh chỗ ở hợp pháp",
        "giấy tờ chứng minh nơi cư trú",
        "giấy tờ có giá trị chứng minh thông tin về cư trú",
        "giấy tờ chứng minh thông tin về cư trú",
        "giấy xác nhận thông tin về cư trú",
        "xác nhận thông tin về cư trú",
        "hợp đồng văn bản về việc cho thuê cho mượn cho ở nhờ",
        "hợp đồng cho thuê nhà",
        "hợp đồng thuê nhà",
        "văn bản cho mượn",
        "văn bản cho ở nhờ",
        "sổ hộ khẩu",
        "sổ tạm trú",
    ),
    _kind(
        "land_use_certificate",
        "Giấy chứng nhận quyền sử dụng đất (sổ đỏ, sổ hồng)",
        "Land-use right certificate",
        "giấy chứng nhận quyền sử dụng đất",
        "giấy chứng nhận quyền sở hữu nhà ở",
        "giấy chứng nhận quyền sở hữu, quyền sử dụng",
        "giấy chứng nhận quyền sở hữu công trình",
        "giấy chứng nhận quyền sở hữu tài sản gắn liền với đất",
        "giấy tờ về quyền sử dụng đất",
        "giấy chứng nhận đã cấp",
        "sổ hồng",
    ),
    _kind(
        "authorization",
        "Văn bản ủy quyền",
        "Authorization (power of attorney)",
        "văn bản ủy quyền",
        "văn bản uỷ quyền",
        "giấy ủy quyền",
        "giấy uỷ quyền",
        "hợp đồng ủy quyền",
        "hợp đồng uỷ quyền",
        "văn bản phân công",
    ),
    _kind(
        "business_registration",
        "Giấy chứng nhận đăng ký doanh nghiệp, hộ kinh doanh, đầu tư",
        "Business or investment registration certificate",
        "giấy chứng nhận đăng ký doanh nghiệp",
        "giấy chứng nhận đăng ký hộ kinh doanh",
        "giấy chứng nhận đăng ký hợp tác xã",
        "giấy chứng nhận đăng ký kinh doanh",
        "giấy chứng nhận đăng ký đầu tư",
        "giấy chứng nhận đăng ký hoạt động",
        "giấy chứng nhận đăng ký thuế",
        "giấy đăng ký kinh doanh",
        "giấy tờ pháp lý của tổ chức",
    ),
    _kind(
        "vehicle_registration",
        "Giấy đăng ký xe, phương tiện",
        "Vehicle or vessel registration",
        "giấy chứng nhận đăng ký xe",
        "giấy đăng ký xe",
        "chứng nhận đăng ký xe",
        "giấy đăng ký phương tiện",
        "giấy chứng nhận đăng ký phương tiện",
        "giấy chứng nhận đăng ký tàu",
        "giấy chứng nhận đăng ký tàu cá",
    ),
    _kind(
        "license",
        "Giấy phép",
        "Licence or permit",
        "giấy phép",
    ),
    _kind(
        "certificate",
        "Giấy chứng nhận (khác)",
        "Certificate (other)",
        "giấy chứng nhận",
        "chứng nhận",
    ),
    _kind(
        "confirmation",
        "Văn bản, giấy xác nhận",
        "Written confirmation",
        "văn bản xác nhận",
        "giấy xác nhận",
        "bản xác nhận",
        "xác nhận của",
    ),
    _kind(
        "approval",
        "Văn bản chấp thuận, ý kiến, thẩm định",
        "Approval or opinion of an authority",
        "văn bản chấp thuận",
        "văn bản chấp nhận",
        "văn bản đồng ý",
        "văn bản cho phép",
        "văn bản phê duyệt",
        "văn bản thẩm định",
        "văn bản ý kiến",
        "văn bản góp ý",
        "ý kiến của",
        "ý kiến bằng văn bản",
        "kết quả thẩm định",
        "thông báo kết quả thẩm định",
    ),
    _kind(
        "decision",
        "Quyết định, nghị quyết",
        "Decision or resolution",
        "quyết định",
        "nghị quyết",
        "quyết định về việc",
    ),
    _kind(
        "minutes",
        "Biên bản",
        "Minutes or official record",
        "biên bản",
        "biên bản họp",
        "biên bản làm việc",
        "biên bản kiểm tra",
        "biên bản nghiệm thu",
        "biên bản bàn giao",
        "biên bản xác minh",
        "biên bản xác định",
    ),
    _kind(
        "contract",
        "Hợp đồng, văn bản thỏa thuận",
        "Contract or agreement",
        "hợp đồng",
        "hợp đồng mua bán",
        "hợp đồng chuyển nhượng",
        "hợp đồng tặng cho",
        "hợp đồng thế chấp",
        "hợp đồng lao động",
        "văn bản thỏa thuận",
        "văn bản thoả thuận",
        "bản thỏa thuận",
        "bản thoả thuận",
        "dự thảo hợp đồng",
        "dự thảo giao dịch",
        "giao dịch đã được chứng thực",
        "thỏa thuận",
        "thoả thuận",
    ),
    _kind(
        "report",
        "Báo cáo",
        "Report",
        "báo cáo",
        "báo cáo kết quả",
        "báo cáo tài chính",
        "báo cáo tình hình",
        "bản báo cáo",
        "bản đánh giá",
    ),
    _kind(
        "drawing",
        "Bản vẽ, bản đồ, sơ đồ",
        "Drawing, map or site plan",
        "bản vẽ",
        "bản đồ",
        "sơ đồ",
        "sơ họa",
        "trích đo",
        "mảnh trích đo",
        "trích lục bản đồ",
        "mặt bằng",
        "mặt cắt",
    ),
    _kind(
        "list",
        "Danh sách, bảng kê, danh mục",
        "List or schedule",
        "danh sách",
        "bảng kê",
        "bản kê",
        "danh mục",
        "bảng tổng hợp",
    ),
    _kind(
        "plan",
        "Phương án, đề án, thuyết minh, dự án",
        "Plan, proposal or project description",
        "phương án",
        "đề án",
        "kế hoạch",
        "thuyết minh",
        "bản thuyết minh",
        "dự án",
        "đề cương",
        "dự toán",
        "luận chứng",
    ),
    _kind(
        "charter",
        "Điều lệ, quy chế",
        "Charter or internal rules",
        "điều lệ",
        "dự thảo điều lệ",
        "quy chế",
        "quy định nội bộ",
        "nội quy",
    ),
    _kind(
        "commitment",
        "Văn bản cam kết, cam đoan",
        "Commitment or sworn statement",
        "văn bản cam kết",
        "bản cam kết",
        "giấy cam kết",
        "cam kết",
        "văn bản cam đoan",
        "bản cam đoan",
        "giấy cam đoan",
        "lời cam đoan",
    ),
    _kind(
        "notice",
        "Thông báo",
        "Notification",
        "thông báo",
        "văn bản thông báo",
        "giấy thông báo",
    ),
    _kind("introduction_letter", "Giấy giới thiệu", "Letter of introduction", "giấy giới thiệu"),
    _kind(
        "payment_proof",
        "Hóa đơn, biên lai, chứng từ",
        "Invoice, payment receipt or voucher",
        "hóa đơn",
        "hoá đơn",
        "biên lai",
        "chứng từ",
        "giấy nộp tiền",
        "ủy nhiệm chi",
        "uỷ nhiệm chi",
        "phiếu thu",
        "giấy rút dự toán",
        "giấy rút vốn",
    ),
    _kind(
        "qualification",
        "Văn bằng, chứng chỉ",
        "Diploma or qualification certificate",
        "văn bằng",
        "bằng tốt nghiệp",
        "bằng cấp",
        "chứng chỉ",
        "giấy chứng nhận tốt nghiệp",
        "thẻ hành nghề",
    ),
    _kind(
        "cv",
        "Sơ yếu lý lịch",
        "Curriculum vitae",
        "sơ yếu lý lịch",
        "lý lịch tóm tắt",
        "bản lý lịch",
        "lý lịch",
        "bản khai lý lịch",
    ),
    _kind(
        "criminal_record",
        "Phiếu lý lịch tư pháp",
        "Criminal record certificate",
        "phiếu lý lịch tư pháp",
        "lý lịch tư pháp",
    ),
    _kind(
        "health_certificate",
        "Giấy khám sức khỏe",
        "Health certificate",
        "giấy khám sức khỏe",
        "giấy khám sức khoẻ",
        "giấy chứng nhận sức khỏe",
        "giấy chứng nhận đủ sức khỏe",
        "phiếu khám sức khỏe",
        "kết quả khám sức khỏe",
    ),
    _kind(
        "photo",
        "Ảnh chân dung",
        "Portrait photographs",
        "ảnh màu",
        "ảnh chân dung",
        "ảnh thẻ",
        "ảnh chụp",
        "ảnh cỡ",
        "ảnh mới chụp",
        "ảnh toàn thân",
        "hai ảnh",
    ),
)
"""The taxonomy. Its order is for reading only: where phrases of two kinds open the same text, the longer
decides ("giấy chứng nhận kết hôn" over "giấy chứng nhận")."""

BY_ID: dict[str, Kind] = {kind.id: kind for kind in KINDS}


@dataclass(frozen=True)
class KindMatch:
    """The kind of one document and why."""

    kind: str | None
    """A `Kind.id`, or None when no title phrase was found."""
    score: float
    """How closely the title matched, 0–100 (100: every letter, once folded)."""
    evidence: str
    """The title line (as read) that decided, or what marked a receipt; empty when nothing did."""


HEAD_LINES = 15
"""A title stands in the first lines of a page (after the motto and the agency header): only these are read,
so the component names a receipt lists further down cannot make it count as those documents."""
TITLE_PAGES = 2
"""Pages read for a title: a first page without one (a cover, a blank) lets the second decide."""
CAPITAL_SHARE = 0.6
"""Share of capital letters that makes a line a printed title rather than body text."""
MIXED_CASE_PENALTY = 15.0
"""Score taken off a title found only in a mixed-case line."""
MIXED_CASE_LINES = 8
"""Lines of a page where a mixed-case title ("Giấy ủy quyền", typed by a citizen) is looked for."""
COMPONENT_WORDS = 20
"""Words of a component name's head that are searched: later words name other documents ("… không có Giấy
báo tử"), which must not decide the kind."""

PHRASE_START = 5
"""A component's paper is named in the first words of its head ("Bản sao có chứng thực Giấy …" is stripped
first); a phrase further on is a detail ("… của dự án", "… trên Giấy chứng nhận") and would mislabel it."""

_FIELD = re.compile(r"[0-9:]")
_PARENTHESES = re.compile(r"\([^)]*\)?")
_CASE_CUTS = re.compile(r"\b(?:trong truong hop|doi voi truong hop|tru truong hop|neu|theo quy dinh)\b")
_CASE_MARKS = ("truong hop", "doi voi", "trong truong hop", "neu")
_LEADING_NUMBER = re.compile(r"^(?:[0-9]{1,2}|[a-h]|[ivx]{1,4})(?:\s+(?=\S)|$)")
_LIST_NUMBER = re.compile(r"^\W*(?:(?:[0-9]{1,2}|[a-hA-H]|[ivxIVX]{1,4})(?:\.[0-9]{1,2})?\s*[.):]\W*)+")
_QUALIFYING = (
    "bản chính, bản sao, bản gốc, bản điện tử, bản sao điện tử, bản chụp, bản photo, bản phô tô, bản giấy, "
    "bản in, có chứng thực, có công chứng, chứng thực, được chứng thực, từ bản chính, từ sổ gốc, hợp lệ, "
    "hoặc, và, kèm, của, kèm bản chính để đối chiếu, để đối chiếu, một trong các giấy tờ sau, "
    "một trong các, các, xuất trình, nộp, 01, 02, 03"
)
_QUALIFIERS = tuple(sorted((tuple(fold(q).split()) for q in _QUALIFYING.split(", ")), key=len, reverse=True))
"""Words that open a component name to say which form of a paper is wanted, not which paper."""
_RECEIPT_MARKS = ("ma ho so", "tiep nhan", "tra ket qua")
"""What a receipt prints together (the dossier code, "tiếp nhận", "hẹn trả kết quả"), its title aside."""


def kind(kind_id: str) -> Kind:
    """The kind with this id (KeyError for an unknown one)."""
    return BY_ID[kind_id]


def kind_of_component(component_name: str) -> str | None:
    """The kind of document a catalog component asks for, from the head of its name; None when the name
    names no kind of the taxonomy ("Giấy tờ chứng minh …" of something specific, "Hồ sơ …")."""
    for head in _component_heads(component_name):
        found = _first_phrase(head)
        if found is not None:
            return found
    return None


def kind_of_document(pages: Sequence[str]) -> KindMatch:
    """The kind of a document from the title lines of its first page(s): OCR damage forgiven (a letter or
    two per phrase, tone marks optional); a receipt is recognised first, whatever it lists."""
    for text in pages[:TITLE_PAGES]:
        lines = [line for line in (raw.strip() for raw in text.splitlines()) if fold(line)][:HEAD_LINES]
        if not lines:
            continue
        receipt = _receipt(text, lines)
        if receipt is not None:
            return receipt
        titled = _title(lines)
        if titled is not None:
            return titled
    return KindMatch(None, 0.0, "")


def _component_heads(name: str) -> list[list[str]]:
    """Where a component's own document is named, most telling first, as folded words: for a case
    ("Trường hợp …, thì nộp X", "Đối với …: X") the part after "thì" or ":", then the whole clause; else
    the first clause up to its own case ("… trong trường hợp …"), before a ":" and then after it."""
    clause = _PARENTHESES.sub(" ", re.split(r";|\.\s|\.$", _LIST_NUMBER.sub("", name), maxsplit=1)[0])
    before, colon, after = clause.partition(":")
    folded = fold(clause)
    if folded.startswith(_CASE_MARKS):
        heads = [folded.split(" thi ", 1)[1]] if " thi " in folded else []
        heads += [fold(after)] if colon else []
        heads.append(folded)
    else:
        heads = [
            _CASE_CUTS.split(fold(part), maxsplit=1)[0] for part in ((before, after) if colon else (clause,))
        ]
    stripped = (_strip_qualifiers(_strip_number(head).split()) for head in heads)
    return [words[:COMPONENT_WORDS] for words in stripped if words]


def _strip_qualifiers(words: list[str]) -> list[str]:
    """Without the opening "bản chính hoặc bản sao có chứng thực …" that tells the form, not the paper."""
    start, moved = 0, True
    while moved:
        moved = False
        for qualifier in _QUALIFIERS:
            if tuple(words[start : start + len(qualifier)]) == qualifier:
                start, moved = start + len(qualifier), True
                break
    return words[start:]


def _strip_number(folded: str) -> str:
    """ "1 don de nghi", "a to khai", "ii giay de nghi" → without the list number."""
    previous = None
    while previous != folded:
        previous, folded = folded, _LEADING_NUMBER.sub("", folded, count=1)
    return folded


@cache
def _phrase_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Every title phrase by its first word, longest first: (words, kind id)."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for item in KINDS:
        for pattern in item.patterns:
            words = tuple(pattern.split())
            index.setdefault(words[0], []).append((words, item.id))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(" ".join(entry[0])))
    return index


def _first_phrase(words: Sequence[str]) -> str | None:
    """The kind of the earliest title phrase among `words` (the longest where several start together), if
    one starts among the first `PHRASE_START` words."""
    index = _phrase_index()
    for start, word in enumerate(words[:PHRASE_START]):
        for phrase, kind_id in index.get(word, ()):
            if tuple(words[start : start + len(phrase)]) == phrase:
                return kind_id
    return None


@cache
def _phrases_longest_first() -> tuple[tuple[str, str], ...]:
    pairs = [(pattern, item.id) for item in KINDS for pattern in item.patterns]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def _allowed_edits(phrase: str) -> int:
    """Letters OCR may have damaged in a title phrase of this length: none up to 8 letters, where one wrong
    letter makes another word ("công an" is not "công văn"), then one, then about one in seven."""
    return 0 if len(phrase) <= 8 else 1 if len(phrase) < 15 else len(phrase) // 7


def _prefix_score(phrase: str, line: str) -> float:
    """How well `line` opens with `phrase` (0–100; 0 when not within the allowed edits), the cut falling
    between words."""
    edits = _allowed_edits(phrase)
    best: float = 0.0
    for end in range(max(1, len(phrase) - edits), min(len(line), len(phrase) + edits) + 1):
        if end < len(line) and line[end] != " ":
            continue
        distance = Levenshtein.distance(phrase, line[:end], score_cutoff=edits)
        if distance <= edits:
            best = max(best, 100.0 * (1 - distance / len(phrase)))
    return best


def _title_phrase(line: str, phrases: Iterable[tuple[str, str]]) -> tuple[str, str, float] | None:
    """The longest phrase `line` (folded) opens with: (phrase, kind id, score)."""
    found: tuple[str, str, float] | None = None
    for phrase, kind_id in phrases:
        if found is not None and len(phrase) < len(found[0]):
            break
        score = _prefix_score(phrase, line)
        if score and (found is None or score > found[2]):
            found = (phrase, kind_id, score)
    return found


def _title(lines: Sequence[str]) -> KindMatch | None:
    """The first of `lines` that opens with a title phrase (alone or with the next line, for a title broken
    over two), as a match; receipts are left to `_receipt`. Titles are printed in capitals, so capital lines
    are read first; a mixed-case line decides only when none does, among the first `MIXED_CASE_LINES`, when
    it holds no digit or colon (a body's "Căn cước công dân: 0861…" does), and scores `MIXED_CASE_PENALTY`
    less."""
    phrases = tuple(pair for pair in _phrases_longest_first() if pair[1] != "receipt")
    folded = [_strip_number(fold(line)) for line in lines]
    capital = [_is_capital(line) for line in lines]
    plain = [not _FIELD.search(line) for line in lines]
    for capitals_only in (True, False):
        for position, line in enumerate(folded if capitals_only else folded[:MIXED_CASE_LINES]):
            if (capitals_only and not capital[position]) or (not capitals_only and not plain[position]):
                continue
            candidates = [line]
            if position + 1 < len(folded) and (capital[position + 1] or not capitals_only):
                candidates.append(f"{line} {folded[position + 1]}")
            found = [hit for hit in (_title_phrase(c, phrases) for c in candidates) if hit is not None]
            if found:
                _, kind_id, score = max(found, key=lambda hit: (len(hit[0]), hit[2]))
                score = score if capitals_only else score - MIXED_CASE_PENALTY
                return KindMatch(kind_id, round(score, 1), lines[position])
    return None


def _is_capital(line: str) -> bool:
    """Mostly capital letters (OCR lowers a few)."""
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 4 and sum(ch.isupper() for ch in letters) >= CAPITAL_SHARE * len(letters)


def _receipt(text: str, lines: Sequence[str]) -> KindMatch | None:
    """A receipt by its title among the head lines, or, its title damaged beyond reading, by what only a
    receipt prints together: the dossier code, "tiếp nhận" and "trả kết quả"."""
    phrases = tuple((pattern, "receipt") for pattern in BY_ID["receipt"].patterns)
    phrases = tuple(sorted(phrases, key=lambda pair: -len(pair[0])))
    for line in lines:
        hit = _title_phrase(_strip_number(fold(line)), phrases)
        if hit is not None:
            return KindMatch("receipt", round(hit[2], 1), line)
    folded = fold(text)
    if all(mark in folded for mark in _RECEIPT_MARKS):
        return KindMatch("receipt", 60.0, "mã hồ sơ, tiếp nhận, trả kết quả")
    return None
