"""Tests for the four classical selectors and the shared top-k logic of their base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fsel.selectors import make_selector
from fsel.selectors._base import (
    BaseSelector,
    infer_task,
    rank_order,
    resolve_retention,
    top_k_mask,
)
from fsel.selectors._lasso import LassoSelector
from fsel.selectors._mutual_info import MutualInfoSelector
from fsel.selectors._random_forest import RandomForestSelector
from fsel.selectors._svm_rfe import SVMRFESelector


def small_selectors(**shared):
    """One fast instance of each classical selector (and both forest importances)."""
    return [
        LassoSelector(cv=3, random_state=0, **shared),
        RandomForestSelector(n_estimators=20, random_state=0, **shared),
        RandomForestSelector(
            n_estimators=20, importance="permutation", n_repeats=3, random_state=0, **shared
        ),
        MutualInfoSelector(random_state=0, **shared),
        SVMRFESelector(random_state=0, **shared),
    ]


def selector_id(selector):
    name = type(selector).__name__
    return f"{name}-{selector.importance}" if hasattr(selector, "importance") else name


SELECTOR_IDS = [selector_id(s) for s in small_selectors()]


def each_selector(**shared):
    return pytest.mark.parametrize("selector", small_selectors(**shared), ids=SELECTOR_IDS)


@pytest.fixture(scope="module")
def breast_cancer():
    return load_breast_cancer(return_X_y=True, as_frame=True)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


def one_signal_among_noise(task, n_classes=2, n_samples=240, n_noise=6, seed=0):
    """``X`` with one informative column (index 3) and pure-noise columns around it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_noise + 1))
    signal = X[:, 3]
    if task == "regression":
        y = 2.0 * signal + 0.3 * rng.normal(size=n_samples)
    else:
        edges = np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1])
        y = np.digitize(signal + 0.2 * rng.normal(size=n_samples), edges)
    return X, y


# --- scikit-learn's estimator checks -------------------------------------------------------


@parametrize_with_checks(small_selectors())
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- the base: retention, ranking, top-k ------------------------------------------------------


@pytest.mark.parametrize(
    ("retention", "n_features", "kept"),
    [
        (0.6, 10, 6),  # 0.6 * 10 is 6.000000000000001 in floating point
        (0.2, 30, 6),
        (0.21, 30, 7),  # rounded up
        (0.01, 30, 1),  # at least one
        (1.0, 7, 7),
        (1, 7, 1),  # an int is a count, not "100 %"
        (4, 7, 4),
        (50, 7, 7),  # capped at n_features
    ],
)
def test_resolve_retention(retention, n_features, kept):
    assert resolve_retention(retention, n_features) == kept


@pytest.mark.parametrize("retention", [0, 0.0, -0.5, 1.5])
def test_resolve_retention_rejects_out_of_range(retention):
    with pytest.raises(ValueError, match="retention"):
        resolve_retention(retention, 10)


def test_rank_order_breaks_ties_by_index_and_puts_nan_last():
    scores = np.array([0.5, np.nan, 0.9, 0.5, -np.inf, 0.9])
    assert rank_order(scores).tolist() == [2, 5, 0, 3, 1, 4]


def test_top_k_mask():
    scores = np.array([0.1, 0.3, 0.3, np.nan, 0.2])
    assert top_k_mask(scores, 2).tolist() == [False, True, True, False, False]
    assert top_k_mask(scores, 5).all()


def test_infer_task_reads_integer_valued_floats_with_many_levels_as_regression(diabetes):
    assert infer_task(diabetes[1]) == "regression"


# --- the selectors on real data ---------------------------------------------------------------


@each_selector(retention=0.2)
def test_pandas_output_keeps_column_names(selector, breast_cancer):
    X, y = breast_cancer
    selector.set_output(transform="pandas").fit(X, y)
    out = selector.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.shape == (X.shape[0], 6)
    assert out.columns.tolist() == selector.get_feature_names_out().tolist()
    assert set(out.columns) <= set(X.columns)
    assert selector.feature_names_in_.tolist() == X.columns.tolist()
    # Kept columns come out in the input's order, with the input's values.
    assert out.columns.tolist() == [c for c in X.columns if c in set(out.columns)]
    pd.testing.assert_frame_equal(out, X[out.columns])


@each_selector(retention=0.2)
def test_classification_pipeline_on_breast_cancer(selector, breast_cancer):
    X, y = breast_cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    model = Pipeline(
        [("select", selector), ("scale", StandardScaler()), ("model", LogisticRegression())]
    )
    model.fit(X_train, y_train)
    assert model.named_steps["select"].n_selected_ == 6
    assert model.score(X_test, y_test) > 0.9


@each_selector(retention=0.4, task="regression")
def test_regression_pipeline_on_diabetes(selector, diabetes):
    X, y = diabetes
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = Pipeline([("select", selector), ("model", Ridge(alpha=0.1))]).fit(X_train, y_train)
    assert model.named_steps["select"].task_ == "regression"
    # All ten features give R^2 ~ 0.36 on this split; the four best give nearly as much.
    assert model.score(X_test, y_test) > 0.25


@each_selector()
def test_retention_is_tuned_by_grid_search(selector, breast_cancer):
    X, y = breast_cancer
    pipe = Pipeline(
        [("select", selector), ("scale", StandardScaler()), ("model", LogisticRegression())]
    )
    search = GridSearchCV(pipe, {"select__retention": [0.2, 0.6]}, cv=3).fit(X, y)
    assert search.best_params_["select__retention"] in (0.2, 0.6)
    kept = search.best_estimator_.named_steps["select"].n_selected_
    assert kept == {0.2: 6, 0.6: 18}[search.best_params_["select__retention"]]


