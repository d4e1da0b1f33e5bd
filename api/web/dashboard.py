"""The managers' dashboard (`/dashboard`): what was digitized in a period, what waits now, and each figure as
CSV (`/dashboard/{figure}.csv`) for the centre's own reports.

The figures come from `storage.figures` (one aggregate query each); this module picks the period and unit
(a unit's identity only ever sees its unit), turns figures into rows (`Table`) that both the page and the
CSV show, and draws the charts with `api.web.charts`. Days are Vietnam's (UTC+7, no daylight saving).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.deps import ServicesDep, SessionDep
from api.errors import REQUEST_NOT_FOUND, NotFound
from api.web.base import ReaderPage, Staff, language_of, render
from api.web.charts import Series, bar_chart, column_chart, data_table
from api.web.words import Language, word
from classifiers.catalog import Catalog
from ingest.messages import error_text
from storage.access import UnitRepository
from storage.figures import (
    DayCount,
    Digitized,
    DossierCompletion,
    FigureFilter,
    FiguresRepository,
    GroupCount,
    Waiting,
)
from storage.models import utcnow

router = APIRouter(include_in_schema=False)

VIETNAM = timezone(timedelta(hours=7), "ICT")
"""The centre's clock: a period's days start at local midnight."""
DEFAULT_DAYS = 30
MAX_DAYS = 366
"""The longest period one page or CSV covers (a year, one column per day)."""
TOP_PROCEDURES = 10
TITLES = {
    "per-day": "dash.chart.per_day",
    "per-station": "dash.chart.per_station",
    "per-procedure": "dash.chart.per_procedure",
    "failures": "dash.chart.failures",
    "review-age": "dash.chart.review_age",
}
"""Each chart's title, by its figure's name."""
AGE_BUCKETS = ("dash.age.under_1d", "dash.age.1_3d", "dash.age.3_7d", "dash.age.over_7d")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to a spreadsheet: such cells get a leading `'`."""


@dataclass(frozen=True)
class Period:
    """The days and unit a visit asked for, corrected where the request could not be taken as it was."""

    first: date
    last: date
    unit: str | None
    """The unit counted; None: the whole province."""
    notices: tuple[str, ...] = ()
    """Word keys of what was corrected (a bad date, a range too long)."""

    def where(self) -> FigureFilter:
        start = datetime.combine(self.first, time(), VIETNAM).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), VIETNAM).astimezone(UTC)
        offset = VIETNAM.utcoffset(None)
        return FigureFilter(start, end, self.unit, int(offset.total_seconds()) // 60)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def query(self) -> str:
        """The URL query that asks for this period again (filter links, CSV links)."""
        values = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        return urlencode(values | ({"unit": self.unit} if self.unit else {}))


@dataclass(frozen=True)
class Table:
    """One figure as rows: what its CSV holds and the table beside its chart shows."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    numbers_from: int = 1
    """The first column holding numbers (the ones before it name the row)."""


@dataclass(frozen=True)
class Reading:
    """What turns figures into words: the reader's language, the catalog, and now."""

    language: Language
    catalog: Catalog
    now: datetime = field(default_factory=utcnow)

    def t(self, key: str, **values: Any) -> str:
        return word(key, self.language, **values)

    def count(self, value: float) -> str:
        return number(value, self.language)


@dataclass(frozen=True)
class Board:
    """Every figure of the page, read once."""

    digitized: Digitized
    waiting: Waiting
    dossiers: DossierCompletion
    days: list[DayCount]
    stations: list[GroupCount]
    procedures: list[GroupCount]
    failures: list[GroupCount]


# --- the routes --------------------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    staff: ReaderPage,
    session: SessionDep,
    services: ServicesDep,
    first: Annotated[str | None, Query(alias="from")] = None,
    last: Annotated[str | None, Query(alias="to")] = None,
    unit: str | None = None,
) -> HTMLResponse:
    """The page: filters, the tiles, a chart and a CSV link per figure."""
    period = period_of(staff, first, last, unit, today=local_today())
    reading = Reading(language_of(request), services.catalog)
    board = read_board(FiguresRepository(session), period, reading.now)
    units = UnitRepository(session).all() if staff.caller.scope is None else []
    return render(
        request,
        "dashboard.html",
        staff,
        period=period,
        board=board,
        units=units,
        figures=figures_of(board, reading),
        tiles=tiles(board, reading),
        query=period.query(),
    )


