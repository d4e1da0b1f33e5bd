"""What the review and dossier screens show of a page: its image rendered from the stored searchable PDF,
and the words tesseract was unsure of, placed as fractions of the page so a browser can mark them at any zoom.

Rendered images are kept in a small in-process cache: a reviewer zooming or going back costs no rendering.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ingest.services import Services
from ocr.preview import Preview, render_preview

CACHE_ENTRIES = 96
WIDTHS = (160, 480, 1000, 1600, 2400)
"""The widths served: a thumbnail, a list image, the review image and two zoom steps (a few cache keys)."""


@dataclass(frozen=True)
class UnsureWord:
    """A word below the confidence threshold, its box as fractions (0–1) of the page's width and height."""

    text: str
    confidence: float
    left: float
    top: float
    width: float
    height: float


class PreviewCache:
    """Rendered pages by (PDF key, page, width), least recently used out first; safe across threads."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._items: OrderedDict[tuple[str, int, int], Preview] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, services: Services, pdf_key: str, number: int, width: int) -> Preview:
        key = (pdf_key, number, width)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        preview = render_preview(services.store.get_bytes(pdf_key), number, width=width)
        with self._lock:
            self._items[key] = preview
            while len(self._items) > self._entries:
                self._items.popitem(last=False)
        return preview


def served_width(asked: int) -> int:
    """The nearest served width at or above what was asked."""
    return next((w for w in WIDTHS if w >= asked), WIDTHS[-1])


def unsure_words(
    services: Services, words_key: str, number: int, *, width_pt: float, height_pt: float, below: float
) -> list[UnsureWord]:
    """The words of page `number` in the document's words.tsv with confidence under `below` (0–1)."""
    text = services.store.get_bytes(words_key).decode("utf-8")
    found: list[UnsureWord] = []
    width_in, height_in = width_pt / 72.0, height_pt / 72.0
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            if int(row["page"]) != number or float(row["confidence"]) >= below:
                continue
            dpi = float(row["dpi"]) or 300.0
            left, top = float(row["left"]) / dpi, float(row["top"]) / dpi
            box_w, box_h = float(row["width"]) / dpi, float(row["height"]) / dpi
        except (KeyError, TypeError, ValueError):
            continue  # a damaged line marks nothing; the page still shows
        if not (row.get("text") or "").strip():
            continue
        found.append(
            UnsureWord(
                text=row["text"],
                confidence=float(row["confidence"]),
                left=left / width_in,
                top=top / height_in,
                width=box_w / width_in,
                height=box_h / height_in,
            )
        )
    return found
