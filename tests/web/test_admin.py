"""The admin pages: accounts made, refused, disabled and unlocked; keys shown once, working and revoked;
webhooks added and deleted; the audit log filtered, paged and verified; CSRF, roles and a unit admin's
scope."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.app import create_app
from ingest.services import Services
from ingest.settings import Settings
from storage.access import AuditFilter, AuditRepository, IdentityRepository
from storage.audit import AuditEvent, record_audit
from storage.models import Webhook, WebhookDelivery, WebSession
from tests.identities import bearer, ensure_unit, make_user
from tests.web.test_login import log_in, page_csrf

PASSWORD = "mật-khẩu-quản-trị-dài"
OTHER = "mật-khẩu-nhân-viên-dài"


@pytest.fixture
def admin(settings: Settings, services: Services) -> Iterator[TestClient]:
    """A browser signed in as the province's admin `quan-tri`; `lan` (reviewer) exists too."""
    make_user(services, "quan-tri", "admin", PASSWORD)
    make_user(services, "lan", "reviewer", OTHER)
    with TestClient(create_app(settings)) as client:
        assert log_in(client, "quan-tri", PASSWORD).status_code == 303  # type: ignore[attr-defined]
        yield client


def other_browser(client: TestClient) -> TestClient:
    """A second browser on the same app, with cookies of its own."""
    return TestClient(client.app)


def post(client: TestClient, path: str, data: Mapping[str, object], *, csrf: bool = True) -> httpx.Response:
    """A form posted to `path`, with the session's CSRF token (read off the admin index) unless told not."""
    form = {**data, "csrf": page_csrf(client, "/admin")} if csrf else dict(data)
    return client.post(path, data=form, follow_redirects=False)


def new_account(
    client: TestClient, name: str, *, password: str = OTHER, again: str | None = None, **fields: str
) -> httpx.Response:
    """The new-account form posted with these fields (a reviewer of the province unless told)."""
    data = {"name": name, "role": "reviewer", "unit": "", "password": password, "again": again or password}
    return client.post(
        "/admin/accounts",
        data={**data, **fields, "csrf": page_csrf(client, "/admin/accounts")},
        follow_redirects=False,
    )


def actions(services: Services, **where: str) -> list[str]:
    with services.db.unit_of_work() as session:
        return [e.action for e in AuditRepository(session).find(AuditFilter(**where), limit=500)]


def row_actions(page: str) -> list[str]:
    """The action column of the audit page's table."""
    return re.findall(r"<td><code>([a-z_.]+)</code></td>", page)


def test_an_account_made_on_the_page_logs_in(admin: TestClient, services: Services) -> None:
    assert "2 tài khoản đang hoạt động" in admin.get("/admin").text
    made = new_account(admin, "hoa", role="reader")
    assert made.status_code == 303
    assert made.headers["location"] == "/admin/accounts?done=user.create&name=hoa"
    page = admin.get(made.headers["location"]).text
    assert "Đã tạo tài khoản “hoa”" in page and "Người xem" in page
    assert "$argon2" not in page  # hashes never reach a page
    assert "3 tài khoản đang hoạt động" in admin.get("/admin").text
    assert "user.create" in actions(services, actor="user:quan-tri")

    browser = other_browser(admin)
    assert log_in(browser, "hoa", OTHER).headers["location"] == "/dashboard"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "password", "again", "field", "words"),
    [
        ("hoa", "ngắn", None, "password", "Mật khẩu quá ngắn: cần ít nhất 10 ký tự"),
        ("lan", OTHER, None, "name", "Tên này đã có người dùng"),
        ("có dấu cách", OTHER, None, "name", "Tên chỉ gồm chữ, số"),
        ("hoa", OTHER, OTHER + "x", "again", "Hai lần nhập mật khẩu không khớp"),
    ],
)
def test_a_refused_account_says_why_beside_its_field(
    admin: TestClient, services: Services, name: str, password: str, again: str | None, field: str, words: str
) -> None:
    refused = new_account(admin, name, password=password, again=again)
    assert refused.status_code == 422
    assert re.search(rf'<span class="field-error" id="{field}-error">{words}', refused.text), refused.text
    assert f'value="{name}"' in refused.text  # what was typed comes back, the passwords do not
    assert f'value="{password}"' not in refused.text
    with services.db.unit_of_work() as session:
        assert len(IdentityRepository(session).all("user")) == 2
    assert "user.create" not in actions(services)


