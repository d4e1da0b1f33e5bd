"""Read QR codes and barcodes on a page (zxing-cpp): receipts carry the dossier code in one."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp


@dataclass(frozen=True)
class Barcode:
    """One decoded symbol."""

    format: str
    """Symbology name as zxing reports it, e.g. "QR Code", "Code 128"."""
    text: str
    box: tuple[int, int, int, int]
    """Where it is on the page image: x, y, width, height in pixels."""


SEARCH_SIDE = 2000
"""Pages are searched at most this long (a 22 mm receipt QR code keeps 3 px modules): 5× faster at 300 dpi."""


def read_barcodes(gray: np.ndarray) -> tuple[Barcode, ...]:
    """Decode every QR code and 1-D/2-D barcode zxing-cpp finds on the (upright) page."""
    height, width = gray.shape[:2]
    factor = min(1.0, SEARCH_SIDE / max(height, width))
    small = (
        gray
        if factor >= 1.0
        else cv2.resize(gray, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
    )
    try:
        results = zxingcpp.read_barcodes(np.ascontiguousarray(small))
    except (ValueError, RuntimeError):
        return ()
    seen: set[tuple[str, str]] = set()
    found: list[Barcode] = []
    for result in results:
        item = (str(result.format).rsplit(".", 1)[-1], result.text)
        if result.valid and result.text and item not in seen:
            seen.add(item)
            found.append(Barcode(format=item[0], text=item[1], box=_box(result.position, 1.0 / factor)))
    return tuple(found)


def _box(position: zxingcpp.Position, scale: float) -> tuple[int, int, int, int]:
    corners = (position.top_left, position.top_right, position.bottom_left, position.bottom_right)
    xs, ys = [p.x * scale for p in corners], [p.y * scale for p in corners]
    return round(min(xs)), round(min(ys)), round(max(xs) - min(xs)) + 1, round(max(ys) - min(ys)) + 1
