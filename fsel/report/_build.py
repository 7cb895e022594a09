"""Build the clinical-risk report: nested cross-validated risks, their statistics, and the files."""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import platform
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from fsel._io import atomic_directory
from fsel.data import Dataset, load_dataset
from fsel.exceptions import FselInputError
from fsel.report import _statistics as st

DEFAULT_COMPARE = ("lasso", "rf", "mi", "svm-rfe", "kan-si")
# AutoSelector runs a whole evaluation inside every training fold: fast selectors by default.
DEFAULT_CANDIDATES = ("lasso", "rf", "mi", "svm-rfe")
DEFAULT_LEVELS = (0.2, 0.4, 0.6)
# Text outcomes read as the positive class when the catalog names none (any case).
_POSITIVE_WORDS = ("1", "true", "yes", "y", "positive", "pos", "case", "event", "disease")
_PERMUTATIONS = 5


# --------------------------------------------------------------------------- outcome


def binary_outcome(dataset: Dataset, positive=None) -> tuple[np.ndarray, str, str]:
    """``(y01, positive label, negative label)`` for a binary outcome, or a one-line error.

    ``positive`` defaults to the catalog's positive class, else to an obvious label
    (``1``, ``yes``, ``true``, ...).
    """
    if dataset.task != "classification":
        raise FselInputError(
            f"target {dataset.target!r} is numeric ({dataset.task}); the report needs a binary outcome."
        )
    labels = sorted(pd.unique(dataset.y), key=str)
    if len(labels) != 2:
        shown = ", ".join(repr(str(label)) for label in labels[:10])
        raise FselInputError(
            f"target {dataset.target!r} has {len(labels)} classes ({shown}); "
            "the report needs a binary outcome."
        )
    text = {str(label): label for label in labels}
    if positive is None:
        positive = dataset.positive_label
        if positive is None:
            obvious = [label for label in text if label.strip().casefold() in _POSITIVE_WORDS]
            if len(obvious) != 1:
                raise FselInputError(
                    f"which outcome is positive? pass --positive with one of "
                    f"{', '.join(repr(label) for label in text)}."
                )
            positive = obvious[0]
    if str(positive) not in text:
        raise FselInputError(
            f"--positive {positive!r} is not a value of {dataset.target!r}; "
            f"its values are {', '.join(repr(label) for label in text)}."
        )
    negative = next(label for label in text if label != str(positive))
    y01 = (dataset.y.astype(str).to_numpy() == str(positive)).astype(int)
    return y01, str(positive), negative


# --------------------------------------------------------------------------- cross-validation


@contextlib.contextmanager
def _single_threaded():
    """One BLAS / OpenMP / torch thread: the same numbers on every run, whatever the machine.

    A KAN trained with several torch threads differs between runs in its last float32 digits.
    """
    from fsel.evaluation._runner import _torch_single_thread

    with threadpool_limits(limits=1), _torch_single_thread(True):
        yield


def _make_selection(selector: str, retention, model: str, candidates, seed: int):
    """The feature selector fitted inside each training fold: a named one, or AutoSelector."""
    if selector == "auto":
        from fsel.evaluation import AutoSelector

        return AutoSelector(
            selectors=list(candidates),
            retention=list(DEFAULT_LEVELS),
            estimators=[model],
            folds=3,
            task="classification",
            random_state=seed,
        )
    from fsel.evaluation._runner import configured_selector

    return configured_selector(selector, {"retention": retention}, seed, "classification")


def _fit_predict(X, y01, train, selection, model: str, seed: int):
    """Select on the training rows, fit the model on what is kept; return (selection, model, columns)."""
    from fsel.estimators import make_estimator

    X_train = X.iloc[train]
    selection.fit(X_train, y01[train])
    columns = list(X.columns[selection.get_support()])
    estimator = make_estimator(model, "classification", random_state=seed, n_jobs=1)
    estimator.fit(X_train[columns], y01[train])
    return selection, estimator, columns


