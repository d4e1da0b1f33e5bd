"""The classification benchmark's measures on hand-made inputs, and its corpus plan and split (no OCR)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bench import classify, classify_corpus
from classifiers.keyfields import is_citizen_id, is_tax_code
from examples import synth


def test_review_share_accuracy_and_accepted_accuracy() -> None:
    truth = ["a", "a", "b", "b"]
    predicted = ["a", None, "b", "a"]
    assert classify.review_share(predicted) == 0.25
    assert classify.accuracy(truth, predicted) == 0.5  # the review counts as not correct
    assert classify.accepted_counts(truth, predicted) == (2, 3)
    scores = classify.score(truth, predicted)
    assert (scores.docs, scores.reviewed, scores.accepted_right, scores.accepted) == (4, 1, 2, 3)
    assert scores.accepted_accuracy == pytest.approx(2 / 3)
    assert classify.score(["a"], [None]).accepted_accuracy is None
    assert classify.review_share([]) == 0.0
    with pytest.raises(ValueError):
        classify.accuracy(["a"], [])


def test_macro_f1_treats_review_as_a_label_that_is_never_right() -> None:
    # a: P 1, R 1/2, F1 2/3; b: F1 1. The review is not averaged as a class of its own.
    assert classify.macro_f1(["a", "a", "b", "b"], ["a", None, "b", "b"]) == pytest.approx(5 / 6)
    assert classify.macro_f1(["a", "b"], [None, None]) == 0.0
    # a procedure outside the corpus is a miss for the true one, not a class of its own
    assert classify.macro_f1(["a", "b"], ["c", "b"]) == pytest.approx(0.5)
    assert classify.macro_f1(["a", "b"], ["a", "b"]) == 1.0


def test_ct01_counts_swaps_and_reviews() -> None:
    truth = ["thuong-tru", "thuong-tru", "tam-tru", "tam-tru", "khai-sinh"]
    predicted = ["thuong-tru", "tam-tru", None, "tam-tru", "khai-sinh"]
    permanent, temporary = classify.ct01_scores(truth, predicted)
    assert permanent == classify.Ct01Scores("thuong-tru", 2, 2, 1, 0, 1)
    assert temporary == classify.Ct01Scores("tam-tru", 2, 1, 1, 1, 0)


def test_calibration_bins_and_expected_error() -> None:
    confidences = [0.05, 0.95, 0.95, 1.0, 0.55]
    correct = [False, True, False, True, True]
    bins = classify.calibration_bins(confidences, correct)
    assert [(b.low, b.count) for b in bins] == [(0.0, 1), (0.5, 1), (0.9, 3)]  # 1.0 falls in the last bin
    assert bins[2].mean_confidence == pytest.approx(2.9 / 3)
    assert bins[2].accuracy == pytest.approx(2 / 3)
    expected = 0.2 * 0.05 + 0.2 * 0.45 + 0.6 * abs(2 / 3 - 2.9 / 3)
    assert classify.expected_calibration_error(bins) == pytest.approx(expected)
    perfect = classify.calibration_bins([1.0, 1.0, 0.0], [True, True, False])
    assert classify.expected_calibration_error(perfect) == 0.0
    assert classify.expected_calibration_error([]) == 0.0


def test_dossier_code_scoring() -> None:
    outcomes = [
        classify.CodeOutcome("X", "X", ("X",), False, True),  # receipt, found through its QR code
        classify.CodeOutcome("Y", None, (), False, False),  # receipt, missed
        classify.CodeOutcome(None, "Z", ("Z",), False, False),  # a form given a code it does not carry
        classify.CodeOutcome("W", None, ("W", "V"), True, False),  # receipt, two codes: a conflict
    ]
    scores = classify.score_codes(outcomes)
    assert scores == classify.CodeScores(
        pages=4, carrying=3, found=1, via_barcode=1, wrong=1, conflicts=1, stray=2
    )
    assert scores.found_rate == pytest.approx(1 / 3)
    assert classify.score_codes([]).found_rate is None


def test_code_outcome_runs_the_pipeline_finder() -> None:
    code = "000.00.21.H61-260205-0001"
    text = f"GIẤY TIẾP NHẬN HỒ SƠ\nMã hồ sơ: {code}"
    found = classify.code_outcome(code, text, [f"{code}|1.001612|086190012345|GIẤY"])
    assert (found.decided, found.from_barcode, found.conflict) == (code, True, False)
    assert classify.code_outcome(None, "TỜ KHAI ĐĂNG KÝ KHAI SINH", []).decided is None


def test_truth_numbers_are_the_printed_ids_not_phones() -> None:
    lines = [
        "Số định danh cá nhân: 086190012345",
        "Điện thoại: 0901234567",
        "Mã số thuế cá nhân: 1512345678",
        "3. NGUYỄN VĂN AN, sinh ngày 01/02/1990 (con), CCCD: 086090123456",
    ]
    truth = classify.truth_numbers(lines)
    assert truth == {
        "citizen_id": frozenset({"086190012345", "086090123456"}),
        "tax_code": frozenset({"1512345678"}),
    }


def test_field_recall_wrong_and_invalid() -> None:
    counts = classify.field_counts(frozenset({"a", "b"}), ["a", "c", "c"], lambda v: v != "c")
    assert counts == classify.FieldCounts(truth=2, found=1, wrong=1, invalid=1)
    assert counts.recall == 0.5
    total = counts + classify.FieldCounts(1, 1, 0, 0)
    assert total == classify.FieldCounts(3, 2, 1, 1)
    assert classify.FieldCounts(0, 0, 0, 0).recall is None


def test_paperless_preprocessing_mirrors_paperless() -> None:
    assert classify.paperless_preprocess("  Mã  Hồ\nSơ: 000.00-1 ") == "mã hồ sơ  000 00 1"


@pytest.mark.parametrize("procedure_id", [p for p, spec in synth.PROCEDURES.items() if spec.components])
def test_component_truth_has_valid_numbers(procedure_id: str) -> None:
    page = synth.make_component(procedure_id, seed=5, dpi=72)
    truth = classify.truth_numbers(page.lines)
    assert truth["citizen_id"] and all(is_citizen_id(n) for n in truth["citizen_id"])
    assert all(is_tax_code(n) for n in truth["tax_code"])
    assert bool(truth["tax_code"]) == (procedure_id == "ho-kinh-doanh")


def test_plan_and_split_hold_out_whole_dossiers() -> None:
    plan = classify_corpus.plan_corpus(4, seed=7)
    assert plan == classify_corpus.plan_corpus(4, seed=7)  # deterministic
    assert len({d.name for d in plan}) == len(plan)
    kinds = Counter(d.kind for d in plan)
    with_components = sum(bool(p.components) for p in synth.PROCEDURES.values())
    assert kinds == {"form": 24, "receipt": 24, "component": 4 * with_components}
    assert {d.level for d in plan} == set(classify_corpus.LEVELS)
    assert all(d.dpi == (200 if d.level == "poor" else 300) for d in plan)
    assert all(d.degradation == synth.Degradation() for d in plan if d.level == "clean")

    splits = classify_corpus.split_corpus(plan, test_share=0.5, seed=7)
    train = {d.seed for d in plan if splits[d.name] == "train"}
    test = {d.seed for d in plan if splits[d.name] == "test"}
    assert not train & test  # no person on both sides
    for procedure_id, spec in synth.PROCEDURES.items():
        for side in ("train", "test"):
            mine = {d.kind for d in plan if d.procedure_id == procedure_id and splits[d.name] == side}
            assert mine == ({"form", "receipt", "component"} if spec.components else {"form", "receipt"})
    assert len(test) == len(train) == 12


def test_default_and_quick_sizes() -> None:
    default = classify_corpus.plan_corpus(classify_corpus.DEFAULT_DOCS_PER_KIND)
    held = classify_corpus.split_corpus(default)
    assert sum(s == "test" for s in held.values()) >= 150  # one error in 150 is under 1%
    quick = classify_corpus.plan_corpus(classify_corpus.QUICK_DOCS_PER_KIND)
    assert 25 <= len(quick) <= 40
    splits = classify_corpus.split_corpus(quick)
    for procedure_id in synth.PROCEDURES:
        assert {splits[d.name] for d in quick if d.procedure_id == procedure_id} == {"train", "test"}
    with pytest.raises(ValueError):
        classify_corpus.plan_corpus(1)
    with pytest.raises(ValueError):
        classify_corpus.split_corpus(quick, test_share=1.0)


def test_poor_level_is_harder_than_scan() -> None:
    rng = np.random.default_rng(0)
    poor = [classify_corpus.level_degradation("poor", rng) for _ in range(200)]
    assert all(
        1.0 <= d.blur <= 1.6 and 8 <= d.noise <= 14 and 35 <= (d.jpeg_quality or 0) <= 55 for d in poor
    )
    assert all(abs(d.skew) <= 5 and 0.002 <= d.specks <= 0.004 for d in poor)
    assert 10 <= sum(d.rotate != 0 for d in poor) <= 45  # about one in eight
    assert any(d.yellow for d in poor) and not all(d.yellow for d in poor)
