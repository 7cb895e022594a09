"""SVM-RFE selector: recursive feature elimination with a linear SVM, as one full ranking."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from fsel.selectors._base import BaseSelector


class SVMRFESelector(BaseSelector):
    """Rank features by recursive elimination with a linear support vector machine.

    On standardised ``X`` (and, for regression, standardised ``y``) a linear SVM
    (:class:`~sklearn.svm.LinearSVC` or :class:`~sklearn.svm.LinearSVR`) is
    fitted, the ``step`` features with the smallest absolute weight (L2 norm over
    the one-vs-rest classes) are eliminated, and the SVM is refitted on the rest,
    down to a single feature. The elimination order is the ranking: a feature
    eliminated later scores higher, and features eliminated in the same round
    are ordered by their weight in that round, so the final survivors are ranked
    by ``|weight|`` too. One fit therefore yields a complete ranking without ties,
    valid for every retention level. ``scores_`` holds the position in that order
    divided by the number of features: 1.0 for the last survivor.

    Convergence warnings of the SVM are silenced: with ``max_iter`` bounded the
    coordinate-descent solver often stops short on nearly separable data, which
    leaves the weights' order, and so the ranking, essentially unchanged.

    Parameters
    ----------
    retention : float or int, default=0.4
        Fraction of features kept in (0, 1] (rounded up, at least one) or, as an
        int >= 1, the number of features kept.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    C : float, default=1.0
        Inverse regularisation strength of the SVM.
    step : float or int, default=0.1
        Features eliminated per round: a float in (0, 1) is a fraction of the
        original number of features (at least one), an int >= 1 a count.
    max_iter : int, default=1000
        Iterations of each SVM fit.
    random_state : int, RandomState instance or None, default=None
        Seeds the SVM's coordinate descent.

    Attributes
    ----------
    scores_ : ndarray of shape (n_features_in_,)
        Position in the elimination order over ``n_features_in_`` (higher =
        eliminated later = more important).
    elimination_order_ : ndarray of shape (n_features_in_,)
        Feature indices in the order they were eliminated; the last is the final
        survivor.
    n_iter_ : int
        Most solver iterations any of the SVM fits took.
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
    sklearn.feature_selection.RFE : Recursive elimination with any estimator.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.selectors._svm_rfe import SVMRFESelector
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> selector = SVMRFESelector(retention=3, random_state=0).fit(X, y)
    >>> selector.get_feature_names_out().tolist()
    ['mean radius', 'worst radius', 'worst area']
    """

    _parameter_constraints: dict = {
        **BaseSelector._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="neither")],
        "step": [
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, retention=0.4, task="auto", *, C=1.0, step=0.1, max_iter=1000, random_state=None
    ):
        super().__init__(retention=retention, task=task)
        self.C = C
        self.step = step
        self.max_iter = max_iter
        self.random_state = random_state

    def _score_features(self, X, y, task):
        n_features = X.shape[1]
        X = StandardScaler().fit_transform(X)
        if task == "regression":
            y_scale = y.std()
            y = (y - y.mean()) / (y_scale if y_scale > 0 else 1.0)
        if isinstance(self.step, Integral):
            per_round = int(self.step)
        else:
            per_round = max(1, int(self.step * n_features))
        rng = check_random_state(self.random_state)
        survivors = np.arange(n_features)
        eliminated: list[np.ndarray] = []
        self.n_iter_ = 0
        while survivors.size > 1:
            weight = self._weights(X[:, survivors], y, task, rng)
            # Stable sort: equal weights leave in column order, so the ranking is reproducible.
            by_weight = np.argsort(weight, kind="stable")
            n_out = min(per_round, survivors.size - 1)
            eliminated.append(survivors[by_weight[:n_out]])
            survivors = np.sort(survivors[by_weight[n_out:]])
        eliminated.append(survivors)
        self.elimination_order_ = np.concatenate(eliminated)
        scores = np.empty(n_features)
        scores[self.elimination_order_] = np.arange(1, n_features + 1) / n_features
        return scores

    def _weights(self, X, y, task, rng):
        """``|w|`` per column of a linear SVM fitted on ``(X, y)``."""
        if task == "classification":
            svm = LinearSVC(C=self.C, max_iter=self.max_iter, random_state=rng)
        else:
            svm = LinearSVR(C=self.C, max_iter=self.max_iter, random_state=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(X, y)
        self.n_iter_ = max(self.n_iter_, int(svm.n_iter_))
        return np.linalg.norm(np.atleast_2d(svm.coef_), axis=0)