def _positive_risk(estimator, X) -> np.ndarray:
    classes = list(estimator.classes_)
    return estimator.predict_proba(X)[:, classes.index(1)]


def _one_split(X, y01, split, selector, retention, model, candidates, seed, importances: bool):
    from fsel.evaluation._plan import derive_seed

    with _single_threaded():
        selection = _make_selection(
            selector, retention, model, candidates, derive_seed(seed, *split.key, "select")
        )
        selection, estimator, columns = _fit_predict(
            X, y01, split.train, selection, model, derive_seed(seed, *split.key, "model")
        )
        X_test = X.iloc[split.test][columns]
        risk = _positive_risk(estimator, X_test)
        drops = {}
        if importances and 0 < y01[split.test].sum() < len(split.test):
            rng = np.random.RandomState(derive_seed(seed, *split.key, "permute"))
            base = st.roc_auc(y01[split.test], risk)
            for column in columns:
                losses = []
                for _ in range(_PERMUTATIONS):
                    shuffled = X_test.copy()
                    shuffled[column] = rng.permutation(shuffled[column].to_numpy())
                    losses.append(
                        base - st.roc_auc(y01[split.test], _positive_risk(estimator, shuffled))
                    )
                drops[column] = float(np.mean(losses))
    choice = getattr(selection, "choice_", None)
    return {
        "key": split.key,
        "test": split.test,
        "risk": risk,
        "kept": columns,
        "importance": drops,
        "choice": None
        if choice is None
        else {"selector": choice["selector"], "retention": choice["retention"]},
    }


def cross_validated_risk(
    X: pd.DataFrame,
    y01: np.ndarray,
    *,
    selector: str,
    retention,
    model: str,
    candidates: Sequence[str],
    folds: int,
    repeats: int,
    seed: int,
    n_jobs: int | None = 1,
    importances: bool = True,
) -> dict:
    """Out-of-fold risks from repeated stratified CV, the selection refitted inside every training fold.

    Returns the risks per repeat (``risk``, shape ``(repeats, n)``), their mean over repeats
    (``pooled``, one held-out risk per patient), the kept features and permutation
    importances per fold, and (for ``selector="auto"``) each fold's choice.
    """
    from fsel.evaluation._plan import outer_splits

    splits = outer_splits(y01, "classification", folds, repeats, seed)
    arguments = (selector, retention, model, candidates, seed, importances)
    if n_jobs in (None, 1):
        results = [_one_split(X, y01, split, *arguments) for split in splits]
    else:
        results = Parallel(n_jobs=n_jobs)(
            delayed(_one_split)(X, y01, split, *arguments) for split in splits
        )
    risk = np.full((repeats, len(y01)), np.nan)
    for result in results:
        risk[result["key"][0], result["test"]] = result["risk"]
    return {
        "risk": risk,
        "pooled": risk.mean(axis=0),
        "folds": [
            {
                "repeat": result["key"][0],
                "fold": result["key"][1],
                "kept": result["kept"],
                "importance": result["importance"],
                "choice": result["choice"],
            }
            for result in results
        ],
    }


# --------------------------------------------------------------------------- sections


def _ci(statistic, y, p, n_resamples, seed) -> dict:
    ci = st.bootstrap_ci(statistic, y, p, n_resamples=n_resamples, random_state=seed)
    return {"estimate": ci["estimate"], "lower": ci["lower"], "upper": ci["upper"]}


def _cohort(dataset: Dataset, y01) -> dict:
    n_events = int(y01.sum())
    n_features = dataset.X.shape[1]
    return {
        "n": int(y01.size),
        "events": n_events,
        "non_events": int(y01.size - n_events),
        "prevalence": float(y01.mean()),
        "n_candidate_features": n_features,
        "events_per_candidate_feature": float(min(n_events, y01.size - n_events) / n_features),
        "table_one": st.table_one(dataset.raw, y01),
        "missingness": st.missingness(dataset.raw, y01),
        "complete_rows": int(dataset.raw.notna().all(axis=1).sum()),
        "dropped_columns": {str(k): str(v) for k, v in dataset.dropped.items()},
    }


