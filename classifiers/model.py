"""The learned procedure model: character n-gram TF-IDF of accent-folded text + a linear classifier.

Trained only on documents whose procedure a person confirmed (`sohoa review`, the API), retrained by
`sohoa train`. Hashed features keep the model small and vocabulary-free, so it is saved as plain JSON
(weights and IDF), never as a pickle: loading a model file cannot run code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression

from classifiers.text import fold

FEATURES = 2**18
NGRAMS = (2, 4)
MIN_EXAMPLES = 4
"""Fewer confirmed documents than this (or a single procedure) cannot train a useful model."""


class ModelError(Exception):
    """A model cannot be trained or loaded; `code` is stable."""

    code = "model.invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _vectorizer() -> HashingVectorizer:
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

    def probabilities(self, text: str) -> dict[str, float]:
        """Probability of each known procedure for a document's text."""
        counts = _vectorizer().transform([fold(text)])
        weighted = counts.multiply(self.idf).tocsr()
        norm = float(np.sqrt(weighted.multiply(weighted).sum())) or 1.0
        scores = (weighted @ self.coef.T).ravel() / norm + self.intercept
        if len(self.classes) == 2:  # binary logistic regression keeps one weight row
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        exp = np.exp(scores - scores.max())
        return dict(zip(self.classes, (exp / exp.sum()).tolist(), strict=True))

    def save(self, path: Path) -> None:
        """Write the model as JSON (sparse: only non-zero weights)."""
        rows, cols = np.nonzero(self.coef)
        payload = {
            "format": "sohoa-procedure-model/1",
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
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> ProcedureModel:
        """Read a model written by `save`."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload.get("format") != "sohoa-procedure-model/1" or payload["features"] != FEATURES:
                raise ModelError(f"{path} is not a model this version of sohoa can read")
            classes = tuple(payload["classes"])
            idf = np.ones(FEATURES)
            for index, value in payload["idf"].items():
                idf[int(index)] = value
            coef = np.zeros((max(1, len(classes) - 1) if len(classes) == 2 else len(classes), FEATURES))
            for row, col, value in payload["coef"]:
                coef[row, col] = value
            return cls(classes, idf, coef, np.asarray(payload["intercept"]), int(payload["examples"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"cannot read the procedure model {path}: {exc}") from exc


def train(texts: Sequence[str], labels: Sequence[str]) -> ProcedureModel:
    """Fit the model on confirmed documents (text of each document, its confirmed procedure id)."""
    if len(texts) != len(labels):
        raise ModelError("texts and labels differ in length")
    if len(texts) < MIN_EXAMPLES or len(set(labels)) < 2:
        raise ModelError(
            f"need at least {MIN_EXAMPLES} confirmed documents of at least 2 procedures "
            f"(have {len(texts)} of {len(set(labels))})"
        )
    counts = _vectorizer().transform([fold(t) for t in texts])
    tfidf = TfidfTransformer(sublinear_tf=True)
    features = tfidf.fit_transform(counts)
    classifier = LogisticRegression(C=10.0, max_iter=2000)
    classifier.fit(features, list(labels))
    return ProcedureModel(
        classes=tuple(str(c) for c in classifier.classes_),
        idf=np.asarray(tfidf.idf_),
        coef=np.asarray(classifier.coef_),
        intercept=np.asarray(classifier.intercept_),
        examples=len(texts),
    )
