"""Scores of a fitted model, stability of kept feature sets, redundancy among kept features."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

PRIMARY_METRIC = {"classification": "f1_macro", "regression": "r2"}
METRICS = {
    "classification": ("f1_macro", "balanced_accuracy", "roc_auc"),
    "regression": ("r2", "mae"),
}
# Metrics where a lower value is better (every other metric: higher is better).
LOWER_IS_BETTER = frozenset({"mae"})


def score_predictions(
    task: str, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_classes: int
) -> dict[str, float]:
    """Every metric of ``task`` for one test fold; ROC AUC only where it is defined.

    ``proba`` holds one column per class label ``0 .. n_classes - 1`` (or is None
    when the model gives no probabilities).
    """
    if task == "regression":
        return {
            "r2": float(r2_score(y_true, y_pred)),
            "mae": float(mean_absolute_error(y_true, y_pred)),
        }
    scores = {
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }
    if proba is not None and len(np.unique(y_true)) == n_classes:
        try:
            if n_classes == 2:
                scores["roc_auc"] = float(roc_auc_score(y_true, proba[:, 1]))
            else:
                scores["roc_auc"] = float(
                    roc_auc_score(
                        y_true,
                        proba,
                        multi_class="ovr",
                        average="macro",
                        labels=np.arange(n_classes),
                    )
                )
        except ValueError:
            pass  # e.g. probabilities that do not sum to one: AUC undefined, left out
    return scores


def jaccard_stability(sets: list[frozenset]) -> float:
    """Mean pairwise Jaccard index of the kept sets (1 = every fold kept the same set).

    >>> jaccard_stability([frozenset({0, 1}), frozenset({1, 2}), frozenset({0, 1})])
    0.5555555555555555
    """
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return float("nan")
    return float(np.mean([len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs]))


def kuncheva_index(sets: list[frozenset], n_features: int) -> float:
    """Mean pairwise Kuncheva consistency index of equal-size kept sets.

    For two sets of size ``k`` out of ``n`` sharing ``r`` features the index is
    ``(r n - k^2) / (k (n - k))``: 1 for identical sets, about 0 for sets drawn at
    random, corrected for chance unlike Jaccard. Undefined (NaN) when ``k`` is 0 or
    ``n``, where any two sets agree by construction.

    >>> kuncheva_index([frozenset({0, 1}), frozenset({1, 2})], n_features=4)
    0.0
    """
    pairs = list(itertools.combinations(sets, 2))
    if not pairs:
        return float("nan")
    values = []
    for a, b in pairs:
        k = len(a)
        if len(b) != k or k in (0, n_features):
            return float("nan")
        values.append((len(a & b) * n_features - k * k) / (k * (n_features - k)))
    return float(np.mean(values))


def correlation_matrix(X: np.ndarray) -> np.ndarray:
    """Absolute Pearson correlations between columns, each pair over the rows where both
    are present; NaN for a pair with a constant column or fewer than two such rows."""
    X = np.asarray(X, dtype=float)
    present = ~np.isnan(X)
    if present.all():
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = X - X.mean(axis=0)
            norms = np.sqrt((centred**2).sum(axis=0))
            corr = (centred.T @ centred) / np.outer(norms, norms)
        return np.abs(corr)
    import pandas as pd  # pairwise-complete correlation for the columns with gaps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.abs(pd.DataFrame(X).corr(method="pearson", min_periods=2).to_numpy())


def redundancy(abs_corr: np.ndarray, columns) -> float:
    """Mean absolute Pearson correlation over the pairs of kept ``columns`` (NaN pairs
    left out; NaN when fewer than two features are kept).

    >>> corr = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    >>> round(redundancy(corr, [0, 1, 2]), 3)
    0.3
    """
    columns = np.asarray(list(columns), dtype=int)
    if columns.size < 2:
        return float("nan")
    block = abs_corr[np.ix_(columns, columns)]
    upper = block[np.triu_indices(columns.size, k=1)]
    upper = upper[~np.isnan(upper)]
    return float(upper.mean()) if upper.size else float("nan")