def _selection(
    dataset, y01, *, selector, retention, model, compare, folds, repeats, seed, n_jobs, levels, cv
) -> dict:
    """Section 2: each compared selector's kept features, agreement, stability and retention curve."""
    from fsel.evaluation import RetentionEvaluator
    from fsel.evaluation._metrics import jaccard_stability

    evaluator = RetentionEvaluator(
        selectors=list(compare),
        retention=list(levels),
        estimators=[model],
        folds=folds,
        repeats=repeats,
        seed=seed,
        n_jobs=n_jobs,
    )
    # The evaluator stratifies on the outcome labels; give it the 0/1 outcome it is reported on.
    results = evaluator.run(
        dataset.X, pd.Series(np.where(y01 == 1, "positive", "negative")), task="classification"
    )
    summary = evaluator.summarize(results)
    curve = []
    for row in summary[summary["metric"].isin(["roc_auc", "f1_macro"])].itertuples():
        curve.append(
            {
                "selector": row.selector,
                "retention": float(row.retention),
                "n_selected": int(row.n_selected),
                "metric": row.metric,
                "mean": float(row.mean),
                "std": float(row.std),
                "jaccard": float(row.jaccard),
                "kuncheva": float(row.kuncheva),
                "redundancy": float(row.redundancy),
            }
        )
    # Each compared selector once more on every row, at the report's retention, for its kept list.
    kept = {}
    names = list(dict.fromkeys([*compare, *([] if selector == "auto" else [selector])]))
    for name in names:
        fitted = _make_selection(name, retention, model, (), seed).fit(dataset.X, y01)
        kept[name] = [str(c) for c in dataset.X.columns[fitted.get_support()]]
    agreement = [
        {"a": a, "b": b, "jaccard": jaccard_stability([frozenset(kept[a]), frozenset(kept[b])])}
        for index, a in enumerate(names)
        for b in names[index + 1 :]
    ]
    fold_sets = [frozenset(fold["kept"]) for fold in cv["folds"]]
    frequency = pd.Series([name for fold in cv["folds"] for name in fold["kept"]]).value_counts()
    return {
        "compared": names,
        "levels": [float(level) for level in levels],
        "kept": kept,
        "agreement": agreement,
        "retention_curve": curve,
        "model_folds": {
            "n_folds": len(fold_sets),
            "jaccard": jaccard_stability(fold_sets),
            "frequency": [
                {"feature": str(name), "folds": int(count), "share": float(count / len(fold_sets))}
                for name, count in frequency.items()
            ],
            "choices": [fold["choice"] for fold in cv["folds"] if fold["choice"] is not None],
        },
    }


def _discrimination(y01, p, risk, n_resamples, seed) -> dict:
    per_repeat = [st.roc_auc(y01, row) for row in risk]
    return {
        "roc_auc": _ci(st.roc_auc, y01, p, n_resamples, seed),
        "pr_auc": _ci(st.average_precision, y01, p, n_resamples, seed),
        "pr_baseline": float(y01.mean()),
        "roc_auc_per_repeat": per_repeat,
        "roc_curve": st.roc_curve(y01, p),
        "pr_curve": st.precision_recall_curve(y01, p),
    }


def _calibration(y01, p, n_resamples, seed) -> dict:
    counts_pos, edges = np.histogram(p[y01 == 1], bins=20, range=(0, 1))
    counts_neg, _ = np.histogram(p[y01 == 0], bins=20, range=(0, 1))
    return {
        "brier": _ci(st.brier_score, y01, p, n_resamples, seed),
        "scaled_brier": _ci(st.scaled_brier_score, y01, p, n_resamples, seed),
        "intercept": _ci(st.calibration_intercept, y01, p, n_resamples, seed),
        "slope": _ci(st.calibration_slope, y01, p, n_resamples, seed),
        "observed_expected": _ci(st.observed_expected_ratio, y01, p, n_resamples, seed),
        "curve": st.calibration_curve(y01, p),
        "deciles": st.risk_groups(y01, p, 10),
        "histogram": {
            "edges": edges.tolist(),
            "positive": counts_pos.tolist(),
            "negative": counts_neg.tolist(),
        },
    }


