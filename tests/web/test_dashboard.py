"""The managers' dashboard: tiles, charts and CSV figures computed from known documents (SQLite and
PostgreSQL), a unit's reader confined to its unit, the period filter with Vietnam's days, who may open it,
and charts that escape what they draw."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.charts import Series, bar_chart, column_chart
from api.web.dashboard import VIETNAM, local_today
from ingest.services import Services
from ingest.settings import Settings
from storage.models import Document, utcnow
from storage.repositories import DossierRepository
from tests.identities import ensure_unit, make_user
from tests.web.test_login import log_in

PASSWORD = "đúng ngựa pin kẹp giấy"
SCRIPT = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Doc:
    """A test document as the pipeline would have left it."""

    status: str
    pages: int | None = None
    finished: datetime | None = None
    created: datetime | None = None
    """Default: an hour before it finished, else now."""
    station: str | None = None
    received_by: str | None = None
    procedure: str | None = None
    dossier: str | None = None
    unit: str | None = None
    error: str | None = None
    confidence: float | None = None
    withdrawn: bool = False


def ago(*, days: float = 0, hours: float = 0) -> datetime:
    return utcnow() - timedelta(days=days, hours=hours)


def late_evening_utc() -> datetime:
    """23:30 UTC five days ago: already the next morning in Vietnam, the day the figures count it on."""
    return datetime.combine(local_today() - timedelta(days=5), time(23, 30), UTC)


def scenario() -> list[Doc]:
    """Ten documents; what the province's reader should see over the last 30 days is in the tests."""
    return [
        Doc(
            "done",
            3,
            late_evening_utc(),
            station="quay-1",
            procedure="khai-sinh",
            dossier="HS-1",
            confidence=0.9,
        ),
        Doc(
            "needs_review",
            2,
            ago(hours=30),
            received_by="user:lan",
            procedure="khai-sinh",
            dossier="HS-1",
            confidence=0.7,
        ),
        Doc("done", 5, ago(days=2), station="", procedure="ket-hon", dossier="HS-2", unit="xa-a"),
        Doc("failed", 4, ago(days=1), error="input.unreadable", dossier="HS-3", unit="xa-a"),
        Doc("queued", created=ago(days=1), dossier="HS-2", unit="xa-a"),
        Doc("processing"),
        Doc("done", 7, ago(days=40), station="quay-1", dossier="HS-4"),  # before the period
        Doc("done", 4, ago(days=1), station="quay-1", withdrawn=True),  # withdrawn: never counted
        Doc("needs_review", 1, ago(days=10), station="quay-2", unit="xa-b", confidence=0.5),
        Doc(
            "done",
            6,
            ago(days=3),
            station=SCRIPT,
            procedure="khai-tu",
            dossier="HS-5",
            unit="xa-b",
            confidence=0.8,
        ),
    ]


def store(services: Services, docs: list[Doc]) -> None:
    """Insert the documents through the ORM (and their dossiers and units)."""
    for unit in {d.unit for d in docs if d.unit}:
        ensure_unit(services, unit)
    with services.db.unit_of_work() as session:
        dossiers = DossierRepository(session)
        for doc in docs:
            if doc.dossier:
                dossiers.ensure(doc.dossier)
            created = doc.created or (doc.finished - timedelta(hours=1) if doc.finished else utcnow())
            key = uuid.uuid4().hex
            session.add(
                Document(
                    id=key,
                    source=f"{key}.pdf",
                    sha256=key * 2,
                    size_bytes=100,
                    original_key=f"originals/{key}",
                    status=doc.status,
                    page_count=doc.pages,
                    finished_at=doc.finished,
                    created_at=created,
                    station=doc.station,
                    received_by=doc.received_by,
                    procedure_id=doc.procedure,
                    dossier_code=doc.dossier,
                    unit=doc.unit,
                    error_code=doc.error,
                    mean_ocr_confidence=doc.confidence,
                    withdrawn_at=utcnow() if doc.withdrawn else None,
                )
            )


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    make_user(services, "minh", "reader", PASSWORD)
    make_user(services, "hoa", "reader", PASSWORD, unit="xa-a")
    make_user(services, "quet", "scanner", PASSWORD)
    ensure_unit(services, "xa-b")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def last_30_days() -> dict[str, str]:
    today = local_today()
    return {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}


