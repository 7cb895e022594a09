"""The report's HTML: one self-contained page, every string from the data escaped, no URL fetched."""

from __future__ import annotations

from html import escape

from fsel.report._statistics import THRESHOLD_METRICS

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       max-width: 1080px; margin: 0 auto; padding: 1.5em; color: #1d2430; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #1f5fa8; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.86em; }
th, td { border-bottom: 1px solid #d8dde6; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #eef2f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td { white-space: nowrap; }
table.wrap td { white-space: normal; }
.scroll { max-height: 28em; max-width: 100%; overflow: auto; border: 1px solid #d8dde6;
          display: inline-block; }
.summary { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.card { background: #eef2f8; border-radius: 6px; padding: 0.6em 1em; min-width: 11em; }
.card b { display: block; font-size: 1.25em; }
.note { color: #4a5566; font-size: 0.9em; }
.warn { color: #9a3b00; }
.best { font-weight: bold; background: #e3f1e3; }
figure { margin: 0.6em 0 1.2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e6ee; }
figcaption { font-size: 0.85em; color: #4a5566; }
nav ul { columns: 3; font-size: 0.9em; list-style: none; padding-left: 0; }
code { background: #f2f4f8; padding: 0 0.25em; }
"""

SECTIONS = (
    ("cohort", "1. Cohort"),
    ("selection", "2. Feature selection"),
    ("discrimination", "3. Discrimination"),
    ("calibration", "4. Calibration"),
    ("utility", "5. Clinical utility"),
    ("subgroups", "6. Subgroups"),
    ("explanations", "7. Explanations"),
    ("windows", "8. Observation windows"),
    ("appendix", "9. Appendix: TRIPOD+AI"),
)


class Html(str):
    """Markup built here from escaped parts: placed in a table as it is, never escaped twice."""


def _text(value) -> str:
    return value if isinstance(value, Html) else escape(str(value), quote=True)


def number(value, digits: int = 3) -> str:
    """A number for the page: ``digits`` significant figures, a dash when undefined."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if abs(value) < 0.001 and value != 0 else f"{value:.{digits}f}"


def interval(ci: dict, digits: int = 3) -> str:
    """``estimate (lower–upper)`` from a dict with those keys; a dash when undefined."""
    if ci["estimate"] is None:
        return "–"
    if ci["lower"] is None or ci["upper"] is None:
        return f"{number(ci['estimate'], digits)} (CI undefined)"
    low, high = number(ci["lower"], digits), number(ci["upper"], digits)
    return f"{number(ci['estimate'], digits)} ({low}–{high})"


def fixed(ci: dict, decimals: int = 4) -> str:
    """Like :func:`interval` with a fixed number of decimals (for small differences)."""

    def show(value) -> str:
        # round first so that -0.00001 prints as 0.0000, not -0.0000
        return "–" if value is None else f"{round(value, decimals) + 0.0:.{decimals}f}"

    if ci["estimate"] is None:
        return "–"
    return f"{show(ci['estimate'])} ({show(ci['lower'])}–{show(ci['upper'])})"


def percent(value, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def table(header, rows, numeric=(), row_class=None, wrap: bool = False) -> Html:
    """An HTML table; every cell escaped unless it is :class:`Html`. ``numeric`` names the
    right-aligned column positions; ``row_class(index)`` may give a row a CSS class."""
    head = "".join(
        f'<th class="num">{_text(cell)}</th>' if i in numeric else f"<th>{_text(cell)}</th>"
        for i, cell in enumerate(header)
    )
    body = []
    for index, row in enumerate(rows):
        cells = "".join(
            f'<td class="num">{_text(cell)}</td>' if i in numeric else f"<td>{_text(cell)}</td>"
            for i, cell in enumerate(row)
        )
        css = row_class(index) if row_class else None
        body.append(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    opening = '<table class="wrap">' if wrap else "<table>"
    return Html(f"{opening}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def figure(figures: dict, name: str, caption: str) -> str:
    uri = figures.get(name)
    if uri is None:
        return f'<p class="note">No figure: {_text(caption)} (nothing to draw).</p>'
    if not uri.startswith("data:image/png;base64,"):
        raise ValueError(f"figure {name!r} is not an embedded PNG.")
    return (
        f'<figure><img src="{uri}" alt="{_text(caption)}">'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


def _p(text: str, css: str | None = None) -> str:
    return f'<p class="{css}">{_text(text)}</p>' if css else f"<p>{_text(text)}</p>"


# --------------------------------------------------------------------------- sections


def _header(report: dict) -> str:
    meta, cohort = report["meta"], report["cohort"]
    discrimination, calibration = report["discrimination"], report["calibration"]
    choice = meta["final_choice"]
    selection = (
        f"auto → {choice['selector']} at retention {choice['retention']}"
        if choice
        else f"{meta['selector']} at retention {meta['retention']}"
    )
    cards = [
        ("patients", f"{cohort['n']} ({cohort['events']} {meta['positive']})"),
        ("ROC AUC (95 % CI)", interval(discrimination["roc_auc"])),
        ("Brier score", interval(calibration["brier"])),
        ("calibration slope", interval(calibration["slope"], 2)),
        ("features kept", f"{len(meta['final_features'])} of {cohort['n_candidate_features']}"),
    ]
    card_html = "".join(
        f'<div class="card">{_text(label)}<b>{_text(value)}</b></div>' for label, value in cards
    )
    links = "".join(
        f'<li><a href="#{anchor}">{escape(title)}</a></li>' for anchor, title in SECTIONS
    )
    return (
        f"<h1>Clinical-risk report: {_text(meta['dataset'])}</h1>"
        + _p(
            f"Outcome {meta['target']!s} = {meta['positive']!s} (positive) against {meta['negative']!s}. "
            f"Model card {meta['model']}; feature selection {selection}."
        )
        + _p(
            f"All performance is out-of-fold: stratified {meta['folds']}-fold cross-validation "
            f"repeated {meta['repeats']} times, with the feature selection refitted inside every "
            f"training fold; each patient's risk is the mean of their held-out risks over the repeats. "
            f"Intervals are stratified bootstrap 95 % percentile intervals ({meta['bootstrap']} resamples). "
            f"Seed {meta['seed']}.",
            "note",
        )
        + f'<div class="summary">{card_html}</div><nav><ul>{links}</ul></nav>'
    )


def _cohort(report: dict) -> str:
    meta, cohort = report["meta"], report["cohort"]
    positive, negative = meta["positive"], meta["negative"]
    rows = []
    for row in cohort["table_one"]:
        name = row["variable"] if row["level"] is None else f"{row['variable']} = {row['level']}"
        kind = (
            "median [IQR]"
            if row.get("skewed")
            else ("mean ± SD" if row["kind"] == "numeric" else "n (%)")
        )
        rows.append(
            [
                name,
                kind,
                row["overall"]["display"],
                row["positive"]["display"],
                row["negative"]["display"],
                row["missing"],
            ]
        )
    counts = {positive: cohort["events"], negative: cohort["non_events"]}
    parts = [
        _p(
            f"{cohort['n']} patients; {cohort['events']} with {positive} "
            f"(prevalence {percent(cohort['prevalence'])}), {cohort['non_events']} with {negative}. "
            f"{cohort['n_candidate_features']} candidate features after encoding "
            f"({number(cohort['events_per_candidate_feature'], 2)} events per candidate feature); "
            f"{cohort['complete_rows']} patients have no missing value."
        ),
        "<h3>Table 1 by outcome</h3>",
        '<div class="scroll">',
        table(
            [
                "variable",
                "summary",
                f"overall (n={cohort['n']})",
                f"{positive} (n={counts[positive]})",
                f"{negative} (n={counts[negative]})",
                "missing",
            ],
            rows,
            numeric=(5,),
        ),
        "</div>",
        "<h3>Missing values</h3>",
    ]
    missing = [row for row in cohort["missingness"] if row["missing"] > 0]
    if missing:
        parts.append(
            table(
                ["variable", "missing", "% overall", f"% in {positive}", f"% in {negative}"],
                [
                    [
                        r["variable"],
                        r["missing"],
                        number(r["pct"], 1),
                        number(r["pct_positive"], 1),
                        number(r["pct_negative"], 1),
                    ]
                    for r in missing
                ],
                numeric=(1, 2, 3, 4),
            )
        )
    else:
        parts.append(_p("No variable has missing values."))
    if cohort["dropped_columns"]:
        parts.append(
            _p(
                "Columns left out: "
                + "; ".join(f"{k} ({v})" for k, v in cohort["dropped_columns"].items())
                + "."
            )
        )
    return "".join(parts)


def _selection(report: dict, figures: dict) -> str:
    meta, selection = report["meta"], report["selection"]
    folds = selection["model_folds"]
    parts = [
        _p(
            f"The final model keeps {len(meta['final_features'])} features (selection fitted on every "
            f"row): {', '.join(meta['final_features'])}."
        )
    ]
    if meta["final_choice"]:
        choice = meta["final_choice"]
        parts.append(
            _p(
                f"AutoSelector chose {choice['selector']} at retention {choice['retention']} "
                f"({choice['n_selected']} features; cross-validated {choice['metric']} "
                f"{number(choice['mean'])}) among {', '.join(meta['candidates'])}."
            )
        )
    if folds["choices"]:
        shown = ", ".join(f"{c['selector']} @ {c['retention']}" for c in folds["choices"])
        parts.append(_p(f"Choices inside the {folds['n_folds']} training folds: {shown}."))
    parts.append("<h3>Stability of the model's features across folds</h3>")
    parts.append(
        _p(
            f"Mean pairwise Jaccard index of the kept sets over the {folds['n_folds']} training folds: "
            f"{number(folds['jaccard'])} (1 = the same features every time)."
        )
    )
    parts.append(
        '<div class="scroll">'
        + table(
            ["feature", "folds kept", "share"],
            [
                [row["feature"], row["folds"], percent(row["share"], 0)]
                for row in folds["frequency"]
            ],
            numeric=(1, 2),
        )
        + "</div>"
    )
    names = selection["compared"]
    all_kept = list(dict.fromkeys(f for name in names for f in selection["kept"][name]))
    parts.append("<h3>Features kept by each selector (all rows)</h3>")
    parts.append(
        '<div class="scroll">'
        + table(
            ["feature", *names, "selectors"],
            [
                [
                    feature,
                    *["✓" if feature in selection["kept"][name] else "" for name in names],
                    sum(feature in selection["kept"][name] for name in names),
                ]
                for feature in sorted(
                    all_kept, key=lambda f: (-sum(f in selection["kept"][n] for n in names), f)
                )
            ],
            numeric=(len(names) + 1,),
        )
        + "</div>"
    )
    if selection["agreement"]:
        parts.append("<h3>Agreement between selectors (Jaccard index of kept sets)</h3>")
        parts.append(
            table(
                ["selector", "selector", "Jaccard"],
                [[row["a"], row["b"], number(row["jaccard"])] for row in selection["agreement"]],
                numeric=(2,),
            )
        )
    curve = [row for row in selection["retention_curve"] if row["metric"] == "roc_auc"]
    # The all-features baseline is the same at every level: one row, at retention 1.
    baseline = [row for row in curve if row["selector"] == "all"][:1]
    curve = [row for row in curve if row["selector"] != "all"] + [
        {**row, "retention": 1.0} for row in baseline
    ]
    if curve:
        parts.append(
            "<h3>Retention curve (nested cross-validation, model "
            + _text(meta["model"])
            + ")</h3>"
        )
        parts.append(
            table(
                [
                    "selector",
                    "retention",
                    "features",
                    "ROC AUC mean",
                    "SD",
                    "Jaccard",
                    "Kuncheva",
                    "redundancy",
                ],
                [
                    [
                        r["selector"],
                        number(r["retention"], 2),
                        r["n_selected"],
                        number(r["mean"]),
                        number(r["std"]),
                        number(r["jaccard"]),
                        number(r["kuncheva"]),
                        number(r["redundancy"]),
                    ]
                    for r in curve
                ],
                numeric=(1, 2, 3, 4, 5, 6, 7),
            )
        )
    parts.append(
        figure(
            figures,
            "retention",
            "Cross-validated ROC AUC against the share of features kept, per selector.",
        )
    )
    return "".join(parts)


def _discrimination(report: dict, figures: dict) -> str:
    d = report["discrimination"]
    repeats = ", ".join(number(v) for v in d["roc_auc_per_repeat"])
    return (
        table(
            ["measure", "estimate (95 % CI)", "reference"],
            [
                ["ROC AUC", interval(d["roc_auc"]), "0.5 (no skill)"],
                [
                    "PR AUC (average precision)",
                    interval(d["pr_auc"]),
                    f"{number(d['pr_baseline'])} (prevalence)",
                ],
            ],
        )
        + _p(f"ROC AUC of each repeat's out-of-fold risks: {repeats}.", "note")
        + figure(
            figures, "discrimination", "ROC and precision-recall curves of the out-of-fold risks."
        )
    )


def _calibration(report: dict, figures: dict) -> str:
    c = report["calibration"]
    slope = c["slope"]["estimate"]
    parts = [
        table(
            ["measure", "estimate (95 % CI)", "ideal"],
            [
                ["Brier score", interval(c["brier"]), "0"],
                ["scaled Brier score", interval(c["scaled_brier"]), "1 (0 = prevalence only)"],
                ["calibration intercept (in the large)", interval(c["intercept"], 2), "0"],
                ["calibration slope", interval(c["slope"], 2), "1"],
                ["observed / expected events", interval(c["observed_expected"], 2), "1"],
            ],
        )
    ]
    if slope is None:
        parts.append(
            _p(
                "The calibration slope is not estimable: the risks separate the outcomes completely.",
                "warn",
            )
        )
    elif slope > 1.2:
        parts.append(
            _p(
                "A slope above 1: the predicted risks are too modest (too close to the average); "
                "with near-perfect discrimination the slope is large and its interval wide.",
                "note",
            )
        )
    elif slope < 0.8:
        parts.append(
            _p(
                "A slope below 1: the predicted risks are too extreme (a sign of overfitting).",
                "note",
            )
        )
    parts.append(
        figure(
            figures,
            "calibration",
            "Lowess-smoothed calibration curve with decile points; below, "
            "predicted risks of positive (up) and negative (down) patients.",
        )
    )
    parts.append(
        _p("Observed against predicted risk per decile: see the risk groups in section 5.", "note")
    )
    return "".join(parts)


def _risk_group_table(groups) -> Html:
    return table(
        ["decile", "n", "events", "observed", "mean predicted", "risk range"],
        [
            [
                g["group"],
                g["n"],
                g["events"],
                percent(g["observed"]),
                percent(g["predicted"]),
                f"{number(g['min_risk'])}–{number(g['max_risk'])}",
            ]
            for g in groups
        ],
        numeric=(0, 1, 2, 3, 4),
    )


def _utility(report: dict, figures: dict) -> str:
    u = report["utility"]
    header = [
        "threshold",
        "risk ≥",
        "called positive",
        "sensitivity",
        "specificity",
        "PPV",
        "NPV",
        "F1",
        "LR+",
        "LR−",
    ]
    rows = []
    for row in u["thresholds"]:
        rows.append(
            [
                row["label"],
                number(row["threshold"]),
                row["n_positive"],
                *[interval(row[name], 2) for name in THRESHOLD_METRICS],
            ]
        )
    return (
        figure(
            figures,
            "decision",
            "Decision curve: net benefit of the model, of treating everyone and of treating no one.",
        )
        + "<h3>Thresholds</h3>"
        + _p(
            f"The Youden threshold (maximising sensitivity + specificity − 1) is {number(u['youden_threshold'])}; "
            "it is chosen on the same out-of-fold risks, so its metrics are slightly optimistic.",
            "note",
        )
        + '<div class="scroll">'
        + table(header, rows, numeric=(1, 2))
        + "</div>"
        + "<h3>Risk groups (deciles of predicted risk)</h3>"
        + _risk_group_table(u["risk_groups"])
    )


def _subgroups(report: dict, figures: dict) -> str:
    if not report["subgroups"]:
        return _p(
            "No subgroup column given; pass --group COLUMN (numeric columns are cut into quartiles)."
        )
    parts = []
    for index, section in enumerate(report["subgroups"]):
        gaps = section["gaps"]
        parts.append(f"<h3>By {_text(section['column'])}</h3>")
        parts.append(
            table(
                [
                    "group",
                    "n",
                    "events",
                    "prevalence",
                    "ROC AUC (95 % CI)",
                    "TPR",
                    "FPR",
                    "PPV",
                    "note",
                ],
                [
                    [
                        r["group"],
                        r["n"],
                        r["events"],
                        percent(r["prevalence"]),
                        interval(r["auc"]),
                        number(r["tpr"]),
                        number(r["fpr"]),
                        number(r["ppv"]),
                        "unstable (< 20 events or non-events)" if r["unstable"] else "",
                    ]
                    for r in section["rows"]
                ],
                numeric=(1, 2, 3, 5, 6, 7),
            )
        )
        parts.append(
            _p(
                f"At the Youden threshold {number(section['threshold'])}, gaps between the groups compared "
                f"({', '.join(gaps['compared'])}): TPR {number(gaps['tpr'])}, FPR {number(gaps['fpr'])}, "
                f"PPV {number(gaps['ppv'])}; equalised-odds difference {number(gaps['equalised_odds'])}."
            )
        )
        parts.append(figure(figures, f"subgroup-{index}", f"ROC AUC by {section['column']}."))
    return "".join(parts)


def _explanations(report: dict, figures: dict) -> str:
    e = report["explanations"]
    functions = e["functions"]
    rows = [r for r in e["importance"] if r["kept_share"] > 0]
    parts = [
        _p(
            "Permutation importance: the ROC AUC lost on each held-out fold when a feature's values are "
            "shuffled (0 in folds whose selection left it out); mean over folds with a bootstrap 95 % interval."
        ),
        figure(figures, "importance", "Permutation importance with 95 % intervals."),
        '<div class="scroll">',
        table(
            ["feature", "AUC lost (95 % CI)", "kept in folds"],
            [[r["feature"], fixed(r), percent(r["kept_share"], 0)] for r in rows],
            numeric=(2,),
        ),
        "</div>",
        "<h3>Shape of each top feature's effect</h3>",
        _p(functions["note"], "note") if functions.get("note") else "",
        figure(
            figures,
            "functions",
            "Effect on the risk against the feature's value, for the top features.",
        ),
    ]
    return "".join(parts)


def _windows(report: dict) -> str:
    windows = report["windows"]
    if not windows:
        return _p(
            "No observation windows given; pass --window NAME=DATA (repeatable) with tables of the "
            "same cohort built over different windows before the outcome to compare them here."
        )
    return table(
        [
            "window",
            "table",
            "n",
            "events",
            "ROC AUC (95 % CI)",
            "F1 (Youden)",
            "Brier (95 % CI)",
            "kept features",
        ],
        [
            [
                ("★ " if w["best"] else "") + w["window"],
                w["source"],
                w["n"],
                w["events"],
                interval(w["roc_auc"]),
                number(w["f1"]),
                interval(w["brier"]),
                ", ".join(w["kept"]),
            ]
            for w in windows
        ],
        numeric=(2, 3),
        row_class=lambda i: "best" if windows[i]["best"] else None,
        wrap=True,
    ) + _p("★ marks the window with the highest ROC AUC.", "note")


def _appendix(report: dict) -> str:
    meta = report["meta"]
    anchors = dict(SECTIONS)
    rows = []
    for item in report["tripod"]:
        where = (
            Html(f'<a href="#{escape(item["section"])}">{escape(anchors[item["section"]])}</a>')
            if item["section"] in anchors
            else "–"
        )
        rows.append([item["item"], item["topic"], item["status"], where, item["detail"]])
    options = [
        ["selector", meta["selector"]],
        ["retention", "chosen by auto" if meta["selector"] == "auto" else meta["retention"]],
        ["model", meta["model"]],
        ["compared selectors", ", ".join(meta["compare"])],
        ["auto's candidates", ", ".join(meta["candidates"])],
        ["subgroup columns", ", ".join(meta["groups"]) or "–"],
        ["folds x repeats", f"{meta['folds']} x {meta['repeats']}"],
        ["bootstrap resamples", meta["bootstrap"]],
        ["seed", meta["seed"]],
    ]
    software = [[name, version or "not installed"] for name, version in meta["software"].items()]
    return (
        _p(
            "TRIPOD+AI (Collins et al., BMJ 2024) items this report fills, and those left to the authors."
        )
        + table(
            ["item", "topic", "status", "where", "detail"],
            rows,
            row_class=lambda i: None if report["tripod"][i]["status"] == "filled" else "warn",
            wrap=True,
        )
        + "<h3>Settings</h3>"
        + table(["setting", "value"], options)
        + "<h3>Software</h3>"
        + table(["package", "version"], software)
    )


def render_html(report: dict, figures: dict[str, str]) -> str:
    """The whole report as one HTML page; ``figures`` maps names to PNG data URIs."""
    bodies = {
        "cohort": _cohort(report),
        "selection": _selection(report, figures),
        "discrimination": _discrimination(report, figures),
        "calibration": _calibration(report, figures),
        "utility": _utility(report, figures),
        "subgroups": _subgroups(report, figures),
        "explanations": _explanations(report, figures),
        "windows": _windows(report),
        "appendix": _appendix(report),
    }
    sections = "".join(
        f'<section id="{anchor}"><h2>{escape(title)}</h2>{bodies[anchor]}</section>'
        for anchor, title in SECTIONS
    )
    title = _text(f"fsel report: {report['meta']['dataset']}")
    # No external resource: no links to fetch, fonts from the system, figures inline.
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"{_header(report)}{sections}"
        '<footer class="note"><p>Written by fsel. Numbers in report.json beside this file.</p></footer>'
        "</body></html>\n"
    )
