"""Tests of the retention-level evaluator, its outputs and ``fsel evaluate``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from fsel.cli import main
from fsel.evaluation import RetentionEvaluator, _runner, choose, overview, summarize
from fsel.evaluation._metrics import (
    correlation_matrix,
    jaccard_stability,
    kuncheva_index,
    redundancy,
)
from fsel.evaluation._plan import derive_seed, outer_splits
from fsel.exceptions import FselInputError
from fsel.selectors import BaseSelector

TIMING = ["select_seconds", "fit_seconds"]
CLASSICAL = ("lasso", "mi")


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        n_samples=90, n_features=8, n_informative=3, n_redundant=2, random_state=0
    )
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]), pd.Series(y)


def _evaluator(**settings):
    defaults = dict(
        selectors=CLASSICAL, retention=(0.25, 0.5), estimators=("linear",), folds=3, seed=1
    )
    return RetentionEvaluator(**{**defaults, **settings})


def _comparable(results: pd.DataFrame) -> pd.DataFrame:
    return results.drop(columns=TIMING).reset_index(drop=True)


# --------------------------------------------------------------------------- results


def test_results_schema_and_counts(classification):
    X, y = classification
    results = _evaluator(retention=(0.25, 0.5, 3)).run(X, y)
    for column in [
        "dataset",
        "task",
        "selector",
        "retention",
        "n_selected",
        "fold",
        "repeat",
        "estimator",
        "metric",
        "score",
        "selected",
        "select_seconds",
        "fit_seconds",
    ]:
        assert column in results.columns
    assert set(results["selector"]) == {*CLASSICAL, "all"}
    assert set(results["metric"]) == {"f1_macro", "balanced_accuracy", "roc_auc"}
    # every selector and the baseline at every level, in every fold, for every metric
    counts = results.groupby(["selector", "retention"]).size()
    assert len(counts) == 3 * 3 and (counts == 3 * 3).all()
    chosen = results[results["selector"] != "all"]
    levels = dict(zip(chosen["retention"], chosen["n_selected"], strict=True))
    assert levels == {0.25: 2, 0.5: 4, 3.0: 3}
    assert (chosen["selected"].map(len) == chosen["n_selected"]).all()
    assert (results.loc[results["selector"] == "all", "n_selected"] == 8).all()
    assert results["score"].between(0, 1).all()


def test_regression_metrics():
    X, y = make_regression(n_samples=60, n_features=6, n_informative=2, random_state=0)
    results = _evaluator(retention=(0.5,), folds=2).run(X, y)
    assert set(results["metric"]) == {"r2", "mae"}
    assert results["task"].iloc[0] == "regression"
    best = choose(results)
    assert best["metric"] == "r2" and best["selector"] in CLASSICAL


class RecordingSelector(BaseSelector):
    """Scores feature j by |corr(x_j, y)| and records the row ids (column 0) it saw."""

    seen: list[np.ndarray] = []

    def __init__(self, retention=0.4, task="auto", random_state=None):
        super().__init__(retention=retention, task=task)
        self.random_state = random_state

    def _score_features(self, X, y, task):
        RecordingSelector.seen.append(X[:, 0].copy())
        return np.abs([np.corrcoef(column, y)[0, 1] for column in X.T])


def test_selection_sees_only_training_rows_and_ranks_once_per_fold(monkeypatch):
    X, y = make_classification(n_samples=60, n_features=5, random_state=2)
    X[:, 0] = np.arange(len(X))  # row ids, so the recorder knows which rows it got
    RecordingSelector.seen = []
    monkeypatch.setattr(_runner, "make_selector", lambda name: RecordingSelector())
    evaluator = _evaluator(selectors=("lasso",), retention=(0.2, 0.6, 1.0), folds=3, repeats=2)
    evaluator.run(X, y)
    splits = outer_splits(y, "classification", folds=3, repeats=2, seed=evaluator.seed)
    # one ranking per (repeat, fold), whatever the number of retention levels
    assert len(RecordingSelector.seen) == len(splits) == 6
    seen = sorted(tuple(sorted(rows.astype(int))) for rows in RecordingSelector.seen)
    expected = sorted(tuple(sorted(split.train)) for split in splits)
    assert seen == expected
    for split in splits:
        assert not set(split.train) & set(split.test)


def test_each_feature_set_is_fitted_once_per_fold_and_model(classification, monkeypatch):
    import fsel.estimators

    calls = []
    real = fsel.estimators.make_estimator

    def counting(card, task, **settings):
        calls.append(card)
        return real(card, task, **settings)

    monkeypatch.setattr(fsel.estimators, "make_estimator", counting)
    X, y = classification
    # 1.0 keeps every feature: the same set as the baseline, so it is not fitted again
    results = _evaluator(retention=(0.5, 1.0), estimators=("linear",)).run(X, y)
    distinct = (
        results.drop_duplicates(["fold", "estimator"]).shape[0]
        + results[results["n_selected"] < 8]
        .assign(key=lambda r: r["selected"].map(tuple))
        .drop_duplicates(["fold", "estimator", "key"])
        .shape[0]
    )
    assert len(calls) == distinct
    assert len(calls) < 3 * (1 + 2 * 2)  # fewer than one fit per (selector, level)


def test_results_do_not_depend_on_n_jobs(classification):
    X, y = classification
    sequential = _evaluator().run(X, y)
    parallel = _evaluator(n_jobs=2).run(X, y)
    pd.testing.assert_frame_equal(_comparable(sequential), _comparable(parallel))


def test_dask_local_cluster_matches_loky(classification):
    pytest.importorskip("distributed")
    X, y = classification
    loky = _evaluator(n_jobs=2).run(X, y)
    dask = _evaluator(n_jobs=2, backend="dask").run(X, y)
    pd.testing.assert_frame_equal(_comparable(loky), _comparable(dask))


def test_seeds_depend_on_the_task_not_the_order():
    assert derive_seed(0, 1, 2, "rf") == derive_seed(0, 1, 2, "rf")
    assert len({derive_seed(0, 0, fold, "rf") for fold in range(5)}) == 5
    assert derive_seed(0, 0, 0, "rf") != derive_seed(1, 0, 0, "rf")


# --------------------------------------------------------------------------- metrics


def test_stability_and_redundancy_by_hand():
    sets = [frozenset({0, 1}), frozenset({0, 2}), frozenset({0, 1})]
    # pairs: {0,1}/{0,2}: 1/3; {0,1}/{0,1}: 1; {0,2}/{0,1}: 1/3
    assert jaccard_stability(sets) == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    # Kuncheva, n=5, k=2: r=1 -> (5 - 4) / (2 * 3) = 1/6; r=2 -> (10 - 4) / 6 = 1
    assert kuncheva_index(sets, 5) == pytest.approx((1 / 6 + 1 + 1 / 6) / 3)
    assert np.isnan(kuncheva_index([frozenset({0, 1})] * 2, 2))  # k = n: undefined
    X = np.array([[1.0, 2.0, 5.0], [2.0, 4.0, np.nan], [3.0, 6.5, 1.0], [4.0, 8.0, 2.0]])
    corr = correlation_matrix(X)
    r01 = abs(np.corrcoef(X[:, 0], X[:, 1])[0, 1])
    rows = [0, 2, 3]  # the pair with column 2 uses the rows where both are present
    r02 = abs(np.corrcoef(X[rows, 0], X[rows, 2])[0, 1])
    r12 = abs(np.corrcoef(X[rows, 1], X[rows, 2])[0, 1])
    assert corr[0, 1] == pytest.approx(r01)
    assert redundancy(corr, [0, 1, 2]) == pytest.approx((r01 + r02 + r12) / 3)
    assert redundancy(corr, [0, 2]) == pytest.approx(r02)
    assert np.isnan(redundancy(corr, [1]))


def test_summary_and_one_standard_error_rule(classification):
    X, y = classification
    results = _evaluator().run(X, y)
    summary = summarize(results)
    assert {"mean", "std", "jaccard", "kuncheva", "redundancy"} <= set(summary.columns)
    assert len(summary) == 3 * 2 * 1 * 3  # selectors x levels x models x metrics
    table = overview(results)
    candidates = table[table["selector"] != "all"]
    best = candidates.loc[candidates["mean"].idxmax()]
    one_se = choose(table, "1se")
    assert choose(table, "best")["mean"] == best["mean"]
    assert one_se["mean"] >= best["mean"] - best["sem"]
    assert one_se["n_selected"] <= best["n_selected"]


def test_choice_prefers_fewer_features_within_one_standard_error():
    table = pd.DataFrame(
        {
            "metric": "f1_macro",
            "selector": ["a", "a", "b", "b", "all", "all"],
            "retention": [0.2, 0.6, 0.2, 0.6, 0.2, 0.6],
            "n_selected": [2, 6, 2, 6, 10, 10],
            "mean": [0.80, 0.90, 0.86, 0.88, 0.95, 0.95],
            "std": [0.02, 0.05, 0.02, 0.02, 0.0, 0.0],
            "sem": [0.01, 0.05, 0.01, 0.01, 0.0, 0.0],
        }
    )
    assert choose(table, "best")["selector"] == "a"
    chosen = choose(table, "1se")  # 0.86 >= 0.90 - 0.05; the baseline never counts
    assert (chosen["selector"], chosen["n_selected"]) == ("b", 2)


# --------------------------------------------------------------------------- input errors


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"selectors": ("lasso", "nope")}, "unknown selector 'nope'"),
        ({"estimators": ("nope",)}, "unknown estimator 'nope'"),
        ({"retention": (0.5, 1.5)}, "retention level 1.5"),
        ({"retention": (0,)}, "retention level 0"),
        ({"folds": 50}, "rows per class"),
        ({"backend": "spark"}, "unknown backend"),
    ],
)
def test_bad_settings_are_input_errors(classification, settings, message):
    X, y = classification
    with pytest.raises(FselInputError, match=message):
        _evaluator(**settings).run(X, y)


def test_too_few_rows_per_class_says_what_works():
    X = np.random.default_rng(0).normal(size=(12, 3))
    y = np.array([0] * 9 + [1] * 3)
    with pytest.raises(FselInputError, match=r"'0' 9, '1' 3; use --folds 3 or fewer"):
        _evaluator(folds=5).run(X, y)


# --------------------------------------------------------------------------- outputs and CLI


def test_interrupted_run_leaves_no_output(tmp_path, monkeypatch, capsys):
    def interrupt(done, total):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    monkeypatch.setattr(
        "fsel.evaluation.RetentionEvaluator.run",
        _with_progress(RetentionEvaluator.run, interrupt),
    )
    with pytest.raises(SystemExit) as stopped:
        main(
            [
                "evaluate",
                "breast_cancer",
                "-s",
                "mi",
                "-e",
                "linear",
                "--folds",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
    assert stopped.value.code == 130
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _with_progress(run, progress):
    def patched(self, data, y=None, *, task=None, progress_=None, **kwargs):
        return run(self, data, y, task=task, progress=progress)

    return patched


def test_a_failing_model_stops_the_run(tmp_path, monkeypatch):
    import fsel.estimators

    def broken(card, task, **settings):
        raise RuntimeError("model failed")

    monkeypatch.setattr(fsel.estimators, "make_estimator", broken)
    evaluator = _evaluator()
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    with pytest.raises(RuntimeError, match="model failed"):
        evaluator.run(X, y)
    assert not hasattr(evaluator, "results_")


def test_cli_writes_the_three_files_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "ckd"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "evaluate",
                "ckd",
                "--target",
                "class",
                "--selectors",
                "lasso,mi",
                "--estimators",
                "linear",
                "--retention",
                "0.2,40%",
                "--folds",
                "3",
                "--out",
                str(out),
            ]
        )
    assert done.value.code == 0
    printed = capsys.readouterr()
    assert "evaluating ckd" in printed.err
    assert {path.name for path in out.iterdir()} == {
        "results.parquet",
        "summary.csv",
        "retention.png",
    }
    results = pd.read_parquet(out / "results.parquet")
    assert set(results["selector"]) == {"lasso", "mi", "all"}
    assert set(results["retention"]) == {0.2, 0.4}
    assert "all features" in printed.out and "chosen (1-SE rule)" in printed.out
    summary = pd.read_csv(out / "summary.csv")
    assert {"selector", "retention", "estimator", "metric", "mean", "std"} <= set(summary)
    assert (out / "retention.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_json_output_parses(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(
            [
                "evaluate",
                "diabetes",
                "-s",
                "lasso",
                "-e",
                "linear",
                "-r",
                "0.3",
                "--folds",
                "2",
                "--format",
                "json",
                "--quiet",
                "--out",
                str(tmp_path / "d"),
            ]
        )
    assert done.value.code == 0
    printed = capsys.readouterr()
    assert "evaluating" not in printed.err  # --quiet: no progress bar
    payload = json.loads(printed.out)
    assert payload["metric"] == "r2" and payload["chosen"]["selector"] == "lasso"
    assert {row["selector"] for row in payload["overview"]} == {"lasso", "all"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-s", "lasso,nope"], "unknown selector 'nope'"),
        (["-e", "nope"], "unknown estimator 'nope'"),
        (["-r", "0.2,abc"], "is not a fraction"),
        (["--folds", "400"], "use --folds"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "breast_cancer", "--quiet", "--out", str(tmp_path / "x"), *arguments])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("fsel: error:")
    assert not (tmp_path / "x").exists()


def test_kan_selectors_share_one_network_per_fold(classification, monkeypatch):
    pytest.importorskip("torch")
    from fsel.selectors._kan import KANSelector

    fits = []
    real_fit = KANSelector.fit

    def counting_fit(self, X, y):
        fits.append(self.score)
        return real_fit(self, X, y)

    monkeypatch.setattr(KANSelector, "fit", counting_fit)
    X, y = classification
    tiny = {"hidden_width": 2, "grid": 3, "max_iter": 10, "n_repeats": 1}
    evaluator = _evaluator(
        selectors=("kan-l1", "kan-l2", "kan-si", "kan-ko"), selector_params={"kan": tiny}
    )
    results = evaluator.run(X, y)
    assert len(fits) == 3  # one network per fold, scored four ways
    assert set(results["selector"]) == {"kan-l1", "kan-l2", "kan-si", "kan-ko", "all"}
    kan = results[results["selector"] != "all"]
    times = kan.groupby(["fold", "selector"])["select_seconds"].first().unstack()
    assert (times.nunique(axis=1) == 1).all()  # the four scores share the network's time
