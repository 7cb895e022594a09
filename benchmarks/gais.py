"""GAIS instance selection against stratified random rows and per-class k-means prototypes."""

from __future__ import annotations

import multiprocessing
import platform
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fsel.data import load_catalog, load_dataset
from fsel.instances import GAISampler
from fsel.instances._gais import GRAPHS, class_quotas

KEEPS = (0.04, 0.10)
MODELS = ("1-NN", "RF", "LR")
LARGE = "synthetic 100k x 20"


def _models() -> dict:
    return {
        "1-NN": make_pipeline(StandardScaler(), KNeighborsClassifier(1)),
        "RF": RandomForestClassifier(100, random_state=0, n_jobs=2),
        "LR": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    }


def _scores(X_train, y_train, X_test, y_test) -> dict:
    return {
        name: f1_score(y_test, model.fit(X_train, y_train).predict(X_test), average="macro")
        for name, model in _models().items()
    }


def _datasets(quick: bool) -> dict:
    """name -> (X, y) as float arrays with missing values filled by column medians."""
    names = ["breast_cancer", "digits"]
    catalog = load_catalog()
    for name in ("ckd", "alzheimers"):
        if not quick and name in catalog:
            names.append(name)
    out = {}
    for name in names:
        data = load_dataset(name)
        X = data.X.to_numpy(dtype=float)
        X = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
        out[name] = (X, data.y.to_numpy())
    if not quick:
        out[LARGE] = make_classification(
            100_000, 20, n_informative=10, n_redundant=4, flip_y=0.02, random_state=0
        )
    return out


def _quotas(y, keep) -> dict:
    labels, counts = np.unique(y, return_counts=True)
    return class_quotas(keep, dict(zip(labels, counts, strict=True)), 2)


def stratified_random(y, keep, seed) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return np.concatenate(
        [
            rng.choice(np.flatnonzero(y == label), count, replace=False)
            for label, count in _quotas(y, keep).items()
        ]
    )


def kmeans_prototypes(X, y, keep, seed) -> np.ndarray:
    """Per class, the real row nearest to each k-means centroid (standardised features)."""
    scaled = StandardScaler().fit_transform(X)
    picked = []
    for label, count in _quotas(y, keep).items():
        members = np.flatnonzero(y == label)
        if count >= len(members):
            picked.append(members)
            continue
        if len(members) > 20_000:  # Lloyd on 50k rows x 5k centroids takes minutes
            kmeans = MiniBatchKMeans(count, n_init=1, random_state=seed, batch_size=4096)
        else:
            kmeans = KMeans(count, n_init=1, random_state=seed)
        kmeans.fit(scaled[members])
        nearest = NearestNeighbors(n_neighbors=1).fit(scaled[members])
        rows = nearest.kneighbors(kmeans.cluster_centers_, return_distance=False).ravel()
        picked.append(members[np.unique(rows)])
    return np.concatenate(picked)


def _fit_gais(X, y, keep, graph, seed):
    """Fit in this process: kept rows, seconds, and the peak resident memory above baseline."""
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    sampler = GAISampler(keep=keep, graph=graph, random_state=seed).fit(X, y)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return sampler.sample_indices_, seconds, peak / 1024, (peak - baseline) / 1024


