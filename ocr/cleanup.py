"""Image cleanup stages: small typed functions over numpy images, chained only by `ocr.page`.

Each stage returns the image it made plus what it measured, so the composer can record it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grayscale copy of an RGB or gray page."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def rotate_quarter(image: np.ndarray, degrees_clockwise: int) -> np.ndarray:
    """Rotate by a multiple of 90° clockwise, losslessly."""
    turns = (degrees_clockwise // 90) % 4
    if turns == 0:
        return image
    code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[turns]
    return cv2.rotate(image, code)


def downscale_to(image: np.ndarray, longest_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the longest side is at most `longest_side`; returns the image and the factor used."""
    height, width = image.shape[:2]
    factor = min(1.0, longest_side / max(height, width))
    if factor >= 1.0:
        return image, 1.0
    small = cv2.resize(
        image, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA
    )
    return small, factor


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Binary mask (uint8 0/1) of dark marks on the page, robust to uneven paper tone."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    threshold, _ = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    background = float(np.median(blurred))
    # Otsu splits any image in two; on a blank page that split is paper grain, so demand real contrast.
    cut = min(threshold, background - 40.0)
    return (blurred < cut).astype(np.uint8)


@dataclass(frozen=True)
class BlankVerdict:
    """Whether a page carries no content worth OCR, and the evidence."""

    blank: bool
    ink_ratio: float
    """Share of the inner page area covered by ink components of text size."""