# --- retention, determinism, signal vs noise, NaN ---------------------------------------------


@each_selector()
@pytest.mark.parametrize(("retention", "kept"), [(0.3, 3), (0.25, 2), (4, 4), (100, 7)])
def test_retention_fraction_rounds_up_and_count_is_capped(selector, retention, kept):
    X, y = one_signal_among_noise("classification")
    selector.set_params(retention=retention).fit(X, y)
    assert selector.n_selected_ == kept
    assert selector.get_support().sum() == kept
    assert selector.transform(X).shape == (X.shape[0], kept)
    # The kept features are exactly the best-ranked ones.
    assert set(np.flatnonzero(selector.get_support())) == set(
        np.flatnonzero(selector.ranking_ <= kept)
    )


@each_selector()
def test_ranking_is_reproducible_with_a_fixed_random_state(selector):
    X, y = one_signal_among_noise("regression", n_noise=9)
    first = selector.fit(X, y)
    scores, ranking = first.scores_.copy(), first.ranking_.copy()
    again = selector.fit(X, y)
    np.testing.assert_array_equal(again.ranking_, ranking)
    np.testing.assert_array_equal(again.scores_, scores)
    assert sorted(ranking.tolist()) == list(range(1, X.shape[1] + 1))


@each_selector(retention=1)
@pytest.mark.parametrize(
    ("task", "n_classes"), [("classification", 2), ("classification", 3), ("regression", None)]
)
def test_informative_feature_outranks_noise(selector, task, n_classes):
    X, y = one_signal_among_noise(task, n_classes=n_classes or 2)
    selector.fit(X, y)
    assert selector.task_ == task
    assert selector.ranking_[3] == 1
    assert selector.get_support().tolist() == [i == 3 for i in range(X.shape[1])]


@each_selector(retention=3)
def test_nan_is_accepted_by_fit_and_passed_through_by_transform(selector):
    X, y = one_signal_among_noise("classification")
    X[::7, 3] = np.nan
    X[::5, 0] = np.nan
    selector.fit(X, y)
    assert selector.ranking_[3] == 1
    assert np.isfinite(selector.scores_).all()
    out = selector.transform(X)
    kept = np.flatnonzero(selector.get_support())
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X[:, kept]))


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("lasso", LassoSelector),
        ("rf", RandomForestSelector),
        ("mi", MutualInfoSelector),
        ("svm-rfe", SVMRFESelector),
    ],
)
def test_registry_builds_each_classical_selector(name, cls):
    selector = make_selector(name, retention=0.2)
    assert type(selector) is cls and isinstance(selector, BaseSelector)
    assert selector.get_params()["retention"] == 0.2


# --- what is particular to each selector ------------------------------------------------------


def test_lasso_orders_zeroed_features_by_their_pull_not_by_column_index():
    rng = np.random.default_rng(1)
    n = 300
    X = rng.normal(size=(n, 8))
    # Column 6 matters weakly, columns 0-5 and 7 are noise; a strong penalty zeroes column 6.
    y = 3.0 * X[:, 7 - 5] + 0.4 * X[:, 6] + 0.3 * rng.normal(size=n)
    selector = LassoSelector(alpha=0.2, retention=2, task="regression").fit(X, y)
    kept = selector.coef_ != 0
    assert kept.tolist() == [i == 2 for i in range(8)]
    # Zeroed features stay below every kept one, yet are not tied among themselves.
    assert selector.scores_[~kept].max() < selector.scores_[kept].min()
    assert np.unique(selector.scores_[~kept]).size == 7
    assert selector.ranking_[6] == 2


def test_lasso_multiclass_scores_are_coefficient_norms_over_classes():
    X, y = one_signal_among_noise("classification", n_classes=3)
    selector = LassoSelector(C=1.0, random_state=0).fit(X, y)
    assert selector.coef_.shape == (3, X.shape[1])
    kept = np.abs(selector.coef_).sum(axis=0) > 0
    np.testing.assert_allclose(
        selector.scores_[kept], np.linalg.norm(selector.coef_, axis=0)[kept]
    )


def test_svm_rfe_turns_the_elimination_order_into_distinct_scores():
    X, y = one_signal_among_noise("classification", n_noise=11)
    selector = SVMRFESelector(step=3, random_state=0).fit(X, y)
    order = selector.elimination_order_
    assert sorted(order.tolist()) == list(range(12))
    assert order[-1] == 3
    np.testing.assert_array_equal(np.argsort(selector.scores_), order)
    np.testing.assert_allclose(np.sort(selector.scores_), np.arange(1, 13) / 12)


def test_mutual_info_marks_few_level_integer_columns_discrete():
    rng = np.random.default_rng(0)
    n = 200
    codes = rng.integers(0, 4, size=n).astype(float)
    many_levels = rng.integers(0, 50, size=n).astype(float)
    continuous = rng.normal(size=n)
    X = np.column_stack([continuous, codes, many_levels])
    y = (codes >= 2).astype(int)
    selector = MutualInfoSelector(retention=1, random_state=0).fit(X, y)
    assert selector.discrete_features_.tolist() == [False, True, False]
    assert selector.get_support().tolist() == [False, True, False]


def test_random_forest_importances_differ_by_kind():
    X, y = one_signal_among_noise("classification")
    impurity = RandomForestSelector(n_estimators=20, random_state=0).fit(X, y)
    permutation = RandomForestSelector(
        n_estimators=20, importance="permutation", n_repeats=3, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(impurity.scores_.sum(), 1.0)
    assert not np.allclose(impurity.scores_, permutation.scores_)
    assert permutation.ranking_[3] == impurity.ranking_[3] == 1
