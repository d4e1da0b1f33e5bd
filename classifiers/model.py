"""The learned procedure model: character n-gram TF-IDF of accent-folded text + a linear classifier.

Trained only on documents whose procedure a person confirmed (`sohoa review`, the API), retrained by
`sohoa train`. Hashed features keep the model small and vocabulary-free, so it is saved as plain JSON
(weights and IDF), never as a pickle: loading a model file cannot run code.

Probabilities are calibrated by temperature scaling: one temperature fitted on out-of-fold scores of the
training documents, so "0.9" means right about nine times in ten on documents the model did not see, and a
model trained on a handful of documents says it is unsure instead of being confidently wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifiers.text import fold
from errors import SohoaError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression

# scikit-learn and SciPy are imported where they are used, not here: they take about a second to import,
# and every process that imports the pipeline (the CLI, each OCR worker) pays it, though only a trained
# model needs them.

FEATURES = 2**18
NGRAMS = (2, 4)
MIN_EXAMPLES = 4
"""Fewer confirmed documents than this (or a single procedure) cannot train a useful model."""
MAX_FOLDS = 5
MIN_TEMPERATURE = 0.5
"""When every out-of-fold guess is right the log loss keeps falling as the temperature goes to 0, which would
make the model certain of anything; sharpening is capped at doubling the scores."""
MAX_TEMPERATURE = 50.0
FORMAT = "sohoa-procedure-model/2"
READABLE_FORMATS = ("sohoa-procedure-model/1", FORMAT)
"""Format 1 had no temperature (read as 1.0)."""


class ModelError(SohoaError):
    """A model cannot be trained or loaded; `code` is stable."""

    code = "model.invalid"


def _vectorizer() -> HashingVectorizer:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=FEATURES, alternate_sign=False, norm=None
    )


@dataclass(frozen=True)
class ProcedureModel:
    """A trained model: classes, per-class weights over hashed features, IDF, intercepts."""

    classes: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    examples: int
    temperature: float = 1.0
    """Scores are divided by this before the softmax (fitted on out-of-fold scores; >1 softens)."""

    def probabilities(self, text: str) -> dict[str, float]:
        """Calibrated probability of each known procedure for a document's text."""
        counts = _vectorizer().transform([fold(text)])
        weighted = counts.multiply(self.idf).tocsr()
        norm = float(np.sqrt(weighted.multiply(weighted).sum())) or 1.0
        scores = (weighted @ self.coef.T).ravel() / norm + self.intercept
        probabilities = _softmax(_as_class_scores(scores[np.newaxis, :]) / self.temperature)[0]
        return dict(zip(self.classes, probabilities.tolist(), strict=True))

    def to_json(self) -> bytes:
        """The model as JSON bytes (sparse: only non-zero weights), for a file or the object store."""
        rows, cols = np.nonzero(self.coef)
        payload = {
            "format": FORMAT,
            "temperature": round(self.temperature, 6),
            "features": FEATURES,
            "ngrams": list(NGRAMS),
            "classes": list(self.classes),
            "examples": self.examples,
            "intercept": self.intercept.tolist(),
            "idf": {str(i): round(float(v), 6) for i, v in enumerate(self.idf) if v != 1.0},
            "coef": [
                [int(r), int(c), round(float(self.coef[r, c]), 6)] for r, c in zip(rows, cols, strict=True)
            ],
        }
        return json.dumps(payload).encode("utf-8")

    def save(self, path: Path) -> None:
        """Write the model to a file, atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(self.to_json())
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> ProcedureModel:
        """Read a model file written by `save`."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read the procedure model {path}: {exc}") from exc
        return cls.from_json(data, origin=str(path))

    @classmethod
    def from_json(cls, data: bytes, *, origin: str = "the model") -> ProcedureModel:
        """Parse what `to_json` wrote; anything else is a `ModelError` naming `origin`."""
        try:
            payload = json.loads(data.decode("utf-8"))
            if payload.get("format") not in READABLE_FORMATS or payload["features"] != FEATURES:
                raise ModelError(f"{origin} is not a model this version of sohoa can read")
            classes = tuple(payload["classes"])
            idf = np.ones(FEATURES)
            for index, value in payload["idf"].items():
                idf[int(index)] = value
            coef = np.zeros((max(1, len(classes) - 1) if len(classes) == 2 else len(classes), FEATURES))
            for row, col, value in payload["coef"]:
                coef[row, col] = value
            temperature = float(payload.get("temperature", 1.0))
            if not 0 < temperature < 1000:
                raise ModelError(f"{origin} has an impossible temperature {temperature}")
            return cls(
                classes,
                idf,
                coef,
                np.asarray(payload["intercept"]),
                int(payload["examples"]),
                temperature,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"cannot read the procedure model {origin}: {exc}") from exc


