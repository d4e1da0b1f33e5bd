import cv2
import numpy as np
import pytest

from examples.synth import Degradation, degrade, make_blank, make_page
from ocr import cleanup


@pytest.fixture(scope="module")
def form_page() -> np.ndarray:
    return np.asarray(make_page("khai-sinh", seed=3, dpi=200).image)


@pytest.mark.parametrize("angle", [-7.0, -2.5, 1.2, 4.0, 12.0])
def test_skew_is_measured_to_within_a_fifth_of_a_degree(form_page: np.ndarray, angle: float) -> None:
    skewed = np.asarray(
        degrade(
            __import__("PIL.Image").Image.fromarray(form_page),
            Degradation(skew=angle),
            np.random.default_rng(0),
        )
    )
    estimate = cleanup.detect_geometry(cleanup.to_gray(skewed))
    assert estimate.skew == pytest.approx(angle, abs=0.2)
    straightened = cleanup.rotate_by(cleanup.to_gray(skewed), -estimate.skew)
    assert abs(cleanup.detect_geometry(straightened).skew) <= 0.2


def test_upright_page_has_no_skew(form_page: np.ndarray) -> None:
    assert abs(cleanup.detect_geometry(cleanup.to_gray(form_page)).skew) <= 0.1


def test_blank_back_side_is_flagged_and_a_form_is_not(form_page: np.ndarray) -> None:
    blank = np.asarray(make_blank(seed=1, dpi=200).image)
    noisy_blank = np.asarray(
        degrade(
            make_blank(seed=2, dpi=200).image,
            Degradation(noise=6, specks=0.001, border_mm=5),
            np.random.default_rng(1),
        )
    )
    assert cleanup.detect_blank(cleanup.to_gray(blank)).blank
    assert cleanup.detect_blank(cleanup.to_gray(noisy_blank)).blank
    assert not cleanup.detect_blank(cleanup.to_gray(form_page)).blank


def test_quarter_turns_compose_back_to_the_original(form_page: np.ndarray) -> None:
    gray = cleanup.to_gray(form_page)
    for turn in (90, 180, 270):
        back = cleanup.rotate_quarter(cleanup.rotate_quarter(gray, turn), 360 - turn)
        assert np.array_equal(back, gray)


def _degraded(spec: Degradation, seed: int = 0, procedure: str = "thuong-tru", dpi: int = 200) -> np.ndarray:
    page = make_page(procedure, seed=seed, dpi=dpi)
    return cleanup.to_gray(np.asarray(degrade(page.image, spec, np.random.default_rng(seed))))


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
@pytest.mark.parametrize("skew", [-6.0, 0.0, 3.5])
def test_geometry_finds_the_quarter_turn_and_skew(turn: int, skew: float) -> None:
    gray = _degraded(Degradation(rotate=turn, skew=skew, noise=4, blur=0.6, jpeg_quality=60), seed=turn)
    geometry = cleanup.detect_geometry(gray)
    assert geometry.quarter_turn == (360 - turn) % 360
    assert geometry.skew == pytest.approx(skew, abs=0.2)
    assert geometry.certain


def test_geometry_of_an_empty_page_is_unsure_and_untouched() -> None:
    geometry = cleanup.detect_geometry(np.full((800, 600), 250, np.uint8))
    assert (geometry.quarter_turn, geometry.skew, geometry.certain) == (0, 0.0, False)


def test_updown_score_flips_sign_with_the_page(form_page: np.ndarray) -> None:
    mask = cleanup.text_mask(cleanup.to_gray(form_page))
    upright, lines = cleanup.updown_score(mask)
    flipped, _ = cleanup.updown_score(cleanup.rotate_quarter(mask, 180))
    assert upright > 0.2 and flipped == pytest.approx(-upright) and lines > 10


