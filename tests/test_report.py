"""The clinical-risk report: its numbers, its HTML (escaped, self-contained) and ``fsel report``."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fsel.data import load_dataset
from fsel.exceptions import FselInputError
from fsel.report import build_report, write_report
from fsel.report._build import cross_validated_risk

SCRIPT = "<script>alert(1)</script>"
# Small settings so that the whole file runs in seconds; the code paths are the real ones.
FAST = {
    "folds": 3,
    "repeats": 1,
    "bootstrap": 50,
    "compare": ["lasso", "mi"],
    "candidates": ["lasso", "mi"],
    "selector": "lasso",
}
SECTIONS = (
    "cohort",
    "selection",
    "discrimination",
    "calibration",
    "utility",
    "subgroups",
    "explanations",
    "windows",
    "appendix",
)


def _hostile_table(n=150, seed=0) -> pd.DataFrame:
    """A cohort whose column names and labels are HTML, with a real signal to find."""
    rng = np.random.RandomState(seed)
    signal = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "age": rng.uniform(30, 80, n).round(),
            SCRIPT: signal + rng.normal(scale=0.5, size=n),
            "marker": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "site": np.where(rng.uniform(size=n) < 0.5, "A", SCRIPT),
        }
    )
    frame.loc[rng.choice(n, 10, replace=False), "marker"] = np.nan
    risk = 1 / (1 + np.exp(-(1.5 * signal - 0.3)))
    frame["outcome"] = np.where(rng.uniform(size=n) < risk, SCRIPT, "healthy")
    return frame


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "cohort.csv"
    _hostile_table().to_csv(path, index=False)
    later = folder / "later.csv"
    _hostile_table(seed=1).to_csv(later, index=False)
    return path, later


@pytest.fixture(scope="module")
def hostile_report(hostile_csv, tmp_path_factory):
    path, later = hostile_csv
    report = build_report(
        path,
        target="outcome",
        positive=SCRIPT,
        groups=["site", "age"],
        windows={SCRIPT: path, "later": later},
        thresholds=[0.3],
        **FAST,
    )
    out = write_report(tmp_path_factory.mktemp("out") / "report", report)
    return report, out


def test_every_section_has_numbers(hostile_report):
    report, out = hostile_report
    assert {
        "meta",
        "cohort",
        "selection",
        "discrimination",
        "calibration",
        "utility",
        "subgroups",
        "explanations",
        "windows",
        "tripod",
        "predictions",
    } <= set(report)
    risk = np.array(report["predictions"]["risk"])
    outcome = np.array(report["predictions"]["outcome"])
    assert risk.shape == (150,) and np.all((risk >= 0) & (risk <= 1))
    auc = report["discrimination"]["roc_auc"]
    assert auc["estimate"] == pytest.approx(roc_auc_score(outcome, risk))
    assert auc["lower"] <= auc["estimate"] <= auc["upper"]
    assert auc["estimate"] > 0.7  # the planted signal is found out of fold
    assert report["cohort"]["events"] == outcome.sum()
    assert [row["label"] for row in report["utility"]["thresholds"]] == ["Youden", "0.3"]
    assert [section["column"] for section in report["subgroups"]] == ["site", "age"]
    age_groups = [row["group"] for row in report["subgroups"][1]["rows"]]
    assert len(age_groups) == 4 and all(label.startswith("Q") for label in age_groups)
    assert sum(window["best"] for window in report["windows"]) == 1
    assert report["windows"][0]["window"] == SCRIPT
    functions = report["explanations"]["functions"]
    assert functions["source"] in {"kan", "partial_dependence"} and functions["curves"]
    filled = {item["item"] for item in report["tripod"] if item["status"] == "filled"}
    assert {"10", "11", "12a", "23a"} <= filled
    assert any(item["status"] == "to be completed" for item in report["tripod"])
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report


def test_strings_from_the_data_are_escaped(hostile_report):
    _, out = hostile_report
    page = (out / "report.html").read_text()
    assert "<script" not in page.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # The column name, the outcome label, the category level and the window name show as text.
    assert page.count(escaped) >= 4


def test_the_page_fetches_nothing(hostile_report):
    _, out = hostile_report
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert 'src="//' not in page and "url(" not in page and "@import" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(source.startswith("data:image/png;base64,") for source in sources)
    assert all(link.startswith("#") for link in re.findall(r'href="([^"]*)"', page))
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page


def test_same_seed_same_report_bytes(hostile_csv, tmp_path):
    path, _ = hostile_csv
    options = {**FAST, "target": "outcome", "positive": SCRIPT, "groups": ["site"], "seed": 3}
    first = write_report(tmp_path / "a", build_report(path, **options))
    second = write_report(tmp_path / "b", build_report(path, **options))
    assert (first / "report.json").read_bytes() == (second / "report.json").read_bytes()
    # The seed does reach the numbers: another seed, other folds, other held-out risks.
    table = load_dataset(path, target="outcome")
    y01 = (table.y == SCRIPT).to_numpy().astype(int)
    settings = {
        "selector": "lasso",
        "retention": 0.4,
        "model": "linear",
        "candidates": ["lasso"],
        "folds": 3,
        "repeats": 1,
        "importances": False,
    }
    saved = json.loads((first / "report.json").read_text())
    same = cross_validated_risk(table.X, y01, seed=3, **settings)["pooled"]
    other = cross_validated_risk(table.X, y01, seed=4, **settings)["pooled"]
    assert same.tolist() == saved["predictions"]["risk"]
    assert other.tolist() != same.tolist()


def test_auto_selector_chooses_inside_every_fold(hostile_csv):
    path, _ = hostile_csv
    report = build_report(
        path, target="outcome", positive=SCRIPT, groups=[], **{**FAST, "selector": "auto"}
    )
    choice = report["meta"]["final_choice"]
    assert choice["selector"] in {"lasso", "mi"}
    assert len(report["selection"]["model_folds"]["choices"]) == 3
    assert len(report["meta"]["final_features"]) == choice["n_selected"]


def test_positive_label_is_needed_when_it_cannot_be_decided(hostile_csv):
    path, _ = hostile_csv
    with pytest.raises(FselInputError, match="pass --positive with one of"):
        build_report(path, target="outcome", **FAST)
    with pytest.raises(FselInputError, match="is not a value of"):
        build_report(path, target="outcome", positive="sick", **FAST)


@pytest.mark.parametrize(
    ("data", "message"),
    [("diabetes", "needs a binary outcome"), ("wine", "has 3 classes")],
)
def test_non_binary_outcomes_are_refused(data, message):
    with pytest.raises(FselInputError, match=message):
        build_report(data, **FAST)


def test_unknown_group_column_is_refused():
    with pytest.raises(FselInputError, match="did you mean 'htn'"):
        build_report("ckd", groups=["htm"], **FAST)


def test_fsel_report_end_to_end(run_fsel, tmp_path):
    out = tmp_path / "ckd-report"
    done = run_fsel(
        "report",
        "ckd",
        "--target",
        "class",
        "--positive",
        "ckd",
        "--out",
        out,
        "--folds",
        "3",
        "--repeats",
        "1",
        "--bootstrap",
        "200",
        "--selector",
        "lasso",
        "--compare",
        "lasso,mi",
        "--threshold",
        "0.5",
        "--quiet",
    )
    assert done.code == 0, done.stderr
    assert done.stderr == ""
    assert "ROC AUC 0.9" in done.stdout or "ROC AUC 1.0" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["positive"] == "ckd" and report["meta"]["bootstrap"] == 200
    assert report["discrimination"]["roc_auc"]["estimate"] > 0.95
    page = (out / "report.html").read_text()
    assert all(f'<section id="{anchor}">' in page for anchor in SECTIONS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diabetes", "--target", "target"], "needs a binary outcome"),
        (["ckd", "--target", "class", "--window", "no-equals-sign"], "is not NAME=DATA"),
    ],
)
def test_fsel_report_bad_input_is_one_line_exit_2(run_fsel, tmp_path, args, message):
    done = run_fsel("report", *args, "--out", tmp_path / "never")
    assert done.code == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()
