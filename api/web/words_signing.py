"""Words of the signing pages and badges (merged into `api.web.words.WORDS`): key → (Vietnamese, English).

`certificate.*`: the page *Chữ ký số* (`/account/certificate`) and the admin's certificate form;
`certificate.error.*`: why an upload or removal was refused, by the code ingest gives
(`signing.wrong_password` → `certificate.error.wrong_password`); `signature.*`: a document's signature status
on the dossier and review pages, with `signature.why.*` for the `signature_error` codes.
"""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "nav.certificate": ("Chữ ký số", "Digital signature"),
    # the page
    "certificate.title": ("Chữ ký số", "Digital signature"),
    "certificate.intro": (
        "Tài liệu bạn tiếp nhận (quét, tải lên) được ký số bằng chứng thư số của bạn. Khi tài khoản chưa có "
        "chứng thư số, tài liệu được ký bằng chứng thư số của trạm quét, nếu trung tâm đã cài đặt.",
        "Documents you hand in (scan, upload) are signed with your certificate. While your account holds "
        "none, they are signed with the station's certificate, when the centre has set one up.",
    ),
    "certificate.current": ("Chứng thư số đang dùng", "Current certificate"),
    "certificate.none": (
        "Tài khoản này chưa có chứng thư số.",
        "This account holds no signing certificate.",
    ),
    "certificate.holder": ("Người được cấp", "Holder"),
    "certificate.subject": ("Thông tin chủ thể", "Subject"),
    "certificate.issuer": ("Tổ chức cấp", "Issuer"),
    "certificate.serial": ("Số hiệu", "Serial number"),
    "certificate.valid_from": ("Hiệu lực từ", "Valid from"),
    "certificate.valid_to": ("Hiệu lực đến", "Valid until"),
    "certificate.fingerprint": ("Dấu vân tay SHA-256", "SHA-256 fingerprint"),
    "certificate.uploaded": ("Tải lên lúc", "Uploaded"),
    "certificate.trust": ("Tin cậy", "Trust"),
    "certificate.trusted": (
        "Chứng thư số do tổ chức mà trung tâm tin cậy cấp: chữ ký của bạn sẽ được xác thực là hợp lệ.",
        "Issued by an authority this centre trusts: your signatures will verify.",
    ),
    "certificate.untrusted": (
        "Cảnh báo: chứng thư số này không do tổ chức chứng thực mà trung tâm tin cậy cấp. Tài liệu vẫn được "
        "ký, nhưng chữ ký sẽ không được xác thực là hợp lệ. Xin báo quản trị viên.",
        "Warning: this certificate is not issued by an authority this centre trusts. Documents are still "
        "signed, but their signatures will not verify. Tell an administrator.",
    ),
    "certificate.unusable": (
        "Chứng thư số đã lưu hiện không dùng để ký được: {reason}",
        "The stored certificate cannot sign now: {reason}",
    ),
    "certificate.state.valid": ("Còn hiệu lực", "Valid"),
    "certificate.state.expired": ("Đã hết hạn", "Expired"),
    "certificate.state.not_yet_valid": ("Chưa đến ngày hiệu lực", "Not valid yet"),
    "certificate.times_vietnam": ("Thời gian theo giờ Việt Nam (GMT+7).", "Times are Vietnam time (GMT+7)."),
    "certificate.upload": ("Tải lên chứng thư số", "Upload a certificate"),
    "certificate.replace": ("Thay chứng thư số", "Replace the certificate"),
    "certificate.file": ("Tệp chứng thư số (.p12, .pfx)", "Certificate file (.p12, .pfx)"),
    "certificate.password": ("Mật khẩu của tệp", "The file's password"),
    "certificate.password_hint": (
        "Để trống nếu tệp không có mật khẩu. Mật khẩu không được lưu: khóa được niêm phong lại trên máy chủ.",
        "Leave empty when the file has none. The password is not kept: the key is sealed again "
        "on the server.",
    ),
    "certificate.submit": ("Tải lên", "Upload"),
    "certificate.remove": ("Xóa chứng thư số", "Remove the certificate"),
    "certificate.remove_confirm": (
        "Tôi muốn xóa chứng thư số này: tài liệu tiếp nhận sau đó không còn được ký bằng chứng thư số "
        "của tôi.",
        "I want to remove this certificate: documents handed in afterwards are no longer signed with it.",
    ),
    "certificate.done.set": ("Đã lưu chứng thư số của “{name}”.", "The certificate of “{name}” is kept."),
    "certificate.done.remove": ("Đã xóa chứng thư số.", "The certificate is removed."),
    # the admin's form and list
    "certificate.admin.title": ("Chứng thư số của nhân viên", "Staff signing certificates"),
    "certificate.admin.note": (
        "Đặt chứng thư số (PKCS#12) cho một tài khoản: tài liệu tài khoản đó tiếp nhận được ký bằng chứng "
        "thư số này. Chứng thư số mới thay chứng thư số cũ.",
        "Give an account its signing certificate (PKCS#12): the documents it hands in are signed with it. "
        "A new one replaces the one before.",
    ),
    "certificate.admin.account": ("Tài khoản", "Account"),
    "certificate.admin.column": ("Chứng thư số", "Certificate"),
    "certificate.admin.none": ("chưa có", "none"),
    "certificate.admin.until": ("đến {until}", "until {until}"),
    "certificate.admin.set": ("Đặt chứng thư số", "Set certificate"),
    "certificate.admin.untrusted": ("không được tin cậy", "not trusted"),
    # refusals, by code
    "certificate.error.wrong_password": (
        "Mật khẩu của tệp chứng thư số không đúng. Chưa lưu gì.",
        "The certificate file's password is wrong. Nothing was kept.",
    ),
    "certificate.error.bad_certificate": (
        "Tệp này không phải chứng thư số PKCS#12 (.p12, .pfx) đọc được, hoặc không chứa khóa bí mật.",
        "This file is not a readable PKCS#12 (.p12, .pfx), or holds no private key.",
    ),
    "certificate.error.expired": (
        "Chứng thư số đã hết hạn: xin dùng chứng thư số còn hiệu lực.",
        "The certificate has expired: use one that is valid today.",
    ),
    "certificate.error.not_yet_valid": (
        "Chứng thư số chưa đến ngày có hiệu lực.",
        "The certificate is not valid yet.",
    ),
    "certificate.error.no_secret": (
        "Máy chủ chưa có khóa bí mật SOHOA_SECRET_KEY (hoặc khóa đã đổi) nên không cất giữ hay mở được "
        "chứng thư số: xin báo quản trị hệ thống.",
        "The server has no SOHOA_SECRET_KEY (or it changed), so it cannot keep or open certificates: "
        "tell the system administrator.",
    ),
    "certificate.error.not_an_account": (
        "Chỉ tài khoản nhân viên mới có chứng thư số.",
        "Only staff accounts hold signing certificates.",
    ),
    "certificate.error.no_file": (
        "Xin chọn tệp chứng thư số (.p12 hoặc .pfx).",
        "Choose a certificate file (.p12 or .pfx).",
    ),
    "certificate.error.not_found": ("Tài khoản chưa có chứng thư số.", "The account holds no certificate."),
    "certificate.error.no_account": (
        "Không tìm thấy tài khoản này (hoặc không thuộc đơn vị bạn quản trị).",
        "No such account (or not in the unit you administer).",
    ),
    "certificate.error.unconfirmed": (
        "Xin đánh dấu ô xác nhận trước khi xóa.",
        "Tick the confirmation box before removing.",
    ),
    "certificate.error.other": (
        "Không dùng được chứng thư số này.",
        "This certificate cannot be used.",
    ),
    # a document's signature, on the dossier and review pages
    "signature.label": ("Chữ ký số", "Signature"),
    "signature.signed": ("Đã ký số", "Signed"),
    "signature.signed_by": ("bởi {name}, lúc {when}", "by {name}, at {when}"),
    "signature.unsigned": ("Chưa ký số", "Not signed"),
    "signature.pdfa_yes": ("PDF/A", "PDF/A"),
    "signature.pdfa_no": ("Không phải PDF/A", "Not PDF/A"),
    "signature.why.no_identity": ("chưa có chứng thư số để ký", "no certificate to sign with"),
    "signature.why.expired": ("chứng thư số đã hết hạn", "the certificate has expired"),
    "signature.why.not_yet_valid": ("chứng thư số chưa có hiệu lực", "the certificate is not valid yet"),
    "signature.why.timestamp_unavailable": (
        "ký không có dấu thời gian (máy chủ dấu thời gian không trả lời)",
        "signed without a timestamp (the timestamp server did not answer)",
    ),
    "signature.why.bad_certificate": ("chứng thư số không đọc được", "the certificate cannot be read"),
    "signature.why.wrong_password": ("sai mật khẩu chứng thư số", "wrong certificate password"),
    "signature.why.no_secret": (
        "máy chủ không mở được chứng thư số đã lưu (SOHOA_SECRET_KEY)",
        "the server cannot open the stored certificate (SOHOA_SECRET_KEY)",
    ),
    "signature.why.token_unavailable": (
        "không dùng được thiết bị ký (token, HSM)",
        "the signing token or HSM cannot be used",
    ),
    "signature.why.no_font": ("máy chủ thiếu phông chữ cho dấu ký", "the server lacks the stamp's font"),
    "signature.why.failed": ("ký số không thành công", "signing failed"),
    "signature.why.other": ("lỗi ký số ({code})", "signing error ({code})"),
}
