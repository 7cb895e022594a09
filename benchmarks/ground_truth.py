"""Ground truth: how often each selector puts the five informative features in its top 5."""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import make_classification, make_friedman1

from fsel.selectors import make_selector
from fsel.selectors._registry import CLASSICAL_SELECTORS, KAN_SELECTORS

N_ROWS = 1000
N_FEATURES = 20
N_INFORMATIVE = 5
INFORMATIVE = np.arange(N_INFORMATIVE)


def _friedman1(seed: int):
    """Nonlinear regression; only columns 0-4 enter the target."""
    return make_friedman1(n_samples=N_ROWS, n_features=N_FEATURES, noise=1.0, random_state=seed)


def _classification(seed: int):
    """Binary classification; with ``shuffle=False`` columns 0-4 are the informative ones."""
    return make_classification(
        n_samples=N_ROWS,
        n_features=N_FEATURES,
        n_informative=N_INFORMATIVE,
        n_redundant=0,
        shuffle=False,
        random_state=seed,
    )


DATASETS = {"Friedman #1 (regression)": _friedman1, "make_classification": _classification}


def _top_k(scores: np.ndarray) -> np.ndarray:
    """Columns of the ``N_INFORMATIVE`` highest scores (ties broken by column order)."""
    return np.argsort(-scores, kind="stable")[:N_INFORMATIVE]


def _scores_by_selector(X, y, seed: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Every selector's scores on ``(X, y)`` and the seconds each fit took.

    The four KAN selectors share one network: one ``KANSelector`` fit gives all four
    scores in ``all_scores_`` (its time is reported once, under each KAN name).
    """
    scores, seconds = {}, {}
    start = time.perf_counter()
    kan = make_selector("kan-si", retention=N_INFORMATIVE, random_state=seed).fit(X, y)
    kan_seconds = time.perf_counter() - start
    for name in KAN_SELECTORS:
        scores[name] = kan.all_scores_[name.removeprefix("kan-")]
        seconds[name] = kan_seconds
    for name in CLASSICAL_SELECTORS:
        start = time.perf_counter()
        selector = make_selector(name, retention=N_INFORMATIVE, random_state=seed).fit(X, y)
        seconds[name] = time.perf_counter() - start
        scores[name] = selector.scores_
    return scores, seconds


def main(quick: bool = False) -> str:
    seeds = range(2 if quick else 10)
    names = [*KAN_SELECTORS, *CLASSICAL_SELECTORS]
    lines = [
        "# Ground truth: informative features in the top 5",
        "",
        f"{N_ROWS} rows x {N_FEATURES} features, {N_INFORMATIVE} informative (columns 0-4): "
        "`make_friedman1` (noise 1.0) and `make_classification(n_informative=5, "
        "n_redundant=0, shuffle=False)`. Each selector is "
        f"`make_selector(name, retention={N_INFORMATIVE}, random_state=seed)`, seeds "
        f"0-{len(seeds) - 1} (the seed also generates the data). **all 5** = seeds whose "
        "top 5 is exactly the informative set; **recall@5** = mean share of the informative "
        "features in the top 5; seconds = mean fit time (one KAN fit serves the four KAN "
        "scores).",
    ]
    for title, generate in DATASETS.items():
        hits = {name: [] for name in names}
        recall = {name: [] for name in names}
        seconds = {name: [] for name in names}
        for seed in seeds:
            X, y = generate(seed)
            scores, took = _scores_by_selector(X, y, seed)
            for name in names:
                found = np.isin(INFORMATIVE, _top_k(scores[name])).sum()
                hits[name].append(found == N_INFORMATIVE)
                recall[name].append(found / N_INFORMATIVE)
                seconds[name].append(took[name])
        lines += [
            "",
            f"## {title}",
            "",
            "| selector | all 5 in top 5 | recall@5 | seconds |",
            "|---|---:|---:|---:|",
        ]
        for name in names:
            lines.append(
                f"| {name} | {sum(hits[name])}/{len(seeds)} | {np.mean(recall[name]):.2f} "
                f"| {np.mean(seconds[name]):.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
