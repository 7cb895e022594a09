"""Statistics of a binary risk model's out-of-fold predictions: discrimination, calibration, utility."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

# Predicted risks are kept this far from 0 and 1 before taking logits, so that a model
# that answers exactly 0 or 1 (a tree ensemble) still has a finite calibration fit.
RISK_EPSILON = 1e-6
# Subgroups with fewer events than this give estimates too noisy to compare (Riley et al.).
UNSTABLE_EVENTS = 20


def _as_arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in length ({y.size} and {p.size}).")
    return y, p


def logit(p) -> np.ndarray:
    """Log-odds of ``p``, with ``p`` clipped to [1e-6, 1 - 1e-6]."""
    p = np.clip(np.asarray(p, dtype=float), RISK_EPSILON, 1 - RISK_EPSILON)
    return np.log(p / (1 - p))


# --------------------------------------------------------------------------- discrimination


def roc_auc(y, p) -> float:
    """Area under the ROC curve: the probability that a random case outranks a random control.

    Computed from ranks (the Mann-Whitney statistic), ties counting one half. NaN when
    ``y`` holds a single class.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, p = _as_arrays(y, p)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _operating_points(y: np.ndarray, p: np.ndarray):
    """Cumulative true and false positives when every risk >= each distinct threshold is called positive."""
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    last_of_tie = np.r_[np.diff(p_sorted) != 0, True]
    true_positives = np.cumsum(y_sorted)[last_of_tie]
    false_positives = np.cumsum(1 - y_sorted)[last_of_tie]
    return p_sorted[last_of_tie], true_positives, false_positives


