"""The evaluation's results: summary, overview table, parsimonious choice, plot, files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fsel._io import atomic_directory
from fsel.evaluation._metrics import PRIMARY_METRIC, jaccard_stability, kuncheva_index
from fsel.evaluation._plan import BASELINE

RULES = ("1se", "best")
_LEVEL = ["selector", "retention", "n_selected"]


def _ordered(frame: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Rows in the results' selector order (baseline last), then by retention."""
    order = {name: i for i, name in enumerate(pd.unique(results["selector"]))}
    order[BASELINE] = len(order) + 1
    return (
        frame.assign(_order=frame["selector"].map(order))
        .sort_values(["_order", "n_selected"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def stability(results: pd.DataFrame) -> pd.DataFrame:
    """Per (selector, retention): Jaccard and Kuncheva stability of the kept sets across
    every outer fold, and the mean redundancy of the kept features."""
    per_fold = results.drop_duplicates([*_LEVEL, "repeat", "fold"])
    rows = []
    for (selector, retention, n_selected), group in per_fold.groupby(_LEVEL, sort=False):
        sets = [frozenset(selected) for selected in group["selected"]]
        rows.append(
            {
                "selector": selector,
                "retention": retention,
                "n_selected": n_selected,
                "jaccard": jaccard_stability(sets),
                "kuncheva": kuncheva_index(sets, int(group["n_features"].iloc[0])),
                "redundancy": float(group["redundancy"].mean()),
            }
        )
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over folds of every (selector, retention, estimator, metric), with the
    selection's stability and redundancy and the mean seconds spent selecting and fitting."""
    keys = ["dataset", "task", *_LEVEL, "estimator", "metric"]
    grouped = results.groupby(keys, sort=False)
    summary = grouped["score"].agg(mean="mean", std="std", n_folds="count").reset_index()
    seconds = grouped[["select_seconds", "fit_seconds"]].mean().reset_index(drop=True)
    summary = pd.concat([summary, seconds], axis=1)
    summary = summary.merge(stability(results), on=_LEVEL, how="left")
    return _ordered(summary, results)


def overview(results: pd.DataFrame) -> pd.DataFrame:
    """Per (selector, retention): the primary metric averaged over the downstream models
    in each fold, then its mean, std and standard error over folds; with stability."""
    task = results["task"].iloc[0]
    primary = results[results["metric"] == PRIMARY_METRIC[task]]
    per_fold = primary.groupby([*_LEVEL, "repeat", "fold"], sort=False)["score"].mean()
    table = per_fold.groupby(level=[0, 1, 2], sort=False).agg(["mean", "std", "count"])
    table = table.rename(columns={"count": "n_folds"}).reset_index()
    table["sem"] = table["std"] / np.sqrt(table["n_folds"])
    table.insert(0, "metric", PRIMARY_METRIC[task])
    table = table.merge(stability(results), on=_LEVEL, how="left")
    return _ordered(table, results)


def choose(results_or_overview: pd.DataFrame, rule: str = "1se") -> dict:
    """The (selector, retention) to keep, among the selectors (never the baseline).

    ``rule="best"`` takes the highest mean primary score. ``rule="1se"`` takes the
    smallest kept set whose mean is within one standard error of the best mean
    (ties: the higher mean, then the earlier selector).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}.")
    table = results_or_overview
    if "sem" not in table.columns:
        table = overview(table)
    candidates = table[table["selector"] != BASELINE].reset_index(drop=True)
    if candidates.empty:
        raise ValueError("no selector was evaluated; there is nothing to choose.")
    best = candidates.loc[candidates["mean"].idxmax()]
    if rule == "best":
        chosen = best
    else:
        # With a single fold the std is NaN: only the best itself is "within" one SE.
        margin = 0.0 if math.isnan(best["sem"]) else float(best["sem"])
        within = candidates[candidates["mean"] >= best["mean"] - margin]
        within = within.assign(_row=within.index).sort_values(
            ["n_selected", "mean", "_row"], ascending=[True, False, True], kind="stable"
        )
        chosen = within.iloc[0]
    return {
        "rule": rule,
        "selector": str(chosen["selector"]),
        "retention": _plain(chosen["retention"]),
        "n_selected": int(chosen["n_selected"]),
        "metric": str(chosen["metric"]),
        "mean": float(chosen["mean"]),
        "std": float(chosen["std"]),
        "best_selector": str(best["selector"]),
        "best_retention": _plain(best["retention"]),
        "best_mean": float(best["mean"]),
    }


def _plain(value):
    """A retention level as the user wrote it: 5 for a count, 0.4 for a fraction."""
    value = float(value)
    return int(value) if value > 1 else value


def format_table(table: pd.DataFrame, choice: dict | None = None) -> str:
    """The overview as text: selectors down, retention levels across (mean ± std of the
    primary metric averaged over models, ``*`` = best selector at that level), then the
    selector's stability and redundancy averaged over the levels."""
    metric = table["metric"].iloc[0]
    selected = table[table["selector"] != BASELINE]
    selected = table if selected.empty else selected
    levels = list(dict.fromkeys(zip(selected["retention"], selected["n_selected"], strict=True)))
    selectors = list(dict.fromkeys(table["selector"]))
    cells = {(row.selector, row.retention): row for row in table.itertuples()}
    best = {}
    for retention, _ in levels:
        at_level = table[(table["retention"] == retention) & (table["selector"] != BASELINE)]
        if not at_level.empty:
            best[retention] = at_level.loc[at_level["mean"].idxmax(), "selector"]
    header = ["selector"] + [f"{_plain(r)} (k={k})" for r, k in levels]
    header += ["jaccard", "kuncheva", "redundancy"]
    lines = []
    for selector in selectors:
        line = [selector if selector != BASELINE else "all features"]
        for retention, _ in levels:
            row = cells.get((selector, retention))
            if row is None:
                line.append("")
                continue
            mark = "*" if best.get(retention) == selector else " "
            line.append(f"{row.mean:.3f} ± {_number(row.std)}{mark}")
        rows = table[table["selector"] == selector]
        for column in ("jaccard", "kuncheva", "redundancy"):
            values = rows[column].dropna()
            line.append(f"{values.mean():.2f}" if len(values) else "-")
        lines.append(line)
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)
    ]
    text = [f"{metric} (mean ± std over folds, averaged over models; * = best at that level)"]
    for line in [header, *lines]:
        cells_text = [line[0].ljust(widths[0])]
        cells_text += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        text.append("  ".join(cells_text).rstrip())
    if choice is not None:
        rule = "1-SE rule" if choice["rule"] == "1se" else "best mean"
        kept = f"{choice['n_selected']} feature{'' if choice['n_selected'] == 1 else 's'}"
        text.append(
            f"chosen ({rule}): {choice['selector']} at retention {choice['retention']} "
            f"({kept}), {choice['metric']} "
            f"{choice['mean']:.3f} ± {_number(choice['std'])}"
        )
    return "\n".join(text)


def _number(value: float) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.3f}"


