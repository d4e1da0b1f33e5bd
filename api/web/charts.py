"""Server-rendered SVG charts for the staff pages: pure functions from labels and numbers to markup.

    bar_chart("Trang theo trạm quét", ["quay-1", "quay-2"], [120, 80])    # horizontal bars, one per category
    column_chart("Theo ngày", ["01/06", "02/06"], [Series("Trang", (5, 7))])   # columns per day, grouped
    data_table("Trang theo trạm quét", ["Trạm", "Trang"], [("quay-1", "120")])  # the numbers, for readers

No script and no inline style (the pages' CSP forbids both): shapes carry SVG attributes and the classes
of `app.css` (`svg.chart`, `.bar`, `.bar.alt`, `.axis`). Every label is escaped; each chart is one image
for assistive technology (`role="img"`, `<title>`, `aria-label`) with its numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_WIDTH = 400
"""A bar chart's viewBox width: about the width of a third of a 1366-pixel screen, so CSS scaling to its
card keeps the 11px text near 11px (text in SVG scales with the picture)."""
COLUMN_WIDTH = 1200
"""A column chart's viewBox width: it spans the page."""
ROW_HEIGHT = 22
LABEL_WIDTH = 150
"""Room for a category's name left of its bar (longer names are cut, shown whole on hover)."""
LABEL_CHARS = 24
COLUMN_HEIGHT = 200
"""Plot height of a column chart."""
MAX_X_LABELS = 16


@dataclass(frozen=True)
class Series:
    """One set of columns of a column chart (pages, documents, …)."""

    label: str
    values: tuple[float, ...]
    """One value per column label."""
    css: str = "bar"
    """The class of its shapes: `bar`, or `bar alt` for the second colour."""


def plain(value: float) -> str:
    """A number as it is, without a needless `.0`."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_text: Callable[[float], str] = plain,
    css: str = "bar",
) -> Markup:
    """Horizontal bars, one per category, longest scaled to the full width, its value at its end."""
    top = max(values, default=0) or 1
    span = BAR_WIDTH - LABEL_WIDTH - 56
    height = max(len(labels), 1) * ROW_HEIGHT + 8
    parts = [_open(title, BAR_WIDTH, height)]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + index * ROW_HEIGHT
        length = max(round(span * value / top, 1), 1.0 if value else 0.0)
        words = f"{label}: {value_text(value)}"
        parts.append(
            f"<g><title>{escape(words)}</title>"
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(_cut(label))}</text>'
            f'<rect class="{escape(css)}" x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" '
            f'height="{ROW_HEIGHT - 6}"/>'
            f'<text x="{LABEL_WIDTH + length + 5}" y="{y + 15}">{escape(value_text(value))}</text></g>'
        )
    parts.append(f'<line class="axis" x1="{LABEL_WIDTH}" y1="2" x2="{LABEL_WIDTH}" y2="{height - 2}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    value_text: Callable[[float], str] = plain,
) -> Markup:
    """Columns per label (a day), the series side by side, with a legend, a y axis and thinned x labels."""
    left, top_margin, bottom = 48, 26, 24
    height = top_margin + COLUMN_HEIGHT + bottom
    plot = COLUMN_WIDTH - left - 8
    scale_top = nice_ceiling(max((v for s in series for v in s.values), default=0))
    slot = plot / max(len(labels), 1)
    width = slot * 0.8 / max(len(series), 1)
    base = top_margin + COLUMN_HEIGHT
    parts = [
        _open(title, COLUMN_WIDTH, height),
        _legend(series, left),
        *_y_axis(scale_top, left, top_margin, value_text),
    ]
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for index, label in enumerate(labels):
        x0 = left + index * slot + slot * 0.1
        for position, one in enumerate(series):
            value = one.values[index]
            tall = round(COLUMN_HEIGHT * value / scale_top, 1)
            x, y = round(x0 + position * width, 1), round(base - tall, 1)
            words = f"{label} · {one.label}: {value_text(value)}"
            parts.append(
                f'<rect class="{escape(one.css)}" x="{x}" y="{y}" width="{round(width, 1)}" height="{tall}">'
                f"<title>{escape(words)}</title></rect>"
            )
        if index % every == 0:
            middle = round(left + index * slot + slot / 2, 1)
            parts.append(f'<text x="{middle}" y="{base + 16}" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{COLUMN_WIDTH - 8}" y2="{base}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def data_table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    hidden: bool = True,
    numbers_from: int = 1,
) -> Markup:
    """A chart's numbers as a table: by default hidden from the eye (`sr-only`) but read by screen readers."""
    css = ' class="sr-only"' if hidden else ""
    caption_css = "" if hidden else ' class="sr-only"'  # a table on show sits under its chart's heading
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(i, value, numbers_from) for i, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    return Markup(
        f"<table{css}><caption{caption_css}>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at or above `value` (1 for nothing), so the axis reads round."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value))


def _open(title: str, width: int, height: int) -> str:
    words = escape(title)
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{words}"><title>{words}</title>'
    )


def _legend(series: Sequence[Series], left: int) -> str:
    parts, x = [], left
    for one in series:
        parts.append(
            f'<rect class="{escape(one.css)}" x="{x}" y="6" width="12" height="12"/>'
            f'<text x="{x + 16}" y="16">{escape(one.label)}</text>'
        )
        x += 30 + 7 * len(one.label)
    return "".join(parts)


def _y_axis(scale_top: float, left: int, top_margin: int, value_text: Callable[[float], str]) -> list[str]:
    parts = [
        f'<line class="axis" x1="{left}" y1="{top_margin}" x2="{left}" y2="{top_margin + COLUMN_HEIGHT}"/>'
    ]
    for share in (0.0, 0.5, 1.0):
        y = round(top_margin + COLUMN_HEIGHT * (1 - share), 1)
        tick = value_text(scale_top * share)
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(tick)}</text>')
        if share:
            parts.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{COLUMN_WIDTH - 8}" y2="{y}"/>')
    return parts


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _cell(index: int, value: object, numbers_from: int) -> str:
    """The first cell names the row; cells from `numbers_from` on are numbers, aligned right."""
    if index == 0:
        return f'<th scope="row">{escape(value)}</th>'
    css = ' class="num"' if index >= numbers_from else ""
    return f"<td{css}>{escape(value)}</td>"