def train(texts: Sequence[str], labels: Sequence[str]) -> ProcedureModel:
    """Fit the model on confirmed documents (text of each document, its confirmed procedure id)."""
    if len(texts) != len(labels):
        raise ModelError("texts and labels differ in length")
    if len(texts) < MIN_EXAMPLES or len(set(labels)) < 2:
        raise ModelError(
            f"need at least {MIN_EXAMPLES} confirmed documents of at least 2 procedures "
            f"(have {len(texts)} of {len(set(labels))})"
        )
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = _vectorizer().transform([fold(t) for t in texts])
    tfidf = TfidfTransformer(sublinear_tf=True)
    # Fit on the hashed columns that occur at all: the same solution (absent columns keep a zero weight
    # under the L2 penalty) at a few hundred times the speed of fitting all 2**18 columns.
    used = np.unique(counts.nonzero()[1])
    features = tfidf.fit_transform(counts)[:, used]
    classifier = _classifier()
    classifier.fit(features, list(labels))
    coef = np.zeros((classifier.coef_.shape[0], FEATURES))
    coef[:, used] = classifier.coef_
    return ProcedureModel(
        classes=tuple(str(c) for c in classifier.classes_),
        idf=np.asarray(tfidf.idf_),
        coef=coef,
        intercept=np.asarray(classifier.intercept_),
        examples=len(texts),
        temperature=_fit_temperature(features, np.asarray(labels), classifier.classes_),
    )


def _classifier() -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10.0, max_iter=2000)


def _as_class_scores(scores: np.ndarray) -> np.ndarray:
    """Binary logistic regression keeps one score column (for the second class): make it two."""
    if scores.ndim == 1:
        scores = scores[:, np.newaxis]
    if scores.shape[1] == 1:
        return np.hstack([np.zeros_like(scores), scores])
    return scores


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def _fit_temperature(features: object, labels: np.ndarray, classes: np.ndarray) -> float:
    """The temperature minimising the log loss of out-of-fold scores; 1.0 when too few documents to fold.

    Each training document is scored by a model fitted without it (stratified folds), which is what new
    documents will look like; a single scalar keeps the ranking and only fixes over- or under-confidence.
    """
    from scipy.optimize import minimize_scalar
    from sklearn.model_selection import StratifiedKFold

    smallest_class = min(int((labels == c).sum()) for c in classes)
    folds = min(MAX_FOLDS, smallest_class)
    if folds < 2:
        return 1.0
    out_of_fold = np.zeros((len(labels), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, held_rows in splitter.split(np.zeros(len(labels)), labels):
        # Every class has at least `folds` documents, so every training fold holds every class.
        fold_model = _classifier().fit(features[train_rows], labels[train_rows])  # type: ignore[index]
        held_scores = fold_model.decision_function(features[held_rows])  # type: ignore[index]
        out_of_fold[held_rows] = _as_class_scores(held_scores)
    truth = np.searchsorted(classes, labels)

    def log_loss(temperature: float) -> float:
        probabilities = _softmax(out_of_fold / temperature)
        return float(-np.log(np.clip(probabilities[np.arange(len(truth)), truth], 1e-12, 1)).mean())

    result = minimize_scalar(log_loss, bounds=(MIN_TEMPERATURE, MAX_TEMPERATURE), method="bounded")
    return float(result.x)