def _utility(y01, p, thresholds, n_resamples, seed) -> dict:
    youden = st.youden_threshold(y01, p)
    points = [("Youden", youden)] + [(f"{t:g}", float(t)) for t in thresholds]
    return {
        "youden_threshold": youden,
        "decision_curve": st.decision_curve(y01, p),
        "thresholds": st.threshold_table(
            y01, p, points, n_resamples=n_resamples, random_state=seed
        ),
        "risk_groups": st.risk_groups(y01, p, 10),
    }


def _subgroups(dataset, y01, p, groups, threshold, n_resamples, seed) -> list[dict]:
    sections = []
    for column in groups:
        labels = st.group_labels(dataset.raw[column])
        result = st.subgroup_metrics(
            y01, p, labels, threshold, n_resamples=n_resamples, random_state=seed
        )
        sections.append({"column": column, "threshold": threshold, **result})
    return sections


def _importance(cv, feature_names, n_resamples, seed) -> list[dict]:
    """Permutation importance (AUC lost on the test fold) per feature, 0 in folds that did not keep it."""
    table = np.array(
        [[fold["importance"].get(name, 0.0) for name in feature_names] for fold in cv["folds"]]
    )
    rng = np.random.RandomState(seed)
    draws = np.array(
        [table[rng.randint(0, len(table), len(table))].mean(axis=0) for _ in range(n_resamples)]
    )
    lower, upper = np.percentile(draws, [2.5, 97.5], axis=0)
    rows = [
        {
            "feature": str(name),
            "estimate": float(table[:, index].mean()),
            "lower": float(lower[index]),
            "upper": float(upper[index]),
            "kept_share": float(np.mean([name in fold["kept"] for fold in cv["folds"]])),
        }
        for index, name in enumerate(feature_names)
    ]
    return sorted(rows, key=lambda row: (-row["estimate"], row["feature"]))


def _shape_functions(
    dataset, y01, features, final_model, final_columns, seed, n_points=30
) -> dict:
    """Each top feature's effect on the risk: the learned KAN univariate function when a KAN
    selector is available, else the partial dependence of the final model (log-odds, centred)."""
    kan = _kan_functions(dataset, y01, features, seed, n_points)
    if kan is not None:
        return kan
    X = dataset.X[final_columns]
    curves = []
    for feature in features:
        if feature not in final_columns:
            continue
        values = dataset.X[feature].dropna().to_numpy()
        grid = np.unique(np.percentile(values, np.linspace(5, 95, n_points)))
        effect = []
        for value in grid:
            changed = X.copy()
            changed[feature] = value
            effect.append(float(np.mean(st.logit(_positive_risk(final_model, changed)))))
        effect = np.asarray(effect)
        curves.append(
            {"feature": feature, "x": grid.tolist(), "y": (effect - effect.mean()).tolist()}
        )
    return {
        "source": "partial_dependence",
        "note": "No KAN selector is available in this installation, so each curve is the partial "
        "dependence of the final model (mean log-odds of risk, centred) instead of a learned KAN function.",
        "curves": curves,
    }


