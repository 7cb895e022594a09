"""The report's figures, drawn with matplotlib (Agg) from the report's numbers, as PNG data URIs."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_STYLE = {
    "figure.dpi": 100,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Column names are data: a "$" in one must print as a dollar, not start mathtext.
    "text.parse_math": False,
    "svg.hashsalt": "fsel",
}
_MODEL = "#1f5fa8"
_REFERENCE = "#888888"
_POSITIVE = "#c0392b"
_NEGATIVE = "#2c7fb8"


def _data_uri(figure) -> str:
    """The figure as a PNG ``data:`` URI, without metadata so that the bytes are reproducible."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _none_to_nan(values) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def retention_figure(selection: dict) -> str | None:
    """Cross-validated ROC AUC (or macro-F1) against retention, one line per selector."""
    rows = [row for row in selection["retention_curve"] if row["metric"] == "roc_auc"]
    label = "ROC AUC"
    if not rows:
        rows = [row for row in selection["retention_curve"] if row["metric"] == "f1_macro"]
        label = "macro-F1"
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(5.2, 3.2))
    for name in dict.fromkeys(row["selector"] for row in rows):
        line = sorted((r for r in rows if r["selector"] == name), key=lambda r: r["retention"])
        x = [r["retention"] for r in line]
        y = _none_to_nan([r["mean"] for r in line])
        spread = _none_to_nan([r["std"] for r in line])
        if name == "all":
            axis.axhline(y[0], color=_REFERENCE, linestyle="--", label="all features")
            continue
        axis.errorbar(x, y, yerr=spread, marker="o", capsize=3, label=name)
    axis.set_xlabel("retention (share of features kept)")
    axis.set_ylabel(f"{label}, mean ± SD over folds")
    axis.legend(fontsize=7, loc="lower right")
    return _data_uri(figure)


def discrimination_figure(discrimination: dict) -> str:
    """ROC and precision-recall curves side by side, each with its no-skill reference."""
    figure, (roc, pr) = plt.subplots(1, 2, figsize=(8, 3.6))
    curve = discrimination["roc_curve"]
    auc = discrimination["roc_auc"]
    roc.plot(curve["fpr"], curve["tpr"], color=_MODEL, label=f"model (AUC {auc['estimate']:.3f})")
    roc.plot([0, 1], [0, 1], color=_REFERENCE, linestyle="--", label="no skill")
    roc.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC curve", aspect="equal")
    roc.legend(loc="lower right", fontsize=7)
    curve = discrimination["pr_curve"]
    ap = discrimination["pr_auc"]
    pr.step(
        [0.0, *curve["recall"]],
        [curve["precision"][0], *curve["precision"]],
        where="post",
        color=_MODEL,
        label=f"model (PR AUC {ap['estimate']:.3f})",
    )
    pr.axhline(discrimination["pr_baseline"], color=_REFERENCE, linestyle="--", label="prevalence")
    pr.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", title="Precision-recall")
    pr.set_ylim(0, 1.02)
    pr.legend(loc="lower left", fontsize=7)
    figure.tight_layout()
    return _data_uri(figure)


def calibration_figure(calibration: dict) -> str:
    """Smoothed calibration curve with decile points above a histogram of predicted risks."""
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.2, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot([0, 1], [0, 1], color=_REFERENCE, linestyle="--", label="ideal")
    curve = calibration["curve"]
    top.plot(curve["predicted"], curve["observed"], color=_MODEL, label="lowess")
    deciles = calibration["deciles"]
    top.plot(
        [d["predicted"] for d in deciles],
        [d["observed"] for d in deciles],
        "o",
        color=_MODEL,
        markerfacecolor="white",
        label="deciles",
    )
    top.set(ylabel="observed proportion", xlim=(0, 1), ylim=(-0.02, 1.02))
    top.legend(loc="upper left", fontsize=7)
    histogram = calibration["histogram"]
    edges = np.asarray(histogram["edges"])
    width = np.diff(edges)
    bottom.bar(
        edges[:-1],
        histogram["positive"],
        width=width,
        align="edge",
        color=_POSITIVE,
        alpha=0.7,
        label="positive",
    )
    bottom.bar(
        edges[:-1],
        [-v for v in histogram["negative"]],
        width=width,
        align="edge",
        color=_NEGATIVE,
        alpha=0.7,
        label="negative",
    )
    bottom.axhline(0, color="black", linewidth=0.5)
    bottom.set(xlabel="predicted risk", ylabel="patients")
    bottom.legend(loc="lower right", fontsize=7, ncol=2)
    figure.tight_layout()
    return _data_uri(figure)