def test_dark_border_is_whitened_and_text_kept() -> None:
    gray = _degraded(Degradation(border_mm=8))
    cleaned, share = cleanup.remove_dark_border(gray)
    assert 0.02 < share < 0.3
    assert cleaned[:5, :].min() > 200 and cleaned[:, :5].min() > 200
    assert int((cleaned < 100).sum()) > 0.5 * int((_degraded(Degradation()) < 100).sum())


def test_uneven_lighting_is_flattened_and_clean_paper_left_alone() -> None:
    gray = cleanup.to_gray(np.asarray(make_page("ket-hon", seed=1, dpi=200).image))
    shadow = np.linspace(0.55, 1.0, gray.shape[1])[None, :]
    shaded = (gray * shadow).astype(np.uint8)
    flat = cleanup.normalize_background(shaded)
    assert np.median(shaded[:, :200]) < 160 and np.median(flat[:, :200]) >= 245
    assert np.percentile(flat, 0.5) < 80, "ink stays dark"
    assert cleanup.normalize_background(gray) is gray


def test_specks_go_and_tone_marks_stay(form_page: np.ndarray) -> None:
    gray = cleanup.to_gray(form_page)
    untouched, removed_clean = cleanup.remove_specks(gray, dpi=200)
    assert removed_clean <= 3, "dots and tone marks sit next to letters"
    assert np.array_equal(untouched == 255, gray == 255) or removed_clean > 0
    dusty = gray.copy()
    rng = np.random.default_rng(5)
    ys, xs = rng.integers(0, gray.shape[0], 300), rng.integers(0, gray.shape[1], 300)
    free = gray[ys, xs] > 200
    dusty[ys[free], xs[free]] = 0
    _, removed = cleanup.remove_specks(dusty, dpi=200)
    assert removed >= 0.8 * free.sum()


def test_letters_far_from_a_readable_size_are_rescaled(form_page: np.ndarray) -> None:
    gray = cleanup.to_gray(form_page)  # 200 dpi: letters about 18 px high, read as they are
    same, dpi = cleanup.resample_for_ocr(gray)
    assert same is gray and 150 <= dpi <= 260
    tiny = cv2.resize(gray, (gray.shape[1] // 3, gray.shape[0] // 3), interpolation=cv2.INTER_AREA)
    bigger, _ = cleanup.resample_for_ocr(tiny)
    assert bigger.shape[0] > 1.5 * tiny.shape[0]
    huge = cv2.resize(gray, (gray.shape[1] * 4, gray.shape[0] * 4))
    smaller, _ = cleanup.resample_for_ocr(huge)
    assert smaller.shape[0] < huge.shape[0] / 2


def test_columns_are_told_from_single_column_forms(form_page: np.ndarray) -> None:
    gray = cleanup.to_gray(form_page)
    assert not cleanup.has_columns(gray)
    half = gray[:, : gray.shape[1] // 2]
    two_columns = np.hstack([half, np.full((gray.shape[0], 120), 255, np.uint8), half])
    assert cleanup.has_columns(two_columns)


def test_real_upright_pages_are_left_upright_and_not_blank() -> None:
    """Tables, number columns, slides and receipts: none is turned or called blank (all are upright)."""
    from PIL import Image

    from tests.conftest import shared_testdata

    folder = shared_testdata("scribeocr-benchmark", "img")
    for path in sorted(folder.iterdir()):
        gray, _ = cleanup.normalize_polarity(np.asarray(Image.open(path).convert("L")))
        assert cleanup.detect_geometry(gray).quarter_turn == 0, path.name
        assert not cleanup.detect_blank(gray).blank, path.name


def test_light_text_on_dark_is_inverted() -> None:
    dark = np.full((400, 600), 30, np.uint8)
    dark[100:110, 50:500] = 240
    flipped, inverted = cleanup.normalize_polarity(dark)
    assert inverted and flipped[0, 0] == 225 and flipped[105, 100] == 15
    assert cleanup.normalize_polarity(np.full((10, 10), 250, np.uint8))[1] is False
