"""The shared selector base: a subclass computes ``scores_``, the base keeps the top k."""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from fsel.data import MAX_CLASSES_FOR_INTEGER_TARGET

TASKS = ("classification", "regression")


def resolve_retention(retention: float | int, n_features: int) -> int:
    """Number of features kept for ``retention`` out of ``n_features``.

    A float in (0, 1] is a fraction of the features, rounded up and at least 1;
    an int >= 1 is a count, capped at ``n_features``.

    >>> resolve_retention(0.2, 30), resolve_retention(0.01, 30), resolve_retention(50, 30)
    (6, 1, 30)
    """
    if isinstance(retention, Integral) and not isinstance(retention, bool):
        if retention < 1:
            raise ValueError(f"retention as a count must be >= 1, got {retention}.")
        return min(int(retention), n_features)
    if not 0.0 < float(retention) <= 1.0:
        raise ValueError(f"retention as a fraction must be in (0, 1], got {retention}.")
    # Subtract a hair before ceil so that 0.6 * 10 (= 6.000000000000001) keeps 6, not 7.
    return max(1, min(n_features, math.ceil(float(retention) * n_features - 1e-9)))


def rank_order(scores: np.ndarray) -> np.ndarray:
    """Feature indices from most to least important.

    Higher score first; ties (and NaN, which ranks last) are broken by the lower
    column index, so the order never depends on the sort algorithm.
    """
    scores = np.asarray(scores, dtype=float)
    keyed = np.where(np.isnan(scores), -np.inf, scores)
    return np.lexsort((np.arange(scores.size), -keyed))


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` best features by :func:`rank_order`."""
    mask = np.zeros(len(scores), dtype=bool)
    mask[rank_order(scores)[:k]] = True
    return mask


def infer_task(y) -> str:
    """``"classification"`` for class labels, ``"regression"`` for quantities.

    scikit-learn calls any whole-number target "multiclass"; a float target with more
    than :data:`fsel.data.MAX_CLASSES_FOR_INTEGER_TARGET` levels (a score, a count, the
    diabetes progression measure) is a quantity, as :func:`fsel.data.infer_task` says.
    """
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        return "regression"
    values = np.asarray(y)
    if values.dtype.kind == "f" and np.unique(values).size > MAX_CLASSES_FOR_INTEGER_TARGET:
        return "regression"
    return "classification"


class BaseSelector(SelectorMixin, BaseEstimator):
    """Base for every fsel feature selector.

    A subclass implements :meth:`_score_features` and nothing else: the base
    validates the input, fills missing values with column medians for scoring
    (the selectors tolerate NaN; ``transform`` passes it through untouched),
    stores ``scores_`` and ``ranking_`` and keeps the ``retention`` best.

    Parameters
    ----------
    retention : float or int, default=0.4
        Fraction of features kept in (0, 1] (rounded up, at least one) or, as an
        int >= 1, the number of features kept.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    """

    _parameter_constraints: dict = {
        "retention": [
            Interval(Real, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "task": [StrOptions({"auto", *TASKS})],
    }

    @abstractmethod
    def __init__(self, retention=0.4, task="auto"):
        self.retention = retention
        self.task = task

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Score every feature on ``(X, y)`` and keep the best ``retention`` of them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed.
        y : array-like of shape (n_samples,)
            Target: class labels or continuous values.

        Returns
        -------
        self : object
            The fitted selector.
        """
        X, y = validate_data(
            self, X, y, ensure_all_finite="allow-nan", y_numeric=False, dtype=np.float64
        )
        if X.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to score features, "
                f"got n_samples = {X.shape[0]}."
            )
        task = infer_task(y) if self.task == "auto" else self.task
        if task == "classification":
            check_classification_targets(y)
        else:
            y = np.asarray(y, dtype=np.float64)
        self.task_ = task
        X_scored = _fill_with_medians(X)
        scores = np.asarray(self._score_features(X_scored, y, task), dtype=np.float64)
        if scores.shape != (X.shape[1],):
            raise RuntimeError(
                f"{type(self).__name__} produced {scores.shape} scores for {X.shape[1]} features."
            )
        self.scores_ = scores
        order = rank_order(scores)
        self.ranking_ = np.empty(X.shape[1], dtype=np.int64)
        self.ranking_[order] = np.arange(1, X.shape[1] + 1)
        self.n_selected_ = resolve_retention(self.retention, X.shape[1])
        return self

    @abstractmethod
    def _score_features(self, X: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
        """Return one importance score per column of ``X`` (higher = more important)."""

    def _get_support_mask(self):
        check_is_fitted(self, "scores_")
        return self.ranking_ <= self.n_selected_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags


def _fill_with_medians(X: np.ndarray) -> np.ndarray:
    """Copy of ``X`` with NaN replaced by its column median (0 for an all-NaN column)."""
    missing = np.isnan(X)
    if not missing.any():
        return X
    with warnings.catch_warnings():
        # An all-NaN column warns "All-NaN slice"; it is filled with 0 below.
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(X, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)
    return np.where(missing, medians, X)
