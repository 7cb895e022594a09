"""Tests for GAISampler and its graph builders."""

from __future__ import annotations

import tracemalloc
from collections import Counter

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import estimator_checks_generator
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from fsel.instances import GAISampler
from fsel.instances._gais import class_quotas
from fsel.instances._graphs import hash_graph, minibatch_graph

GRAPHS = ["minibatch", "hash", "hash-multilevel", "hash-multiview"]
FAST = dict(epochs=15, patience=5, hidden=8, heads=2)


def _check_id(value) -> str:
    """A readable test id: the check's name (with its keyword arguments) or the estimator's."""
    if callable(value) and not hasattr(value, "get_params"):
        name = getattr(value, "func", value).__name__
        keywords = getattr(value, "keywords", {})
        return name + "".join(f"({k}={v})" for k, v in keywords.items())
    return type(value).__name__


# imbalanced-learn's own parametrize_with_checks hands pytest a generator, which pytest
# deprecates; the same checks, listed.
IMBLEARN_CHECKS = list(
    estimator_checks_generator(
        GAISampler(keep=0.5, random_state=0, **FAST), legacy=True, mark="xfail"
    )
)


@pytest.mark.parametrize(("estimator", "check"), IMBLEARN_CHECKS, ids=_check_id)
def test_imblearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        600, 8, n_informative=5, n_classes=3, weights=[0.6, 0.3, 0.1], random_state=0
    )
    return X, y


@pytest.mark.parametrize("graph", GRAPHS)
def test_every_graph_keeps_the_target_size(blobs, graph):
    X, y = blobs
    sampler = GAISampler(keep=0.1, graph=graph, random_state=0, **FAST)
    X_kept, y_kept = sampler.fit_resample(X, y)
    assert len(X_kept) == len(y_kept) == 60 == len(sampler.sample_indices_)
    assert np.array_equal(X_kept, X[sampler.sample_indices_])
    # Per-class counts follow the class sizes.
    counts, kept = Counter(y), Counter(y_kept)
    for label in counts:
        assert abs(kept[label] - 60 * counts[label] / 600) <= 1
    assert sampler.n_edges_ > 0


def test_min_per_class_and_counts(blobs):
    X, y = blobs
    y = y.copy()
    y[:4] = 7  # a rare class of four rows
    sampler = GAISampler(keep=20, min_per_class=3, random_state=0, **FAST)
    _, y_kept = sampler.fit_resample(X, y)
    kept = Counter(y_kept)
    assert len(y_kept) == 20 and kept[7] == 3 and min(kept.values()) >= 3
    _, y_kept = GAISampler(keep={0: 5, 1: 6, 2: 7, 7: 2}, **FAST).fit_resample(X, y)
    assert Counter(y_kept) == {0: 5, 1: 6, 2: 7, 7: 2}


def test_class_quotas_edge_cases():
    assert class_quotas(0.04, {"a": 1000, "b": 3}, 2) == {"a": 39, "b": 2}
    # The floors win over the total: every class keeps min(min_per_class, its size).
    assert class_quotas(1, {"a": 50, "b": 1}, 2) == {"a": 2, "b": 1}
    assert class_quotas(1.0, {"a": 5, "b": 3}, 2) == {"a": 5, "b": 3}


def test_same_random_state_same_rows(blobs):
    X, y = blobs
    first = GAISampler(keep=0.05, graph="hash-multiview", random_state=3, **FAST).fit(X, y)
    second = GAISampler(keep=0.05, graph="hash-multiview", random_state=3, **FAST).fit(X, y)
    other = GAISampler(keep=0.05, graph="hash-multiview", random_state=4, **FAST).fit(X, y)
    assert np.array_equal(first.sample_indices_, second.sample_indices_)
    assert np.allclose(first.scores_, second.scores_)
    assert not np.array_equal(first.sample_indices_, other.sample_indices_)


def test_fit_leaves_torch_and_numpy_global_state_alone(blobs):
    import torch

    X, y = blobs
    threads = torch.get_num_threads()
    # The legacy global generator is exactly what must stay untouched.
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    GAISampler(keep=0.1, random_state=0, n_jobs=1, **FAST).fit(X, y)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002


