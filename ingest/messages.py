"""Words for people at the counters: Vietnamese by default, English by setting (`SOHOA_LANGUAGE`).

Codes stay what machines read (`input.unreadable`); `error_text` puts a sentence for people beside them.
`say(key, language, **values)` formats one message. A key missing in a language falls back to English.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]

MESSAGES: dict[str, dict[str, str]] = {
    "storing": {"vi": "Đang lưu bản gốc", "en": "Storing originals"},
    "reading": {"vi": "Đang đọc trang", "en": "Reading pages"},
    "pages_per_minute": {"vi": "trang/phút", "en": "pages/min"},
    "skipped_problem": {"vi": "Bỏ qua {source}: {text} ({code})", "en": "Skipped {source}: {text} ({code})"},
    "nothing_imported": {"vi": "Không nhập được tệp nào.", "en": "Nothing was imported."},
    "import_id": {"vi": "Mã lần nhập: {id} (lần chạy thứ {run})", "en": "Import {id} (run {run})"},
    "interrupted": {
        "vi": "Đã dừng theo yêu cầu. Các trang đang đọc đã xong; {left} tài liệu chưa xử lý vẫn chờ.\n"
        "Để tiếp tục: sohoa import --resume {id}",
        "en": "Stopped as asked. Pages in flight finished; {left} unprocessed document(s) are still queued.\n"
        "To go on: sohoa import --resume {id}",
    },
    "stopping": {
        "vi": "Đang dừng: không nhận thêm tệp, chờ các trang đang đọc xong… (Ctrl-C lần nữa để dừng ngay)",
        "en": "Stopping: no new files, waiting for pages in flight… (Ctrl-C again to stop at once)",
    },
    "aborted": {
        "vi": "Đã dừng ngay. Không có kết quả nào bị ghi dở. Để tiếp tục: sohoa import --resume {id}",
        "en": "Stopped at once. Nothing was half-recorded. To go on: sohoa import --resume {id}",
    },
    "summary_title": {"vi": "Kết quả nhập", "en": "Import summary"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    "files": {"vi": "Tệp", "en": "Files"},
    "pages": {"vi": "Trang", "en": "Pages"},
    "dossiers_title": {"vi": "Theo hồ sơ", "en": "By dossier"},
    "dossier": {"vi": "Mã hồ sơ", "en": "Dossier"},
    "documents": {"vi": "Tài liệu", "en": "Documents"},
    "how_known": {"vi": "Nguồn mã", "en": "Code from"},
    "no_dossier": {"vi": "(chưa có mã hồ sơ)", "en": "(no dossier code)"},
    "more_dossiers": {"vi": "… và {count} hồ sơ khác", "en": "… and {count} more dossiers"},
    "failed_title": {"vi": "Tệp lỗi", "en": "Failed files"},
    "more_failed": {
        "vi": "… và {count} tệp lỗi khác (xem --report)",
        "en": "… and {count} more failed files (see --report)",
    },
    "rate": {
        "vi": "Đã đọc {pages} trang trong {seconds:.1f} giây: {rate:.1f} trang/phút",
        "en": "processed {pages} page(s) in {seconds:.1f} s: {rate:.1f} pages/minute",
    },
    "queued_only": {
        "vi": "Đã xếp hàng {count} tài liệu cho máy xử lý. Xem kết quả: sohoa import --resume {id} --wait",
        "en": "Queued {count} document(s) for the workers. Follow them: sohoa import --resume {id} --wait",
    },
    "report_written": {"vi": "Đã ghi báo cáo: {path}", "en": "Report written: {path}"},
    "manifest_bad": {
        "vi": "Bảng kê có {count} dòng lỗi; chưa nhập gì:",
        "en": "The manifest has {count} bad row(s); nothing was imported:",
    },
    "manifest_ok": {
        "vi": "Bảng kê hợp lệ: {rows} dòng, {files} tệp.",
        "en": "The manifest is valid: {rows} rows, {files} files.",
    },
    "manifest_line": {"vi": "dòng {line}", "en": "line {line}"},
    "not_in_manifest": {
        "vi": "{count} tệp không có trong bảng kê: nhập theo thư mục của chúng",
        "en": "{count} file(s) not in the manifest: imported by their folder",
    },
    "unknown_import": {
        "vi": "Không có lần nhập nào mã {id}",
        "en": "No import with id {id}",
    },
    "watching": {
        "vi": "Đang theo dõi thư mục {path} (Ctrl-C để dừng)",
        "en": "Watching {path} (Ctrl-C to stop)",
    },
    "watch_picked": {"vi": "Đã nhận {source}", "en": "Picked up {source}"},
    "watch_done": {"vi": "Xong {source} → {where}", "en": "Done {source} → {where}"},
    "watch_review": {"vi": "Cần kiểm tra {source} → {where}", "en": "Needs review {source} → {where}"},
    "watch_failed": {"vi": "Lỗi {source}: {text} ({code})", "en": "Failed {source}: {text} ({code})"},
    "watch_duplicate": {"vi": "Trùng (đã có) {source}", "en": "Duplicate (already stored) {source}"},
    "watch_retrying": {
        "vi": "Tạm thời chưa xử lý được ({code}): {text}; sẽ thử lại",
        "en": "Cannot go on for now ({code}): {text}; will retry",
    },
    "watch_stopped": {"vi": "Đã dừng theo dõi.", "en": "Stopped watching."},
    "retry_sent": {
        "vi": "Đã gửi lại {count} tài liệu bị lỗi ({codes}) để xử lý lại.",
        "en": "Sent {count} failed documents ({codes}) back to be processed.",
    },
    "retry_lasting": {
        "vi": "Không gửi lại lỗi {codes}: lỗi này do chính tệp, xử lý lại cũng sẽ lỗi như vậy. "
        "Chỉ gửi lại được lỗi tạm thời (storage, processing, ocr.timeout, ocr.unavailable, internal).",
        "en": "Not retrying {codes}: these failures come from the file itself and would happen again. "
        "Only passing failures can be retried (storage, processing, ocr.timeout, ocr.unavailable, internal).",
    },
    "catalog_bad": {
        "vi": "Tệp danh mục có {count} dòng lỗi; chưa nhập gì:",
        "en": "The catalog file has {count} bad row(s); nothing was imported:",
    },
    "catalog_where": {"vi": "dòng {row}", "en": "row {row}"},
    "catalog_where_column": {"vi": "dòng {row}, cột {column}", "en": "row {row}, column {column}"},
    "catalog_imported": {
        "vi": "Đã nhập danh mục từ {source}: {from_file} thủ tục trong tệp, danh mục gồm {procedures} "
        "thủ tục (cùng các mục sohoa biên soạn sẵn). Phiên bản {version}, đang dùng.",
        "en": "Imported the catalog from {source}: {from_file} procedures in the file, {procedures} in the "
        "catalog (with sohoa's curated entries). Version {version}, now active.",
    },
    "catalog_again": {
        "vi": "Danh mục này đã được nhập trước đây (phiên bản {version}, {procedures} thủ tục): dùng lại.",
        "en": "This catalog was imported before (version {version}, {procedures} procedures): active again.",
    },
    "catalog_columns": {"vi": "Các cột đã đọc: {columns}", "en": "Columns read: {columns}"},
    "catalog_switch": {
        "vi": "Các máy xử lý chuyển sang danh mục mới trong vòng {seconds:.0f} giây, không cần khởi động "
        "lại.",
        "en": "Workers switch to it within {seconds:.0f} seconds, without a restart.",
    },
    "catalog_pinned": {
        "vi": "Lưu ý: SOHOA_CATALOG_PATH đang trỏ tới {path}; máy xử lý vẫn dùng tệp đó cho tới khi bỏ thiết "
        "lập này.",
        "en": "Note: SOHOA_CATALOG_PATH points at {path}; workers keep using that file until it is unset.",
    },
    "catalog_unknown": {
        "vi": "Không có thủ tục nào mã {code} trong danh mục đang dùng.",
        "en": "No procedure {code} in the catalog in use.",
    },
    "catalog_maybe": {"vi": "Có phải một trong các thủ tục sau:", "en": "Did you mean one of these:"},
    "catalog_code": {"vi": "Mã thủ tục", "en": "Code"},
    "catalog_id": {"vi": "Mã trong sohoa", "en": "Id in sohoa"},
    "catalog_field": {"vi": "Lĩnh vực", "en": "Field"},
    "catalog_levels": {"vi": "Cấp thực hiện", "en": "Levels"},
    "catalog_agency": {"vi": "Cơ quan thực hiện", "en": "Agency"},
    "catalog_components": {"vi": "Thành phần hồ sơ", "en": "Dossier components"},
    "catalog_form_titles": {"vi": "Tiêu đề tờ khai", "en": "Form titles"},
    "catalog_forms": {"vi": "mẫu", "en": "forms"},
    "catalog_results": {"vi": "Kết quả", "en": "Results"},
    "catalog_optional": {"vi": "(tùy trường hợp)", "en": "(only in some cases)"},
    "catalog_original": {"vi": "{copies} bản chính", "en": "{copies} original(s)"},
    "catalog_copy": {"vi": "{copies} bản sao", "en": "{copies} copy(ies)"},
    "catalog_copies": {"vi": "{copies} bản", "en": "{copies} copy(ies)"},
    "catalog_none": {"vi": "(không có)", "en": "(none)"},
    "catalog_version": {"vi": "Phiên bản danh mục", "en": "Catalog version"},
    "catalog_versions_title": {"vi": "Các phiên bản danh mục đã nhập", "en": "Imported catalog versions"},
    "catalog_no_versions": {"vi": "Chưa nhập danh mục nào.", "en": "No catalog was imported yet."},
    "catalog_in_use": {"vi": "Đang dùng: {what}", "en": "In use: {what}"},
    "catalog_shipped": {
        "vi": "danh mục đi kèm sohoa (phiên bản {version}, {procedures} thủ tục)",
        "en": "the catalog shipped with sohoa (version {version}, {procedures} procedures)",
    },
    "catalog_configured": {
        "vi": "tệp {path} của SOHOA_CATALOG_PATH (phiên bản {version}, {procedures} thủ tục)",
        "en": "the file {path} of SOHOA_CATALOG_PATH (version {version}, {procedures} procedures)",
    },
    "catalog_active_import": {
        "vi": "danh mục đã nhập, phiên bản {version} ({procedures} thủ tục)",
        "en": "the imported catalog, version {version} ({procedures} procedures)",
    },
    "catalog_headers": {
        "vi": "phiên bản|đang dùng|số thủ tục|tệp|nhập lúc|người nhập",
        "en": "version|active|procedures|file|imported at|by",
    },
    "catalog.missing_value": {"vi": "để trống (bắt buộc)", "en": "empty (required)"},
    "catalog.bad_code": {
        "vi": "«{value}» không phải mã thủ tục dạng D.DDDDDD (ví dụ 1.001193)",
        "en": "{value!r} is not a procedure code of the shape D.DDDDDD (e.g. 1.001193)",
    },
    "catalog.repeated_code": {
        "vi": "mã {value} đã có ở dòng {first_row}",
        "en": "{value} is already on row {first_row}",
    },
    "catalog.unknown_level": {
        "vi": "«{value}» không phải cấp thực hiện (Cấp bộ, Cấp tỉnh, Cấp huyện, Cấp xã, Cơ quan khác)",
        "en": "{value!r} is not a level (Cấp bộ, Cấp tỉnh, Cấp huyện, Cấp xã, Cơ quan khác)",
    },
    "catalog.not_json": {"vi": "không phải JSON ({value})", "en": "not JSON ({value})"},
    "catalog.not_object": {"vi": "không phải một đối tượng JSON", "en": "not a JSON object"},
    "catalog.bad_list": {"vi": "phải là một danh sách", "en": "must be a list"},
    "catalog.bad_component": {
        "vi": "có thành phần hồ sơ không có tên",
        "en": "a component without a name",
    },
    "catalog.missing_column": {
        "vi": "dòng tiêu đề thiếu cột này (hoặc {value})",
        "en": "the header row lacks this column (or {value})",
    },
    "catalog.duplicate_column": {
        "vi": "hai cột cùng nghĩa (cột thứ hai: «{value}»)",
        "en": "two columns mean the same (the second: {value!r})",
    },
}

CATALOG_COLUMNS: dict[str, dict[str, str]] = {
    "code": {"vi": "mã", "en": "code"},
    "name": {"vi": "tên", "en": "name"},
    "field": {"vi": "lĩnh vực", "en": "field"},
    "level": {"vi": "cấp", "en": "level"},
    "components": {"vi": "thành phần", "en": "components"},
    "agency": {"vi": "cơ quan", "en": "agency"},
    "results": {"vi": "kết quả", "en": "results"},
}
"""Columns of an imported catalog sheet, as people read them."""

OUTCOMES: dict[str, dict[str, str]] = {
    "processed": {"vi": "đã xử lý lần này", "en": "processed now"},
    "earlier": {"vi": "đã xong ở lần chạy trước", "en": "finished in an earlier run"},
    "duplicate": {"vi": "trùng tệp đã có", "en": "duplicate of a stored file"},
    "queued": {"vi": "còn chờ xử lý", "en": "still queued"},
    "failed": {"vi": "lỗi", "en": "failed"},
    "problem": {"vi": "không đọc được", "en": "could not be read"},
    "done": {"vi": "xong", "en": "done"},
    "needs_review": {"vi": "cần kiểm tra", "en": "needs review"},
}

DOSSIER_SOURCES: dict[str, dict[str, str]] = {
    "given": {"vi": "nhập tay/thư mục", "en": "given"},
    "manifest": {"vi": "bảng kê", "en": "manifest"},
    "separator": {"vi": "tờ phân cách/phiếu", "en": "separator"},
    "barcode": {"vi": "mã QR", "en": "barcode"},
    "text": {"vi": "chữ in trên trang", "en": "printed text"},
    "group": {"vi": "cùng thư mục", "en": "same folder"},
}

ERRORS: dict[str, dict[str, str]] = {
    "input.empty": {"vi": "Tệp rỗng (0 byte).", "en": "The file is empty."},
    "input.unsupported": {
        "vi": "Không phải tệp quét được hỗ trợ (PDF, TIFF, JPEG, PNG, BMP, WebP).",
        "en": "Not a supported scan format.",
    },
    "input.unreadable": {
        "vi": "Tệp bị hỏng, không đọc được.",
        "en": "The file is damaged and cannot be read.",
    },
    "input.encrypted": {"vi": "Tệp có mật khẩu.", "en": "The file is protected by a password."},
    "input.too_large": {"vi": "Tệp quá lớn.", "en": "The file is too large."},
    "input.no_pages": {"vi": "Tệp không có trang nào.", "en": "The file has no pages."},
    "input.not_found": {"vi": "Không tìm thấy tệp.", "en": "The file was not found."},
    "input.archive_unreadable": {"vi": "Tệp ZIP bị hỏng.", "en": "The ZIP archive is damaged."},
    "input.bad_dossier_code": {"vi": "Mã hồ sơ không hợp lệ.", "en": "Not a usable dossier code."},
    "input.duplex_odd_pages": {
        "vi": "Quét hai mặt cần số trang chẵn.",
        "en": "A two-pass duplex scan needs an even page count.",
    },
    "ocr.timeout": {"vi": "Đọc chữ quá lâu, đã dừng.", "en": "OCR took too long."},
    "ocr.failed": {"vi": "Không đọc được chữ trên trang.", "en": "OCR failed."},
    "ocr.unavailable": {"vi": "Chưa cài tesseract.", "en": "tesseract is not installed."},
    "storage.unavailable": {"vi": "Không kết nối được kho lưu trữ.", "en": "Storage is unreachable."},
    "storage.full": {
        "vi": "Ổ đĩa lưu dữ liệu đã đầy: giải phóng chỗ trống rồi chạy lại lệnh nhập.",
        "en": "The data disk is full: free some space, then run the import again.",
    },
    "processing.timeout": {"vi": "Xử lý quá thời gian cho phép.", "en": "Processing took too long."},
    "processing.crashed": {"vi": "Tiến trình xử lý bị dừng đột ngột.", "en": "The worker process died."},
    "internal.error": {"vi": "Lỗi nội bộ.", "en": "Internal error."},
    "manifest.file_missing": {"vi": "Không có tệp này.", "en": "No such file."},
    "manifest.duplicate_file": {"vi": "Tệp xuất hiện nhiều lần.", "en": "The file is listed twice."},
    "manifest.bad_dossier": {"vi": "Mã hồ sơ không hợp lệ.", "en": "Not a usable dossier code."},
    "manifest.unknown_procedure": {"vi": "Không có thủ tục này.", "en": "Unknown procedure."},
    "manifest.bad_date": {"vi": "Ngày không hợp lệ.", "en": "Not a valid date."},
    "manifest.missing_column": {"vi": "Bảng kê thiếu cột.", "en": "A required column is missing."},
    "manifest.unreadable": {"vi": "Không đọc được bảng kê.", "en": "The manifest cannot be read."},
    "catalog.invalid": {"vi": "Danh mục thủ tục đang dùng bị lỗi.", "en": "The procedure catalog is broken."},
    "catalog.invalid_rows": {
        "vi": "Tệp danh mục có dòng lỗi; chưa nhập gì.",
        "en": "The catalog file has bad rows; nothing was imported.",
    },
    "catalog.unreadable": {
        "vi": "Không đọc được tệp danh mục (dùng tệp .jsonl, .jsonl.gz, .csv hoặc .xlsx).",
        "en": "The catalog file cannot be read.",
    },
    "catalog.empty": {"vi": "Tệp danh mục không có thủ tục nào.", "en": "The catalog file is empty."},
    "catalog.too_large": {"vi": "Tệp danh mục quá lớn.", "en": "The catalog file is too large."},
    "catalog.not_found": {"vi": "Không có thủ tục này trong danh mục.", "en": "No such procedure."},
    "catalog.busy": {
        "vi": "Một danh mục khác vừa được nhập cùng lúc: hãy chạy lại lệnh.",
        "en": "Another catalog was imported at the same moment: run it again.",
    },
}


def say(key: str, language: Language = "vi", **values: object) -> str:
    """One message in the chosen language, with its values filled in."""
    entry = MESSAGES[key]
    return (entry.get(language) or entry["en"]).format(**values)


def word(table: dict[str, dict[str, str]], key: str | None, language: Language = "vi") -> str:
    """A short label (outcome, dossier source) in the chosen language; the key itself when unknown."""
    if key is None:
        return "-"
    entry = table.get(key)
    return (entry.get(language) or entry["en"]) if entry else key


def error_text(
    code: str | None, message: str | None, language: Language = "vi", *, detail: bool = True
) -> str:
    """A sentence for people about an error: the translated one for Vietnamese (with the engine's own
    words in brackets when `detail`), else the engine's own."""
    entry = ERRORS.get(code or "")
    if language == "vi" and entry:
        return entry["vi"] + (f" ({message})" if message and detail else "")
    return message or (entry["en"] if entry else code or "")
