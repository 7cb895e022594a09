"""``RetentionEvaluator``: selectors x retention levels x outer folds x downstream models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder

from fsel.data import Dataset, encode_features, infer_task
from fsel.evaluation import _results
from fsel.evaluation._metrics import METRICS, correlation_matrix, redundancy
from fsel.evaluation._plan import (
    BASELINE,
    Split,
    derive_seed,
    fit_tasks,
    outer_splits,
    ranking_tasks,
)
from fsel.evaluation._runner import BACKENDS, TaskRunner
from fsel.exceptions import FselInputError, first_line
from fsel.selectors import KAN_SELECTORS, rank_order, resolve_retention, selector_names

DEFAULT_RETENTION = (0.2, 0.4, 0.6)
DEFAULT_ESTIMATORS = ("linear", "lightgbm")


class RetentionEvaluator:
    """Compare feature selectors at several retention levels with nested cross-validation.

    For each outer fold (stratified for classification), every selector ranks the
    features on the training rows only; one ranking serves every retention level
    (its top k). Each downstream model is then fitted on the kept columns of the
    training rows and scored on the test rows; a feature set kept by several
    selectors in a fold is fitted once per model. An ``"all"`` baseline fits the
    models on every feature. The KAN selectors share one trained network per fold
    when they have the same settings.

    Every task draws its seed from ``(seed, repeat, fold, selector or model)``, so
    the results are the same whatever ``n_jobs`` and ``backend``.

    Parameters
    ----------
    selectors : sequence of str, default=None
        Registered selector names (see :func:`fsel.selectors.selector_names`);
        ``None`` means all eight.
    retention : sequence of float or int, default=(0.2, 0.4, 0.6)
        Retention levels: fractions in (0, 1] or counts >= 1.
    estimators : sequence of str, default=("linear", "lightgbm")
        Downstream-model card names (see :func:`fsel.estimators.card_names`).
    folds : int, default=5
        Outer cross-validation folds.
    repeats : int, default=1
        Times the outer cross-validation is repeated with a new shuffle.
    seed : int, default=0
        Root of every random seed of the evaluation.
    n_jobs : int, default=1
        Tasks run side by side (``-1``: one per core). Each task is single-threaded.
    backend : {"loky", "dask"}, default="loky"
        joblib's process pool, or a Dask cluster through ``dask.distributed``.
    scheduler : str, default=None
        Address of a running Dask scheduler (``backend="dask"``); without one, a
        local cluster of ``n_jobs`` worker processes on 127.0.0.1 is started for
        the run and closed after it.
    selector_params : dict, default=None
        Extra parameters per selector name, e.g. ``{"rf": {"n_estimators": 100}}``;
        the key ``"kan"`` sets parameters of all four KAN selectors at once.
    sample : {None, "gais"}, default=None
        Instance selection inside every training fold: with ``"gais"`` a
        :class:`fsel.GAISampler` thins each training fold's rows before the selectors
        and the models see them (test folds are never thinned), so feature selection
        and instance selection are measured together. Classification only.
    sample_params : dict, default=None
        Parameters of the sampler, e.g. ``{"keep": 0.1, "graph": "hash"}``.

    Attributes
    ----------
    results_ : pandas.DataFrame
        The last run's results (see :meth:`run`).

    See Also
    --------
    AutoSelector : runs this evaluation inside ``fit`` and keeps the best selector.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.evaluation import RetentionEvaluator
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> evaluator = RetentionEvaluator(
    ...     selectors=["lasso", "mi"], retention=[0.2, 0.4], estimators=["linear"], folds=3
    ... )
    >>> results = evaluator.run(X, y)
    >>> sorted(results["selector"].unique())
    ['all', 'lasso', 'mi']
    >>> evaluator.choose()["selector"] in {"lasso", "mi"}
    True
    """

    def __init__(
        self,
        selectors: Sequence[str] | None = None,
        retention: Sequence[float | int] = DEFAULT_RETENTION,
        estimators: Sequence[str] = DEFAULT_ESTIMATORS,
        folds: int = 5,
        repeats: int = 1,
        seed: int = 0,
        n_jobs: int | None = 1,
        backend: str = "loky",
        scheduler: str | None = None,
        selector_params: dict | None = None,
        sample: str | None = None,
        sample_params: dict | None = None,
    ):
        self.selectors = selectors
        self.retention = retention
        self.estimators = estimators
        self.folds = folds
        self.repeats = repeats
        self.seed = seed
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler
        self.selector_params = selector_params
        self.sample = sample
        self.sample_params = sample_params

    # ------------------------------------------------------------------ running

    def run(
        self,
        data,
        y=None,
        *,
        task: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """Evaluate every selector at every retention level; return the results.

        Parameters
        ----------
        data : Dataset or array-like of shape (n_samples, n_features)
            A :class:`fsel.data.Dataset` (from :func:`fsel.load_dataset`), or the
            features (a DataFrame keeps its column names; text columns are encoded).
        y : array-like of shape (n_samples,), optional
            The target, required unless ``data`` is a Dataset.
        task : {"classification", "regression"}, optional
            Overrides the task inferred from ``y``.
        progress : callable, optional
            Called as ``progress(done, total)`` after each finished task. ``total``
            is exact once the rankings are known (it may shrink then, when several
            selectors keep the same features).

        Returns
        -------
        results : pandas.DataFrame
            One row per (selector, retention, repeat, fold, estimator, metric) with
            ``dataset, task, selector, retention, n_selected, n_features, repeat,
            fold, estimator, metric, score, selected, select_seconds, fit_seconds,
            redundancy``. The ``"all"`` baseline appears at every retention level.
        """
        name, X_frame, target, task = _as_table(data, y, task)
        selectors = self._checked_selectors()
        estimators = self._checked_estimators()
        levels = self._checked_retention()
        if not isinstance(self.folds, Integral) or self.folds < 2:
            raise FselInputError(f"folds must be an integer >= 2, got {self.folds!r}.")
        if not isinstance(self.repeats, Integral) or self.repeats < 1:
            raise FselInputError(f"repeats must be an integer >= 1, got {self.repeats!r}.")
        if self.backend not in BACKENDS:
            raise FselInputError(
                f"unknown backend {self.backend!r}; choose from {', '.join(BACKENDS)}."
            )
        feature_names = [str(column) for column in X_frame.columns]
        X = X_frame.to_numpy(dtype=np.float64)
        y_values, n_classes = _encode_target(target, task, self.folds)
        n_features = X.shape[1]
        params = _expanded_params(self.selector_params)

        splits = outer_splits(y_values, task, self.folds, self.repeats, self.seed)
        if self.sample is not None:
            splits = self._thinned(splits, X, y_values, task)
        by_key = {split.key: split for split in splits}
        everything = tuple(range(n_features))
        baseline_fits = fit_tasks(
            by_key, {key: {everything} for key in by_key}, estimators, self.seed
        )
        rankings = ranking_tasks(splits, selectors, params, self.seed)
        context = {"task": task, "n_classes": n_classes}
        distinct_levels = sorted({resolve_retention(level, n_features) for level in levels})
        # Before the rankings are known, assume every selector keeps its own sets.
        total = (
            len(rankings)
            + len(baseline_fits)
            + len(splits)
            * len(estimators)
            * len(selectors)
            * sum(k < n_features for k in distinct_levels)
        )
        done = 0
        scores: dict[tuple, tuple[np.ndarray, float]] = {}
        fits: dict[tuple, dict] = {}

        with TaskRunner(self.n_jobs, self.backend, self.scheduler) as runner:
            for key, result in runner.map(rankings + baseline_fits, X, y_values, context):
                if key[0] == "rank":
                    for selector, value in result.items():
                        scores[(key[1], key[2], selector)] = value
                else:
                    fits[key[1:]] = result
                done += 1
                if progress is not None:
                    progress(done, total)

            kept = {}  # (repeat, fold, selector, level) -> kept column indices
            column_sets: dict[tuple[int, int], set] = {split.key: set() for split in splits}
            for split in splits:
                for selector in selectors:
                    order = rank_order(scores[(*split.key, selector)][0])
                    for level in levels:
                        columns = tuple(sorted(order[: resolve_retention(level, n_features)]))
                        kept[(*split.key, selector, level)] = columns
                        if columns != everything:
                            column_sets[split.key].add(columns)
            selection_fits = fit_tasks(by_key, column_sets, estimators, self.seed)
            total = done + len(selection_fits)
            if progress is not None:
                progress(done, total)
            for key, result in runner.map(selection_fits, X, y_values, context):
                fits[key[1:]] = result
                done += 1
                if progress is not None:
                    progress(done, total)

        rows = []
        for split in splits:
            correlations = correlation_matrix(X[split.train])
            for selector in [*selectors, BASELINE]:
                for level in levels:
                    if selector == BASELINE:
                        columns, select_seconds = everything, 0.0
                    else:
                        columns = kept[(*split.key, selector, level)]
                        select_seconds = scores[(*split.key, selector)][1]
                    selected = [feature_names[i] for i in columns]
                    fold_redundancy = redundancy(correlations, columns)
                    for estimator in estimators:
                        fit = fits[(*split.key, columns, estimator)]
                        for metric in METRICS[task]:
                            if metric not in fit["scores"]:
                                continue
                            rows.append(
                                {
                                    "dataset": name,
                                    "task": task,
                                    "selector": selector,
                                    "retention": float(level),
                                    "n_selected": len(columns),
                                    "n_features": n_features,
                                    "repeat": split.repeat,
                                    "fold": split.fold,
                                    "estimator": estimator,
                                    "metric": metric,
                                    "score": fit["scores"][metric],
                                    "selected": selected,
                                    "select_seconds": select_seconds,
                                    "fit_seconds": fit["fit_seconds"],
                                    "redundancy": fold_redundancy,
                                }
                            )
        self.results_ = pd.DataFrame(rows)
        return self.results_

    # ------------------------------------------------------------------ reading the results

    def summarize(self, results: pd.DataFrame | None = None) -> pd.DataFrame:
        """Mean and std over folds per (selector, retention, estimator, metric), with
        stability (Jaccard, Kuncheva) and redundancy; what ``summary.csv`` holds."""
        return _results.summarize(self._results(results))

    def overview(self, results: pd.DataFrame | None = None) -> pd.DataFrame:
        """The primary metric per (selector, retention), averaged over the models."""
        return _results.overview(self._results(results))

    def choose(self, results: pd.DataFrame | None = None, rule: str = "1se") -> dict:
        """The (selector, retention) the parsimony ``rule`` keeps (see :func:`choose`)."""
        return _results.choose(self._results(results), rule)

    def format_table(self, results: pd.DataFrame | None = None, rule: str = "1se") -> str:
        """The overview as a text table, with the chosen configuration below it."""
        results = self._results(results)
        table = _results.overview(results)
        return _results.format_table(table, _results.choose(table, rule))

    def save(self, out: str | Path, results: pd.DataFrame | None = None) -> Path:
        """Write ``results.parquet``, ``summary.csv`` and ``retention.png`` into ``out``,
        all or nothing."""
        return _results.write_outputs(self._results(results), out)

    def _results(self, results):
        if results is not None:
            return results
        if not hasattr(self, "results_"):
            raise RuntimeError("call run() first, or pass the results.")
        return self.results_

    def _thinned(self, splits: list[Split], X, y, task: str) -> list[Split]:
        """Each split with its training rows thinned by instance selection (GAIS)."""
        if self.sample != "gais":
            raise FselInputError(f"unknown sampler {self.sample!r}; the one available is gais.")
        if task != "classification":
            raise FselInputError(
                "instance selection (--sample gais) needs a classification target."
            )
        from fsel.instances import GAISampler

        thinned = []
        for split in splits:
            sampler = GAISampler(**(self.sample_params or {}))
            sampler.set_params(random_state=derive_seed(self.seed, "sample", *split.key))
            try:
                sampler.fit_resample(X[split.train], y[split.train])
            except (TypeError, ValueError) as error:
                raise FselInputError(
                    f"GAIS cannot thin the training folds: {first_line(error)}"
                ) from None
            kept = split.train[np.sort(sampler.sample_indices_)]
            thinned.append(Split(split.repeat, split.fold, kept, split.test))
        return thinned

    # ------------------------------------------------------------------ checking the settings

    def _checked_selectors(self) -> list[str]:
        known = selector_names()
        chosen = known if self.selectors is None else list(self.selectors)
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            shown = ", ".join(map(repr, unknown)) if unknown else "none given"
            raise FselInputError(f"unknown selector {shown}; choose from {', '.join(known)}.")
        return list(dict.fromkeys(chosen))

    def _checked_estimators(self) -> list[str]:
        from fsel.estimators import card_names, load_card

        known = card_names()
        chosen = list(self.estimators)
        for index, name in enumerate(chosen):
            if str(name).endswith(".toml"):
                load_card(name)  # a card file of the user's: refused here if it is unsafe or wrong
                chosen[index] = str(Path(name).resolve())
        unknown = [name for name in chosen if name not in known and not name.endswith(".toml")]
        if unknown or not chosen:
            shown = ", ".join(map(repr, unknown)) if unknown else "none given"
            raise FselInputError(
                f"unknown estimator {shown}; choose from {', '.join(known)} or a card file (.toml)."
            )
        return list(dict.fromkeys(chosen))

    def _checked_retention(self) -> list[float | int]:
        levels = [self.retention] if isinstance(self.retention, Real) else list(self.retention)
        if not levels:
            raise FselInputError("give at least one retention level.")
        for level in levels:
            bad_count = isinstance(level, Integral) and not isinstance(level, bool) and level < 1
            bad_fraction = not isinstance(level, Integral) and not (
                isinstance(level, Real) and 0.0 < float(level) <= 1.0
            )
            if isinstance(level, bool) or bad_count or bad_fraction:
                raise FselInputError(
                    f"retention level {level!r} is neither a fraction in (0, 1] nor a count >= 1."
                )
        return list(dict.fromkeys(levels))


def _expanded_params(selector_params: dict | None) -> dict[str, dict]:
    """Parameters per selector name, the ``"kan"`` entry copied to each KAN selector
    (a selector's own entry wins)."""
    given = dict(selector_params or {})
    unknown = sorted(set(given) - {*selector_names(), "kan"})
    if unknown:
        raise FselInputError(f"selector_params names unknown selectors: {', '.join(unknown)}.")
    shared = given.pop("kan", {})
    for name in KAN_SELECTORS:
        if shared or name in given:
            given[name] = {**shared, **given.get(name, {})}
    return given


def _as_table(data, y, task):
    """``(name, X frame, y series, task)`` from a Dataset or from X and y."""
    if isinstance(data, Dataset):
        return data.name, data.X, data.y, task or data.task
    if y is None:
        raise FselInputError("give the target y, or a Dataset from fsel.load_dataset.")
    X = data if isinstance(data, pd.DataFrame) else pd.DataFrame(np.asarray(data))
    if not isinstance(data, pd.DataFrame):
        X.columns = [f"x{i}" for i in range(X.shape[1])]
    if any(not pd.api.types.is_numeric_dtype(X[column]) for column in X.columns):
        X = encode_features(X)[0]
    target = pd.Series(np.asarray(y)).reset_index(drop=True)
    if len(target) != len(X):
        raise FselInputError(f"X has {len(X)} rows but y has {len(target)}.")
    if task is not None and task not in METRICS:
        raise FselInputError(f"task must be classification or regression, got {task!r}.")
    return "data", X.reset_index(drop=True), target, task or infer_task(target)


def _encode_target(y: pd.Series, task: str, folds: int) -> tuple[np.ndarray, int]:
    """Class labels as 0..K-1 (or float targets) and K; refuse folds the data cannot fill."""
    if task == "regression":
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            raise FselInputError("the regression target has missing or non-numeric values.")
        if len(values) < folds:
            raise FselInputError(f"{len(values)} rows cannot fill {folds} folds.")
        # The smallest training fold leaves out ceil(n / folds) rows; selectors need two.
        smallest_training = len(values) - -(-len(values) // folds)
        if smallest_training < 2:
            advice = "more rows" if folds == 2 else "more rows or fewer folds"
            raise FselInputError(
                f"{len(values)} rows in {folds} folds leave {smallest_training} training row(s) "
                f"in a fold; selection needs at least 2: use {advice}."
            )
        return values, 0
    labels = y.astype(str).to_numpy()
    encoder = LabelEncoder().fit(labels)
    counts = pd.Series(labels).value_counts()
    if len(counts) < 2:
        raise FselInputError("the target has only one class; nothing to predict.")
    if counts.min() < folds:
        shown = ", ".join(f"{label!r} {count}" for label, count in counts.items())
        workable = int(counts.min())
        advice = (
            f"use --folds {workable} or fewer"
            if workable >= 2
            else "each class needs at least 2 rows"
        )
        raise FselInputError(
            f"stratified {folds}-fold cross-validation needs at least {folds} rows in every "
            f"class; rows per class: {shown}; {advice}."
        )
    return encoder.transform(labels), len(encoder.classes_)