def _fit_gais_fresh(X, y, keep, graph, seed):
    """The same in a new process, so that its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_fit_gais, X, y, keep, graph, seed).result()


def _cell(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def _evaluate(name, X, y, seeds, graphs, keeps, large: bool):
    """Scores and timings of every method on one dataset."""
    results: dict = {}
    timings: dict = {}
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        for model, score in _scores(X_train, y_train, X_test, y_test).items():
            results.setdefault(("all rows", 1.0), {}).setdefault(model, []).append(score)
        for keep in keeps:
            picks = {}
            start = time.perf_counter()
            picks["stratified random"] = stratified_random(y_train, keep, seed)
            timings.setdefault(("stratified random", keep), []).append(time.perf_counter() - start)
            start = time.perf_counter()
            picks["k-means prototypes"] = kmeans_prototypes(X_train, y_train, keep, seed)
            timings.setdefault(("k-means prototypes", keep), []).append(
                time.perf_counter() - start
            )
            for graph in graphs:
                fit = _fit_gais_fresh if large else _fit_gais
                rows, seconds, peak, _ = fit(X_train, y_train, keep, graph, seed)
                picks[f"GAIS {graph}"] = rows
                timings.setdefault((f"GAIS {graph}", keep), []).append(seconds)
                if large:
                    timings.setdefault((f"GAIS {graph} peak MB", keep), []).append(peak)
            for method, rows in picks.items():
                scores = _scores(X_train[rows], y_train[rows], X_test, y_test)
                for model, score in scores.items():
                    results.setdefault((method, keep), {}).setdefault(model, []).append(score)
    return results, timings


def _table(name, n_rows, results, timings) -> list[str]:
    lines = [
        f"### {name} ({n_rows} rows, 25 % held out)",
        "",
        "| method | kept | " + " | ".join(f"{m} macro-F1" for m in MODELS) + " | mean | fit s |",
        "|---|---|" + "---|" * (len(MODELS) + 2),
    ]
    for (method, keep), by_model in results.items():
        mean = np.mean([np.mean(by_model[m]) for m in MODELS])
        seconds = timings.get((method, keep))
        fit = f"{np.mean(seconds):.1f}" if seconds else ""
        peak = timings.get((f"{method} peak MB", keep))
        if peak:
            fit += f" (peak RSS {np.max(peak):.0f} MB)"
        row = [method, f"{keep:.0%}", *(_cell(by_model[m]) for m in MODELS), f"{mean:.3f}", fit]
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def _summary(all_results, keep) -> list[str]:
    """Per dataset at one kept size: best GAIS variant against the references."""
    lines = [
        f"### Summary at {keep:.0%} kept (mean macro-F1 over the three models)",
        "",
        "| dataset | all rows | random | k-means | GAIS minibatch (default) | best GAIS (variant) "
        "| best - random | best - all rows | best - k-means |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, results in all_results.items():

        def mean(key, results=results):
            return np.mean([np.mean(results[key][m]) for m in MODELS])

        gais = {k[0]: mean(k) for k in results if k[0].startswith("GAIS") and k[1] == keep}
        if not gais:
            continue
        best = max(gais, key=gais.get)
        every, random, kmeans = (
            mean(("all rows", 1.0)),
            mean(("stratified random", keep)),
            mean(("k-means prototypes", keep)),
        )
        lines.append(
            f"| {name} | {every:.3f} | {random:.3f} | {kmeans:.3f} | "
            f"{gais.get('GAIS minibatch', float('nan')):.3f} | {gais[best]:.3f} "
            f"({best[5:]}) | {gais[best] - random:+.3f} | {gais[best] - every:+.3f} | "
            f"{gais[best] - kmeans:+.3f} |"
        )
    return [*lines, ""]


def _million_rows(quick: bool) -> list[str]:
    n_rows = 20_000 if quick else 1_000_000
    X, y = make_classification(n_rows, 20, n_informative=10, random_state=1)
    try:
        indices, seconds, peak, above = _fit_gais_fresh(X, y, 0.04, "hash", 0)
    except Exception as error:  # a report of the failure is the result then
        return [f"### `hash` on {n_rows:,} rows: failed ({type(error).__name__}: {error})", ""]
    return [
        f"### `hash` on {n_rows:,} rows x 20 features (keep 4 %)",
        "",
        f"Fit {seconds:.1f} s, {len(indices):,} rows kept, peak RSS {peak:.0f} MB "
        f"({above:.0f} MB above the process's peak before the fit).",
        "",
    ]


def main(quick: bool = False) -> str:
    seeds = (0,) if quick else tuple(range(5))
    graphs = ("minibatch",) if quick else GRAPHS
    keeps = (0.04,) if quick else KEEPS
    lines = [
        "# GAIS instance selection",
        "",
        f"Machine: {platform.machine()}, {multiprocessing.cpu_count()} cores; "
        f"seeds {', '.join(map(str, seeds))} (each seed: a new stratified 75/25 split and a "
        "new sampler seed); GAISampler defaults except `keep` and `graph`. Macro-F1 on the "
        "held-out split, mean ± std over seeds. Missing values median-filled. k-means "
        "prototypes: per class, the real row nearest each centroid (MiniBatchKMeans above "
        "20k rows). Peak RSS of the 100k fits is measured in a fresh process.",
        "",
    ]
    all_results = {}
    large_seeds = seeds[:2]
    for name, (X, y) in _datasets(quick).items():
        large = name == LARGE
        results, timings = _evaluate(
            name, X, y, large_seeds if large else seeds, graphs, keeps, large
        )
        all_results[name] = results
        lines += _table(name, len(y), results, timings)
    if not quick:
        lines.append(f"(The {LARGE} rows use seeds {large_seeds} only: each fit takes ~1 min.)")
        lines.append("")
    for keep in keeps:
        lines += _summary(all_results, keep)
    lines += _million_rows(quick)
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
