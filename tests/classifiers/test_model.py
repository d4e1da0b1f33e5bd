"""The learned model: calibrated probabilities, a safe file format, and how it combines with the rules."""

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers.catalog import load_catalog
from classifiers.model import MIN_TEMPERATURE, ModelError, ProcedureModel, train
from classifiers.procedure import ProcedureClassifier

_WORDS = {
    "khai-sinh": "giấy chứng sinh trẻ sơ sinh cân nặng bệnh viện mẹ sinh con",
    "ket-hon": "tình trạng hôn nhân chưa đăng ký kết hôn với ai cư trú",
    "ho-kinh-doanh": "biên bản họp thành viên hộ gia đình ngành nghề vốn kinh doanh",
}


def _texts(rng: np.random.Generator, n: int, noise: float) -> tuple[list[str], list[str]]:
    """Short texts drawn from each procedure's words, with a share of labels deliberately wrong."""
    ids = list(_WORDS)
    texts, labels = [], []
    for i in range(n):
        label = ids[i % len(ids)]
        words = _WORDS[label].split() + _WORDS[ids[(i + 1) % len(ids)]].split()[:3]
        texts.append(" ".join(rng.choice(words, size=8)))
        labels.append(str(rng.choice(ids)) if rng.random() < noise else label)
    return texts, labels


def _log_loss(model: ProcedureModel, texts: list[str], labels: list[str]) -> float:
    return float(
        -np.mean(
            [
                np.log(max(model.probabilities(t)[label], 1e-12))
                for t, label in zip(texts, labels, strict=True)
            ]
        )
    )


def test_temperature_fitted_out_of_fold_lowers_held_out_log_loss() -> None:
    """Six corpora with a quarter of the labels wrong: the calibrated model predicts unseen texts better."""
    calibrated, raw, temperatures = [], [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        texts, labels = _texts(rng, 300, noise=0.25)
        held_texts, held_labels = _texts(rng, 300, noise=0.25)
        model = train(texts, labels)
        uncalibrated = ProcedureModel(model.classes, model.idf, model.coef, model.intercept, model.examples)
        calibrated.append(_log_loss(model, held_texts, held_labels))
        raw.append(_log_loss(uncalibrated, held_texts, held_labels))
        temperatures.append(model.temperature)
    assert np.mean(temperatures) > 1.1  # noisy labels: the raw regression is overconfident
    assert np.mean(calibrated) < np.mean(raw)


def test_separable_texts_sharpen_instead() -> None:
    texts, labels = _texts(np.random.default_rng(5), 120, noise=0.0)
    assert MIN_TEMPERATURE <= train(texts, labels).temperature < 1.0  # sharper, but never certain of anything


def test_too_few_documents_per_procedure_keep_temperature_one() -> None:
    model = train(
        ["giấy chứng sinh", "tình trạng hôn nhân", "chứng sinh bệnh viện", "kết hôn"], ["a", "b", "a", "c"]
    )
    assert model.temperature == 1.0


def test_saved_model_keeps_its_temperature_and_old_files_still_load(tmp_path: Path) -> None:
    texts, labels = _texts(np.random.default_rng(1), 60, noise=0.1)
    model = train(texts, labels)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = ProcedureModel.load(path)
    assert loaded.temperature == pytest.approx(model.temperature, abs=1e-5)
    assert loaded.probabilities(texts[0]) == pytest.approx(model.probabilities(texts[0]), abs=1e-4)

    payload = json.loads(path.read_text())
    payload["format"] = "sohoa-procedure-model/1"
    del payload["temperature"]
    path.write_text(json.dumps(payload))
    assert ProcedureModel.load(path).temperature == 1.0

    payload["temperature"] = -1
    path.write_text(json.dumps(payload))
    with pytest.raises(ModelError):
        ProcedureModel.load(path)


CT01 = "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nKính gửi: Công an xã\nNội dung đề nghị: Đăng ký {}\n"


def _ct01_model(agreeing: bool) -> ProcedureModel:
    """A model trained on CT01 pages, with the labels swapped when `agreeing` is false."""
    permanent, temporary = ("thuong-tru", "tam-tru") if agreeing else ("tam-tru", "thuong-tru")
    texts = [CT01.format(f"thường trú tại ấp {i}") for i in range(8)]
    texts += [CT01.format(f"tạm trú tại ấp {i}") for i in range(8)]
    return train(texts, [permanent] * 8 + [temporary] * 8)


def test_rules_and_model_agreeing_raise_the_confidence() -> None:
    catalog = load_catalog()
    page = [CT01.format("thường trú tại ấp 99")]
    rules_only = ProcedureClassifier(catalog).classify(page)
    combined = ProcedureClassifier(catalog, model=_ct01_model(agreeing=True)).classify(page)
    assert rules_only.procedure_id == combined.procedure_id == "thuong-tru"
    assert combined.confidence > rules_only.confidence or combined.confidence >= 0.99


def test_requested_content_stands_against_a_model_that_disagrees() -> None:
    """The page says "Đăng ký thường trú": a model trained on swapped labels cannot overrule that."""
    page = [CT01.format("thường trú tại ấp 99")]
    result = ProcedureClassifier(load_catalog(), model=_ct01_model(agreeing=False)).classify(page)
    assert result.procedure_id == "thuong-tru"
    assert result.candidates[0].decisive


def test_rules_and_model_disagreeing_send_the_document_to_review() -> None:
    """A component title alone is weak evidence: a model sure of another procedure sends it to a person."""
    texts = [f"GIẤY CHỨNG SINH\nBệnh viện đa khoa\nCân nặng {i} gram" for i in range(8)]
    texts += [f"GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN\nChưa đăng ký kết hôn {i}" for i in range(8)]
    swapped = train(texts, ["ket-hon"] * 8 + ["khai-sinh"] * 8)
    page = ["GIẤY CHỨNG SINH\nBệnh viện đa khoa\nCân nặng 3100 gram"]
    rules_only = ProcedureClassifier(load_catalog()).classify(page)
    assert rules_only.candidates[0].procedure_id == "khai-sinh" and not rules_only.candidates[0].decisive
    result = ProcedureClassifier(load_catalog(), model=swapped).classify(page)
    assert result.procedure_id is None
    assert {c.procedure_id for c in result.candidates} >= {"khai-sinh", "ket-hon"}


def test_model_cannot_overrule_a_procedure_it_never_saw() -> None:
    """Trained only on CT01 pages, the model has no say on a birth registration form."""
    page = ["TỜ KHAI ĐĂNG KÝ KHAI SINH\nHọ, chữ đệm, tên: A"]
    result = ProcedureClassifier(load_catalog(), model=_ct01_model(agreeing=True)).classify(page)
    assert result.procedure_id == "khai-sinh"
