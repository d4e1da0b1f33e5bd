"""Image cleanup stages: small typed functions over numpy images, chained only by `ocr.page`.

Each stage returns the image it made plus what it measured, so the composer can record it.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class SkewEstimate:
    """Angle in degrees (counter-clockwise positive) by which text lines deviate from horizontal."""

    angle: float
    score_gain: float
    """How much sharper the line profile got at `angle` versus 0°; near 1 means no clear evidence."""


def estimate_skew(gray: np.ndarray, *, max_angle: float = 15.0) -> SkewEstimate:
    """Find the text-line angle by maximising the sharpness of the horizontal projection profile.

    Works on a sample of ink pixels of a downscaled copy: a coarse sweep over ±max_angle, then a fine one.
    """
    small, _ = downscale_to(gray, 1600)
    mask = ink_mask(small)
    ys, xs = np.nonzero(mask)
    if len(xs) < 200:
        return SkewEstimate(angle=0.0, score_gain=1.0)
    rng = np.random.default_rng(0)
    if len(xs) > 60_000:
        keep = rng.choice(len(xs), 60_000, replace=False)
        xs, ys = xs[keep], ys[keep]
    x = xs.astype(np.float64) - small.shape[1] / 2
    y = ys.astype(np.float64) - small.shape[0] / 2

    def sharpness(angle: float) -> float:
        theta = np.deg2rad(angle)
        projected = y * np.cos(theta) - x * np.sin(theta)
        histogram = np.bincount((projected - projected.min()).astype(np.int64))
        return float(np.dot(histogram, histogram))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    scores = [sharpness(a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    fine_scores = [sharpness(a) for a in fine]
    angle = float(fine[int(np.argmax(fine_scores))])
    baseline = sharpness(0.0)
    return SkewEstimate(angle=-angle, score_gain=max(fine_scores) / baseline if baseline else 1.0)


def rotate_by(image: np.ndarray, angle: float) -> np.ndarray:
    """Rotate counter-clockwise by `angle` degrees about the centre, growing the canvas, filling white."""
    if abs(angle) < 1e-3:
        return image
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width = int(height * sin + width * cos + 0.5)
    new_height = int(height * cos + width * sin + 0.5)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    fill = 255 if image.ndim == 2 else (255, 255, 255)
    return cv2.warpAffine(
        image,
        matrix,
        (new_width, new_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
