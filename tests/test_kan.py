"""Tests of the KAN engine: estimators, side effects, reproducibility, scores, learned functions."""

from __future__ import annotations

import os
import random
import threading

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from fsel.kan import (
    SCORES,
    KANClassifier,
    KANRegressor,
    input_group_norms,
    kan_scores,
    knockout_scores,
    learned_functions,
)

# Tiny networks and few rounds: the checks exercise the real code paths, not accuracy.
TINY = dict(hidden_width=3, grid=3, max_iter=40, learning_rate=0.05, n_iter_no_change=5)


@parametrize_with_checks(
    [KANClassifier(**TINY, random_state=0), KANRegressor(**TINY, random_state=0)]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _regression_data(n=240, seed=0):
    """y depends (nonlinearly) on column 0 only; columns 1 and 2 are noise."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    y = np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 0] + 0.05 * rng.normal(size=n)
    return X, y


def _classification_data(n=240, seed=0):
    """The class is the sign of column 1; columns 0 and 2 are noise."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 1] + 0.1 * rng.normal(size=n) > 0, "yes", "no")
    return X, y


def _global_rng_states():
    return (
        torch.get_rng_state().clone(),
        np.random.get_state()[1].copy(),  # noqa: NPY002 - the global state is what is tested
        random.getstate(),
        torch.get_num_threads(),
    )


@pytest.mark.parametrize("estimator_class", [KANClassifier, KANRegressor])
def test_fit_has_no_side_effects(estimator_class, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    data = _classification_data if estimator_class is KANClassifier else _regression_data
    X, y = data(n=120)
    before = _global_rng_states()
    model = estimator_class(**TINY, random_state=0).fit(X, y)
    kan_scores(model, X[model.validation_indices_], y[model.validation_indices_])
    learned_functions(model, grid=7)
    after = _global_rng_states()
    assert torch.equal(before[0], after[0])
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    assert os.listdir(tmp_path) == []
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_global_rng_untouched_without_random_state():
    X, y = _regression_data(n=60)
    before = _global_rng_states()
    KANRegressor(**TINY).fit(X, y)
    after = _global_rng_states()
    assert np.array_equal(before[1], after[1]) and torch.equal(before[0], after[0])


def test_same_random_state_same_model_and_different_seeds_differ():
    X, y = _regression_data(n=120)
    first = KANRegressor(**TINY, random_state=3).fit(X, y).predict(X)
    again = KANRegressor(**TINY, random_state=3).fit(X, y).predict(X)
    other = KANRegressor(**TINY, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_two_threads_match_sequential_fits():
    X, y = _classification_data(n=160)
    seeds = (1, 2)

    def fit_and_score(seed):
        model = KANClassifier(**TINY, random_state=seed).fit(X, y)
        held = model.validation_indices_
        return model.predict_proba(X), kan_scores(model, X[held], y[held], random_state=seed)

    sequential = [fit_and_score(seed) for seed in seeds]
    threaded = [None, None]

    def work(index):
        threaded[index] = fit_and_score(seeds[index])

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (proba, scores), (proba_t, scores_t) in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(proba, proba_t)
        for name in SCORES:
            np.testing.assert_array_equal(scores[name], scores_t[name])


def test_regression_target_is_standardised_and_predictions_in_original_units():
    X, y = _regression_data(n=240)
    y_big = 1000.0 * y + 5000.0
    model = KANRegressor(random_state=0).fit(X, y_big)
    assert model.y_mean_ == pytest.approx(y_big.mean())
    assert model.score(X, y_big) > 0.8
    assert 0 < model.best_iteration_ <= model.n_iter_ <= model.max_iter


def test_early_stopping_restores_the_best_validation_weights():
    X, y = _regression_data(n=200)
    model = KANRegressor(**{**TINY, "max_iter": 200, "n_iter_no_change": 3}, random_state=0)
    model.fit(X, y)
    curve = model.validation_loss_curve_
    assert model.n_iter_ == len(curve)
    held = model.validation_indices_
    standardised = (y[held] - model.y_mean_) / model.y_scale_
    predicted = (model.predict(X[held]) - model.y_mean_) / model.y_scale_
    # The kept weights are those of the best round, not the last one.
    assert np.mean((predicted - standardised) ** 2) == pytest.approx(min(curve), rel=1e-4)


def test_mini_batches_are_used_for_larger_data():
    X, y = _regression_data(n=5200)
    model = KANRegressor(**{**TINY, "max_iter": 2}, random_state=0).fit(X, y)
    assert model.n_iter_ == 2
    assert model.score(X, y) > 0.5  # two mini-batch epochs already learn the signal


def test_input_group_norms_are_the_norms_of_each_inputs_first_layer_weights():
    X, y = _regression_data(n=120)
    network = KANRegressor(**TINY, random_state=0).fit(X, y).network_
    layer = network.act_fun[0]
    layer.mask[1] = 0.0  # input 1 switched off: no edge of it reaches the network
    coef, base = layer.coef.numpy(), layer.scale_base.numpy()
    spline_scale, mask = layer.scale_sp.numpy(), layer.mask.numpy()
    expected = np.sqrt(
        ((coef * (spline_scale * mask)[:, :, None]) ** 2).sum(axis=(1, 2))
        + ((base * mask) ** 2).sum(axis=1)
    )
    norms = input_group_norms(network).numpy()
    assert norms == pytest.approx(expected, abs=1e-5)
    assert norms[1] == pytest.approx(0.0, abs=1e-5)


def test_input_sparsity_moves_the_weight_off_the_noise_inputs():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=300)  # inputs 1-5 are noise
    settings = dict(hidden_width=4, grid=3, max_iter=150, learning_rate=0.05, random_state=0)
    shares = {}
    for penalty in (0.0, 0.05):
        model = KANRegressor(**settings, input_sparsity=penalty).fit(X, y)
        norms = input_group_norms(model.network_).numpy()
        shares[penalty] = norms[1:].sum() / norms.sum()
        assert model.score(X, y) > 0.9  # the penalty does not cost the fit
    assert shares[0.05] < 0.5 * shares[0.0]


def test_lbfgs_solver_fits():
    X, y = _classification_data(n=160)
    model = KANClassifier(**{**TINY, "learning_rate": 1.0}, solver="lbfgs", random_state=0)
    assert model.fit(X, y).score(X, y) > 0.85


def test_tiny_data_trains_without_validation_split():
    X, y = _regression_data(n=8)
    model = KANRegressor(**TINY, random_state=0).fit(X, y)
    assert model.validation_indices_.size == 0
    assert model.n_iter_ == TINY["max_iter"]


def test_unknown_device_is_rejected():
    X, y = _regression_data(n=30)
    with pytest.raises(RuntimeError):
        KANRegressor(**TINY, device="no-such-device").fit(X, y)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_score_ranks_the_informative_feature_first(task):
    if task == "classification":
        X, y = _classification_data()
        informative, model = 1, KANClassifier(random_state=0).fit(X, y)
    else:
        X, y = _regression_data()
        informative, model = 0, KANRegressor(random_state=0).fit(X, y)
    held = model.validation_indices_
    scores = kan_scores(model, X[held], y[held], random_state=0)
    assert list(scores) == list(SCORES)
    for name, values in scores.items():
        assert values.shape == (3,)
        assert np.argmax(values) == informative, (name, values)
    permuted = knockout_scores(model, X[held], y[held], knockout="permutation", random_state=0)
    assert np.argmax(permuted) == informative


def test_scores_of_a_constant_feature_are_zero():
    X, y = _regression_data(n=150)
    X[:, 2] = 7.0
    model = KANRegressor(**TINY, random_state=0).fit(X, y)
    held = model.validation_indices_
    scores = kan_scores(model, X[held], y[held])
    for name in SCORES:
        assert scores[name][2] == pytest.approx(0.0, abs=1e-9), name


def test_norm_scores_weight_the_edges_by_where_the_data_lie():
    # Column 2 is noise that is 0 except in 2 % of rows: a spline may wiggle over the
    # grid intervals only those rows reach, which a data-free coefficient norm rewards.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    X[:, 2] = np.where(rng.rand(400) < 0.02, 3.0 + rng.rand(400), 0.0)
    y = np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 0] + 0.05 * rng.normal(size=400)
    model = KANRegressor(hidden_width=3, grid=5, max_iter=200, random_state=0).fit(X, y)
    scores = kan_scores(model, X, y, scores=["l1", "l2"])
    for name, values in scores.items():
        assert values[2] < 0.2 * values[0], (name, values)


def test_kan_scores_rejects_bad_requests():
    X, y = _regression_data(n=60)
    model = KANRegressor(**TINY, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="unknown KAN score"):
        kan_scores(model, X, y, scores=["l3"])
    with pytest.raises(ValueError, match="held-out rows"):
        kan_scores(model, scores=["si"])
    with pytest.raises(ValueError, match="shape"):
        kan_scores(model, X[:, :2], y, scores=["ko"])
    assert set(kan_scores(model, scores=["l1", "l2"])) == {"l1", "l2"}
    classifier = KANClassifier(**TINY, random_state=0).fit(*_classification_data(n=60))
    with pytest.raises(ValueError, match="not trained on"):
        kan_scores(classifier, X, np.array(["maybe"] * len(X)), scores=["ko"])


def test_learned_functions_follow_the_target_shape():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    model = KANRegressor(random_state=0).fit(X, X[:, 0] ** 2)
    curves = learned_functions(model, [0, 1], grid=25)
    assert curves.names == ["x0", "x1"]
    assert curves.x.shape == curves.values.shape == (25, 2)
    np.testing.assert_allclose(curves.x[[0, -1], 0], [X[:, 0].min(), X[:, 0].max()])
    edges = learned_functions(model, [0, 1], grid=25, per_edge=True).values
    assert edges.shape == (25, 2, model.network_.act_fun[0].out_dim)
    np.testing.assert_allclose(edges.sum(axis=2), curves.values)
    # Input 0 carries the signal: inside the data, its edge functions bend far more than
    # input 1's (near the edge of the range few rows constrain the splines).
    inner = learned_functions(model, [0, 1], grid=np.linspace(-1.5, 1.5, 25), per_edge=True)
    spread = np.ptp(inner.values, axis=0).sum(axis=1)
    assert spread[0] > 2 * spread[1]
    per_edge = learned_functions(model, 0, grid=np.array([-1.0, 0.0, 1.0]), per_edge=True)
    np.testing.assert_allclose(
        per_edge.values.sum(axis=2),
        learned_functions(model, 0, grid=np.array([-1.0, 0.0, 1.0])).values,
    )


def test_learned_functions_accept_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _regression_data(n=80)
    frame = pd.DataFrame(X, columns=["age", "bmi", "noise"])
    model = KANRegressor(**TINY, random_state=0).fit(frame, y)
    curves = learned_functions(model, "bmi", grid=4)
    assert curves.names == ["bmi"] and list(curves.features) == [1]
