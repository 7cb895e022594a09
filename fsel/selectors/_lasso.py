"""LASSO selector: absolute L1-regularised coefficients on standardised features."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV, LogisticRegression, LogisticRegressionCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from fsel.selectors._base import BaseSelector

# Below this share of the smallest non-zero |coef|, the tie-break signal of the zeroed
# features can never overtake a feature the L1 penalty kept.
_TIE_BREAK_SCALE = 1e-3

# The C searched for classification. Beyond 100, on standardised features, the L1 penalty
# hardly acts, and liblinear can crawl for minutes on separable classes.
_C_GRID = np.logspace(-4, 2, 10)
# Iterations per fit during the C search: enough to rank the penalties, bounded on bad cases.
_SEARCH_MAX_ITER = 200


class LassoSelector(BaseSelector):
    """Rank features by their absolute L1-regularised coefficient.

    ``X`` is standardised before the fit so that the coefficients are comparable
    across features (and, for regression, ``y`` too, so that ``alpha`` does not
    depend on the target's unit). Regression fits a LASSO with ``alpha`` chosen
    by ``cv``-fold cross-validation (:class:`~sklearn.linear_model.LassoCV`);
    classification fits L1-penalised logistic regression (``liblinear``), one
    versus the rest, with each problem's ``C`` chosen by cross-validated log-loss
    (:class:`~sklearn.linear_model.LogisticRegressionCV`): one problem for two
    classes, one per class for more. For several classes a feature's score is the
    L2 norm of its coefficients over the classes, so a feature that separates one
    class only still scores.

    The L1 penalty sets many coefficients exactly to zero. Rather than leave those
    features tied (and ordered by column index), they are ordered by how close
    each came to entering the model: the absolute correlation of the feature with
    the fitted model's residual (for logistic regression, ``y`` one-hot minus the
    predicted probabilities, L2 norm over classes). This is the gradient the L1
    penalty holds at zero, so the feature with the largest one would enter first
    as the penalty is relaxed. It is scaled below a thousandth of the smallest
    non-zero ``|coef|``: the features the LASSO kept always rank first, in the
    order of their coefficients, and the rest of the ranking stays informative
    at high retention.

    Convergence warnings raised while cross-validating the penalty are silenced:
    the weakest penalties on the grid routinely stop early without changing
    which penalty wins. The final fit at the chosen ``C`` or ``alpha`` warns as
    usual.

    Parameters
    ----------
    retention : float or int, default=0.4
        Fraction of features kept in (0, 1] (rounded up, at least one) or, as an
        int >= 1, the number of features kept.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    C : float, default=None
        Inverse L1 strength for classification. ``None`` chooses it by
        cross-validation over 10 values between 1e-4 and 100.
    alpha : float, default=None
        L1 strength for regression (on standardised ``X`` and ``y``). ``None``
        chooses it by cross-validation over 100 values.
    cv : int, default=5
        Folds of the penalty search; reduced to the size of the smallest class
        (or to ``n_samples``) on tiny data. With fewer than two usable folds the
        penalty falls back to ``C=1`` / ``alpha=0.1``.
    max_iter : int, default=1000
        Iterations of the LASSO / logistic solver (at most 200 per fit while
        searching ``C``).
    random_state : int, RandomState instance or None, default=None
        Seeds the ``liblinear`` solver.
    n_jobs : int, default=None
        Parallel jobs of the cross-validation.

    Attributes
    ----------
    scores_ : ndarray of shape (n_features_in_,)
        Absolute (standardised) coefficient of every feature; features the
        penalty zeroed hold the small tie-break value described above.
    coef_ : ndarray of shape (n_features_in_,) or (n_classes, n_features_in_)
        Coefficients of the final fit on standardised data (one row per class,
        versus the rest, for more than two classes).
    penalty_ : float or ndarray of shape (n_problems,)
        The ``alpha`` used (regression), or the ``C`` of every one-vs-rest
        problem (classification: one value for two classes, one per class for
        more).
    n_iter_ : int
        Solver iterations of the final fit.
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
    SVMRFESelector : Recursive elimination with a linear SVM.
    sklearn.feature_selection.SelectFromModel : Threshold any model's coefficients.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.selectors._lasso import LassoSelector
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> selector = LassoSelector(retention=3, random_state=0).fit(X, y)
    >>> selector.get_feature_names_out().tolist()
    ['radius error', 'worst radius', 'worst area']
    """

    _parameter_constraints: dict = {
        **BaseSelector._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, None, closed="neither"), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        retention=0.4,
        task="auto",
        *,
        C=None,
        alpha=None,
        cv=5,
        max_iter=1000,
        random_state=None,
        n_jobs=None,
    ):
        super().__init__(retention=retention, task=task)
        self.C = C
        self.alpha = alpha
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _score_features(self, X, y, task):
        X = StandardScaler().fit_transform(X)
        if task == "regression":
            coef, residual = self._fit_regression(X, y)
        else:
            coef, residual = self._fit_classification(X, y)
        self.coef_ = coef
        magnitude = np.linalg.norm(np.atleast_2d(coef), axis=0)
        # The L1 optimality gap: |X_j' r| / n, the pull on a feature the penalty holds at 0.
        pull = np.linalg.norm(X.T @ residual.reshape(X.shape[0], -1), axis=1) / X.shape[0]
        kept = magnitude > 0
        floor = magnitude[kept].min() if kept.any() else 1.0
        tie_break = pull / pull.max() if pull.max() > 0 else pull
        return np.where(kept, magnitude, _TIE_BREAK_SCALE * floor * tie_break)

    def _fit_regression(self, X, y):
        y_scale = y.std()
        y = (y - y.mean()) / (y_scale if y_scale > 0 else 1.0)
        n_folds = min(self.cv, X.shape[0])
        if self.alpha is None and n_folds >= 2:
            model = LassoCV(cv=n_folds, max_iter=self.max_iter, n_jobs=self.n_jobs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                # The search refits on all rows at the chosen alpha: that fit is the model scored.
                model.fit(X, y)
            self.penalty_ = float(model.alpha_)
        else:
            self.penalty_ = 0.1 if self.alpha is None else float(self.alpha)
            model = Lasso(alpha=self.penalty_, max_iter=self.max_iter).fit(X, y)
        self.n_iter_ = int(model.n_iter_)
        return model.coef_, y - model.predict(X)

    def _fit_classification(self, X, y):
        classes, counts = np.unique(y, return_counts=True)
        # One-vs-rest: one binary L1 problem per class (a single one for two classes).
        targets = classes[1:] if classes.size == 2 else classes
        n_folds = min(self.cv, counts.min())
        rng = check_random_state(self.random_state)
        models = [self._fit_binary(X, y == label, n_folds, rng) for label in targets]
        self.penalty_ = np.array([model.C for model in models])
        self.n_iter_ = int(max(np.max(model.n_iter_) for model in models))
        coef = np.vstack([model.coef_[0] for model in models])
        is_label = np.column_stack([y == label for label in targets]).astype(float)
        proba = np.column_stack([model.predict_proba(X)[:, 1] for model in models])
        return (coef[0] if classes.size == 2 else coef), is_label - proba

    def _fit_binary(self, X, is_label, n_folds, rng):
        """L1 logistic regression of ``is_label`` on ``X``, its ``C`` chosen by CV unless given."""
        C = 1.0 if self.C is None else self.C
        if self.C is None and n_folds >= 2:
            search = LogisticRegressionCV(
                Cs=_C_GRID,
                l1_ratios=(1.0,),
                cv=n_folds,
                solver="liblinear",
                scoring="neg_log_loss",
                max_iter=min(self.max_iter, _SEARCH_MAX_ITER),
                random_state=rng,
                n_jobs=self.n_jobs,
                use_legacy_attributes=False,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                C = float(search.fit(X, is_label).C_)
        model = LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", max_iter=self.max_iter, random_state=rng
        )
        return model.fit(X, is_label)
