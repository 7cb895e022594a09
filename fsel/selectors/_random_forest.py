"""Random-forest selector: impurity or held-out permutation importance of a forest."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from fsel.selectors._base import BaseSelector

# Share of the rows held out to measure permutation importance.
_HELD_OUT = 0.25


class RandomForestSelector(BaseSelector):
    """Rank features by the importance a random forest gives them.

    ``importance="impurity"`` (the default) uses the mean decrease in impurity of
    a forest fitted on all rows: fast, but it favours continuous and
    high-cardinality features. ``importance="permutation"`` fits the forest on
    three quarters of the rows and measures, on the held-out quarter (stratified
    for classification when every class allows it), how much the forest's score
    (accuracy or R^2) drops when a feature's column is shuffled, averaged over
    ``n_repeats`` shuffles; it can be negative for a feature the forest is better
    off without.

    Parameters
    ----------
    retention : float or int, default=0.4
        Fraction of features kept in (0, 1] (rounded up, at least one) or, as an
        int >= 1, the number of features kept.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    n_estimators : int, default=200
        Trees in the forest.
    importance : {"impurity", "permutation"}, default="impurity"
        Which importance becomes the score (see above).
    n_repeats : int, default=5
        Shuffles per feature for ``importance="permutation"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the forest, the held-out split and the shuffles.
    n_jobs : int, default=None
        Parallel jobs of the forest and of the permutation loop.

    Attributes
    ----------
    scores_ : ndarray of shape (n_features_in_,)
        Importance of every feature.
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
    LassoSelector : Absolute L1-regularised coefficients.
    MutualInfoSelector : Mutual information with the target.
    sklearn.inspection.permutation_importance : The permutation measure used here.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.selectors._random_forest import RandomForestSelector
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> selector = RandomForestSelector(retention=3, n_estimators=50, random_state=0).fit(X, y)
    >>> selector.get_feature_names_out().tolist()
    ['worst radius', 'worst perimeter', 'worst concave points']
    """

    _parameter_constraints: dict = {
        **BaseSelector._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "importance": [StrOptions({"impurity", "permutation"})],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        retention=0.4,
        task="auto",
        *,
        n_estimators=200,
        importance="impurity",
        n_repeats=5,
        random_state=None,
        n_jobs=None,
    ):
        super().__init__(retention=retention, task=task)
        self.n_estimators = n_estimators
        self.importance = importance
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _score_features(self, X, y, task):
        rng = check_random_state(self.random_state)
        forest_class = (
            RandomForestClassifier if task == "classification" else RandomForestRegressor
        )
        forest = forest_class(n_estimators=self.n_estimators, random_state=rng, n_jobs=self.n_jobs)
        if self.importance == "impurity" or X.shape[0] < 4:
            # Too few rows to hold any out: fall back to impurity on all of them.
            return forest.fit(X, y).feature_importances_
        X_fit, X_held, y_fit, y_held = train_test_split(
            X, y, test_size=_HELD_OUT, random_state=rng, stratify=_stratify_by(y, task)
        )
        forest.fit(X_fit, y_fit)
        result = permutation_importance(
            forest, X_held, y_held, n_repeats=self.n_repeats, random_state=rng, n_jobs=self.n_jobs
        )
        return result.importances_mean


def _stratify_by(y, task):
    """``y`` when a stratified held-out split is possible, else ``None``."""
    if task != "classification":
        return None
    classes, counts = np.unique(y, return_counts=True)
    n_held = int(np.ceil(_HELD_OUT * y.shape[0]))
    if counts.min() < 2 or n_held < classes.size or y.shape[0] - n_held < classes.size:
        return None
    return y