def plot_retention(results: pd.DataFrame, path: str | Path) -> None:
    """Primary metric against the number of kept features: a line per selector with error
    bars (std over folds), the all-features score as a dashed reference line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = overview(results)
    figure = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for selector, rows in table.groupby("selector", sort=False):
        if selector == BASELINE:
            continue
        axes.errorbar(
            rows["n_selected"],
            rows["mean"],
            yerr=rows["std"].fillna(0.0),
            marker="o",
            capsize=3,
            label=selector,
        )
    baseline = table[table["selector"] == BASELINE]
    if not baseline.empty:
        axes.axhline(
            float(baseline["mean"].iloc[0]), color="black", linestyle="--", label="all features"
        )
    n_features = int(results["n_features"].iloc[0])
    levels = table.drop_duplicates("n_selected")
    levels = levels[levels["selector"] != BASELINE] if len(levels) > 1 else levels
    axes.set_xticks(levels["n_selected"].tolist())
    axes.set_xticklabels(
        [
            f"{k}\n({_plain(r)})"
            for r, k in zip(levels["retention"], levels["n_selected"], strict=True)
        ]
    )
    axes.set_xlabel(f"features kept, of {n_features} (retention)")
    axes.set_ylabel(f"{table['metric'].iloc[0]} (mean ± std over folds)")
    axes.set_title(f"{results['dataset'].iloc[0]}: score against retention")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path)


def summary_payload(results: pd.DataFrame, rule: str = "1se") -> dict:
    """The summary as plain data (for JSON): overview, per-model summary and the choice."""
    table = overview(results)
    return {
        "dataset": str(results["dataset"].iloc[0]),
        "task": str(results["task"].iloc[0]),
        "metric": str(table["metric"].iloc[0]),
        "overview": json.loads(table.to_json(orient="records")),
        "summary": json.loads(summarize(results).to_json(orient="records")),
        "chosen": choose(table, rule),
    }


def write_outputs(results: pd.DataFrame, out: str | Path) -> Path:
    """Write ``results.parquet``, ``summary.csv`` and ``retention.png`` into ``out`` at once:
    an interruption leaves ``out`` as it was."""
    out = Path(out)
    with atomic_directory(out) as folder:
        results.to_parquet(folder / "results.parquet", index=False)
        summarize(results).to_csv(folder / "summary.csv", index=False)
        plot_retention(results, folder / "retention.png")
    return out
