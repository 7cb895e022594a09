"""``AutoSelector``: a transformer that evaluates the selectors in ``fit`` and keeps the best."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from fsel.evaluation._evaluator import (
    DEFAULT_ESTIMATORS,
    DEFAULT_RETENTION,
    RetentionEvaluator,
    _expanded_params,
)
from fsel.evaluation._results import RULES
from fsel.evaluation._runner import configured_selector
from fsel.selectors._base import TASKS, infer_task


class AutoSelector(SelectorMixin, BaseEstimator):
    """Choose the selector and retention level by nested cross-validation, then select.

    ``fit`` runs a :class:`RetentionEvaluator` on the data it is given, keeps the
    (selector, retention) that the parsimony ``rule`` prefers, and refits that
    selector on all of the data. ``transform`` keeps its features.

    Parameters
    ----------
    selectors : sequence of str, default=None
        Candidate selector names; ``None`` means all eight.
    retention : sequence of float or int, default=(0.2, 0.4, 0.6)
        Candidate retention levels: fractions in (0, 1] or counts >= 1.
    estimators : sequence of str, default=("linear", "lightgbm")
        Downstream-model cards whose mean primary score (macro-F1 or R^2) judges
        each candidate.
    folds : int, default=3
        Cross-validation folds of the evaluation.
    repeats : int, default=1
        Repeats of the cross-validation.
    rule : {"1se", "best"}, default="1se"
        ``"1se"``: the fewest features whose mean score is within one standard
        error of the best candidate's; ``"best"``: the best mean score.
    task : {"auto", "classification", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from ``y``.
    random_state : int, RandomState instance or None, default=None
        Seeds the evaluation and the final selector.
    n_jobs : int, default=1
        Evaluation tasks run side by side.
    selector_params : dict, default=None
        Extra parameters per selector name (``"kan"``: all four KAN selectors).

    Attributes
    ----------
    selector_ : estimator
        The chosen selector, fitted on all the data.
    choice_ : dict
        The chosen configuration with its cross-validated score.
    results_ : pandas.DataFrame
        The evaluation's results.
    scores_ : ndarray of shape (n_features_in_,)
        The chosen selector's feature scores.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (when ``X`` is a DataFrame).

    See Also
    --------
    RetentionEvaluator : the evaluation this transformer runs in ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.evaluation import AutoSelector
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> auto = AutoSelector(selectors=["lasso", "mi"], estimators=["linear"], random_state=0)
    >>> auto.fit(X, y).choice_["selector"] in {"lasso", "mi"}
    True
    >>> auto.transform(X).shape[1] == auto.choice_["n_selected"]
    True
    """

    _parameter_constraints: dict = {
        "selectors": [list, tuple, None],
        "retention": [list, tuple],
        "estimators": [list, tuple],
        "folds": [Interval(Integral, 2, None, closed="left")],
        "repeats": [Interval(Integral, 1, None, closed="left")],
        "rule": [StrOptions(set(RULES))],
        "task": [StrOptions({"auto", *TASKS})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "selector_params": [dict, None],
    }

    def __init__(
        self,
        selectors=None,
        retention=DEFAULT_RETENTION,
        estimators=DEFAULT_ESTIMATORS,
        folds=3,
        repeats=1,
        rule="1se",
        task="auto",
        random_state=None,
        n_jobs=1,
        selector_params=None,
    ):
        self.selectors = selectors
        self.retention = retention
        self.estimators = estimators
        self.folds = folds
        self.repeats = repeats
        self.rule = rule
        self.task = task
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.selector_params = selector_params

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Evaluate the candidates on ``(X, y)``, keep the chosen one and refit it on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed.
        y : array-like of shape (n_samples,)
            Target.

        Returns
        -------
        self : object
            The fitted selector.
        """
        X, y = validate_data(
            self, X, y, ensure_all_finite="allow-nan", y_numeric=False, dtype=np.float64
        )
        task = infer_task(y) if self.task == "auto" else self.task
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        names = getattr(self, "feature_names_in_", None)
        names = list(names) if names is not None else [f"x{i}" for i in range(X.shape[1])]
        evaluator = RetentionEvaluator(
            selectors=self.selectors,
            retention=self.retention,
            estimators=self.estimators,
            folds=self.folds,
            repeats=self.repeats,
            seed=seed,
            n_jobs=self.n_jobs,
            selector_params=self.selector_params,
        )
        self.results_ = evaluator.run(pd.DataFrame(X, columns=names), y, task=task)
        self.choice_ = evaluator.choose(rule=self.rule)
        params = _expanded_params(self.selector_params).get(self.choice_["selector"], {})
        selector = configured_selector(self.choice_["selector"], params, seed, task)
        # The count, not the level: the level was resolved on the same number of features.
        selector.set_params(retention=self.choice_["n_selected"])
        self.selector_ = selector.fit(X, y)
        self.scores_ = self.selector_.scores_
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "selector_")
        return self.selector_.get_support()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags
