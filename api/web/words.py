"""The web app's words: Vietnamese first (staff read Vietnamese), English by the switch in the header.

`word(key, language, **values)` formats one; a key missing in English falls back to Vietnamese, and an
unknown key shows itself (a test checks every key the templates use exists).
"""

from __future__ import annotations

from typing import Any, Literal

from api.web.words_admin import WORDS as ADMIN_WORDS
from api.web.words_dashboard import WORDS as DASHBOARD_WORDS

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
}


for _screen_words in (ADMIN_WORDS, DASHBOARD_WORDS):
    WORDS.update(_screen_words)


def word(key: str, language: Language = "vi", **values: Any) -> str:
    """The word for `key` in `language`, formatted with `values`."""
    pair = WORDS.get(key)
    if pair is None:
        return key
    text = pair[1] if language == "en" and pair[1] else pair[0]
    return text.format(**values) if values else text
