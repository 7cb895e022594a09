"""The best any feature ranking could score on a paper-table dataset: an exhaustive oracle.

For each retention level of the paper table, every feature subset of that size is scored
with the paper's protocol (5-fold CV, mean primary metric over the four models) and the
best is kept. The oracle picks its subsets on the very folds that score them, so it is an
optimistic upper bound on what a selector's ranking can reach on that dataset and seed.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from benchmarks.paper_table import FOLDS, LEVELS, MODELS, PAPER, fold_scores, load
from fsel.evaluation._evaluator import _encode_target
from fsel.evaluation._plan import outer_splits
from fsel.evaluation._runner import TaskRunner
from fsel.selectors import KAN_SELECTORS, resolve_retention

DATASET = "classification500x10"
SEED = 0


def subset_scores(name: str, size: int, seed: int, n_jobs: int = 2) -> dict:
    """Mean primary score (over folds and models) of every feature subset of ``size``."""
    X, y, task = load(name)
    values = X.to_numpy(dtype=np.float64)
    target, n_classes = _encode_target(y, task, FOLDS)
    context = {"task": task, "n_classes": n_classes}
    splits = outer_splits(target, task, FOLDS, 1, seed)
    subsets = list(itertools.combinations(range(values.shape[1]), size))
    with TaskRunner(n_jobs) as runner:
        fits = fold_scores(runner, values, target, context, splits, subsets, MODELS, seed)
    return {
        subset: float(np.mean([fits[(*s.key, subset, m)] for s in splits for m in MODELS]))
        for subset in subsets
    }


def main(quick: bool = False) -> str:
    X, _, _ = load(DATASET)
    n_features = X.shape[1]
    sizes = sorted({resolve_retention(level, n_features) for level in LEVELS})
    if quick:
        sizes = sizes[:1]
    lines = [
        f"# Subset oracle: {DATASET}, seed {SEED}",
        "",
        "Every feature subset of each retention level's size, scored with the paper "
        "protocol (5-fold CV, mean over linear, random_forest, gradient_boosting, xgboost); "
        "the best subset is chosen on the folds that score it, so this is an optimistic bound "
        "on any ranking.",
        "",
        "| kept features | subsets tried | best subset (columns) | best mean score |",
        "|---:|---:|---|---:|",
    ]
    best = []
    for size in sizes:
        scores = subset_scores(DATASET, size, SEED)
        top = max(scores, key=scores.get)
        best.append(scores[top])
        lines.append(
            f"| {size} | {math.comb(n_features, size)} | {', '.join(map(str, top))} "
            f"| {scores[top]:.4f} |"
        )
    paper = dict(zip(KAN_SELECTORS, PAPER[DATASET][:4], strict=True))
    lines += [
        "",
        f"Oracle mean over the levels: **{np.mean(best):.3f}**"
        + ("" if not quick else " (quick: first level only)")
        + ". The paper's KAN numbers on its own draw of this dataset: "
        + ", ".join(f"{name} {value:.3f}" for name, value in paper.items())
        + ".",
    ]
    return "\n".join(lines)
