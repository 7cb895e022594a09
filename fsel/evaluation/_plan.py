"""The evaluation plan: outer CV splits, per-task seeds and the units of work."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from fsel.selectors import KAN_SELECTORS

BASELINE = "all"
# Ranking work is dispatched longest first so that the last task to finish is a short one.
_EXPECTED_COST = {"svm-rfe": 3, "rf": 2, "lasso": 1, "mi": 1}


def derive_seed(seed: int, *keys) -> int:
    """A seed in [0, 2**32) that depends only on ``seed`` and ``keys``, never on run order.

    >>> derive_seed(0, "split", 1) == derive_seed(0, "split", 1) != derive_seed(0, "split", 2)
    True
    """
    entropy = [int(seed)] + [zlib.crc32(str(key).encode()) for key in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass(frozen=True)
class Split:
    """One outer fold: its repeat, its index and the training / test row positions."""

    repeat: int
    fold: int
    train: np.ndarray = field(repr=False)
    test: np.ndarray = field(repr=False)

    @property
    def key(self) -> tuple[int, int]:
        return self.repeat, self.fold


def outer_splits(y: np.ndarray, task: str, folds: int, repeats: int, seed: int) -> list[Split]:
    """The outer cross-validation: ``repeats`` shuffles of ``folds`` folds, stratified for classes."""
    splits = []
    for repeat in range(repeats):
        splitter_class = StratifiedKFold if task == "classification" else KFold
        splitter = splitter_class(
            n_splits=folds, shuffle=True, random_state=derive_seed(seed, "split", repeat)
        )
        for fold, (train, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
            splits.append(Split(repeat, fold, train, test))
    return splits


@dataclass(frozen=True)
class RankTask:
    """Rank the features on one training fold with one selector, or with several KAN
    scores of one shared network (``selectors`` then holds them all)."""

    split: Split
    selectors: tuple[str, ...]
    params: dict
    random_state: int

    @property
    def key(self) -> tuple:
        return ("rank", *self.split.key, self.selectors)


@dataclass(frozen=True)
class FitTask:
    """Fit one downstream model on one kept feature set of one fold and score it."""

    split: Split
    columns: tuple[int, ...]
    estimator: str
    random_state: int

    @property
    def key(self) -> tuple:
        return ("fit", *self.split.key, self.columns, self.estimator)


def ranking_groups(selectors: list[str], selector_params: dict) -> list[tuple[str, ...]]:
    """Selectors grouped by the work they share: KAN selectors with equal settings train
    one network together; every other selector is its own group."""
    groups: list[tuple[str, ...]] = []
    kan_by_params: dict[str, list[str]] = {}
    for name in selectors:
        if name in KAN_SELECTORS:
            kan_by_params.setdefault(
                repr(sorted(selector_params.get(name, {}).items())), []
            ).append(name)
        else:
            groups.append((name,))
    return [tuple(names) for names in kan_by_params.values()] + sorted(
        groups, key=lambda group: -_EXPECTED_COST.get(group[0], 1)
    )


def ranking_tasks(
    splits: list[Split], selectors: list[str], selector_params: dict, seed: int
) -> list[RankTask]:
    """One ranking task per (fold, selector group), the expensive groups first."""
    tasks = []
    for group in ranking_groups(selectors, selector_params):
        for split in splits:
            # The group's first member names the seed: kan-l1..kan-ko share one network.
            tasks.append(
                RankTask(
                    split,
                    group,
                    dict(selector_params.get(group[0], {})),
                    derive_seed(seed, split.repeat, split.fold, group[0]),
                )
            )
    return tasks


def fit_tasks(
    splits: dict[tuple[int, int], Split],
    column_sets: dict[tuple[int, int], set[tuple[int, ...]]],
    estimators: list[str],
    seed: int,
) -> list[FitTask]:
    """One fit per (fold, distinct kept feature set, downstream model), larger sets first.

    The model's seed depends on the fold and the model only, so a feature set kept by
    several selectors is fitted once and every selector gets the same score for it.
    """
    tasks = []
    for fold_key, sets in column_sets.items():
        split = splits[fold_key]
        for columns in sorted(sets, key=lambda cols: (-len(cols), cols)):
            for estimator in estimators:
                tasks.append(
                    FitTask(
                        split, columns, estimator, derive_seed(seed, *fold_key, "model", estimator)
                    )
                )
    return sorted(tasks, key=lambda task: -len(task.columns))