def _kan_functions(dataset, y01, features, seed, n_points) -> dict | None:
    """The learned univariate KAN functions of ``features``, from the network of a KAN
    selector fitted on every row; None when this installation has no KAN selector."""
    try:
        from fsel.kan import learned_functions
        from fsel.selectors import make_selector

        selector = make_selector("kan-si", task="classification", random_state=seed)
    except (ImportError, KeyError):
        return None
    columns = [str(c) for c in dataset.X.columns]
    chosen = [feature for feature in features if feature in columns]
    if not chosen:
        return None
    with _single_threaded():
        selector.fit(dataset.X, y01)
        # Each curve over the 5th to 95th percentile of its feature, where the data are.
        grid = np.column_stack(
            [
                np.percentile(dataset.X[name].dropna(), np.linspace(5, 95, n_points))
                for name in chosen
            ]
        )
        curves = learned_functions(
            selector.model_, [columns.index(name) for name in chosen], grid=grid
        )
    return {
        "source": "kan",
        "note": "Learned functions of a KAN (the kan-si selector's network, fitted on every row): "
        "each curve is the sum of the feature's first-layer edge functions, on the network's "
        "internal scale; read its shape (rising, falling, U-shaped, flat), not its units.",
        "curves": [
            {
                "feature": name,
                "x": curves.x[:, index].tolist(),
                "y": curves.values[:, index].tolist(),
            }
            for index, name in enumerate(chosen)
        ],
    }


def _windows(windows, dataset, positive, options, n_resamples) -> list[dict]:
    rows = []
    for name, source in windows.items():
        window = load_dataset(source, target=dataset.target)
        y01, _, _ = binary_outcome(window, positive)
        cv = cross_validated_risk(window.X, y01, importances=False, **options)
        p = cv["pooled"]
        youden = st.youden_threshold(y01, p)
        final = _make_selection(
            options["selector"],
            options["retention"],
            options["model"],
            options["candidates"],
            options["seed"],
        )
        final.fit(window.X, y01)
        rows.append(
            {
                "window": name,
                "source": Path(str(source)).name,
                "n": int(y01.size),
                "events": int(y01.sum()),
                "roc_auc": _ci(st.roc_auc, y01, p, n_resamples, options["seed"]),
                "f1": float(st.threshold_metrics(y01, p, youden)[4]),
                "brier": _ci(st.brier_score, y01, p, n_resamples, options["seed"]),
                "kept": [str(c) for c in window.X.columns[final.get_support()]],
            }
        )
    if rows:
        best = max(range(len(rows)), key=lambda i: rows[i]["roc_auc"]["estimate"])
        for index, row in enumerate(rows):
            row["best"] = index == best
    return rows


# --------------------------------------------------------------------------- TRIPOD+AI


