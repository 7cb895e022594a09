"""Speed of the retention-level evaluator: n_jobs 1 vs 2, one ranking reused vs refit per level."""

from __future__ import annotations

import os
import platform
import time

from fsel.data import load_dataset
from fsel.evaluation import RetentionEvaluator
from fsel.selectors import CLASSICAL_SELECTORS

LEVELS = (0.2, 0.4, 0.6)
PAPER_MODELS = ("linear", "random_forest", "gradient_boosting", "xgboost")
# The paper's whole pipeline on breast_cancer (DESIGN.md, "Speed to beat").
PAPER_PIPELINE_SECONDS = 153.0


def _timed(dataset, **settings) -> tuple[float, list[float], list[float]]:
    """Wall seconds of one evaluation, and the seconds of its tasks in each phase
    (rankings and all-features fits, then the fits of the kept sets)."""
    start = time.perf_counter()
    results = RetentionEvaluator(**settings).run(dataset)
    wall = time.perf_counter() - start
    ranked = results[results["selector"] != "all"]
    # The four KAN scores share one network: one task, one time per fold.
    rankings = ranked.drop_duplicates(["repeat", "fold", "select_seconds"])["select_seconds"]
    fitted = results.assign(key=results["selected"].map(tuple)).drop_duplicates(
        ["repeat", "fold", "key", "estimator"]
    )
    every = fitted["n_selected"] == fitted["n_features"]
    first = [*rankings, *fitted.loc[every, "fit_seconds"]]
    second = fitted.loc[~every].sort_values("n_selected", ascending=False)["fit_seconds"]
    return wall, first, list(second)


def _two_workers(first: list[float], second: list[float]) -> float:
    """Makespan of the two phases on two workers, each task to the first free worker."""
    total = 0.0
    for phase in (sorted(first, reverse=True), second):
        workers = [0.0, 0.0]
        for seconds in phase:
            workers[workers.index(min(workers))] += seconds
        total += max(workers)
    return total


def _naive(dataset, **settings) -> float:
    """Refit every selector at every level: one evaluation per retention level."""
    start = time.perf_counter()
    for level in settings.pop("retention"):
        RetentionEvaluator(retention=(level,), **settings).run(dataset)
    return time.perf_counter() - start


def main(quick: bool = False) -> str:
    names = ("breast_cancer",) if quick else ("breast_cancer", "alzheimers")
    base = {
        "selectors": CLASSICAL_SELECTORS if quick else None,
        "retention": LEVELS,
        "estimators": ("linear",) if quick else ("linear", "lightgbm"),
        "folds": 3 if quick else 5,
        "seed": 0,
    }
    selectors = "4 classical" if quick else "all 8"
    lines = [
        "# Evaluator speed",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        "(shared with other work while measured). Plan: "
        f"{selectors} selectors x {len(LEVELS)} levels x {base['folds']} folds x "
        f"{', '.join(base['estimators'])}. Naive plan = one evaluation per retention level "
        "(every selector refitted per level; also refits the all-features baseline per level).",
        "",
        "Task s = time spent inside selector and model fits (KAN: the shared network once "
        "per fold). Ideal = the n_jobs=1 task times scheduled on two free workers (the "
        "runner's two phases): the speed-up the plan allows on an otherwise idle machine. "
        "With Linux autogroup scheduling, a busy machine gives one session the same CPU "
        "share whatever its number of processes, so the measured n_jobs=2 wall time is only "
        "meaningful when nothing else runs. Times after a warm-up run (worker pool started, "
        "libraries imported).",
        "",
        "| dataset | n_jobs=1 (s) | task s | n_jobs=2 (s) | task s | speed-up | ideal | "
        "naive, n_jobs=1 (s) | reuse gain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # Start the worker pool and import torch, LightGBM, ... in every process first: the
    # table compares the plans, not the one-off start-up (a few seconds per command).
    warm_up = load_dataset("breast_cancer")
    for n_jobs in (1, 2):
        _timed(warm_up, **{**base, "folds": 2, "estimators": base["estimators"], "n_jobs": n_jobs})
    for name in names:
        dataset = load_dataset(name)
        one, *one_tasks = _timed(dataset, n_jobs=1, **base)
        two, *two_tasks = _timed(dataset, n_jobs=2, **base)
        naive = _naive(dataset, n_jobs=1, **dict(base))
        one_work, two_work = (sum(map(sum, tasks)) for tasks in (one_tasks, two_tasks))
        ideal = one_work / _two_workers(*one_tasks)
        lines.append(
            f"| {name} | {one:.1f} | {one_work:.1f} | {two:.1f} | {two_work:.1f} | "
            f"{one / two:.2f}x | {ideal:.2f}x | {naive:.1f} | {naive / one:.2f}x |"
        )
    if not quick:
        dataset = load_dataset("breast_cancer")
        paper_like, *_ = _timed(
            dataset, selectors=None, retention=LEVELS, estimators=PAPER_MODELS, folds=5, n_jobs=2
        )
        lines += [
            "",
            "`fsel evaluate breast_cancer --folds 5 --n-jobs 2 --estimators "
            f"{','.join(PAPER_MODELS)}` (nested selection): {paper_like:.1f} s; the paper's "
            f"pipeline (selection on all rows): ~{PAPER_PIPELINE_SECONDS:.0f} s; target at most "
            f"{PAPER_PIPELINE_SECONDS / 2:.0f} s: {'met' if paper_like <= 76.5 else 'NOT met'}.",
        ]
    lines += ["", f"Load average at the end (1/5/15 min): {os.getloadavg()}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