@router.get("/dashboard/{figure}.csv")
def dashboard_csv(
    request: Request,
    figure: str,
    staff: ReaderPage,
    session: SessionDep,
    services: ServicesDep,
    first: Annotated[str | None, Query(alias="from")] = None,
    last: Annotated[str | None, Query(alias="to")] = None,
    unit: str | None = None,
) -> Response:
    """One figure as CSV for Excel: UTF-8 with a BOM, a header row, named after the figure and period."""
    reader = CSV_READERS.get(figure)
    if reader is None:
        raise NotFound("no such figure", code=REQUEST_NOT_FOUND)
    period = period_of(staff, first, last, unit, today=local_today())
    table = reader(FiguresRepository(session), period, Reading(language_of(request), services.catalog))
    name = f"sohoa-{figure}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        content=csv_bytes(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# --- the period --------------------------------------------------------------------------------------------


def local_today() -> date:
    return datetime.now(VIETNAM).date()


def period_of(staff: Staff, first: str | None, last: str | None, unit: str | None, *, today: date) -> Period:
    """The period asked for (default: the last 30 days) and the unit: a unit's identity always gets its
    own, whatever it sent; the province's sees the unit it picked, or all."""
    notices: list[str] = []
    end, end_ok = _day(last, today)
    begin, begin_ok = _day(first, end - timedelta(days=DEFAULT_DAYS - 1))
    if not (begin_ok and end_ok):
        notices.append("dash.notice.bad_date")
    if begin > end:
        begin, end = end, begin
        notices.append("dash.notice.swapped")
    if (end - begin).days >= MAX_DAYS:
        begin = end - timedelta(days=MAX_DAYS - 1)
        notices.append("dash.notice.too_long")
    scope = staff.caller.scope
    picked = (unit or "").strip() or None
    return Period(begin, end, scope if scope is not None else picked, tuple(notices))


def _day(text: str | None, default: date) -> tuple[date, bool]:
    """The date YYYY-MM-DD in `text`, else `default` (and False when `text` was given but is no date)."""
    given = (text or "").strip()
    if not given:
        return default, True
    if not ISO_DATE.fullmatch(given):
        return default, False
    try:
        return date.fromisoformat(given), True
    except ValueError:  # 2024-02-30
        return default, False


# --- reading the figures ----------------------------------------------------------------------------------


def read_board(figures: FiguresRepository, period: Period, now: datetime) -> Board:
    """Every figure of the page: seven aggregate queries."""
    where = period.where()
    return Board(
        digitized=figures.digitized(where),
        waiting=figures.waiting(period.unit, now=now),
        dossiers=figures.dossiers(where),
        days=every_day(figures.per_day(where), period),
        stations=figures.per_station(where),
        procedures=top_and_other(figures.per_procedure(where), TOP_PROCEDURES),
        failures=figures.failures(where),
    )


def every_day(found: Sequence[DayCount], period: Period) -> list[DayCount]:
    """One entry per day of the period, zero on days without any."""
    by_day = {d.day: d for d in found}
    return [by_day.get(day, DayCount(day, 0, 0)) for day in period.days()]


OTHER = "\x00other"
"""The key of the group that sums everything past the top ones."""


def top_and_other(groups: Sequence[GroupCount], limit: int) -> list[GroupCount]:
    """The `limit` largest groups (they come most first), the rest summed into one `OTHER` group."""
    if len(groups) <= limit:
        return list(groups)
    rest = groups[limit:]
    other = GroupCount(OTHER, sum(g.pages for g in rest), sum(g.documents for g in rest))
    return [*groups[:limit], other]


# --- figures as rows ---------------------------------------------------------------------------------------


def summary_table(
    digitized: Digitized, waiting: Waiting, dossiers: DossierCompletion, reading: Reading
) -> Table:
    """The tiles' numbers: a machine name, the words, the value (percentages 0–100, the age in hours)."""
    t = reading.t
    confidence = digitized.mean_ocr_confidence
    oldest = waiting.oldest_review
    rows = (
        ("pages", t("dash.kpi.pages"), digitized.pages),
        ("documents", t("dash.kpi.documents"), digitized.documents),
        ("dossiers", t("dash.csv.dossiers"), dossiers.dossiers),
        ("dossiers_complete", t("dash.kpi.dossiers"), dossiers.complete),
        ("dossiers_complete_percent", t("dash.csv.dossiers_percent"), _share(dossiers)),
        ("queued", t("status.queued"), waiting.queued),
        ("processing", t("status.processing"), waiting.processing),
        ("review_backlog", t("dash.kpi.review"), waiting.review),
        ("review_oldest_hours", t("dash.csv.oldest_hours"), _hours(oldest, reading.now)),
        ("mean_ocr_confidence_percent", t("dash.kpi.confidence"), _percent(confidence)),
        ("failures", t("dash.kpi.failures"), digitized.failures),
    )
    return Table((t("dash.col.key"), t("dash.col.figure"), t("dash.col.value")), rows)