def test_disabling_an_account_ends_its_session(admin: TestClient, services: Services) -> None:
    browser = other_browser(admin)
    log_in(browser, "lan", OTHER)
    assert browser.get("/", follow_redirects=False).headers["location"] == "/review"
    done = post(admin, "/admin/accounts/disable", {"name": "lan"})
    assert done.status_code == 303
    assert "Đã vô hiệu hóa" in admin.get(done.headers["location"]).text
    assert browser.get("/", follow_redirects=False).headers["location"].startswith("/login")
    with services.db.unit_of_work() as session:
        lan = IdentityRepository(session).by_name("user", "lan")
        assert lan is not None and lan.disabled_at is not None
        left = session.scalar(select(func.count()).where(WebSession.identity_id == lan.id))
    assert left == 0
    assert log_in(other_browser(admin), "lan", OTHER).status_code == 401  # type: ignore[attr-defined]
    assert "user.disable" in actions(services, actor="user:quan-tri")


def test_an_admin_cannot_disable_their_own_account(admin: TestClient) -> None:
    refused = post(admin, "/admin/accounts/disable", {"name": "quan-tri"})
    assert refused.status_code == 422 and "tài khoản bạn đang dùng" in refused.text
    assert admin.get("/admin/accounts").status_code == 200


def test_a_locked_account_is_unlocked(admin: TestClient, services: Services) -> None:
    browser = other_browser(admin)
    for _ in range(services.settings.login_max_failures):
        log_in(browser, "lan", "sai mật khẩu")
    assert log_in(browser, "lan", OTHER).status_code == 401  # type: ignore[attr-defined]
    assert "Tạm khóa đến" in admin.get("/admin/accounts").text
    assert "1 tài khoản đang bị tạm khóa" in admin.get("/admin").text
    done = post(admin, "/admin/accounts/unlock", {"name": "lan"})
    assert done.status_code == 303
    assert "Tạm khóa đến" not in admin.get("/admin/accounts").text
    assert log_in(browser, "lan", OTHER).status_code == 303  # type: ignore[attr-defined]
    assert "user.unlock" in actions(services, actor="user:quan-tri")


def test_a_key_is_shown_once_works_and_stops_when_revoked(admin: TestClient, services: Services) -> None:
    made = post(admin, "/admin/keys", {"name": "dvc-tinh", "role": "reader", "unit": ""})
    assert made.status_code == 201
    found = re.search(r'<p class="secret" id="new-key">(sohoa_[^<]+)</p>', made.text)
    assert found and "sao chép khóa ngay" in made.text
    key = found.group(1)
    listed = admin.get("/admin/keys").text
    assert "dvc-tinh" in listed and key not in listed and key[:12] in listed
    with services.db.unit_of_work() as session:
        stored = IdentityRepository(session).by_name("key", "dvc-tinh")
        assert stored is not None and stored.key_hash
        assert stored.key_hash not in listed

    assert "1 khóa API còn hiệu lực" in admin.get("/admin").text
    client = other_browser(admin)
    assert client.get("/api/v1/search?q=x", headers=bearer(key)).status_code == 200
    revoked = post(admin, "/admin/keys/revoke", {"name": "dvc-tinh"})
    assert revoked.status_code == 303
    assert "Đã thu hồi" in admin.get("/admin/keys").text
    assert "0 khóa API còn hiệu lực" in admin.get("/admin").text
    assert client.get("/api/v1/search?q=x", headers=bearer(key)).status_code == 401
    assert {"key.create", "key.disable"} <= set(actions(services, actor="user:quan-tri"))


def test_a_key_with_a_taken_name_is_refused(admin: TestClient) -> None:
    assert post(admin, "/admin/keys", {"name": "may-quet", "role": "scanner"}).status_code == 201
    again = post(admin, "/admin/keys", {"name": "may-quet", "role": "scanner"})
    assert again.status_code == 422 and "Tên này đã có người dùng" in again.text
    assert 'id="new-key"' not in again.text


def test_webhooks_are_added_listed_with_deliveries_and_deleted(admin: TestClient, services: Services) -> None:
    url = "https://dvc.example.vn/sohoa"
    bad = post(admin, "/admin/webhooks", {"url": "ftp://dvc.example.vn/x"})
    assert bad.status_code == 422 and "http:// hoặc https://" in bad.text
    made = post(admin, "/admin/webhooks", {"url": url, "events": ["document.done", "dossier.done"]})
    assert made.status_code == 201 and 'id="new-secret"' in made.text
    with services.db.unit_of_work() as session:
        hook = session.scalars(select(Webhook)).one()
        assert hook.events == ["document.done", "dossier.done"] and hook.unit is None
        session.add(
            WebhookDelivery(
                hook_id=hook.id,
                event="document.done",
                event_key="d1",
                payload={},
                state="delivered",
                attempts=1,
                last_status=204,
            )
        )
        hook_id, secret = hook.id, hook.secret
    assert "1 webhook đang gửi" in admin.get("/admin").text
    listed = admin.get("/admin/webhooks").text
    assert f"<code>{url}</code>" in listed and "HTTP 204" in listed and "Đã gửi" in listed
    assert secret not in listed

    gone = post(admin, f"/admin/webhooks/{hook_id}/delete", {})
    assert gone.status_code == 303
    assert f"<code>{url}</code>" not in admin.get("/admin/webhooks").text
    with services.db.unit_of_work() as session:
        deleted = session.get(Webhook, hook_id)
        assert deleted is not None and deleted.disabled_at is not None
    assert post(admin, f"/admin/webhooks/{hook_id}/delete", {}).status_code == 404
    assert {"webhook.create", "webhook.delete"} <= set(actions(services, actor="user:quan-tri"))


