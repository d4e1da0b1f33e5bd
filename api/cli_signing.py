"""`sohoa verify FILE` and `sohoa certificate set|show|remove ACCOUNT`: digital signatures from the shell.

`verify` exits 0 only when every signature of the file is intact, trusted (SOHOA_SIGNING_TRUST_ROOTS, the
station identity's chain, `--trust`) and the last one covers the whole file; 1 when the file is not validly
signed, saying why; 2 when there is no such file. Vietnamese by default (`SOHOA_LANGUAGE=en` for English).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from api.access_admin import Operator, audit_change
from api.cli_access import cli_actor
from api.console import EXIT_NOTHING_RAN, build_cli_services, err, load_cli_settings, out, refuse
from ingest.messages import Language
from ingest.signatures import account_identity, drop_certificate, keep_certificate
from ingest.signing import VIETNAM, SigningError
from ingest.verify import (
    CHANGED,
    NOT_SIGNED,
    NOT_WHOLE_FILE,
    UNREADABLE,
    UNTRUSTED,
    Verification,
    archival_ok,
    certificate_trusted,
    trust_roots,
    verify_file,
)
from storage.access import IdentityRepository

certificate_app = typer.Typer(no_args_is_help=True, help="Staff accounts' signing certificates (PKCS#12).")

WORDS: dict[str, tuple[str, str]] = {
    "valid": ("Chữ ký số hợp lệ", "The signature is valid"),
    "invalid": ("Chữ ký số KHÔNG hợp lệ", "The signature is NOT valid"),
    "signer": ("Người ký: {name}", "Signed by: {name}"),
    "time": ("Thời gian ký: {time}", "Signed at: {time}"),
    "timestamped": ("(có dấu thời gian)", "(timestamped)"),
    "whole": (
        "Chữ ký bao trùm toàn bộ tệp; tệp không thay đổi từ khi ký.",
        "The signature covers the whole file; nothing changed since signing.",
    ),
    "pdfa": ("Định dạng lưu trữ PDF/A-2b: {answer}", "Archival PDF/A-2b: {answer}"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    CHANGED: (
        "tệp đã bị sửa sau khi ký (nội dung đã ký không còn khớp)",
        "the file was changed after it was signed (the signed bytes do not match)",
    ),
    NOT_WHOLE_FILE: (
        "có nội dung được thêm vào sau chữ ký cuối cùng (chữ ký không bao trùm toàn bộ tệp)",
        "something was added after the last signature (it does not cover the whole file)",
    ),
    UNTRUSTED: (
        "chứng thư số của người ký không thuộc tổ chức cấp được tin cậy",
        "the signer's certificate does not chain up to a trusted root",
    ),
    NOT_SIGNED: ("tệp không có chữ ký số", "the file carries no signature"),
    UNREADABLE: ("không đọc được tệp PDF", "the file is not a readable PDF"),
    "no_file": ("Không có tệp {path}.", "No file {path}."),
    "kept": (
        "Đã lưu chứng thư số của {account}: {name}, hiệu lực đến {until}.",
        "Kept the signing certificate of {account}: {name}, valid until {until}.",
    ),
    "untrusted_warning": (
        "Lưu ý: chứng thư này không thuộc tổ chức cấp được tin cậy (SOHOA_SIGNING_TRUST_ROOTS); "
        "chữ ký của nó sẽ không được xác thực.",
        "Note: this certificate does not chain up to a trusted root (SOHOA_SIGNING_TRUST_ROOTS); "
        "its signatures will not verify.",
    ),
    "none": (
        "Tài khoản {account} chưa có chứng thư số.",
        "The account {account} holds no signing certificate.",
    ),
    "removed": ("Đã xóa chứng thư số của {account}.", "Removed the signing certificate of {account}."),
    "no_account": ("Không có tài khoản {account}.", "No staff account {account}."),
}


def _say(key: str, language: Language, **values: object) -> str:
    vi, en = WORDS[key]
    return (en if language == "en" else vi).format(**values)


def _when(moment: datetime | None, language: Language) -> str:
    if moment is None:
        return "?"
    if language == "en":
        return moment.isoformat(timespec="seconds")
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S (GMT+7)")


def verify_command(
    file: Annotated[Path, typer.Argument(help="The PDF to check.")],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="Another CA certificate (PEM) to trust; repeatable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a signed PDF: exit 0 only when its signature is valid and covers the whole file."""
    settings = load_cli_settings()
    language = settings.language
    if not file.is_file():
        err.print(_say("no_file", language, path=file))
        raise typer.Exit(EXIT_NOTHING_RAN)
    extra = [path.read_text() for path in trust or []]
    report = verify_file(file, trust_roots(settings, extra))
    with file.open("rb") as handle:
        pdfa = archival_ok(handle)
    if as_json:
        out.print_json(json.dumps(_as_json(report, pdfa), default=str))
    else:
        _print(report, pdfa, language)
    if not report.valid:
        raise typer.Exit(1)