def detect_blank(gray: np.ndarray, *, max_ink_ratio: float = 0.002) -> BlankVerdict:
    """Flag a blank page (e.g. a blank back side) from the ink left after ignoring borders and specks."""
    small, _ = downscale_to(gray, 1200)
    height, width = small.shape
    margin_y, margin_x = height // 20, width // 20
    inner = small[margin_y : height - margin_y, margin_x : width - margin_x]
    mask = ink_mask(inner)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA] if count > 1 else np.array([], dtype=np.int32)
    min_area = max(3, (inner.size // 1_000_000))
    ink = float(areas[areas >= min_area].sum()) / max(inner.size, 1)
    return BlankVerdict(blank=ink < max_ink_ratio, ink_ratio=ink)


def text_mask(gray: np.ndarray) -> np.ndarray:
    """Ink mask keeping only components of text size: QR codes, rules, borders and photos are dropped.

    Orientation and skew are read from text lines; big blobs would only add noise to those measures.
    """
    mask = ink_mask(gray)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    typical = float(np.median(heights[heights > 3])) if np.any(heights > 3) else 0.0
    if typical == 0.0:
        return np.zeros_like(mask)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = (heights > 2) & (heights < 4 * typical) & (widths < 8 * typical)
    return keep[labels].astype(np.uint8)


def _ink_points(mask: np.ndarray, limit: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """Centred coordinates of (a deterministic sample of) the mask's ink pixels."""
    ys, xs = np.nonzero(mask)
    if len(xs) > limit:
        step = len(xs) // limit + 1
        xs, ys = xs[::step], ys[::step]
    return xs.astype(np.float64) - mask.shape[1] / 2, ys.astype(np.float64) - mask.shape[0] / 2


def _line_sharpness(x: np.ndarray, y: np.ndarray, angle: float) -> float:
    """Sum of squares of the projection profile along `angle`: peaks when lines are level."""
    theta = np.deg2rad(angle)
    projected = y * np.cos(theta) - x * np.sin(theta)
    histogram = np.bincount((projected - projected.min()).astype(np.int64))
    return float(np.dot(histogram, histogram))


def _best_angle(x: np.ndarray, y: np.ndarray, max_angle: float) -> tuple[float, float]:
    """(angle, sharpness) of the sharpest profile: a 0.5° sweep, then 0.05° around the best."""
    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    scores = [_line_sharpness(x, y, a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    fine_scores = [_line_sharpness(x, y, a) for a in fine]
    index = int(np.argmax(fine_scores))
    return float(fine[index]), fine_scores[index]


def updown_score(mask: np.ndarray) -> tuple[float, int]:
    """How upright level text lines look, in [-1, 1], and how many lines were measured.

    In Latin script, Vietnamese included, ascenders, capitals and tone marks put more ink above a line's
    x-height band than descenders and the dot-below put under it; upside down, the sign flips.
    """
    profile = mask.sum(axis=1).astype(np.float64)
    if not profile.any():
        return 0.0, 0
    in_line = profile > 0.02 * profile.max()
    above = below = 0.0
    lines = 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], in_line.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        band = profile[start:stop]
        if len(band) < 4:
            continue
        core = np.flatnonzero(band >= 0.5 * band.max())
        above += float(band[: core[0]].sum())
        below += float(band[core[-1] + 1 :].sum())
        lines += 1
    total = above + below
    return ((above - below) / total if total else 0.0), lines


@dataclass(frozen=True)
class Geometry:
    """How a page lies: the quarter turn and deskew that make its text upright and level."""

    quarter_turn: int
    """Clockwise quarter turn to apply first: 0, 90, 180 or 270."""
    skew: float
    """Text angle after the quarter turn, degrees counter-clockwise; rotate by -skew to level it."""
    updown: float
    """Upright score of the turned page in [-1, 1] (see `updown_score`)."""
    lines: int
    """Text lines the score was measured on."""

    @property
    def certain(self) -> bool:
        """Whether the up/down decision rests on enough text to trust without a second signal."""
        return self.lines >= 3 and abs(self.updown) >= 0.12


def detect_geometry(gray: np.ndarray, *, max_skew: float = 15.0) -> Geometry:
    """Find the quarter turn and skew of a page from its text lines alone (no OCR, ~0.07 s a page).

    The page is turned sideways only when its profile is sharper that way and it then shows many more text
    lines, or a much sharper profile and no fewer lines (tables and number columns make sharp vertical
    profiles too, but few "lines"); the ascender/descender balance of the levelled lines then tells upright
    from upside down.
    """
    small, _ = downscale_to(gray, 1600)
    mask = text_mask(small)
    x, y = _ink_points(mask)
    if len(x) < 200:
        return Geometry(quarter_turn=0, skew=0.0, updown=0.0, lines=0)
    angle, sharp_rows = _best_angle(x, y, max_skew)
    turned_angle, sharp_columns = _best_angle(-y, x, max_skew)  # the same points turned 90° clockwise
    upright = updown_score(rotate_by(mask, angle, fill=0))
    turn, skew, (score, lines) = 0, -angle, upright
    if sharp_columns > sharp_rows:
        sideways = updown_score(rotate_by(rotate_quarter(mask, 90), turned_angle, fill=0))
        many_more_lines = sideways[1] > 1.5 * upright[1] and sideways[1] >= 3
        clearly_sharper = sharp_columns > 1.5 * sharp_rows and sideways[1] >= upright[1]
        if many_more_lines or clearly_sharper:
            turn, skew, (score, lines) = 90, -turned_angle, sideways
    geometry = Geometry(quarter_turn=turn, skew=skew, updown=score, lines=lines)
    if score < 0 and geometry.certain:  # a weak negative balance is left to the OCR second opinion
        return Geometry(quarter_turn=(turn + 180) % 360, skew=skew, updown=-score, lines=lines)
    return geometry


def normalize_polarity(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Light text on a dark ground (slides, negatives) inverted to dark on light; says whether it was."""
    small, _ = downscale_to(gray, 400)
    if float(np.median(small)) >= 100:
        return gray, False
    return cv2.bitwise_not(gray), True


def rotation_matrix(width: int, height: int, angle: float) -> tuple[np.ndarray, int, int]:
    """Affine 2×3 matrix rotating a width×height image counter-clockwise by `angle` about its centre onto a
    canvas grown to hold all of it, and that canvas's size. Shared by `rotate_by` and the PDF composer."""
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width = int(height * sin + width * cos + 0.5)
    new_height = int(height * cos + width * sin + 0.5)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return matrix, new_width, new_height


def rotate_by(image: np.ndarray, angle: float, *, fill: int = 255) -> np.ndarray:
    """Rotate counter-clockwise by `angle` degrees about the centre onto a grown canvas of `fill`."""
    if abs(angle) < 1e-3:
        return image
    height, width = image.shape[:2]
    matrix, new_width, new_height = rotation_matrix(width, height, angle)
    border = fill if image.ndim == 2 else (fill, fill, fill)
    return cv2.warpAffine(
        image,
        matrix,
        (new_width, new_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def remove_dark_border(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Whiten dark scanner-lid borders: dark regions touching the page edge that run along it.

    Returns the cleaned image and the share of pixels whitened. Text never touches the edge of a scan, so
    only edge-touching components at least a fifth of a side long are taken.
    """
    small, _ = downscale_to(gray, 1200)
    background = float(np.median(small))
    dark = (small < min(background - 60.0, 110.0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    height, width = small.shape
    border = np.zeros(count, dtype=bool)
    for index in range(1, count):
        x, y, w, h = (int(v) for v in stats[index, :4])
        touches = x == 0 or y == 0 or x + w >= width or y + h >= height
        border[index] = touches and (w >= width // 5 or h >= height // 5)
    if not border.any():
        return gray, 0.0
    mask = border[labels].astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    full = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    cleaned = gray.copy()
    cleaned[full > 0] = 255
    return cleaned, float(full.mean())


def normalize_background(gray: np.ndarray) -> np.ndarray:
    """Flatten paper tone and uneven lighting (yellowed paper, shadows) and stretch contrast to full range.

    The background is estimated on a reduced copy with a closing larger than any stroke, then divided out.
    """
    small, _ = downscale_to(gray, 800)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    if float(np.percentile(background, 2)) >= 225:
        return gray  # white, evenly lit paper: nothing to flatten, tesseract's own threshold copes
    background = cv2.GaussianBlur(background, (0, 0), 3)
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    flattened = cv2.divide(gray, np.maximum(background, 1), scale=255)
    low = float(np.percentile(flattened[::4, ::4], 0.5))
    if low >= 250:
        return flattened
    stretched = (flattened.astype(np.float32) - low) * (255.0 / (255.0 - low))
    return np.clip(stretched, 0, 255).astype(np.uint8)


def remove_specks(gray: np.ndarray, *, dpi: float) -> tuple[np.ndarray, int]:
    """Whiten isolated dust specks that OCR would read as punctuation; keep tone marks and i-dots.

    A speck is a tiny dark component with no larger ink nearby (tone marks always sit next to a letter).
    Nearness is checked on a 4× reduced map of the larger ink, at each speck's centre.
    """
    dark = (gray < 128).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    if count <= 1:
        return gray, 0
    speck_area = max(2, round(8 * (dpi / 300.0) ** 2))
    small = stats[:, cv2.CC_STAT_AREA] <= speck_area
    small[0] = False
    if not small.any():
        return gray, 0
    large = ~small
    large[0] = False
    reduced = cv2.resize(
        large[labels].astype(np.uint8),
        (gray.shape[1] // 4 + 1, gray.shape[0] // 4 + 1),
        interpolation=cv2.INTER_AREA,
    )
    reach = max(3, round(dpi / 300.0 * 25 / 4))
    near = cv2.dilate(
        (reduced > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach))
    )
    candidates = np.flatnonzero(small)
    cx = np.clip((centroids[candidates, 0] / 4).astype(int), 0, near.shape[1] - 1)
    cy = np.clip((centroids[candidates, 1] / 4).astype(int), 0, near.shape[0] - 1)
    isolated = candidates[near[cy, cx] == 0]
    if isolated.size == 0:
        return gray, 0
    remove = np.zeros(count, dtype=bool)
    remove[isolated] = True
    cleaned = gray.copy()
    cleaned[remove[labels]] = 255
    return cleaned, int(isolated.size)


def typical_text_height(gray: np.ndarray) -> float:
    """Median height in pixels of the ink components (letters) of a page; 0 when there is no text."""
    small, factor = downscale_to(gray, 1600)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink_mask(small), connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT] if count > 1 else np.array([], dtype=np.int32)
    heights = heights[heights > 2]
    return float(np.median(heights)) / factor if len(heights) else 0.0


def resample_for_ocr(
    gray: np.ndarray,
    *,
    small: float = 12.0,
    large: float = 60.0,
    target: float = 22.0,
    max_pixels: int = 40_000_000,
) -> tuple[np.ndarray, float]:
    """Scale a page whose letters are far from the size tesseract reads best; returns it and the dpi to tell.

    Judged on the letters themselves, not on the recorded dpi, which screenshots and many scanners get
    wrong (the scribeocr pages all claim 96 dpi). Upsampling is capped at 2.5× and at `max_pixels`. The dpi
    passed on is what the letter size implies (about 25 px letters at 300 dpi).
    """
    height = typical_text_height(gray)
    if height <= 0:
        return gray, 300.0
    factor = 1.0
    if height < small:
        factor = min(2.5, target / height)
    elif height > large:
        factor = target / height
    pixels = gray.shape[0] * gray.shape[1]
    factor = min(factor, math.sqrt(max_pixels / pixels)) if factor > 1 else factor
    dpi = float(np.clip(300.0 * height * factor / 25.0, 70.0, 1200.0))
    if abs(factor - 1.0) < 0.05:
        return gray, dpi
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    interpolation = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    return cv2.resize(gray, size, interpolation=interpolation), dpi


def blank_out(gray: np.ndarray, boxes: list[tuple[int, int, int, int]], *, margin: int = 4) -> np.ndarray:
    """Paint boxes (x, y, w, h) white, e.g. QR codes that OCR would read as garbage."""
    if not boxes:
        return gray
    cleaned = gray.copy()
    for x, y, w, h in boxes:
        cleaned[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = 255
    return cleaned


def has_columns(gray: np.ndarray) -> bool:
    """Whether the (level) page sets its text in two or more columns side by side.

    A column gutter is a vertical band with (almost) no text between two text regions, each at least a
    sixth of the text width: forms, letters and receipts have none; newspapers and two-column reports do.
    """
    small, _ = downscale_to(gray, 1200)
    mask = text_mask(small)
    profile = mask.sum(axis=0).astype(np.float64)
    inked = np.flatnonzero(profile > 0)
    if len(inked) < 50:
        return False
    left, right = int(inked[0]), int(inked[-1])
    body = profile[left : right + 1]
    quiet = body <= 0.08 * float(np.percentile(body[body > 0], 90))
    width = right - left + 1
    min_gutter, min_side = max(4, width // 60), width // 6
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= min_gutter and start >= min_side and width - stop >= min_side:
            return True
    return False
