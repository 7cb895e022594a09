"""The report's statistics checked against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from fsel.report import _statistics as st


def _risk_data(n, seed=0, slope=1.0):
    rng = np.random.RandomState(seed)
    x = rng.normal(size=n)
    true_risk = 1 / (1 + np.exp(-(x - 0.5)))
    y = (rng.uniform(size=n) < true_risk).astype(int)
    predicted = 1 / (1 + np.exp(-slope * (x - 0.5)))
    return y, predicted


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_average_precision_match_scikit_learn(seed):
    y, p = _risk_data(300, seed)
    p = np.round(p, 2)  # ties on purpose
    assert st.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert st.average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)


def test_auc_is_undefined_with_one_class():
    assert np.isnan(st.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_roc_curve_runs_from_corner_to_corner():
    y, p = _risk_data(100)
    curve = st.roc_curve(y, p)
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve["fpr"]) >= 0) and np.all(np.diff(curve["tpr"]) >= 0)
    area = np.trapezoid(curve["tpr"], curve["fpr"])
    assert area == pytest.approx(st.roc_auc(y, p), abs=1e-12)


def test_brier_scores():
    y, p = _risk_data(200)
    assert st.brier_score(y, p) == pytest.approx(brier_score_loss(y, p))
    assert st.scaled_brier_score(y, np.full(200, y.mean())) == pytest.approx(0.0, abs=1e-12)
    assert st.scaled_brier_score(y, y.astype(float)) == pytest.approx(1.0)
    assert st.observed_expected_ratio([1, 0, 1, 0], [0.25] * 4) == pytest.approx(2.0)


@pytest.mark.parametrize("slope", [0.5, 1.0, 2.0])
def test_calibration_slope_matches_an_unpenalised_logistic_fit(slope):
    y, p = _risk_data(800, seed=3, slope=slope)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000)  # unpenalised
    reference.fit(st.logit(p).reshape(-1, 1), y)
    assert st.calibration_slope(y, p) == pytest.approx(reference.coef_[0, 0], rel=1e-4)
    # Predictions made too extreme by the factor ``slope`` need a slope of about 1 / slope.
    assert st.calibration_slope(y, p) == pytest.approx(1 / slope, rel=0.25)


def test_calibration_intercept_is_the_offset_logistic_intercept():
    y, p = _risk_data(800, seed=4)
    shifted = 1 / (1 + np.exp(-(st.logit(p) - 1.0)))  # every risk too low by 1 on the logit scale
    intercept = st.calibration_intercept(y, shifted)
    # Independent check: the score equation of the offset model, sum(y - expit(a + offset)) = 0.
    residual = np.sum(y - 1 / (1 + np.exp(-(intercept + st.logit(shifted)))))
    assert residual == pytest.approx(0.0, abs=1e-6)
    assert intercept == pytest.approx(1.0 + st.calibration_intercept(y, p), abs=0.05)
    assert st.calibration_intercept(y, p) == pytest.approx(0.0, abs=0.25)


def test_calibration_slope_is_nan_when_risk_separates_the_outcome():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert np.isnan(st.calibration_slope(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]))


def test_net_benefit_by_its_formula_on_a_hand_example():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.45, 0.3, 0.25, 0.2, 0.15, 0.05])
    # At pt = 0.2: treated are the 8 with p >= 0.2: TP = 3, FP = 5; n = 10.
    expected = 3 / 10 - 5 / 10 * 0.2 / 0.8
    assert st.net_benefit(y, p, [0.2])[0] == pytest.approx(expected)
    # At pt = 0.5: treated are 4 patients: TP = 3, FP = 1.
    assert st.net_benefit(y, p, [0.5])[0] == pytest.approx(0.3 - 0.1 * 1.0)
    curve = st.decision_curve(y, p, [0.1, 0.5])
    assert curve["treat_all"] == pytest.approx([0.4 - 0.6 / 9, 0.4 - 0.6])
    assert curve["treat_none"] == [0.0, 0.0]


def test_threshold_metrics_on_a_hand_example():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.7, 0.4, 0.6, 0.2, 0.1, 0.3, 0.8])
    sens, spec, ppv, npv, f1, lrp, lrn = st.threshold_metrics(y, p, 0.5)
    # Called positive: 0.9, 0.7, 0.6, 0.8 -> TP 3, FP 1, FN 1, TN 3.
    assert (sens, spec, ppv, npv) == (0.75, 0.75, 0.75, 0.75)
    assert f1 == pytest.approx(0.75)
    assert lrp == pytest.approx(3.0) and lrn == pytest.approx(1 / 3)
    assert st.youden_threshold(y, p) in p


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_n():
    widths = []
    for n in (100, 1600):
        y, p = _risk_data(n, seed=5)
        ci = st.bootstrap_ci(st.roc_auc, y, p, n_resamples=300, random_state=0)
        assert ci["lower"] <= ci["estimate"] <= ci["upper"]
        assert ci["estimate"] == st.roc_auc(y, p)
        widths.append(ci["upper"] - ci["lower"])
    assert widths[1] < widths[0] / 2
    again = st.bootstrap_ci(st.roc_auc, y, p, n_resamples=300, random_state=0)
    assert again == ci


def test_stratified_bootstrap_keeps_the_events():
    y = np.array([0] * 30 + [1] * 7)
    for rows in st.stratified_bootstrap_indices(y, 20, random_state=1):
        assert y[rows].sum() == 7 and rows.size == 37


def test_lowess_recovers_a_line_and_calibration_curve_stays_in_range():
    x = np.linspace(0, 1, 101)
    assert st.lowess(x, 2 * x + 1, [0.2, 0.5]) == pytest.approx([1.4, 2.0])
    y, p = _risk_data(500, seed=6)
    curve = st.calibration_curve(y, p)
    observed = np.array(curve["observed"])
    assert observed.min() >= 0 and observed.max() <= 1
    # A well-calibrated model: the smoothed curve stays near the diagonal.
    assert np.max(np.abs(observed - np.array(curve["predicted"]))) < 0.15


def test_risk_groups_cover_every_patient_in_risk_order():
    y, p = _risk_data(205, seed=7)
    groups = st.risk_groups(y, p, 10)
    assert sum(group["n"] for group in groups) == 205
    assert sum(group["events"] for group in groups) == y.sum()
    means = [group["predicted"] for group in groups]
    assert means == sorted(means)


def test_subgroups_flag_small_groups_and_measure_gaps():
    y, p = _risk_data(600, seed=8)
    groups = pd.Series(np.where(np.arange(600) < 560, "large", "small"))
    result = st.subgroup_metrics(y, p, groups, threshold=0.5, n_resamples=100)
    by_name = {row["group"]: row for row in result["rows"]}
    assert by_name["large"]["n"] == 560 and not by_name["large"]["unstable"]
    assert by_name["small"]["unstable"]
    assert result["gaps"]["compared"] == ["large"]
    assert by_name["large"]["auc"]["estimate"] == pytest.approx(roc_auc_score(y[:560], p[:560]))


def test_group_labels_bins_numbers_into_quartiles():
    values = pd.Series([float(v) for v in range(1, 101)] + [np.nan])
    labels = st.group_labels(values)
    assert labels.iloc[-1] == "missing"
    assert labels.iloc[:-1].value_counts().tolist() == [25, 25, 25, 25]
    assert labels.iloc[0].startswith("Q1 [1, ")
    assert st.group_labels(pd.Series([0.0, 1.0, 1.0])).tolist() == ["0", "1", "1"]


def test_table_one_summaries():
    raw = pd.DataFrame({"age": [50.0, 60.0, 70.0, np.nan], "htn": ["yes", "no", "yes", "yes"]})
    rows = st.table_one(raw, [1, 1, 0, 0])
    age = rows[0]
    assert age["missing"] == 1 and age["positive"]["mean"] == 55.0
    assert age["overall"]["n"] == 3
    htn_yes = next(row for row in rows if row["level"] == "yes")
    assert htn_yes["overall"]["count"] == 3 and htn_yes["positive"]["pct"] == 50.0
    missing = st.missingness(raw, [1, 1, 0, 0])
    assert missing[0] == {
        "variable": "age",
        "missing": 1,
        "pct": 25.0,
        "pct_positive": 0.0,
        "pct_negative": 50.0,
    }
