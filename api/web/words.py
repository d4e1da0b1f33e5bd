"""The web app's words: Vietnamese first (staff read Vietnamese), English by the switch in the header.

`word(key, language, **values)` formats one; a key missing in English falls back to Vietnamese, and an
unknown key shows itself (a test checks every key the templates use exists).
"""

from __future__ import annotations

from typing import Any, Literal

from api.web.words_admin import WORDS as ADMIN_WORDS
from api.web.words_dashboard import WORDS as DASHBOARD_WORDS
from api.web.words_signing import WORDS as SIGNING_WORDS

Language = Literal["vi", "en"]

WORDS: dict[str, tuple[str, str]] = {
    # shell
    "app.name": ("Số hóa hồ sơ", "sohoa"),
    "app.tagline": ("Trung tâm Phục vụ hành chính công", "Public Administration Service Center"),
    "nav.intake": ("Tiếp nhận", "Intake"),
    "nav.review": ("Duyệt", "Review"),
    "nav.search": ("Tra cứu", "Search"),
    "nav.dashboard": ("Số liệu", "Dashboard"),
    "nav.admin": ("Quản trị", "Admin"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "nav.skip": ("Bỏ qua thanh điều hướng", "Skip to content"),
    "nav.language": ("English", "Tiếng Việt"),
    "role.scanner": ("Nhân viên quét", "Scanning staff"),
    "role.reader": ("Người xem", "Reader"),
    "role.reviewer": ("Người duyệt", "Reviewer"),
    "role.admin": ("Quản trị viên", "Administrator"),
    "unit.province": ("Toàn tỉnh", "Whole province"),
    # login
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.refused": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    "login.locked": (
        "Tài khoản tạm khóa vì đăng nhập sai nhiều lần. Thử lại sau {minutes} phút.",
        "The account is locked after repeated failures. Try again in {minutes} min.",
    ),
    "login.expired": ("Phiên làm việc đã hết hạn, xin đăng nhập lại.", "The form expired: please try again."),
    "login.logged_out": ("Đã đăng xuất.", "Logged out."),
    # errors
    "forbidden.title": ("Không có quyền", "Not allowed"),
    "forbidden.text": (
        "Vai trò “{role}” không được xem trang này. Nếu cần, xin liên hệ quản trị viên.",
        "The role “{role}” may not open this page. Ask an administrator if you need it.",
    ),
    "forbidden.home": ("Về trang chính", "Back to my page"),
    "notfound.title": ("Không tìm thấy", "Not found"),
    # statuses
    "status.queued": ("Chờ xử lý", "Queued"),
    "status.processing": ("Đang xử lý", "Processing"),
    "status.done": ("Xong", "Done"),
    "status.needs_review": ("Cần duyệt", "Needs review"),
    "status.failed": ("Lỗi", "Failed"),
    "status.withdrawn": ("Đã rút", "Withdrawn"),
    # common
    "common.source": ("Tệp", "File"),
    "common.status": ("Trạng thái", "Status"),
    "common.pages": ("Trang", "Pages"),
    "common.dossier": ("Mã hồ sơ", "Dossier"),
    "common.procedure": ("Thủ tục", "Procedure"),
    "common.unit": ("Đơn vị", "Unit"),
    "common.received": ("Tiếp nhận lúc", "Received"),
    "common.error": ("Lỗi", "Error"),
    "common.none": ("(chưa có)", "(none)"),
    "common.download_pdf": ("Tải PDF", "Download PDF"),
    "common.download_original": ("Bản gốc", "Original"),
    "common.download_text": ("Văn bản", "Text"),
    "common.confidence": ("Độ tin cậy OCR", "OCR confidence"),
    "common.save": ("Lưu", "Save"),
    "common.create": ("Tạo", "Create"),
    "common.filter": ("Lọc", "Filter"),
    "common.all": ("Tất cả", "All"),
    "common.from": ("Từ ngày", "From"),
    "common.to": ("Đến ngày", "To"),
    "common.csv": ("Tải CSV", "Download CSV"),
    "common.previous": ("Trang trước", "Previous"),
    "common.next": ("Trang sau", "Next"),
    "common.count": ("Số lượng", "Count"),
    "common.created": ("Ngày tạo", "Created"),
    "common.actions": ("Thao tác", "Actions"),
    "common.name": ("Tên", "Name"),
    "common.role": ("Vai trò", "Role"),
    "common.documents": ("Tài liệu", "Documents"),
    # intake
    "intake.title": ("Tiếp nhận bản quét", "Scan intake"),
    "intake.drop": (
        "Kéo thả tệp hoặc cả thư mục vào đây, hoặc chọn bên dưới",
        "Drop files or a whole folder here, or choose below",
    ),
    "intake.files": ("Chọn tệp", "Choose files"),
    "intake.folder": ("Chọn thư mục", "Choose a folder"),
    "intake.none_chosen": ("Chưa chọn tệp nào.", "No file chosen."),
    "intake.chosen": ("Đã chọn {count} tệp ({mb} MB).", "{count} file(s) chosen ({mb} MB)."),
    "intake.dossier": ("Mã hồ sơ (nếu biết)", "Dossier code (if known)"),
    "intake.dossier_help": (
        "Để trống nếu chưa biết: mã sẽ được đọc từ phiếu tiếp nhận hoặc mã QR trong bản quét.",
        "Leave empty if unknown: the code is read from the receipt or its QR code.",
    ),
    "intake.station": ("Quầy / máy quét", "Counter / scanner"),
    "intake.station_example": ("vd. Quầy 3", "e.g. Counter 3"),
    "intake.name": ("Tên lô (tùy chọn)", "Batch name (optional)"),
    "intake.send": ("Gửi lên", "Send"),
    "intake.uploading": ("Đang tải lên", "Uploading"),
    "intake.too_many": (
        "Mỗi lần gửi tối đa {max} tệp: xin chia thành nhiều lần.",
        "At most {max} files per upload: send them in parts.",
    ),
    "intake.failed": ("Không gửi được:", "Upload failed:"),
    # batch
    "batch.title": ("Lô tải lên", "Batch"),
    "batch.sent_at": ("Gửi lúc", "Sent"),
    "batch.id": ("mã lô", "id"),
    "batch.finished": ("Đã xử lý xong", "Finished"),
    "batch.working": ("Đang xử lý…", "Processing…"),
    "batch.files_done": ("{done}/{total} tệp", "{done}/{total} files"),
    "batch.pages_done": ("{done}/{total} trang", "{done}/{total} pages"),
    "batch.refused": ("Không nhận", "Refused"),
    "batch.duplicate": ("đã có từ trước", "already in"),
    "batch.files_table": ("Từng tệp của lô", "Each file of the batch"),
    "batch.another": ("Gửi lô khác", "Send another batch"),
    # review
    "review.title": ("Duyệt tài liệu", "Review"),
    "review.waiting": ("{count} tài liệu đang chờ duyệt", "{count} document(s) waiting"),
    "review.empty": ("Không còn tài liệu nào cần duyệt.", "Nothing is waiting for review."),
    "review.page_image": ("Ảnh trang", "Page image"),
    "review.page_of": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "review.page_alt": ("Trang {page} của {source}", "Page {page} of {source}"),
    "review.zoom_in": ("Phóng to", "Zoom in"),
    "review.zoom_out": ("Thu nhỏ", "Zoom out"),
    "review.show_unsure": ("Tô chữ đọc chưa chắc", "Mark unsure words"),
    "review.unsure_count": ("{count} chữ đọc chưa chắc", "{count} unsure word(s)"),
    "review.no_pdf": ("Tài liệu này chưa có bản PDF.", "This document has no PDF yet."),
    "review.procedure": ("Thủ tục", "Procedure"),
    "review.no_procedure": ("chưa xác định", "not decided"),
    "review.evidence": ("Căn cứ", "Evidence"),
    "review.other_procedure": ("Chọn thủ tục khác", "Another procedure"),
    "review.procedure_placeholder": (
        "gõ tên hoặc mã, không cần dấu",
        "type a name or code, tone marks optional",
    ),
    "review.choose": ("Chọn", "Choose"),
    "review.accept": ("Chấp nhận", "Accept"),
    "review.skip": ("Bỏ qua", "Skip"),
    "review.field": ("Trường thông tin", "Key field"),
    "review.field_found": ("Sửa giá trị", "Correct"),
    "review.field_new": ("(thêm mới)", "(new)"),
    "review.field_value": ("Giá trị đúng", "Right value"),
    "review.fields_found": ("Thông tin đã đọc được", "Fields found"),
    "review.text": ("Văn bản đọc được", "Text read"),
    "review.saved": ("Đã lưu.", "Saved."),
    "review.failed": ("Không lưu được:", "Not saved:"),
    "review.pick_first": ("Hãy chọn thủ tục trước.", "Choose a procedure first."),
    "review.keys": (
        "Phím tắt: A chấp nhận · 1–9 chọn thủ tục · P tìm thủ tục · D mã hồ sơ · F trường thông tin · "
        "S bỏ qua · +/− phóng to/thu nhỏ · PageUp/PageDown đổi trang",
        "Keys: A accept · 1–9 choose a procedure · P find a procedure · D dossier code · F key field · "
        "S skip · +/− zoom · PageUp/PageDown pages",
    ),
    "reason.procedure.unknown": ("Chưa nhận ra thủ tục", "Procedure not recognised"),
    "reason.procedure.low_confidence": ("Thủ tục chưa chắc chắn", "Procedure uncertain"),
    "reason.ocr.low_confidence": ("Chữ đọc chưa rõ", "Low OCR confidence"),
    "reason.document.blank": ("Có trang trắng", "Blank page"),
    "reason.dossier.ambiguous": ("Mã hồ sơ chưa rõ", "Dossier code ambiguous"),
    "reason.dossier.conflict": ("Mã hồ sơ mâu thuẫn", "Dossier codes disagree"),
    "reason.signature.failed": ("Ký số không thành công", "Signing failed"),
    "field.citizen_id": ("Số CCCD", "Citizen ID"),
    "field.old_id": ("Số CMND cũ", "Old ID number"),
    "field.tax_code": ("Mã số thuế", "Tax code"),
    "field.person_name": ("Họ tên", "Name"),
    "field.date": ("Ngày", "Date"),
    # search
    "search.title": ("Tra cứu tài liệu", "Search documents"),
    "search.words": ("Từ cần tìm (có dấu hoặc không dấu)", "Words (tone marks optional)"),
    "search.placeholder": ("vd. nguyen van an khai sinh", "e.g. nguyen van an khai sinh"),
    "search.submit": ("Tìm", "Search"),
    "search.results": ("Kết quả ({count})", "Results ({count})"),
    "search.nothing": ("Không tìm thấy tài liệu nào.", "Nothing found."),
    "search.pages": ("Trang kết quả", "Result pages"),
    # dossier
    "dossier.title": ("Hồ sơ", "Dossier"),
    "dossier.summary": ("{documents} tài liệu, {pages} trang", "{documents} document(s), {pages} page(s)"),
    "dossier.components": ("Thành phần hồ sơ theo danh mục", "Components the catalog lists"),
    "dossier.components_note": (
        "Đối chiếu loại giấy tờ của từng tài liệu (đọc từ tiêu đề) với thành phần hồ sơ trong danh mục "
        "thủ tục quốc gia; thành phần ghi “nếu có”, “trường hợp …” là tùy trường hợp.",
        "Each document's kind (read from its title) against the dossier components of the national catalog; "
        "components marked “nếu có”, “trường hợp …” are needed only in some cases.",
    ),
    "dossier.missing": ("Còn thiếu", "Missing"),
    "dossier.present": ("Đã có", "Present"),
    "dossier.unchecked": ("Chưa đối chiếu được", "Cannot be checked"),
    "dossier.optional": ("Tùy trường hợp", "Only in some cases"),
    "completeness.complete": ("Đủ thành phần", "Complete"),
    "completeness.incomplete": ("Thiếu thành phần", "Incomplete"),
    "completeness.unknown": ("Chưa xác định", "Unknown"),
    "dossier.no_components": ("Danh mục không ghi thành phần cho thủ tục này.", "The catalog lists none."),
    "dossier.unknown_procedure": (
        "Chưa xác định thủ tục của hồ sơ: chưa đối chiếu được thành phần.",
        "The dossier's procedure is not known yet: its components cannot be checked.",
    ),
    "dossier.pages": ("{count} trang", "{count} page(s)"),
    "dossier.more_pages": ("… và {count} trang nữa", "… and {count} more page(s)"),
}


for _screen_words in (ADMIN_WORDS, DASHBOARD_WORDS, SIGNING_WORDS):
    WORDS.update(_screen_words)


def word(key: str, language: Language = "vi", **values: Any) -> str:
    """The word for `key` in `language`, formatted with `values`."""
    pair = WORDS.get(key)
    if pair is None:
        return key
    text = pair[1] if language == "en" and pair[1] else pair[0]
    return text.format(**values) if values else text