def _tripod(report: dict) -> list[dict]:
    """TRIPOD+AI items this report fills (with the section), and those left to the authors."""
    meta = report["meta"]
    cohort = report["cohort"]
    filled = [
        (
            "7",
            "Data preparation",
            "cohort",
            f"{len(cohort['dropped_columns'])} columns dropped (reasons listed); text columns one-hot or 0/1 encoded; median imputation inside each training fold.",
        ),
        (
            "9",
            "Predictors and their selection",
            "selection",
            (
                f"AutoSelector (candidates {', '.join(meta['candidates'])}) "
                if meta["selector"] == "auto"
                else f"Selector {meta['selector']} (retention {meta['retention']}) "
            )
            + f"refitted inside every training fold; {len(report['selection']['compared'])} "
            "selectors compared.",
        ),
        (
            "10",
            "Sample size",
            "cohort",
            f"n = {cohort['n']}, {cohort['events']} events, {cohort['events_per_candidate_feature']:.1f} events per candidate feature.",
        ),
        (
            "11",
            "Missing data",
            "cohort",
            f"{cohort['complete_rows']} complete rows; missingness per variable and by outcome; median imputation learnt on training folds only.",
        ),
        (
            "12a",
            "Validation design",
            "discrimination",
            f"Stratified {meta['folds']}-fold cross-validation repeated {meta['repeats']} times, "
            "selection nested in every training fold.",
        ),
        (
            "12c",
            "Model and tuning",
            "selection",
            f"Model card {meta['model']} with its fixed parameters; no hyper-parameter tuning.",
        ),
        (
            "12e",
            "Performance measures",
            "discrimination",
            "ROC AUC, PR AUC, Brier and scaled Brier, calibration intercept and slope, O/E, net benefit; stratified bootstrap 95 % CIs.",
        ),
        (
            "13",
            "Class imbalance",
            "cohort",
            f"Prevalence {cohort['prevalence']:.1%}; no resampling; thresholds chosen on the risk scale.",
        ),
        (
            "14",
            "Fairness",
            "subgroups",
            "Subgroup AUC, TPR, FPR and PPV gaps at the Youden threshold; groups under 20 events flagged.",
        ),
        (
            "15",
            "Thresholds",
            "utility",
            "Youden threshold and user thresholds with sensitivity, specificity, PPV, NPV, F1, LR+/LR-.",
        ),
        (
            "18e",
            "Software and seeds",
            "appendix",
            f"fsel {meta['software'].get('fsel')}, seed {meta['seed']}; versions listed below.",
        ),
        (
            "20a",
            "Participant flow",
            "cohort",
            f"{meta['n_missing_target']} rows without an outcome left out; {cohort['n']} analysed.",
        ),
        ("20b", "Participant characteristics", "cohort", "Table 1 by outcome."),
        (
            "21",
            "Numbers in each analysis",
            "cohort",
            "n and events overall, per subgroup and per window.",
        ),
        (
            "22",
            "Model specification",
            "explanations",
            "Kept features, permutation importances and shape functions; the fitted model is not exported.",
        ),
        (
            "23a",
            "Performance with CIs, overall and by subgroup",
            "discrimination",
            "Overall and per-subgroup estimates with 95 % CIs.",
        ),
        (
            "23b",
            "Heterogeneity across windows",
            "windows",
            f"{len(report['windows'])} observation windows compared."
            if report["windows"]
            else "No windows given.",
        ),
    ]
    authors = [
        ("1", "Title"),
        ("2", "Abstract"),
        ("3", "Background and rationale"),
        ("4", "Objectives"),
        ("5", "Data sources and setting"),
        ("6", "Participants and eligibility"),
        ("8", "Outcome definition and its timing"),
        ("16", "Evaluation of model output, intended use"),
        ("17", "Ethical approval and consent"),
        ("18a-d", "Open science: funding, conflicts, protocol, registration"),
        ("19", "Patient and public involvement"),
        ("24", "Model updating"),
        ("25", "Interpretation"),
        ("26", "Limitations"),
        ("27", "Usability in the intended setting"),
    ]
    return [
        {"item": item, "topic": topic, "section": section, "status": "filled", "detail": detail}
        for item, topic, section, detail in filled
    ] + [
        {
            "item": item,
            "topic": topic,
            "section": None,
            "status": "to be completed",
            "detail": "For the authors.",
        }
        for item, topic in authors
    ]


# --------------------------------------------------------------------------- entry points


def _software() -> dict:
    versions = {"python": platform.python_version()}
    # Distribution names; XGBoost's CPU-only wheel is published as xgboost-cpu.
    for package, distributions in (
        ("fsel", ("fsel",)),
        ("numpy", ("numpy",)),
        ("pandas", ("pandas",)),
        ("scikit-learn", ("scikit-learn",)),
        ("lightgbm", ("lightgbm",)),
        ("xgboost", ("xgboost", "xgboost-cpu")),
        ("torch", ("torch",)),
        ("matplotlib", ("matplotlib",)),
    ):
        versions[package] = None
        for distribution in distributions:
            try:
                versions[package] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def _check_groups(dataset: Dataset, groups) -> list[str]:
    chosen = list(dict.fromkeys(groups if groups else dataset.groups))
    columns = [str(c) for c in dataset.raw.columns]
    for column in chosen:
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else "."
            raise FselInputError(f"--group {column!r} is not a feature column{hint}")
    return chosen