def decision_figure(utility: dict) -> str:
    """Net benefit of the model against treat-all and treat-none over the threshold range."""
    curve = utility["decision_curve"]
    thresholds = np.asarray(curve["threshold"])
    model = _none_to_nan(curve["model"])
    treat_all = _none_to_nan(curve["treat_all"])
    figure, axis = plt.subplots(figsize=(5.2, 3.4))
    axis.plot(thresholds, model, color=_MODEL, label="model")
    axis.plot(thresholds, treat_all, color=_POSITIVE, linestyle="-.", label="treat all")
    axis.plot(
        thresholds, np.zeros_like(thresholds), color=_REFERENCE, linestyle="--", label="treat none"
    )
    top = np.nanmax(np.r_[model, treat_all, 0.0])
    axis.set_ylim(-0.05 * max(top, 0.05), max(top, 0.05) * 1.1)
    axis.set(xlabel="threshold probability", ylabel="net benefit", xlim=(0, 1))
    axis.legend(fontsize=7)
    return _data_uri(figure)


def subgroup_figure(section: dict) -> str:
    """AUC with its 95 % interval per subgroup (a forest plot); unstable groups hollow."""
    rows = section["rows"]
    figure, axis = plt.subplots(figsize=(5.2, 0.45 * len(rows) + 1.0))
    for position, row in enumerate(rows):
        auc = row["auc"]
        if auc["estimate"] is None:
            continue
        lower = auc["lower"] if auc["lower"] is not None else auc["estimate"]
        upper = auc["upper"] if auc["upper"] is not None else auc["estimate"]
        axis.plot([lower, upper], [position, position], color=_MODEL)
        axis.plot(
            auc["estimate"],
            position,
            "o",
            color=_MODEL,
            markerfacecolor="white" if row["unstable"] else _MODEL,
        )
    axis.set_yticks(range(len(rows)), [f"{row['group']} (n={row['n']})" for row in rows])
    axis.invert_yaxis()
    axis.set_xlabel("ROC AUC (95 % CI); hollow = fewer than 20 events")
    return _data_uri(figure)


def importance_figure(importance: list[dict], top: int = 12) -> str | None:
    """Permutation importance (AUC lost) with its interval, most important on top."""
    rows = [row for row in importance if (row["estimate"] or 0) > 0][:top]
    if not rows:
        return None
    figure, axis = plt.subplots(figsize=(5.2, 0.35 * len(rows) + 1.0))
    estimates = np.array([row["estimate"] for row in rows])
    errors = np.array(
        [
            [row["estimate"] - (row["lower"] or 0) for row in rows],
            [(row["upper"] or 0) - row["estimate"] for row in rows],
        ]
    ).clip(min=0)
    axis.barh(range(len(rows)), estimates, xerr=errors, color=_MODEL, alpha=0.8, capsize=3)
    axis.set_yticks(range(len(rows)), [row["feature"] for row in rows])
    axis.invert_yaxis()
    axis.set_xlabel("ROC AUC lost when the feature is permuted (held-out folds)")
    return _data_uri(figure)


def functions_figure(functions: dict) -> str | None:
    """One small panel per top feature: its effect on the risk against its value."""
    curves = functions["curves"]
    if not curves:
        return None
    columns = min(3, len(curves))
    rows = int(np.ceil(len(curves) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.7 * columns, 2.2 * rows), squeeze=False)
    ylabel = "KAN contribution" if functions["source"] == "kan" else "log-odds (centred)"
    for axis, curve in zip(axes.flat, curves, strict=False):
        axis.plot(curve["x"], _none_to_nan(curve["y"]), color=_MODEL)
        axis.set_title(curve["feature"], fontsize=9)
        axis.set_ylabel(ylabel, fontsize=7)
        axis.tick_params(labelsize=7)
    for axis in axes.flat[len(curves) :]:
        axis.set_visible(False)
    figure.tight_layout()
    return _data_uri(figure)


def render_figures(report: dict) -> dict[str, str]:
    """Every figure of ``report`` as ``{name: PNG data URI}`` (figures without data left out)."""
    with plt.rc_context(_STYLE):
        figures = {
            "retention": retention_figure(report["selection"]),
            "discrimination": discrimination_figure(report["discrimination"]),
            "calibration": calibration_figure(report["calibration"]),
            "decision": decision_figure(report["utility"]),
            "importance": importance_figure(report["explanations"]["importance"]),
            "functions": functions_figure(report["explanations"]["functions"]),
        }
        for index, section in enumerate(report["subgroups"]):
            figures[f"subgroup-{index}"] = subgroup_figure(section)
    return {name: uri for name, uri in figures.items() if uri is not None}
