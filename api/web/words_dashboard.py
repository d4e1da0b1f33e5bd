"""Words of the dashboard pages (merged into `api.web.words.WORDS`): key → (Vietnamese, English)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "dash.title": ("Số liệu số hóa", "Digitization figures"),
    "dash.filters": ("Kỳ báo cáo", "Period"),
    "dash.unit_all": ("Tất cả đơn vị", "All units"),
    "dash.scope_note": (
        "Số liệu trong kỳ tính theo ngày xử lý xong (giờ Việt Nam); hàng đợi và tồn duyệt là số hiện tại. "
        "Không tính tài liệu đã rút.",
        "Period figures count documents by the day they finished (Vietnam time); the queue and the review "
        "backlog are as of now. Withdrawn documents are not counted.",
    ),
    "dash.period_shown": ("Từ {first} đến {last}", "From {first} to {last}"),
    "dash.notice.bad_date": (
        "Ngày nhập không hợp lệ (cần dạng năm-tháng-ngày): đã dùng ngày mặc định.",
        "A date was not valid (YYYY-MM-DD): the default was used.",
    ),
    "dash.notice.swapped": (
        "Ngày bắt đầu sau ngày kết thúc: đã đổi chỗ hai ngày.",
        "The start was after the end: the two dates were swapped.",
    ),
    "dash.notice.too_long": (
        "Kỳ báo cáo dài quá 366 ngày: đã rút ngắn còn 366 ngày tính đến ngày kết thúc.",
        "The period was longer than 366 days: it was cut to the 366 days up to its end.",
    ),
    # tiles
    "dash.kpis": ("Chỉ số chính", "Key figures"),
    "dash.kpi.pages": ("Trang đã số hóa", "Pages digitized"),
    "dash.kpi.documents": ("Tài liệu đã số hóa", "Documents digitized"),
    "dash.kpi.documents_note": ("Xong và cần duyệt", "Done and needing review"),
    "dash.kpi.dossiers": ("Hồ sơ đã số hóa xong", "Dossiers fully digitized"),
    "dash.kpi.dossiers_note": (
        "{complete}/{total} hồ sơ có tài liệu tiếp nhận trong kỳ; mọi tài liệu đều xong "
        "(chưa đối chiếu thành phần hồ sơ)",
        "{complete}/{total} dossiers with a document received in the period; every document done "
        "(components not checked)",
    ),
    "dash.kpi.queue": ("Đang chờ xử lý", "Queue"),
    "dash.kpi.queue_note": (
        "{queued} chờ · {processing} đang xử lý (hiện tại)",
        "{queued} queued · {processing} processing (now)",
    ),
    "dash.kpi.review": ("Chờ duyệt", "Waiting for review"),
    "dash.kpi.review_note": ("Lâu nhất: {age} (hiện tại)", "Oldest: {age} (now)"),
    "dash.kpi.review_none": ("không có", "none"),
    "dash.kpi.confidence": ("Độ tin cậy OCR trung bình", "Mean OCR confidence"),
    "dash.kpi.confidence_note": ("Trung bình theo tài liệu đã số hóa", "Mean over digitized documents"),
    "dash.kpi.failures": ("Tài liệu lỗi", "Failed documents"),
    # ages
    "dash.age.under_hour": ("dưới 1 giờ", "under an hour"),
    "dash.age.hours": ("{n} giờ", "{n} h"),
    "dash.age.days": ("{n} ngày", "{n} days"),
    "dash.age.under_1d": ("Dưới 1 ngày", "Under 1 day"),
    "dash.age.1_3d": ("1–3 ngày", "1–3 days"),
    "dash.age.3_7d": ("3–7 ngày", "3–7 days"),
    "dash.age.over_7d": ("Trên 7 ngày", "Over 7 days"),
    # charts
    "dash.chart.per_day": ("Trang và tài liệu số hóa theo ngày", "Pages and documents digitized per day"),
    "dash.chart.per_station": ("Trang số hóa theo trạm quét", "Pages digitized per scanning station"),
    "dash.chart.per_procedure": (
        "Tài liệu theo thủ tục (10 thủ tục nhiều nhất)",
        "Documents per procedure (top 10)",
    ),
    "dash.chart.failures": ("Tài liệu lỗi theo mã lỗi", "Failed documents per error code"),
    "dash.chart.review_age": (
        "Tài liệu chờ duyệt theo thời gian chờ (hiện tại)",
        "Review backlog by age (now)",
    ),
    "dash.empty": ("Không có số liệu trong kỳ này.", "Nothing in this period."),
    "dash.empty_now": ("Hiện không có tài liệu nào chờ duyệt.", "Nothing is waiting for review."),
    "dash.unknown": ("(không rõ)", "(unknown)"),
    "dash.no_procedure": ("(chưa xác định thủ tục)", "(no procedure)"),
    "dash.other": ("Khác", "Other"),
    # table and CSV columns
    "dash.col.key": ("Mã chỉ số", "Key"),
    "dash.col.figure": ("Chỉ số", "Figure"),
    "dash.col.value": ("Giá trị", "Value"),
    "dash.col.day": ("Ngày", "Day"),
    "dash.col.station": ("Trạm quét / người nộp", "Station / handed in by"),
    "dash.col.procedure_id": ("Mã thủ tục", "Procedure id"),
    "dash.col.error_code": ("Mã lỗi", "Error code"),
    "dash.col.error_text": ("Nội dung lỗi", "Error"),
    "dash.col.age": ("Thời gian chờ", "Waiting for"),
    "dash.csv.dossiers": ("Hồ sơ có tài liệu tiếp nhận trong kỳ", "Dossiers with a document received"),
    "dash.csv.dossiers_percent": ("Tỷ lệ hồ sơ đã số hóa xong (%)", "Share of dossiers fully digitized (%)"),
    "dash.csv.oldest_hours": ("Tài liệu chờ duyệt lâu nhất (giờ)", "Oldest review item (hours)"),
    "dash.csv.summary": ("Tải CSV các chỉ số chính", "Download the key figures as CSV"),
    "dash.csv.figure": ("Tải CSV: {title}", "Download CSV: {title}"),
}
