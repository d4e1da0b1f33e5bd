"""Signing in to the staff web app: the login form, wrong passwords and lockout, the session cookie as API
credentials with its CSRF token, logout, and redirects that stay on this site."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.services import Services
from ingest.settings import Settings
from storage.access import AuditFilter, AuditRepository
from tests.identities import make_user

PASSWORD = "đúng ngựa pin kẹp giấy"


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    make_user(services, "lan", "reviewer", PASSWORD)
    make_user(services, "quet", "scanner", PASSWORD)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the login form carries a CSRF token"
    return found.group(1)


def log_in(client: TestClient, name: str, password: str, *, next_path: str = "") -> object:
    token = login_token(client)
    form = {"username": name, "password": password, "csrf": token, "next": next_path}
    return client.post("/login", data=form, follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, f"{path} carries the session's CSRF token"
    return found.group(1)


def test_an_anonymous_visit_lands_on_the_login_page_and_comes_back_after_it(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2F"
    form = client.get("/login")
    assert 'name="username"' in form.text and 'name="password"' in form.text
    assert "Đăng nhập" in form.text  # Vietnamese by default
    signed = log_in(client, "lan", PASSWORD, next_path="/review")
    assert signed.status_code == 303 and signed.headers["location"] == "/review"  # type: ignore[attr-defined]
    cookie = signed.headers["set-cookie"]  # type: ignore[attr-defined]
    assert (
        "sohoa_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    )


def test_a_wrong_password_is_refused_without_saying_whether_the_name_exists(client: TestClient) -> None:
    wrong = log_in(client, "lan", "sai mật khẩu")
    unknown = log_in(client, "không-có-ai", "sai mật khẩu")
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    assert "không đúng" in wrong.text and "không đúng" in unknown.text  # type: ignore[attr-defined]
    assert "sohoa_session" not in client.cookies


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    client: TestClient, services: Services
) -> None:
    for _ in range(services.settings.login_max_failures):
        log_in(client, "lan", "sai mật khẩu")
    locked = log_in(client, "lan", PASSWORD)
    assert locked.status_code == 401 and "tạm khóa" in locked.text  # type: ignore[attr-defined]
    assert "sohoa_session" not in client.cookies
    with services.db.unit_of_work() as session:
        actions = [e.action for e in AuditRepository(session).find(AuditFilter(actor="user:lan"), limit=50)]
    assert "login.locked" in actions and "login.refused" in actions
    assert log_in(client, "quet", PASSWORD).status_code == 303  # type: ignore[attr-defined]  # others unaffected


def test_the_login_form_refuses_a_post_without_its_own_token(client: TestClient) -> None:
    forged = client.post(
        "/login", data={"username": "lan", "password": PASSWORD, "csrf": "x"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert "sohoa_session" not in client.cookies


def test_the_session_cookie_reads_the_api_but_changes_nothing_without_the_csrf_header(
    client: TestClient,
) -> None:
    log_in(client, "lan", PASSWORD)
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 200
    without = client.put("/api/v1/documents/abc/procedure", json={"procedure": "x"})
    assert without.status_code == 403 and without.json()["error"]["code"] == "auth.forbidden"
    token = page_csrf(
        client, "/login?next=/"
    )  # a signed-in visit to /login goes on; read the token off a page
    with_token = client.put(
        "/api/v1/documents/abc/procedure", json={"procedure": "x"}, headers={"X-CSRF-Token": token}
    )
    assert with_token.status_code == 404  # past authentication: the document does not exist


def test_logout_ends_the_session_for_good(client: TestClient) -> None:
    log_in(client, "lan", PASSWORD)
    cookie = client.cookies["sohoa_session"]
    token = page_csrf(client)
    out = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    client.cookies.set("sohoa_session", cookie)  # a copy of the old cookie signs nobody in
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_after_login_the_browser_never_leaves_the_site(client: TestClient, target: str) -> None:
    signed = log_in(client, "lan", PASSWORD, next_path=target)
    assert signed.headers["location"] == "/review"  # type: ignore[attr-defined]


def test_the_pages_switch_to_english_and_back(client: TestClient) -> None:
    client.get("/lang/en?back=/login", follow_redirects=True)
    assert "Log in" in client.get("/login").text
    client.get("/lang/vi?back=/login")
    assert "Đăng nhập" in client.get("/login").text
