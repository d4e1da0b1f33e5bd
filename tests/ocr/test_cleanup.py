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
    estimate = cleanup.estimate_skew(cleanup.to_gray(skewed))
    assert estimate.angle == pytest.approx(angle, abs=0.2)
    straightened = cleanup.rotate_by(cleanup.to_gray(skewed), -estimate.angle)
    assert abs(cleanup.estimate_skew(straightened).angle) <= 0.2


def test_upright_page_has_no_skew(form_page: np.ndarray) -> None:
    assert abs(cleanup.estimate_skew(cleanup.to_gray(form_page)).angle) <= 0.1


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