def _as_json(report: Verification, pdfa: bool) -> dict[str, object]:
    return {
        "valid": report.valid,
        "message": report.message,
        "problems": report.problems,
        "changed_since_signing": report.changed_since_signing,
        "pdfa": pdfa,
        "signatures": [vars(check) for check in report.signatures],
    }


def _print(report: Verification, pdfa: bool, language: Language) -> None:
    last = report.signatures[-1] if report.signatures else None
    headline = _say("valid" if report.valid else "invalid", language)
    if report.valid:
        out.print(f"[green]{headline}[/green]")
    else:
        reasons = "; ".join(_say(p, language) for p in report.problems)
        out.print(f"[red]{headline}:[/red] {reasons} ({', '.join(report.problems)})")
    if last is not None:
        out.print(_say("signer", language, name=last.signer or "?"))
        stamp = " " + _say("timestamped", language) if last.timestamped else ""
        out.print(_say("time", language, time=_when(last.signed_at, language)) + stamp)
    if report.valid:
        out.print(_say("whole", language))
    out.print(_say("pdfa", language, answer=_say("yes" if pdfa else "no", language)))


@certificate_app.command("set")
def certificate_set_command(
    account: Annotated[str, typer.Argument(help="The staff account (its login name).")],
    file: Annotated[Path, typer.Argument(help="The PKCS#12 file (.p12 / .pfx).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the PKCS#12 password from standard input.")
    ] = False,
) -> None:
    """Give a staff account its signing certificate; documents it hands in are signed with it."""
    settings = load_cli_settings()
    language = settings.language
    if not file.is_file():
        err.print(_say("no_file", language, path=file))
        raise typer.Exit(EXIT_NOTHING_RAN)
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt(
            "Mật khẩu tệp PKCS#12" if language == "vi" else "PKCS#12 password",
            hide_input=True,
            default="",
            show_default=False,
        )
    )
    services = build_cli_services(settings)
    try:
        with services.db.unit_of_work() as session:
            identity = IdentityRepository(session).by_name("user", account)
            if identity is None:
                err.print(_say("no_account", language, account=account))
                raise typer.Exit(EXIT_NOTHING_RAN)
            kept = keep_certificate(session, settings, identity, file.read_bytes(), password.encode() or None)
        audit_change(
            services,
            Operator(cli_actor()),
            "certificate.set",
            account=account,
            fingerprint=kept.facts.fingerprint,
        )
    except SigningError as exc:
        raise refuse(exc) from exc
    finally:
        services.close()
    out.print(
        _say(
            "kept",
            language,
            account=account,
            name=kept.facts.common_name,
            until=f"{kept.facts.not_after:%d/%m/%Y}",
        )
    )
    if not certificate_trusted(kept.chain_pem, trust_roots(settings)):
        out.print(f"[yellow]{_say('untrusted_warning', language)}[/yellow]")


@certificate_app.command("show")
def certificate_show_command(account: Annotated[str, typer.Argument(help="The staff account.")]) -> None:
    """What an account's signing certificate says."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        with services.db.unit_of_work() as session:
            kept = account_identity(session, settings, f"user:{account}")
    except SigningError as exc:
        raise refuse(exc) from exc
    finally:
        services.close()
    if kept is None:
        out.print(_say("none", language, account=account))
        raise typer.Exit(EXIT_NOTHING_RAN)
    facts = kept.facts
    trusted = certificate_trusted(kept.chain_pem, trust_roots(settings))
    out.print(
        f"{facts.common_name}\n  {facts.subject}\n  issuer: {facts.issuer}\n  serial: {facts.serial}\n"
        f"  SHA-256: {facts.fingerprint}\n  {facts.not_before:%d/%m/%Y} – {facts.not_after:%d/%m/%Y}\n"
        f"  trusted: {'yes' if trusted else 'no'}"
    )


@certificate_app.command("remove")
def certificate_remove_command(account: Annotated[str, typer.Argument(help="The staff account.")]) -> None:
    """Forget an account's signing certificate."""
    settings = load_cli_settings()
    language = settings.language
    services = build_cli_services(settings)
    try:
        with services.db.unit_of_work() as session:
            identity = IdentityRepository(session).by_name("user", account)
            removed = identity is not None and drop_certificate(session, identity)
        if removed:
            audit_change(services, Operator(cli_actor()), "certificate.remove", account=account)
    finally:
        services.close()
    if not removed:
        out.print(_say("none", language, account=account))
        raise typer.Exit(EXIT_NOTHING_RAN)
    out.print(_say("removed", language, account=account))


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
    app.add_typer(certificate_app, name="certificate")
