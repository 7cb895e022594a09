"""Tests of ``AutoSelector``: scikit-learn's estimator checks, pipelines, the choice it keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from fsel.evaluation import AutoSelector


def _tiny(**settings):
    defaults = dict(
        selectors=("lasso",), retention=(0.5, 1.0), estimators=("linear",), folds=2, random_state=0
    )
    return AutoSelector(**{**defaults, **settings})


@parametrize_with_checks([_tiny()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data():
    X, y = make_classification(
        n_samples=80,
        n_features=10,
        n_informative=3,
        n_redundant=0,
        n_clusters_per_class=1,
        class_sep=2.0,
        shuffle=False,
        random_state=0,
    )
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]), y


def test_keeps_the_chosen_configuration_refitted_on_all_rows():
    X, y = _data()
    auto = _tiny(selectors=("lasso", "mi"), retention=(0.2, 0.5)).fit(X, y)
    choice = auto.choice_
    assert choice["selector"] in {"lasso", "mi"}
    assert auto.transform(X).shape == (80, choice["n_selected"])
    assert auto.get_support().sum() == choice["n_selected"]
    assert auto.selector_.n_features_in_ == 10 and auto.selector_.get_params()["task"] == (
        "classification"
    )
    assert set(auto.results_["selector"]) == {"lasso", "mi", "all"}
    assert list(auto.get_feature_names_out()) == list(X.columns[auto.get_support()])


def test_rule_best_never_keeps_fewer_than_one_standard_error():
    X, y = _data()
    best = _tiny(selectors=("lasso", "mi"), retention=(0.2, 0.5), rule="best").fit(X, y)
    parsimonious = _tiny(selectors=("lasso", "mi"), retention=(0.2, 0.5)).fit(X, y)
    assert best.choice_["mean"] >= parsimonious.choice_["mean"]
    assert parsimonious.choice_["n_selected"] <= best.choice_["n_selected"]


def test_works_in_a_pipeline_and_cross_validation():
    X, y = _data()
    pipeline = make_pipeline(_tiny(retention=(0.3,)), LogisticRegression())
    # shuffled: unshuffled make_classification puts each class's clusters in blocks
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    scores = cross_val_score(pipeline, X, y, cv=cv)
    assert np.all(scores > 0.8)
    pipeline.fit(X, y)
    assert pipeline[0].transform(X).shape[1] == 3