def tiles(page: str) -> dict[str, str]:
    """The KPI tiles' shown values by id."""
    return dict(re.findall(r'id="kpi-(\w+)"><span>[^<]*</span><strong>([^<]*)</strong>', page))


def csv_rows(client: TestClient, figure: str, params: dict[str, str]) -> list[list[str]]:
    answer = client.get(f"/dashboard/{figure}.csv", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf"), "a UTF-8 BOM, so Excel reads Vietnamese"
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def summary(client: TestClient, params: dict[str, str]) -> dict[str, str]:
    header, *rows = csv_rows(client, "summary", params)
    assert header == ["Mã chỉ số", "Chỉ số", "Giá trị"]
    return {key: value for key, _, value in rows}


def by_first_column(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows[1:]}


def test_the_tiles_and_figures_count_the_period_s_documents(client: TestClient, services: Services) -> None:
    store(services, scenario())
    log_in(client, "minh", PASSWORD)
    page = client.get("/dashboard", params=last_30_days())
    assert page.status_code == 200
    shown = tiles(page.text)
    assert shown["pages"] == "17" and shown["documents"] == "5" and shown["failures"] == "1"
    assert shown["queue"] == "2" and shown["review"] == "2"
    assert shown["dossiers"] == "25,0%"  # HS-5 of HS-1, 2, 3, 5 (HS-4's document came before the period)
    assert shown["confidence"] == "72,5%"  # the mean of 0.9, 0.7, 0.5 and 0.8 (one done without OCR)
    assert "Lâu nhất: 10 ngày" in page.text

    figures = summary(client, last_30_days())
    assert figures["pages"] == "17" and figures["documents"] == "5" and figures["failures"] == "1"
    assert figures["dossiers"] == "4" and figures["dossiers_complete"] == "1"
    assert figures["dossiers_complete_percent"] == "25.0" and figures["mean_ocr_confidence_percent"] == "72.5"
    assert figures["queued"] == "1" and figures["processing"] == "1" and figures["review_backlog"] == "2"
    assert 239 < float(figures["review_oldest_hours"]) < 241

    stations = by_first_column(csv_rows(client, "per-station", last_30_days()))
    assert stations == {
        SCRIPT: ["6", "1"],
        "(không rõ)": ["5", "1"],
        "quay-1": ["3", "1"],
        "user:lan": ["2", "1"],
        "quay-2": ["1", "1"],
    }
    procedures = csv_rows(client, "per-procedure", last_30_days())
    assert procedures[0] == ["Mã thủ tục", "Thủ tục", "Tài liệu", "Trang"]
    assert procedures[1] == ["khai-sinh", "Đăng ký khai sinh", "2", "5"]
    assert ["", "(chưa xác định thủ tục)", "1", "1"] in procedures and len(procedures) == 5
    failures = csv_rows(client, "failures", last_30_days())
    assert failures[1:] == [["input.unreadable", "Tệp bị hỏng, không đọc được.", "1"]]
    ages = csv_rows(client, "review-age", last_30_days())
    assert [row[1] for row in ages[1:]] == ["0", "1", "0", "1"]


def test_days_are_vietnam_s_and_the_period_filter_narrows_every_figure(
    client: TestClient, services: Services
) -> None:
    store(services, scenario())
    log_in(client, "minh", PASSWORD)
    per_day = by_first_column(csv_rows(client, "per-day", last_30_days()))
    assert len(per_day) == 30, "every day of the period, with or without documents"
    morning = (late_evening_utc().astimezone(VIETNAM)).date()
    assert per_day[morning.isoformat()] == ["3", "1"]
    assert per_day[(morning - timedelta(days=1)).isoformat()] == ["0", "0"]

    one_day = {"from": morning.isoformat(), "to": morning.isoformat()}
    assert tiles(client.get("/dashboard", params=one_day).text)["pages"] == "3"
    figures = summary(client, one_day)
    assert figures["documents"] == "1" and figures["failures"] == "0"
    assert figures["review_backlog"] == "2", "what waits now does not depend on the period"
    answer = client.get("/dashboard/per-day.csv", params=one_day)
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = f'attachment; filename="sohoa-per-day-{morning.isoformat()}-{morning.isoformat()}.csv"'
    assert answer.headers["content-disposition"] == disposition

    earlier = {
        "from": (local_today() - timedelta(days=45)).isoformat(),
        "to": (local_today() - timedelta(days=35)).isoformat(),
    }
    assert summary(client, earlier)["pages"] == "7"


def test_a_unit_s_reader_sees_only_its_unit_whatever_it_asks(client: TestClient, services: Services) -> None:
    store(services, scenario())
    log_in(client, "hoa", PASSWORD)
    for params in (last_30_days(), last_30_days() | {"unit": "xa-b"}, last_30_days() | {"unit": ""}):
        page = client.get("/dashboard", params=params)
        shown = tiles(page.text)
        assert (shown["pages"], shown["documents"], shown["failures"]) == ("5", "1", "1"), params
        assert (shown["queue"], shown["review"]) == ("1", "0")
        assert "alert(1)" not in page.text and "quay-2" not in page.text
        assert 'name="unit"' not in page.text, "no unit choice for a unit's reader"
        figures = summary(client, params)
        assert figures["dossiers"] == "2" and figures["dossiers_complete"] == "0"
        stations = by_first_column(csv_rows(client, "per-station", params))
        assert stations == {"(không rõ)": ["5", "1"]}


def test_the_province_s_reader_may_pick_a_unit(client: TestClient, services: Services) -> None:
    store(services, scenario())
    log_in(client, "minh", PASSWORD)
    page = client.get("/dashboard", params=last_30_days() | {"unit": "xa-b"})
    assert '<option value="xa-b" selected>' in page.text
    shown = tiles(page.text)
    assert (shown["pages"], shown["documents"], shown["review"]) == ("7", "2", "1")
    assert "unit=xa-b" in page.text, "the CSV links keep the unit"


def test_the_ten_largest_procedures_are_shown_and_the_rest_summed(
    client: TestClient, services: Services
) -> None:
    docs = [
        Doc("done", 1, ago(days=1), procedure=f"thu-tuc-{n:02d}")
        for n in range(1, 13)
        for _ in range(13 - n)  # thu-tuc-01 twelve times, …, thu-tuc-12 once
    ]
    store(services, docs)
    log_in(client, "minh", PASSWORD)
    rows = csv_rows(client, "per-procedure", last_30_days())
    assert [row[0] for row in rows[1:11]] == [f"thu-tuc-{n:02d}" for n in range(1, 11)]
    assert rows[1][2] == "12" and rows[10][2] == "3"
    assert rows[11] == ["", "Khác", "3", "3"] and len(rows) == 12  # thu-tuc-11 (2) and thu-tuc-12 (1)


def test_the_page_is_accessible_within_its_csp_and_escapes_what_it_draws(
    client: TestClient, services: Services
) -> None:
    store(services, scenario())
    log_in(client, "minh", PASSWORD)
    page = client.get("/dashboard", params=last_30_days()).text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('role="img"') == 5 and page.count("<svg") == 5
    assert page.count("<caption") == 5, "every chart has its numbers in a table"
    assert 'style="' not in page and "<style" not in page
    assert page.count("<script") == 1 and '<script src="/static/app.js"' in page
    for figure in ("summary", "per-day", "per-station", "per-procedure", "failures", "review-age"):
        assert f'href="/dashboard/{figure}.csv?from=' in page


def test_english_words_come_from_the_language_switch(client: TestClient, services: Services) -> None:
    store(services, scenario())
    log_in(client, "minh", PASSWORD)
    client.get("/lang/en?back=/dashboard")
    page = client.get("/dashboard", params=last_30_days()).text
    assert "Pages digitized" in page and "72.5%" in page
    assert csv_rows(client, "summary", last_30_days())[0] == ["Key", "Figure", "Value"]


def test_who_may_open_it(client: TestClient) -> None:
    anonymous = client.get("/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fdashboard"
    assert client.get("/dashboard/summary.csv", follow_redirects=False).status_code == 303
    log_in(client, "quet", PASSWORD)
    refused = client.get("/dashboard")
    assert refused.status_code == 403 and "Không có quyền" in refused.text
    assert client.get("/dashboard/summary.csv").status_code == 403


def test_unknown_figures_and_bad_dates(client: TestClient) -> None:
    log_in(client, "minh", PASSWORD)
    assert client.get("/dashboard/secrets.csv").status_code == 404
    page = client.get("/dashboard", params={"from": "2024-02-30", "to": "hôm qua"})
    assert page.status_code == 200 and "Ngày nhập không hợp lệ" in page.text
    assert f'value="{local_today().isoformat()}"' in page.text
    swapped = csv_rows(client, "per-day", {"from": "2024-03-05", "to": "2024-03-01"})
    assert [row[0] for row in swapped[1:]] == [f"2024-03-0{n}" for n in range(1, 6)]
    longest = csv_rows(client, "per-day", {"from": "2020-01-01", "to": "2024-12-31"})
    assert len(longest) == 1 + 366 and longest[-1][0] == "2024-12-31"


def test_the_same_figures_on_postgresql(settings: Settings, pg_database: str) -> None:
    on_postgres = settings.model_copy(update={"database_url": pg_database})
    with TestClient(create_app(on_postgres)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        make_user(services, "minh", "reader", PASSWORD)
        store(services, scenario())
        log_in(client, "minh", PASSWORD)
        figures = summary(client, last_30_days())
        assert (figures["pages"], figures["documents"], figures["failures"]) == ("17", "5", "1")
        assert (figures["dossiers"], figures["dossiers_complete"], figures["review_backlog"]) == (
            "4",
            "1",
            "2",
        )
        assert figures["mean_ocr_confidence_percent"] == "72.5"
        per_day = by_first_column(csv_rows(client, "per-day", last_30_days()))
        morning = (late_evening_utc().astimezone(VIETNAM)).date()
        assert len(per_day) == 30 and per_day[morning.isoformat()] == ["3", "1"]
        stations = by_first_column(csv_rows(client, "per-station", last_30_days()))
        assert stations["(không rõ)"] == ["5", "1"] and stations["user:lan"] == ["2", "1"]
        ages = csv_rows(client, "review-age", last_30_days())
        assert [row[1] for row in ages[1:]] == ["0", "1", "0", "1"]


def test_charts_escape_labels_and_scale_to_the_largest_value() -> None:
    bars = bar_chart('Trạm "A" & <B>', ["<b>quầy</b>", "quay-2"], [10, 5])
    assert "<b>" not in bars and "&lt;b&gt;quầy&lt;/b&gt;" in bars
    assert 'aria-label="Trạm &#34;A&#34; &amp; &lt;B&gt;"' in bars and "<title>Trạm" in bars
    widths = [float(w) for w in re.findall(r'<rect class="bar" x="\d+" y="[\d.]+" width="([\d.]+)"', bars)]
    assert widths[0] == pytest.approx(2 * widths[1])
    columns = column_chart(
        "Theo ngày",
        ["01/06", "02/06", "03/06"],
        [Series("Trang", (1, 0, 4)), Series("Tài liệu", (1, 0, 2), "bar alt")],
    )
    assert (
        columns.count('<rect class="bar"') == 3 + 1 and columns.count('<rect class="bar alt"') == 3 + 1
    )  # + legend
    assert bar_chart("Trống", [], []).startswith("<svg")