def test_regression_target_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="classification only"):
        GAISampler(**FAST).fit_resample(X, np.linspace(0, 1, len(X)))


def test_in_an_imblearn_pipeline(blobs):
    X, y = blobs
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("gais", GAISampler(keep=0.2, random_state=0, **FAST)),
            ("knn", KNeighborsClassifier(1)),
        ]
    )
    pipe.fit(X, y)
    assert len(pipe.named_steps["gais"].sample_indices_) == 120
    assert pipe.score(X, y) > 0.6


@pytest.mark.parametrize("builder", ["minibatch", "hash-multiview"])
def test_graphs_stay_inside_their_blocks(builder):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((3000, 5)).astype(np.float32)
    y = rng.randint(0, 2, 3000)
    kwargs = dict(n_neighbors=5, batch_size=200, similarity_threshold=0.05, rng=rng)
    if builder == "minibatch":
        graph = minibatch_graph(X, y, **kwargs)
        for group in graph.groups:  # stratified: class shares as in the whole
            assert len(group) <= 200
            assert abs(y[group].mean() - y.mean()) < 0.1
    else:
        graph = hash_graph(X, n_views=3, **kwargs)
    assert graph.source.size <= 3 * 3000 * 5
    assert not np.any(graph.source == graph.target)
    # No row is cut off: each one receives at least its closest neighbour's edge.
    assert np.unique(graph.target).size == 3000
    parts = graph.chunks(1000)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(3000))


def test_spread_keeps_the_row_nearest_each_cluster_mean():
    # Three tight, equal clusters per class along a line: each cell is one cluster, and the
    # kept row is the one nearest its cluster's mean (in the standardised space GAIS uses).
    rng = np.random.RandomState(0)
    centres = [(x, y) for y in (0.0, 50.0) for x in (0.0, 10.0, 20.0)]
    X = np.vstack([rng.normal(c, 0.5, size=(30, 2)) for c in centres])
    y = np.repeat([0, 1], 90)
    sampler = GAISampler(keep=6, random_state=0, **FAST).fit(X, y)
    scaled = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = []
    for cluster in range(6):
        rows = np.arange(30 * cluster, 30 * (cluster + 1))
        gaps = ((scaled[rows] - scaled[rows].mean(axis=0)) ** 2).sum(axis=1)
        expected.append(rows[np.argmin(gaps)])
    assert sampler.sample_indices_.tolist() == expected


def test_memory_stays_linear_on_20k_rows():
    X, y = make_classification(20000, 10, random_state=0)
    tracemalloc.start()
    GAISampler(keep=0.04, random_state=0, epochs=2, patience=1, hidden=8, heads=2).fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A 20k x 20k float64 matrix alone would take 3.2 GB; the data itself is 1.6 MB.
    assert peak < 150e6


def test_beats_random_sampling_on_digits_with_1nn():
    X, y = load_digits(return_X_y=True)
    gais, random = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        sampler = GAISampler(keep=0.1, random_state=seed, epochs=40, patience=10)
        X_kept, y_kept = sampler.fit_resample(X_train, y_train)
        gais.append(KNeighborsClassifier(1).fit(X_kept, y_kept).score(X_test, y_test))
        rng = np.random.RandomState(seed)
        picked = np.concatenate(
            [
                rng.choice(np.flatnonzero(y_train == label), count, replace=False)
                for label, count in sampler.sampling_strategy_.items()
            ]
        )
        random.append(
            KNeighborsClassifier(1).fit(X_train[picked], y_train[picked]).score(X_test, y_test)
        )
    assert np.mean(gais) > np.mean(random) + 0.005


def test_missing_values_are_tolerated_and_returned(blobs):
    X, y = blobs
    X = X.copy()
    X[::7, 2] = np.nan
    X[:, 5] = np.nan  # a column with nothing in it
    sampler = GAISampler(keep=0.3, random_state=0, **FAST)
    X_kept, _ = sampler.fit_resample(X, y)
    assert np.isfinite(sampler.scores_).all()
    assert np.isnan(X_kept[:, 5]).all() and np.isnan(X_kept[:, 2]).any()