def build_report(
    data: Dataset | str | Path,
    *,
    target: str | None = None,
    positive=None,
    groups: Sequence[str] | None = None,
    selector: str = "auto",
    retention: float | int = 0.4,
    model: str = "linear",
    compare: Sequence[str] = DEFAULT_COMPARE,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    levels: Sequence[float | int] = DEFAULT_LEVELS,
    windows: Mapping[str, str | Path] | None = None,
    thresholds: Sequence[float] = (),
    folds: int = 5,
    repeats: int = 2,
    bootstrap: int = 1000,
    top_features: int = 6,
    seed: int = 0,
    n_jobs: int | None = 1,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Every number of the clinical-risk report for a binary outcome, as a JSON-ready dict.

    All performance is out-of-fold: ``repeats`` x stratified ``folds``-fold
    cross-validation, the feature selection (``selector``, or ``"auto"`` for
    :class:`fsel.evaluation.AutoSelector` choosing among ``candidates``) refitted inside every
    training fold; each patient's risk is the mean of their held-out risks over the
    repeats. Intervals are stratified-bootstrap 95 % percentile intervals with
    ``bootstrap`` resamples. The same ``seed`` gives the same numbers.

    Parameters
    ----------
    data : Dataset, str or path
        A :class:`fsel.data.Dataset`, a bundled dataset's name or a table file.
    target : str, optional
        The outcome column (when ``data`` is not a Dataset).
    positive : optional
        The positive outcome label; default the catalog's, else an obvious one (1, yes, true).
    groups : sequence of str, optional
        Columns to report subgroups on (numeric ones in quartiles); default the catalog's.
    selector : str, default="auto"
        A registered selector name, or ``"auto"``.
    retention : float or int, default=0.4
        Features kept by a named selector (fraction or count).
    model : str, default="linear"
        Downstream-model card.
    compare : sequence of str
        Selectors compared in the feature-selection section.
    candidates : sequence of str
        The selectors AutoSelector chooses among (``selector="auto"``).
    levels : sequence of float or int
        Retention levels of the retention curve (and AutoSelector's candidates).
    windows : mapping of str to path, optional
        Observation windows of the same cohort: name -> table with the same outcome column.
    thresholds : sequence of float
        Risk thresholds reported beside the Youden threshold.
    folds, repeats, bootstrap, top_features, seed, n_jobs
        Cross-validation folds and repeats, bootstrap resamples, features explained,
        the root seed, parallel jobs.
    progress : callable, optional
        Called with a short description of each long step as it starts.

    Returns
    -------
    dict
        Sections ``meta``, ``cohort``, ``selection``, ``discrimination``, ``calibration``,
        ``utility``, ``subgroups``, ``explanations``, ``windows``, ``tripod`` and the
        per-patient ``predictions``.
    """
    with _single_threaded():
        return _build_report(**locals())


def _build_report(
    data,
    *,
    target,
    positive,
    groups,
    selector,
    retention,
    model,
    compare,
    candidates,
    levels,
    windows,
    thresholds,
    folds,
    repeats,
    bootstrap,
    top_features,
    seed,
    n_jobs,
    progress,
) -> dict:
    from fsel.selectors import selector_names

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    dataset = data if isinstance(data, Dataset) else load_dataset(data, target=target)
    known = selector_names()
    for name in [*compare, *candidates, *([] if selector == "auto" else [selector])]:
        if name not in known:
            raise FselInputError(
                f"unknown selector {name!r}; choose from auto, {', '.join(known)}."
            )
    for threshold in thresholds:
        if not 0 < threshold < 1:
            raise FselInputError(
                f"threshold {threshold!r} is not a risk strictly between 0 and 1."
            )
    if not isinstance(folds, int) or folds < 2 or not isinstance(repeats, int) or repeats < 1:
        raise FselInputError(f"need --folds >= 2 and --repeats >= 1, got {folds} and {repeats}.")
    if bootstrap < 10:
        raise FselInputError(f"--bootstrap {bootstrap} is too few resamples; use at least 200.")
    y01, positive_label, negative_label = binary_outcome(dataset, positive)
    group_columns = _check_groups(dataset, groups)
    smallest = int(min(y01.sum(), y01.size - y01.sum()))
    if smallest < folds:
        raise FselInputError(
            f"{folds}-fold stratified cross-validation needs {folds} patients in each outcome; "
            f"the smaller one has {smallest}."
        )
    options = {
        "selector": selector,
        "retention": retention,
        "model": model,
        "candidates": tuple(candidates),
        "folds": folds,
        "repeats": repeats,
        "seed": seed,
        "n_jobs": n_jobs,
    }
    step(f"cross-validating {selector} + {model} ({repeats} x {folds} folds)")
    cv = cross_validated_risk(dataset.X, y01, **options)
    p = cv["pooled"]

    final = _make_selection(selector, retention, model, candidates, seed)
    final, final_model, final_columns = _fit_predict(
        dataset.X, y01, np.arange(y01.size), final, model, seed
    )
    final_choice = getattr(final, "choice_", None)

    step(f"comparing selectors {', '.join(compare)} at retention {', '.join(map(str, levels))}")
    selection = _selection(
        dataset,
        y01,
        levels=levels,
        cv=cv,
        compare=compare,
        **{key: value for key, value in options.items() if key != "candidates"},
    )
    step("statistics and bootstrap intervals")
    importance = _importance(cv, [str(c) for c in dataset.X.columns], bootstrap, seed)
    top = [row["feature"] for row in importance if row["estimate"] > 0][
        :top_features
    ] or final_columns[:top_features]

    report = {
        "meta": {
            "dataset": dataset.name,
            "target": dataset.target,
            "positive": positive_label,
            "negative": negative_label,
            "n_missing_target": int(dataset.n_missing_target),
            "selector": selector,
            "retention": retention,
            "model": model,
            "compare": list(compare),
            "candidates": list(candidates),
            "groups": group_columns,
            "thresholds": [float(t) for t in thresholds],
            "folds": folds,
            "repeats": repeats,
            "bootstrap": bootstrap,
            "seed": seed,
            "final_features": [str(c) for c in final_columns],
            "final_choice": None
            if final_choice is None
            else {
                key: final_choice[key]
                for key in ("selector", "retention", "n_selected", "metric", "mean")
            },
            "software": _software(),
        },
        "cohort": _cohort(dataset, y01),
        "selection": selection,
        "discrimination": _discrimination(y01, p, cv["risk"], bootstrap, seed),
        "calibration": _calibration(y01, p, bootstrap, seed),
    }
    report["utility"] = _utility(y01, p, thresholds, bootstrap, seed)
    report["subgroups"] = _subgroups(
        dataset, y01, p, group_columns, report["utility"]["youden_threshold"], bootstrap, seed
    )
    report["explanations"] = {
        "importance": importance,
        "top_features": top,
        "functions": _shape_functions(dataset, y01, top, final_model, final_columns, seed),
    }
    if windows:
        step(f"{len(windows)} observation windows")
    report["windows"] = _windows(dict(windows or {}), dataset, positive_label, options, bootstrap)
    report["tripod"] = _tripod(report)
    report["predictions"] = {"outcome": y01.tolist(), "risk": p.tolist()}
    return _plain(report)


def _plain(value):
    """``value`` with NumPy scalars as Python numbers and NaN / infinity as None (valid JSON)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def write_report(out_dir: str | Path, report: dict) -> Path:
    """Write ``report.json`` and the self-contained ``report.html`` into ``out_dir``, all or nothing."""
    from fsel.report._figures import render_figures
    from fsel.report._template import render_html

    figures = render_figures(report)
    page = render_html(report, figures)
    payload = json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False)
    with atomic_directory(out_dir) as folder:
        (folder / "report.json").write_text(payload + "\n", encoding="utf-8")
        (folder / "report.html").write_text(page, encoding="utf-8")
    return Path(out_dir)