def roc_curve(y, p) -> dict[str, list[float]]:
    """ROC curve: false- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    y, p = _as_arrays(y, p)
    thresholds, tp, fp = _operating_points(y, p)
    return {
        "fpr": np.r_[0.0, fp / max(fp[-1], 1)].tolist(),
        "tpr": np.r_[0.0, tp / max(tp[-1], 1)].tolist(),
        "threshold": np.r_[np.inf, thresholds].tolist(),
    }


def precision_recall_curve(y, p) -> dict[str, list[float]]:
    """Precision against recall at every distinct threshold, highest threshold first."""
    y, p = _as_arrays(y, p)
    thresholds, tp, fp = _operating_points(y, p)
    return {
        "recall": (tp / max(tp[-1], 1)).tolist(),
        "precision": (tp / (tp + fp)).tolist(),
        "threshold": thresholds.tolist(),
    }


def average_precision(y, p) -> float:
    """Area under the precision-recall curve as a step function (average precision).

    Its no-skill baseline is the prevalence, not 0.5.

    >>> round(average_precision([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.3]), 4)
    0.8333
    """
    y, p = _as_arrays(y, p)
    if y.sum() == 0:
        return float("nan")
    _, tp, fp = _operating_points(y, p)
    recall = tp / tp[-1]
    precision = tp / (tp + fp)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --------------------------------------------------------------------------- bootstrap


def stratified_bootstrap_indices(
    y, n_resamples: int, random_state: int | np.random.RandomState | None = 0
):
    """Yield ``n_resamples`` index arrays, each resampling cases and controls separately.

    Keeping the number of events fixed keeps every resample's prevalence that of the data,
    so no resample lacks a class and AUC is always defined.
    """
    y = np.asarray(y).ravel()
    rng = (
        random_state
        if isinstance(random_state, np.random.RandomState)
        else np.random.RandomState(random_state)
    )
    strata = [np.flatnonzero(y == label) for label in np.unique(y)]
    for _ in range(n_resamples):
        yield np.concatenate([rng.choice(members, size=members.size) for members in strata])


def bootstrap_ci(
    statistic: Callable[[np.ndarray, np.ndarray], float | np.ndarray],
    y,
    p,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    random_state: int | None = 0,
) -> dict[str, float | np.ndarray]:
    """Point estimate and stratified-bootstrap percentile interval of ``statistic(y, p)``.

    ``statistic`` may return one number or an array of numbers (each gets its own
    interval). Resamples where the statistic is undefined (NaN) are left out.

    Returns
    -------
    dict
        ``estimate``, ``lower``, ``upper`` (floats, or arrays like the statistic's value)
        and ``n_resamples``.

    >>> ci = bootstrap_ci(roc_auc, [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9],
    ...                   n_resamples=200)
    >>> ci["lower"] <= ci["estimate"] <= ci["upper"]
    True
    """
    y, p = _as_arrays(y, p)
    estimate = np.asarray(statistic(y, p), dtype=float)
    draws = np.array(
        [
            np.asarray(statistic(y[rows], p[rows]), dtype=float)
            for rows in stratified_bootstrap_indices(y, n_resamples, random_state)
        ]
    ).reshape(n_resamples, *estimate.shape)
    tail = 100 * (1 - level) / 2
    with np.errstate(all="ignore"):
        finite = np.where(np.isfinite(draws), draws, np.nan)
        all_missing = np.all(np.isnan(finite), axis=0)
        filled = np.where(all_missing, 0.0, finite)
        lower = np.where(all_missing, np.nan, np.nanpercentile(filled, tail, axis=0))
        upper = np.where(all_missing, np.nan, np.nanpercentile(filled, 100 - tail, axis=0))
    if estimate.ndim == 0:
        return {
            "estimate": float(estimate),
            "lower": float(lower),
            "upper": float(upper),
            "n_resamples": n_resamples,
        }
    return {"estimate": estimate, "lower": lower, "upper": upper, "n_resamples": n_resamples}


# --------------------------------------------------------------------------- calibration


def brier_score(y, p) -> float:
    """Mean squared difference between outcome (0/1) and predicted risk.

    >>> round(brier_score([0, 1], [0.2, 0.6]), 4)
    0.1
    """
    y, p = _as_arrays(y, p)
    return float(np.mean((p - y) ** 2))


def scaled_brier_score(y, p) -> float:
    """``1 - Brier / Brier of always predicting the prevalence``: 1 perfect, 0 no better than that."""
    y, p = _as_arrays(y, p)
    prevalence = y.mean()
    reference = prevalence * (1 - prevalence)
    return float("nan") if reference == 0 else float(1 - brier_score(y, p) / reference)


def observed_expected_ratio(y, p) -> float:
    """Observed events divided by the sum of predicted risks (1 = right on average)."""
    y, p = _as_arrays(y, p)
    return float(y.sum() / p.sum())


def _logistic_newton(
    design: np.ndarray, y: np.ndarray, offset: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood coefficients of ``y ~ design`` with a fixed ``offset``, by Newton steps.

    Returns ``(coefficients, converged)``. Steps are halved while the likelihood falls,
    so the fit stays stable when the outcome is nearly separated by the predictor.
    """
    beta = np.zeros(design.shape[1])

    def log_likelihood(b):
        eta = offset + design @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    current = log_likelihood(beta)
    for _ in range(max_iter):
        eta = offset + design @ beta
        mu = 1 / (1 + np.exp(-eta))
        gradient = design.T @ (y - mu)
        hessian = design.T @ (design * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return beta, False
        scale = 1.0
        while scale > 1e-10:
            candidate = beta + scale * step
            value = log_likelihood(candidate)
            if value >= current - 1e-12:
                break
            scale /= 2
        beta, previous, current = candidate, current, value
        if np.max(np.abs(scale * step)) < 1e-9 or abs(current - previous) < 1e-12:
            return beta, True
    return beta, False


def calibration_intercept(y, p) -> float:
    """Calibration-in-the-large: the intercept of ``logit(y) ~ offset(logit p)``.

    0 when the predicted risks are right on average; above 0 when they are too low.
    """
    y, p = _as_arrays(y, p)
    beta, _ = _logistic_newton(np.ones((y.size, 1)), y, logit(p))
    return float(beta[0])


def calibration_slope(y, p) -> float:
    """Calibration slope: the coefficient of ``logit p`` in the logistic fit ``y ~ a + b logit p``.

    1 ideal; below 1 the predicted risks are too extreme (overfitting), above 1 too modest.
    NaN when the risk separates the outcome completely (every case above every control),
    where no finite slope maximises the likelihood.
    """
    y, p = _as_arrays(y, p)
    if y.min() == y.max() or p[y == 0].max() <= p[y == 1].min():
        return float("nan")  # the likelihood keeps rising as the slope grows: no estimate
    design = np.column_stack([np.ones(y.size), logit(p)])
    beta, converged = _logistic_newton(design, y, np.zeros(y.size))
    return float(beta[1]) if converged else float("nan")


def lowess(x, y, grid, frac: float = 2 / 3) -> np.ndarray:
    """Locally weighted linear regression of ``y`` on ``x``, evaluated at ``grid``.

    Each grid point uses the ``frac`` share of observations nearest to it, weighted by
    the tricube of their distance (Cleveland's lowess without the robustness passes,
    which would down-weight the very 0/1 outcomes a calibration curve is made of).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.asarray(grid, dtype=float)
    n_near = min(x.size, max(int(np.ceil(frac * x.size)), 3))
    fitted = np.empty(grid.size)
    for index, point in enumerate(grid):
        distance = np.abs(x - point)
        radius = np.partition(distance, n_near - 1)[n_near - 1]
        radius = radius if radius > 0 else 1.0
        weight = np.clip(1 - (distance / (radius * 1.0000001)) ** 3, 0, None) ** 3
        total = weight.sum()
        x_mean = np.sum(weight * x) / total
        y_mean = np.sum(weight * y) / total
        spread = np.sum(weight * (x - x_mean) ** 2)
        slope = np.sum(weight * (x - x_mean) * (y - y_mean)) / spread if spread > 1e-12 else 0.0
        fitted[index] = y_mean + slope * (point - x_mean)
    return fitted


def calibration_curve(y, p, n_points: int = 50, frac: float = 2 / 3) -> dict[str, list[float]]:
    """A lowess-smoothed calibration curve (observed against predicted risk), clipped to [0, 1].

    The curve spans the 1st to 99th percentile of the predicted risks, where data support it.
    """
    y, p = _as_arrays(y, p)
    low, high = np.percentile(p, [1, 99])
    grid = np.linspace(low, high, n_points) if high > low else np.array([low])
    return {
        "predicted": grid.tolist(),
        "observed": np.clip(lowess(p, y, grid, frac), 0, 1).tolist(),
    }


def risk_groups(y, p, n_groups: int = 10) -> list[dict]:
    """Patients ordered by predicted risk and cut into ``n_groups`` equal-size groups (deciles).

    Each group: its rank (1 = lowest risk), n, events, observed rate, mean predicted risk,
    and the range of predicted risks.
    """
    y, p = _as_arrays(y, p)
    order = np.argsort(p, kind="stable")
    rows = []
    for rank, members in enumerate(np.array_split(order, min(n_groups, y.size)), start=1):
        rows.append(
            {
                "group": rank,
                "n": int(members.size),
                "events": int(y[members].sum()),
                "observed": float(y[members].mean()),
                "predicted": float(p[members].mean()),
                "min_risk": float(p[members].min()),
                "max_risk": float(p[members].max()),
            }
        )
    return rows


# --------------------------------------------------------------------------- thresholds and utility


def net_benefit(y, p, thresholds) -> np.ndarray:
    """Net benefit of treating patients whose risk is at least each threshold ``pt``.

    ``NB(pt) = TP / n - FP / n * pt / (1 - pt)``: true positives, less false positives
    weighted by the odds at which a clinician is indifferent between treating or not.

    >>> net_benefit([1, 0, 1, 0], [0.9, 0.6, 0.4, 0.1], [0.5]).round(4).tolist()
    [0.0]
    """
    y, p = _as_arrays(y, p)
    thresholds = np.asarray(thresholds, dtype=float)
    treated = p[None, :] >= thresholds[:, None]
    true_positives = (treated & (y[None, :] == 1)).sum(axis=1)
    false_positives = (treated & (y[None, :] == 0)).sum(axis=1)
    return true_positives / y.size - false_positives / y.size * thresholds / (1 - thresholds)


def net_benefit_treat_all(prevalence: float, thresholds) -> np.ndarray:
    """Net benefit of treating everyone: ``prevalence - (1 - prevalence) * pt / (1 - pt)``."""
    thresholds = np.asarray(thresholds, dtype=float)
    return prevalence - (1 - prevalence) * thresholds / (1 - thresholds)


def decision_curve(y, p, thresholds=None) -> dict[str, list[float]]:
    """Net benefit of the model, of treating all and of treating none over ``thresholds``."""
    y, p = _as_arrays(y, p)
    if thresholds is None:
        thresholds = np.round(np.arange(0.01, 0.991, 0.01), 2)
    thresholds = np.asarray(thresholds, dtype=float)
    return {
        "threshold": thresholds.tolist(),
        "model": net_benefit(y, p, thresholds).tolist(),
        "treat_all": net_benefit_treat_all(float(y.mean()), thresholds).tolist(),
        "treat_none": np.zeros(thresholds.size).tolist(),
    }


def youden_threshold(y, p) -> float:
    """The risk threshold maximising sensitivity + specificity - 1 (Youden's J).

    Patients at or above the threshold are called positive; ties go to the higher threshold.
    """
    y, p = _as_arrays(y, p)
    thresholds, tp, fp = _operating_points(y, p)
    youden = tp / max(tp[-1], 1) - fp / max(fp[-1], 1)
    return float(thresholds[int(np.argmax(youden))])


THRESHOLD_METRICS = (
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "lr_positive",
    "lr_negative",
)


def threshold_metrics(y, p, threshold: float) -> np.ndarray:
    """Sensitivity, specificity, PPV, NPV, F1, LR+ and LR- (in :data:`THRESHOLD_METRICS` order)
    when risks at or above ``threshold`` are called positive. Undefined ratios are NaN."""
    y, p = _as_arrays(y, p)
    called = p >= threshold
    tp = float(np.sum(called & (y == 1)))
    fp = float(np.sum(called & (y == 0)))
    fn = float(np.sum(~called & (y == 1)))
    tn = float(np.sum(~called & (y == 0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = np.divide(tp, tp + fn)
        specificity = np.divide(tn, tn + fp)
        ppv = np.divide(tp, tp + fp)
        npv = np.divide(tn, tn + fn)
        f1 = np.divide(2 * tp, 2 * tp + fp + fn)
        lr_positive = np.divide(sensitivity, 1 - specificity)
        lr_negative = np.divide(1 - sensitivity, specificity)
    return np.array(
        [sensitivity, specificity, ppv, npv, f1, lr_positive, lr_negative], dtype=float
    )


def threshold_table(
    y, p, thresholds: Sequence[tuple[str, float]], *, n_resamples: int = 1000, random_state=0
) -> list[dict]:
    """One row per ``(label, threshold)``: the threshold metrics with bootstrap 95 % intervals,
    and how many patients it calls positive."""
    y, p = _as_arrays(y, p)
    rows = []
    for label, threshold in thresholds:
        ci = bootstrap_ci(
            lambda yy, pp, t=threshold: threshold_metrics(yy, pp, t),
            y,
            p,
            n_resamples=n_resamples,
            random_state=random_state,
        )
        row = {
            "label": label,
            "threshold": float(threshold),
            "n_positive": int(np.sum(p >= threshold)),
        }
        for position, name in enumerate(THRESHOLD_METRICS):
            row[name] = {
                "estimate": float(ci["estimate"][position]),
                "lower": float(ci["lower"][position]),
                "upper": float(ci["upper"][position]),
            }
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- subgroups


def group_labels(values: pd.Series, n_bins: int = 4) -> pd.Series:
    """Subgroup labels for one column: numeric columns of more than ``n_bins`` values in
    quartile-style bins (``Q1 [20, 45]``), other columns by value; missing as ``missing``."""
    numeric = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    if numeric[present].notna().all() and numeric[present].nunique() > n_bins:
        ranks = numeric.rank(method="first")
        codes = pd.qcut(ranks[present], n_bins, labels=False)
        labels = pd.Series("missing", index=values.index, dtype=object)
        for code in range(n_bins):
            inside = numeric[present][codes == code]
            labels.loc[inside.index] = f"Q{code + 1} [{inside.min():.4g}, {inside.max():.4g}]"
        return labels
    text = values.map(lambda value: _format_level(value)).astype(object)
    return text.where(present, "missing")


def _format_level(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def subgroup_metrics(
    y,
    p,
    groups: pd.Series,
    threshold: float,
    *,
    n_resamples: int = 1000,
    random_state=0,
    min_events: int = UNSTABLE_EVENTS,
) -> dict:
    """Per-subgroup performance at ``threshold`` and the gaps between subgroups.

    Returns ``{"rows": [...], "gaps": {...}}``. Each row: the group's label, n, events,
    prevalence, AUC with bootstrap interval, TPR, FPR and PPV at the threshold, and
    ``unstable`` when it has fewer than ``min_events`` events (or non-events). The gaps are
    the largest minus the smallest TPR, FPR and PPV over the stable groups (all groups
    when none is stable), and the equalised-odds difference, the larger of the TPR and FPR gaps.
    """
    y, p = _as_arrays(y, p)
    labels = pd.Series(np.asarray(groups, dtype=object))
    rows = []
    for label in sorted(labels.unique(), key=_level_sort_key):
        members = (labels == label).to_numpy()
        yy, pp = y[members], p[members]
        events = int(yy.sum())
        metrics = threshold_metrics(yy, pp, threshold)
        if 0 < events < yy.size:
            auc = bootstrap_ci(roc_auc, yy, pp, n_resamples=n_resamples, random_state=random_state)
            auc.pop("n_resamples")
        else:
            auc = {"estimate": float("nan"), "lower": float("nan"), "upper": float("nan")}
        rows.append(
            {
                "group": str(label),
                "n": int(yy.size),
                "events": events,
                "prevalence": float(yy.mean()),
                "auc": auc,
                "tpr": float(metrics[0]),
                "fpr": float(1 - metrics[1]),
                "ppv": float(metrics[2]),
                "unstable": bool(min(events, yy.size - events) < min_events),
            }
        )
    compared = [row for row in rows if not row["unstable"]] or rows
    gaps = {}
    for name in ("tpr", "fpr", "ppv"):
        values = [row[name] for row in compared if np.isfinite(row[name])]
        gaps[name] = float(max(values) - min(values)) if len(values) > 1 else float("nan")
    gaps["equalised_odds"] = (
        float(np.nanmax([gaps["tpr"], gaps["fpr"]]))
        if any(np.isfinite([gaps["tpr"], gaps["fpr"]]))
        else float("nan")
    )
    gaps["compared"] = [row["group"] for row in compared]
    return {"rows": rows, "gaps": gaps}


def _level_sort_key(label) -> tuple:
    text = str(label)
    return (text == "missing", text)


# --------------------------------------------------------------------------- cohort


def _is_categorical(column: pd.Series) -> bool:
    numeric = pd.to_numeric(column, errors="coerce")
    return bool(numeric[column.notna()].isna().any() or column.dropna().nunique() <= 2)


def table_one(raw: pd.DataFrame, outcome) -> list[dict]:
    """Table 1: each variable summarised overall and by outcome.

    ``outcome`` is 1 for the positive class, 0 otherwise; each row has the summaries
    ``overall``, ``positive`` and ``negative``. Numeric variables get mean and SD and
    median and IQR (``display`` picks median [IQR] when the distribution is skewed,
    |skewness| > 1); text and two-valued variables get a count and percentage per level
    (of the rows where it is known). Each row also counts the variable's missing values.
    """
    outcome = np.asarray(outcome, dtype=int)
    cohorts = {
        "overall": np.ones(outcome.size, dtype=bool),
        "positive": outcome == 1,
        "negative": outcome == 0,
    }
    rows = []
    for name in raw.columns:
        column = raw[name]
        missing = int(column.isna().sum())
        if _is_categorical(column):
            text = column.map(_format_level).where(column.notna())
            for level in sorted(text.dropna().unique(), key=_level_sort_key):
                row = {
                    "variable": str(name),
                    "level": level,
                    "kind": "categorical",
                    "missing": missing,
                    "missing_pct": 100 * missing / len(column),
                }
                for cohort, members in cohorts.items():
                    known = text[members].notna().sum()
                    count = int((text[members] == level).sum())
                    row[cohort] = {
                        "count": count,
                        "pct": 100 * count / known if known else float("nan"),
                        "display": f"{count} ({100 * count / known:.1f}%)" if known else "-",
                    }
                rows.append(row)
            continue
        numbers = pd.to_numeric(column, errors="coerce").astype(float)
        skewed = abs(float(numbers.skew())) > 1 if numbers.notna().sum() > 2 else False
        row = {
            "variable": str(name),
            "level": None,
            "kind": "numeric",
            "skewed": skewed,
            "missing": missing,
            "missing_pct": 100 * missing / len(column),
        }
        for cohort, members in cohorts.items():
            values = numbers[members].dropna()
            if values.empty:
                row[cohort] = {"n": 0, "display": "-"}
                continue
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            summary = {
                "n": int(values.size),
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                "median": float(median),
                "q1": float(q1),
                "q3": float(q3),
            }
            summary["display"] = (
                f"{median:.3g} [{q1:.3g}, {q3:.3g}]"
                if skewed
                else f"{summary['mean']:.3g} ± {summary['sd']:.2g}"
            )
            row[cohort] = summary
        rows.append(row)
    return rows


def missingness(raw: pd.DataFrame, outcome) -> list[dict]:
    """Missing values per variable, overall and by outcome, most missing first."""
    outcome = np.asarray(outcome, dtype=int)
    rows = []
    for name in raw.columns:
        missing = raw[name].isna().to_numpy()
        rows.append(
            {
                "variable": str(name),
                "missing": int(missing.sum()),
                "pct": float(100 * missing.mean()),
                "pct_positive": float(100 * missing[outcome == 1].mean())
                if (outcome == 1).any()
                else float("nan"),
                "pct_negative": float(100 * missing[outcome == 0].mean())
                if (outcome == 0).any()
                else float("nan"),
            }
        )
    return sorted(rows, key=lambda row: (-row["missing"], row["variable"]))
