"""Where the signature stamp goes on page 1: the top-left corner (Circular 01/2023 wants signer and scan
time there), moved right or down to the first spot that covers nothing — a receipt's QR code sits at the
top left too, and a stamp over it would hide the most reliable link between the page and its dossier.
"""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium

SEARCH_DPI = 36.0
"""Page 1 is looked at this coarsely: a 200 × 50 pt stamp is 100 × 25 pixels, enough to see ink."""
INK_LEVEL = 160
"""Pixels darker than this (0–255) are ink."""
MAX_INK_SHARE = 0.004
"""A spot with at most this share of ink pixels covers nothing (specks and scanner dust allowed)."""


def stamp_spot(
    pdf_path: str, *, width_pt: float, height_pt: float, margin_pt: float
) -> tuple[float, float] | None:
    """The top-left corner (x, y from the page's top, in points) for a stamp of the given size on page 1:
    the first blank spot scanning the top quarter of the page from the left, row by row, else the
    top-left corner itself (None when page 1 cannot be rendered: the caller keeps its default)."""
    try:
        document = pdfium.PdfDocument(pdf_path)
    except pdfium.PdfiumError:
        return None
    try:
        page = document[0]
        bitmap = page.render(scale=SEARCH_DPI / 72.0, grayscale=True)
        gray = np.asarray(bitmap.to_numpy())
        if gray.ndim == 3:
            gray = gray[..., 0]
    finally:
        document.close()
    scale = SEARCH_DPI / 72.0
    spot = first_blank_spot(
        gray < INK_LEVEL,
        box=(round(width_pt * scale), round(height_pt * scale)),
        margin=round(margin_pt * scale),
    )
    return (spot[0] / scale, spot[1] / scale)


def first_blank_spot(ink: np.ndarray, *, box: tuple[int, int], margin: int) -> tuple[int, int]:
    """The first (x, y) in pixels, left to right then top to bottom within the top quarter, where a box of
    `box` (width, height) holds almost no ink; the margin corner when there is none."""
    height, width = ink.shape
    box_w, box_h = box
    step = max(2, box_h // 4)
    if box_w + 2 * margin > width or box_h + 2 * margin > height:
        return (margin, margin)
    summed = np.pad(ink.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    limit = MAX_INK_SHARE * box_w * box_h
    bottom = max(margin, height // 4 - box_h)
    for y in range(margin, bottom + 1, step):
        for x in range(margin, width - margin - box_w + 1, step):
            count = summed[y + box_h, x + box_w] - summed[y, x + box_w] - summed[y + box_h, x] + summed[y, x]
            if count <= limit:
                return (x, y)
    return (margin, margin)
