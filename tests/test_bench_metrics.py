"""The OCR benchmark's measures and corpus plan: exact edit counts, normalisation, the promised page mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import corpus, metrics
from bench.engines import split_sidecar


def test_normalise_is_nfc_with_collapsed_whitespace() -> None:
    decomposed = "Vie\u0302\u0323t  Nam\n\n\tho\u0302\u0300 so\u031b "  # NFD input, odd spacing
    assert metrics.normalise(decomposed) == "Việt Nam hồ sơ"
    assert metrics.normalise(" \f\n ") == ""
    assert metrics.cer("Việt Nam", decomposed.split("\n")[0]) == 0.0
    assert metrics.cer("a b\nc", "a  b c") == 0.0


def test_character_edits_are_counted_exactly() -> None:
    assert metrics.char_counts("hồ sơ", "hồ sơ") == metrics.Counts(0, 5)
    assert metrics.char_counts("hồ sơ", "ho so") == metrics.Counts(2, 5)  # two substitutions
    assert metrics.char_counts("abcdef", "abdef") == metrics.Counts(1, 6)  # one deletion
    assert metrics.char_counts("abc", "abcxyz") == metrics.Counts(3, 3)  # three insertions
    assert metrics.cer("abcd", "abXd") == pytest.approx(0.25)


def test_word_error_rate_counts_whole_words() -> None:
    assert metrics.word_counts("Mã hồ sơ số 12", "Mã hồ so số 12") == metrics.Counts(1, 5)
    assert metrics.word_counts("một hai ba", "một ba") == metrics.Counts(1, 3)
    assert metrics.wer("một hai ba", "ba hai một") == pytest.approx(2 / 3)  # order matters for WER


def test_empty_reference_counts_invented_text_as_edits() -> None:
    assert metrics.char_counts("", "") == metrics.Counts(0, 0)
    assert metrics.char_counts("", "x y") == metrics.Counts(3, 0)
    scores = metrics.score([("abcd", "abcd"), ("", "zz")])
    assert scores.chars == metrics.Counts(2, 4)
    assert scores.cer == pytest.approx(0.5)
    assert metrics.score([("", "")]).cer == 0.0


def test_corpus_rates_sum_edits_over_pages() -> None:
    scores = metrics.score([("aaaa", "aaab"), ("bb", "cc"), ("một hai", "một hai")])
    assert scores.pages == 3
    assert scores.chars == metrics.Counts(3, 4 + 2 + 7)
    assert scores.cer == pytest.approx(3 / 13)
    assert scores.words == metrics.Counts(2, 4)


def test_word_f1_ignores_order_but_not_multiplicity() -> None:
    assert metrics.word_f1("một hai ba", "ba hai một") == 1.0
    assert metrics.word_f1("a a b", "a b") == pytest.approx(2 * 2 / (3 + 2))
    counts = metrics.bag_counts("a a b", "a c")
    assert (counts.matched, counts.reference, counts.hypothesis) == (1, 3, 2)
    assert counts.precision == 0.5 and counts.recall == pytest.approx(1 / 3)
    assert metrics.word_f1("", "") == 1.0
    assert metrics.word_f1("a", "") == 0.0
    assert metrics.word_f1("Việt", "Vie\u0302\u0323t") == 1.0


def test_sidecar_split_keeps_pages_aligned() -> None:
    sidecar = "one\n\fpage two\f[OCR skipped on page(s) 3-4]\ffive\f"
    assert split_sidecar(sidecar, 5) == ["one\n", "page two", "", "", "five"]
    assert split_sidecar("[OCR skipped on page(s) 1]\fb", 2) == ["", "b"]


def test_corpus_plan_meets_its_mix() -> None:
    plan = corpus.plan_corpus(48)
    assert len(plan) == 48 and len({p.name for p in plan}) == 48
    blanks = [p for p in plan if p.kind == "blank"]
    turned = [p for p in plan if p.degradation.rotate]
    steep = [p for p in plan if abs(p.degradation.skew) > 2.0]
    assert len(blanks) == 4
    assert len(turned) + len(steep) >= 16 and not set(p.name for p in turned) & set(p.name for p in steep)
    assert abs(len(turned) - len(steep)) <= 1
    assert {p.degradation.rotate for p in turned} == {90, 180, 270}
    assert all(2.5 <= abs(p.degradation.skew) <= 7.0 for p in steep)
    assert all(abs(p.degradation.skew) < 1.5 for p in plan if p.difficulty == "mild")
    assert [p.dpi for p in plan] == [300, 200] * 24
    text = [p for p in plan if p.kind != "blank"]
    assert {p.procedure_id for p in text} == set(corpus.synth.PROCEDURES)
    assert {p.family for p in text} == set(corpus.FAMILIES)
    assert {p.kind for p in text} == {"form", "receipt"}
    assert all(p.degradation.jpeg_quality and 50 <= p.degradation.jpeg_quality <= 90 for p in text)
    assert any(p.degradation.border_mm for p in text) and any(p.degradation.yellow for p in text)
    assert any(p.degradation.specks for p in text)
    assert all(p.upright_turn == (360 - p.degradation.rotate) % 360 for p in plan)


@pytest.mark.parametrize("n", [4, 8, 13, 30])
def test_small_corpus_plans_keep_every_kind(n: int) -> None:
    plan = corpus.plan_corpus(n)
    assert len(plan) == n
    assert sum(p.kind == "blank" for p in plan) == corpus.blank_count(n) >= 1
    hard = [p for p in plan if p.degradation.rotate or abs(p.degradation.skew) > 2.0]
    assert len(hard) == corpus.hard_count(n) >= n / 3
    assert any(p.degradation.rotate for p in plan) and any(abs(p.degradation.skew) > 2.0 for p in plan)


def test_corpus_is_deterministic_and_written_with_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert corpus.plan_corpus(12, seed=5) == corpus.plan_corpus(12, seed=5)
    assert corpus.plan_corpus(12, seed=5) != corpus.plan_corpus(12, seed=6)
    monkeypatch.setattr(corpus, "DPIS", (60, 50))  # rendering does not depend on resolution: keep it quick
    first = corpus.build_corpus(tmp_path / "a", 4, seed=5)
    again = corpus.build_corpus(tmp_path / "b", 4, seed=5)
    assert [p.image.read_bytes() for p in first] == [p.image.read_bytes() for p in again]
    assert [p.truth for p in first] == [p.truth for p in again]
    for page in first:
        assert page.image.suffix == ".jpg" and page.image.with_name(f"{page.plan.name}.gt.txt").is_file()
        assert (page.truth == "") == (page.plan.kind == "blank")
    text_page = next(p for p in first if p.plan.kind != "blank")
    assert "\n" in text_page.truth and text_page.truth == text_page.truth.strip()
    stamp = first[0].image.stat().st_mtime_ns
    corpus.build_corpus(tmp_path / "a", 4, seed=5)  # same plan: reused, not rewritten
    assert first[0].image.stat().st_mtime_ns == stamp
    assert "4 pages" in corpus.summary(first)


def test_report_scores_rotation_and_blanks_and_reprints_from_json(tmp_path: Path) -> None:
    from bench import report
    from bench.datasets import Dataset, Document, TruthPage
    from bench.engines import EngineOutput, PageOutput

    pages = (
        TruthPage("a", "một hai", tmp_path / "a.jpg", "rotated", 90, False),
        TruthPage("b", "ba", tmp_path / "b.jpg", "mild", 0, False),
        TruthPage("c", "", tmp_path / "c.jpg", "blank", 0, True),
    )
    dataset = Dataset("synthetic", "t", "vie", tuple(Document(p.image, (p,)) for p in pages), (), tmp_path)
    output = EngineOutput(
        "sohoa",
        [
            PageOutput("một hai", 2.0, 90, False),
            PageOutput("bà", 2.0, 180, False),
            PageOutput("", 0.05, 0, True),
        ],
        seconds=6.0,
        rss_self_mb=100.0,
        rss_children_mb=50.0,
    )
    result = report.evaluate(dataset, output)
    assert result.scores.chars == metrics.Counts(1, 9)
    assert result.turned == (1, 1) and result.kept_upright == (1, 2) and result.blanks == (1, 1, 0)
    assert result.pages_per_minute == pytest.approx(30.0)
    assert result.blank_seconds == pytest.approx(0.05) and result.ocr_seconds == pytest.approx(2.0)
    again = report.result_from_json(report.result_json(result))
    assert report.table([again]) == report.table([result])
    assert report.group_table([again]) == report.group_table([result])