def test_the_audit_page_shows_changes_filters_pages_and_verifies(
    admin: TestClient, services: Services
) -> None:
    new_account(admin, "hoa")
    post(admin, "/admin/accounts/disable", {"name": "hoa"})
    page = admin.get("/admin/audit").text
    assert {"user.create", "user.disable", "login.ok"} <= set(row_actions(page))
    assert "user:quan-tri" in page
    only = admin.get("/admin/audit", params={"action": "user.disable"}).text
    assert set(row_actions(only)) == {"user.disable"}
    assert row_actions(admin.get("/admin/audit", params={"since": "2999-01-01"}).text) == []
    assert admin.get("/admin/audit", params={"until": "hôm qua"}).status_code == 422

    for n in range(60):
        record_audit(services.db, AuditEvent(actor="key:may-quet", action="document.upload", detail={"n": n}))
    first = admin.get("/admin/audit", params={"actor": "key:may-quet"}).text
    assert row_actions(first) == ["document.upload"] * 50 and "n=59" in first
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following
    second = admin.get(following.group(1).replace("&amp;", "&")).text
    assert row_actions(second) == ["document.upload"] * 10 and "n=0<" in second

    assert "nguyên vẹn" in admin.get("/admin/audit/verify").text
    with services.db.unit_of_work() as session:
        session.execute(text("UPDATE audit_entries SET actor = 'key:ai-do' WHERE seq = 2"))
    broken = admin.get("/admin/audit/verify").text
    assert "bị phá vỡ" in broken and "Mục số 2" in broken and "edited" in broken


def test_a_form_without_the_csrf_field_is_refused(admin: TestClient, services: Services) -> None:
    data = {"name": "hoa", "role": "reader", "password": OTHER, "again": OTHER}
    assert post(admin, "/admin/accounts", data, csrf=False).status_code == 403
    forged = admin.post("/admin/accounts", data={**data, "csrf": "đoán-bừa"}, follow_redirects=False)
    assert forged.status_code == 403
    assert post(admin, "/admin/accounts/disable", {"name": "lan"}, csrf=False).status_code == 403
    with services.db.unit_of_work() as session:
        identities = IdentityRepository(session)
        assert identities.by_name("user", "hoa") is None
        lan = identities.by_name("user", "lan")
        assert lan is not None and lan.disabled_at is None


def test_a_reviewer_may_not_open_the_admin_pages(admin: TestClient) -> None:
    browser = other_browser(admin)
    log_in(browser, "lan", OTHER)
    for path in ("/admin", "/admin/accounts", "/admin/keys", "/admin/webhooks", "/admin/audit"):
        refused = browser.get(path)
        assert refused.status_code == 403 and "Không có quyền" in refused.text, path
    token = page_csrf(browser, "/admin")
    made = browser.post("/admin/keys", data={"csrf": token, "role": "admin"}, follow_redirects=False)
    assert made.status_code == 403


def test_a_unit_admin_manages_only_its_unit(admin: TestClient, services: Services) -> None:
    ensure_unit(services, "xa-a")
    make_user(services, "qt-xa-a", "admin", PASSWORD, unit="xa-a")
    make_user(services, "an-xa-a", "scanner", OTHER, unit="xa-a")
    make_user(services, "binh-xa-b", "scanner", OTHER, unit="xa-b")
    record_audit(services.db, AuditEvent(actor="user:binh-xa-b", action="document.upload", unit="xa-b"))
    browser = other_browser(admin)
    log_in(browser, "qt-xa-a", PASSWORD)

    page = browser.get("/admin/accounts").text
    assert "an-xa-a" in page and "binh-xa-b" not in page and ">lan<" not in page
    assert '<option value="xa-b"' not in page and "Toàn tỉnh</option>" not in page
    refused = post(browser, "/admin/accounts/disable", {"name": "binh-xa-b"})
    assert refused.status_code == 404
    outside = new_account(browser, "moi", unit="xa-b")
    assert outside.status_code == 422 and "trong đơn vị của mình" in outside.text
    assert new_account(browser, "moi", unit="xa-a").status_code == 303
    assert "user:binh-xa-b" not in browser.get("/admin/audit").text
    with services.db.unit_of_work() as session:
        identities = IdentityRepository(session)
        binh, moi = identities.by_name("user", "binh-xa-b"), identities.by_name("user", "moi")
        assert binh is not None and binh.disabled_at is None
        assert moi is not None and moi.unit == "xa-a"
