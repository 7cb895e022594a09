"""The evaluator with GAIS instance selection inside every training fold (--sample gais)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from fsel.evaluation import RetentionEvaluator
from fsel.evaluation._plan import outer_splits
from fsel.exceptions import FselInputError


def test_training_folds_are_thinned_and_test_folds_kept_whole():
    X, y = load_breast_cancer(return_X_y=True)
    evaluator = RetentionEvaluator(folds=3, sample="gais", sample_params={"keep": 0.25})
    splits = outer_splits(y, "classification", 3, 1, 0)
    thinned = evaluator._thinned(splits, X, y, "classification")
    for before, after in zip(splits, thinned, strict=True):
        assert set(after.train) < set(before.train)
        assert len(after.train) == pytest.approx(0.25 * len(before.train), abs=2)
        assert np.array_equal(after.test, before.test)
        # Class proportions survive the thinning.
        assert y[after.train].mean() == pytest.approx(y[before.train].mean(), abs=0.03)


def test_sampled_evaluation_runs_and_differs_from_all_rows():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    settings = dict(selectors=["mi"], retention=[0.2], estimators=["linear"], folds=3)
    whole = RetentionEvaluator(**settings).run(X, y)
    thinned = RetentionEvaluator(**settings, sample="gais", sample_params={"keep": 0.1}).run(X, y)
    again = RetentionEvaluator(**settings, sample="gais", sample_params={"keep": 0.1}).run(X, y)
    assert list(thinned["score"]) == list(again["score"])  # same seed, same result
    assert list(thinned["score"]) != list(whole["score"])
    f1 = thinned.query("metric == 'f1_macro'")["score"]
    assert f1.min() > 0.8  # 10 % of the rows still learn this task


def test_sampling_a_regression_target_is_refused():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(FselInputError, match="classification target"):
        RetentionEvaluator(selectors=["mi"], estimators=["linear"], sample="gais").run(X, y)