def per_day_table(days: Sequence[DayCount], reading: Reading) -> Table:
    rows = tuple((d.day.isoformat(), d.pages, d.documents) for d in days)
    return Table((reading.t("dash.col.day"), reading.t("common.pages"), reading.t("common.documents")), rows)


def station_table(stations: Sequence[GroupCount], reading: Reading) -> Table:
    rows = tuple((g.key or reading.t("dash.unknown"), g.pages, g.documents) for g in stations)
    return Table(
        (reading.t("dash.col.station"), reading.t("common.pages"), reading.t("common.documents")), rows
    )


def procedure_table(procedures: Sequence[GroupCount], reading: Reading) -> Table:
    rows = tuple(
        ("" if g.key in (None, OTHER) else g.key, procedure_name(g.key, reading), g.documents, g.pages)
        for g in procedures
    )
    t = reading.t
    headers = (t("dash.col.procedure_id"), t("common.procedure"), t("common.documents"), t("common.pages"))
    return Table(headers, rows, numbers_from=2)


def failure_table(failures: Sequence[GroupCount], reading: Reading) -> Table:
    rows = tuple((g.key or "", failure_words(g.key, reading), g.documents) for g in failures)
    t = reading.t
    return Table(
        (t("dash.col.error_code"), t("dash.col.error_text"), t("common.documents")), rows, numbers_from=2
    )


def review_age_table(waiting: Waiting, reading: Reading) -> Table:
    rows = tuple(
        (reading.t(key), count) for key, count in zip(AGE_BUCKETS, waiting.review_by_age, strict=True)
    )
    return Table((reading.t("dash.col.age"), reading.t("common.documents")), rows)


def procedure_name(key: str | None, reading: Reading) -> str:
    if key is None:
        return reading.t("dash.no_procedure")
    if key == OTHER:
        return reading.t("dash.other")
    procedure = reading.catalog.get(key)
    return procedure.name if procedure is not None else key


def failure_words(code: str | None, reading: Reading) -> str:
    if not code:
        return reading.t("dash.unknown")
    return error_text(code, None, reading.language, detail=False) or code


TableReader = Callable[[FiguresRepository, Period, Reading], Table]


def _summary_csv(figures: FiguresRepository, period: Period, reading: Reading) -> Table:
    where = period.where()
    waiting = figures.waiting(period.unit, now=reading.now)
    return summary_table(figures.digitized(where), waiting, figures.dossiers(where), reading)


CSV_READERS: dict[str, TableReader] = {
    "summary": _summary_csv,
    "per-day": lambda f, p, r: per_day_table(every_day(f.per_day(p.where()), p), r),
    "per-station": lambda f, p, r: station_table(f.per_station(p.where()), r),
    "per-procedure": lambda f, p, r: procedure_table(
        top_and_other(f.per_procedure(p.where()), TOP_PROCEDURES), r
    ),
    "failures": lambda f, p, r: failure_table(f.failures(p.where()), r),
    "review-age": lambda f, p, r: review_age_table(f.waiting(p.unit, now=r.now), r),
}
"""Each figure's CSV, by the name in its URL: only that figure's queries run."""
FIGURES = tuple(CSV_READERS)


def csv_bytes(table: Table) -> bytes:
    """The table as CSV that Excel opens in Vietnamese: UTF-8 with a byte-order mark, CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_safe_cell(value) for value in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


# --- the page's pieces -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One KPI tile: its id (the page's `kpi-<id>`), words, the number shown and a line under it."""

    id: str
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """One chart with its numbers and CSV name."""

    name: str
    title: str
    chart: Markup
    table: Markup
    empty: bool
    """Nothing to draw: the page says so instead."""
    wide: bool = False
    """Spans the whole width (the days of the period)."""
    empty_words: str = "dash.empty"


def tiles(board: Board, reading: Reading) -> list[Tile]:
    """The KPI tiles, numbers written the reader's way ("—" where there is nothing to divide)."""
    t, n = reading.t, reading.count
    digitized, waiting, dossiers = board.digitized, board.waiting, board.dossiers
    share = _share(dossiers)
    confidence = _percent(digitized.mean_ocr_confidence)
    oldest = age_words(waiting.oldest_review, reading) if waiting.oldest_review else t("dash.kpi.review_none")
    return [
        Tile("pages", t("dash.kpi.pages"), n(digitized.pages)),
        Tile("documents", t("dash.kpi.documents"), n(digitized.documents), t("dash.kpi.documents_note")),
        Tile(
            "dossiers",
            t("dash.kpi.dossiers"),
            "—" if share is None else number(share, reading.language, 1) + "%",
            t("dash.kpi.dossiers_note", complete=n(dossiers.complete), total=n(dossiers.dossiers)),
        ),
        Tile(
            "queue",
            t("dash.kpi.queue"),
            n(waiting.queue_depth),
            t("dash.kpi.queue_note", queued=n(waiting.queued), processing=n(waiting.processing)),
        ),
        Tile("review", t("dash.kpi.review"), n(waiting.review), t("dash.kpi.review_note", age=oldest)),
        Tile(
            "confidence",
            t("dash.kpi.confidence"),
            "—" if confidence is None else number(confidence, reading.language, 1) + "%",
            t("dash.kpi.confidence_note"),
        ),
        Tile("failures", t("dash.kpi.failures"), n(digitized.failures)),
    ]


def figures_of(board: Board, reading: Reading) -> list[Figure]:
    """The page's charts, each with its numbers beside it."""
    stations = station_table(board.stations, reading)
    procedures = procedure_table(board.procedures, reading)
    failures = failure_table(board.failures, reading)
    ages = review_age_table(board.waiting, reading)
    return [
        per_day_figure(board.days, reading),
        _bar_figure(
            "per-station", stations, [r[0] for r in stations.rows], [g.pages for g in board.stations], reading
        ),
        _bar_figure(
            "per-procedure",
            procedures,
            [r[1] for r in procedures.rows],
            [g.documents for g in board.procedures],
            reading,
        ),
        _bar_figure(
            "failures",
            failures,
            [code or words for code, words, _ in failures.rows],
            [g.documents for g in board.failures],
            reading,
            css="bar alt",
            table_shown=True,  # the bars name the codes; the table beside them says what each means
        ),
        _bar_figure(
            "review-age",
            ages,
            [r[0] for r in ages.rows],
            list(board.waiting.review_by_age),
            reading,
            empty=board.waiting.review == 0,
            empty_words="dash.empty_now",
        ),
    ]


def per_day_figure(days: Sequence[DayCount], reading: Reading) -> Figure:
    """Pages and documents per day as paired columns, every day of the period on the axis."""
    title = reading.t(TITLES["per-day"])
    series = [
        Series(reading.t("common.pages"), tuple(float(d.pages) for d in days)),
        Series(reading.t("common.documents"), tuple(float(d.documents) for d in days), "bar alt"),
    ]
    labels = [d.day.strftime("%d/%m") for d in days]
    chart = column_chart(title, labels, series, value_text=reading.count)
    table = per_day_table(days, reading)
    shown = _shown_rows(table, reading)
    for row, day in zip(shown, days, strict=True):
        row[0] = day.day.strftime("%d/%m/%Y")
    return Figure(
        "per-day",
        title,
        chart,
        data_table(title, table.headers, shown),
        not any(d.documents for d in days),
        True,
    )


def _bar_figure(
    name: str,
    table: Table,
    labels: list[str],
    values: list[float],
    reading: Reading,
    *,
    css: str = "bar",
    empty: bool | None = None,
    empty_words: str = "dash.empty",
    table_shown: bool = False,
) -> Figure:
    title = reading.t(TITLES[name])
    chart = bar_chart(title, labels, values, value_text=reading.count, css=css)
    shown = data_table(
        title,
        table.headers,
        _shown_rows(table, reading),
        hidden=not table_shown,
        numbers_from=table.numbers_from,
    )
    return Figure(
        name, title, chart, shown, not table.rows if empty is None else empty, empty_words=empty_words
    )


def _shown_rows(table: Table, reading: Reading) -> list[list[Any]]:
    """The rows with numbers written the reader's way."""
    return [[_shown(v, reading.language) for v in row] for row in table.rows]


def _shown(value: Any, language: Language) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else value
    return number(value, language)


# --- numbers and ages in words -----------------------------------------------------------------------------


def number(value: float, language: Language, decimals: int = 0) -> str:
    """10.000 and 91,5 in Vietnamese; 10,000 and 91.5 in English."""
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "vi" else text


def age_words(since: datetime, reading: Reading) -> str:
    """How long ago, in words: under an hour, hours up to two days, then days."""
    hours = (reading.now - since).total_seconds() / 3600
    if hours < 1:
        return reading.t("dash.age.under_hour")
    if hours < 48:
        return reading.t("dash.age.hours", n=int(hours))
    return reading.t("dash.age.days", n=int(hours // 24))


def _share(dossiers: DossierCompletion) -> float | None:
    return round(100 * dossiers.complete / dossiers.dossiers, 1) if dossiers.dossiers else None


def _percent(confidence: float | None) -> float | None:
    return None if confidence is None else round(100 * confidence, 1)


def _hours(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else round((now - since).total_seconds() / 3600, 1)
