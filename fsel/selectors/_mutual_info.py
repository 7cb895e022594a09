"""Mutual-information selector: nearest-neighbour estimate of I(feature; target)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from fsel.selectors._base import BaseSelector

# A column of integers with at most this many distinct values is treated as discrete.
MAX_DISCRETE_LEVELS = 10


class MutualInfoSelector(BaseSelector):
    """Rank features by their estimated mutual information with the target.

    Uses :func:`~sklearn.feature_selection.mutual_info_classif` or
    :func:`~sklearn.feature_selection.mutual_info_regression` (Kraskov-type
    nearest-neighbour estimates for continuous features, counting for discrete
    ones). A feature is marked discrete automatically when every value in its
    column is an integer and it holds at most ``MAX_DISCRETE_LEVELS`` (10)
    distinct values: binary flags, counts, ordinal or label-encoded codes. Missing
    values are median-filled before scoring, and a median can fall between two
    integers, which makes such a column continuous. The estimate is univariate:
    two copies of one informative feature both score high.

    Parameters
    ----------
    retention : float or int, default=0.4
        Fraction of features kept in (0, 1] (rounded up, at least one) or, as an
        int >= 1, the number of features kept.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    n_neighbors : int, default=3
        Neighbours of the continuous estimator; more lowers its variance and
        raises its bias.
    random_state : int, RandomState instance or None, default=None
        Seeds the small noise the estimator adds to continuous features to
        break ties between equal values.
    n_jobs : int, default=None
        Parallel jobs over the features.

    Attributes
    ----------
    scores_ : ndarray of shape (n_features_in_,)
        Estimated mutual information (nats) of every feature with the target.
    discrete_features_ : ndarray of shape (n_features_in_,)
        Which features were treated as discrete.
    ranking_ : ndarray of shape (n_features_in_,)
        Rank of every feature, 1 = most important.
    n_selected_ : int
        Number of features kept.
    task_ : str
        ``"classification"`` or ``"regression"``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    RandomForestSelector : Forest impurity or permutation importance.
    sklearn.feature_selection.SelectKBest : Univariate selection by any score.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.selectors._mutual_info import MutualInfoSelector
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> selector = MutualInfoSelector(retention=3, random_state=0).fit(X, y)
    >>> selector.get_feature_names_out().tolist()
    ['worst radius', 'worst perimeter', 'worst area']
    """

    _parameter_constraints: dict = {
        **BaseSelector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, retention=0.4, task="auto", *, n_neighbors=3, random_state=None, n_jobs=None
    ):
        super().__init__(retention=retention, task=task)
        self.n_neighbors = n_neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _score_features(self, X, y, task):
        self.discrete_features_ = _looks_discrete(X)
        # The nearest-neighbour estimate of a continuous variable against a discrete one
        # works within the levels that hold two rows or more; with none it is undefined
        # (scikit-learn then fails on an empty tree). Tiny training folds hit this:
        if task == "classification" and np.unique(y, return_counts=True)[1].max() < 2:
            return np.zeros(X.shape[1])  # every class a single row: nothing to estimate
        if task == "regression":
            # a "discrete" column whose values are all distinct has no repeated level.
            self.discrete_features_ &= np.array(
                [np.unique(column).size < column.size for column in X.T], dtype=bool
            )
        estimate = mutual_info_classif if task == "classification" else mutual_info_regression
        # The estimator cannot use more neighbours than there are other rows.
        n_neighbors = max(1, min(self.n_neighbors, X.shape[0] - 1))
        return estimate(
            X,
            y,
            discrete_features=self.discrete_features_,
            n_neighbors=n_neighbors,
            random_state=check_random_state(self.random_state),
            n_jobs=self.n_jobs,
        )


def _looks_discrete(X: np.ndarray) -> np.ndarray:
    """Per column: only integer values and at most ``MAX_DISCRETE_LEVELS`` of them."""
    integral = np.all(X == np.round(X), axis=0)
    levels = np.array([np.unique(column).size for column in X.T], dtype=int)
    return integral & (levels <= MAX_DISCRETE_LEVELS)
