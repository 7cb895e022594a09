"""Tests for the downstream-model cards and the pipelines fsel.estimators builds from them."""

import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from fsel.estimators import EstimatorCard, card_names, load_card, make_estimator
from fsel.exceptions import FselInputError

SHIPPED = ["gradient_boosting", "lightgbm", "linear", "random_forest", "svm", "xgboost"]
# Fewer trees keep the suite fast; the card's other settings are exercised as shipped.
FAST = {
    "random_forest": {"n_estimators": 15},
    "gradient_boosting": {"max_iter": 15},
    "lightgbm": {"n_estimators": 15},
    "xgboost": {"n_estimators": 15},
}


@pytest.fixture(autouse=True)
def one_thread_per_model():
    # As in the evaluator: HistGradientBoosting's OpenMP threads crawl on a busy machine.
    with threadpool_limits(limits=1):
        yield


def with_missing(X, rng):
    X = X.copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, 0] = np.nan  # an all-missing column must survive imputation
    return X


@pytest.fixture(scope="module")
def classification_data():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), 160, replace=False)
    return with_missing(X[rows, :8], rng), y[rows]


@pytest.fixture(scope="module")
def regression_data():
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(1)
    rows = rng.choice(len(y), 160, replace=False)
    return with_missing(X[rows], rng), y[rows]


def write_card(tmp_path, text, name="custom"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def card_text(classifier="sklearn.linear_model.LogisticRegression", params="{}", extra=""):
    return (
        f'description = "test card"\nneeds_scaling = false\n{extra}\n'
        f'[classifier]\nclass = "{classifier}"\nparams = {params}\n'
        '[regressor]\nclass = "sklearn.linear_model.Ridge"\n'
    )


def test_card_names_lists_the_shipped_families():
    assert card_names() == SHIPPED


def test_load_card_reads_every_field():
    card = load_card("xgboost")
    assert isinstance(card, EstimatorCard)
    assert card.name == "xgboost" and card.needs_scaling is False
    assert card.classifier == "xgboost.XGBClassifier"
    assert card.regressor == "xgboost.XGBRegressor"
    assert card.classifier_params["n_estimators"] == 300
    assert card.classifier_params["learning_rate"] == 0.05
    assert load_card("svm").scale_target is True
    assert load_card("linear").needs_scaling is True


def test_load_card_accepts_a_path(tmp_path):
    card = load_card(write_card(tmp_path, card_text(params="{ C = 0.5 }"), name="mine"))
    assert card.name == "mine" and card.classifier_params == {"C": 0.5}
    assert load_card(str(tmp_path / "mine.toml")) == card


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_card_fits_and_predicts_with_missing_values(
    name, task, classification_data, regression_data
):
    X, y = classification_data if task == "classification" else regression_data
    train, test = slice(0, 120), slice(120, None)
    model = make_estimator(name, task, random_state=0, params=FAST.get(name))
    assert isinstance(model, Pipeline)
    assert [step for step, _ in model.steps][0] == "impute"
    assert ("scale" in model.named_steps) == load_card(name).needs_scaling
    predictions = model.fit(X[train], y[train]).predict(X[test])
    assert predictions.shape == (40,) and np.all(np.isfinite(predictions))
    score = model.score(X[test], y[test])
    # Every family learns something on these easy tables (accuracy / R^2).
    assert score > (0.8 if task == "classification" else 0.15), score

    # Deterministic for a fixed random_state, and clone-able into an equal fit.
    again = clone(model).fit(X[train], y[train])
    np.testing.assert_array_equal(again.predict(X[test]), predictions)
    if task == "classification" and hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(again.predict_proba(X[test]), model.predict_proba(X[test]))


def test_random_state_and_n_jobs_reach_the_model_only_when_it_takes_them():
    forest = make_estimator("random_forest", "classification", random_state=7, n_jobs=2)
    assert forest.named_steps["model"].random_state == 7
    assert forest.named_steps["model"].n_jobs == 2
    svr = make_estimator("svm", "regression", random_state=7, n_jobs=2).named_steps["model"]
    assert not {"random_state", "n_jobs"} & set(svr.regressor.get_params())
    assert (
        make_estimator("svm", "classification", random_state=7).named_steps["model"].random_state
        == 7
    )
    logistic = make_estimator("linear", "classification", n_jobs=2)
    assert logistic.named_steps["model"].n_jobs is None  # deprecated there; setting it warns
    assert logistic.named_steps["model"].max_iter == 2000


def test_params_override_the_card():
    model = make_estimator("random_forest", "regression", params={"n_estimators": 3})
    assert model.named_steps["model"].n_estimators == 3
    with pytest.raises(FselInputError, match="does not accept parameter"):
        make_estimator("random_forest", "regression", params={"n_trees": 3})


def test_xgboost_classifier_accepts_any_labels(classification_data):
    X, y = classification_data
    labels = np.array(["control", "impaired"])[y]
    model = make_estimator("xgboost", "classification", random_state=0, params=FAST["xgboost"])
    predictions = model.fit(X, labels).predict(X)
    assert set(predictions) <= {"control", "impaired"}
    assert list(model.classes_) == ["control", "impaired"]
    assert model.predict_proba(X).shape == (len(y), 2)
    gappy = np.array([3, 8])[y]
    assert set(clone(model).fit(X, gappy).predict(X)) <= {3, 8}


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_boosting_libraries_print_nothing(name, classification_data, regression_data, capfd):
    for task, (X, y) in [("classification", classification_data), ("regression", regression_data)]:
        # min_child_samples far above the rows would make LightGBM warn if it were not quiet.
        extra = {"min_child_samples": 500} if name == "lightgbm" else {}
        make_estimator(name, task, params={**FAST[name], **extra}).fit(X, y).predict(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_unknown_task_is_refused():
    with pytest.raises(FselInputError, match="task must be one of"):
        make_estimator("linear", "clustering")


def test_unknown_card_name_lists_the_available_ones():
    with pytest.raises(FselInputError, match="unknown estimator card 'catboost'; available: gra"):
        load_card("catboost")
    with pytest.raises(FselInputError, match="unknown estimator card"):
        load_card("..")


def test_missing_card_file_is_refused(tmp_path):
    with pytest.raises(FselInputError, match="card file not found"):
        load_card(tmp_path / "absent.toml")


BAD_CLASSES = {
    "os.system": "outside the allowed packages",
    "subprocess.Popen": "outside the allowed packages",
    "sklearnx.linear_model.Ridge": "outside the allowed packages",
    "sklearn.pipeline.make_pipeline": "is not a model",
    "sklearn.preprocessing.StandardScaler": "is not a model",
    "sklearn.base.BaseEstimator": "is not a model",
    "sklearn.linear_model.LogisticRegression.__class__": "is not a dotted path",
    "sklearn.base.BaseEstimator.__subclasses__": "is not a dotted path",
    "__import__('os').system": "is not a dotted path",
    "sklearn.svm.SVC()": "is not a dotted path",
    "sklearn.svm.SVC ": "is not a dotted path",
    "LogisticRegression": "is not a dotted path",
    "sklearn.linear_model.NoSuchModel": "does not exist",
    "sklearn.no_such_module.Model": "cannot be imported",
    "sklearn.pipeline.Pipeline": "cannot be created with default arguments",
}


@pytest.mark.parametrize("dotted, cause", BAD_CLASSES.items())
def test_cards_naming_anything_but_an_allowed_model_class_are_refused(tmp_path, dotted, cause):
    path = write_card(tmp_path, card_text(classifier=dotted.replace('"', '\\"')))
    with pytest.raises(FselInputError, match="custom") as error:
        load_card(path)
    assert cause in str(error.value)
    assert "\n" not in str(error.value)


def test_the_module_of_a_refused_class_is_never_imported(tmp_path):
    if "this" in sys.modules:
        pytest.skip("the probe module was imported elsewhere")
    with pytest.raises(FselInputError, match="outside the allowed packages"):
        load_card(write_card(tmp_path, card_text(classifier="this.Zen")))
    assert "this" not in sys.modules


BAD_CARDS = {
    "unknown top-level key": (card_text(extra='colour = "red"'), "unknown key.*colour"),
    "unknown model key": (
        card_text().replace("params = {}", "params = {}\nkwargs = {}"),
        "unknown key.*kwargs",
    ),
    "unaccepted param": (
        card_text(classifier="sklearn.ensemble.RandomForestClassifier", params="{ n_trees = 5 }"),
        "does not accept parameter.*n_trees",
    ),
    "malformed toml": ('description = "x"\nneeds_scaling = \n', "not valid TOML"),
    "missing key": (card_text().replace("needs_scaling = false\n", ""), "missing key.*needs"),
    "flag not a boolean": (
        card_text().replace("needs_scaling = false", 'needs_scaling = "yes"'),
        "needs_scaling must be true or false",
    ),
    "params not a table": (card_text(params='"fast"'), "params must be a table"),
    "class not a string": (
        card_text().replace('class = "sklearn.linear_model.Ridge"', "class = 3"),
        "needs class",
    ),
}


@pytest.mark.parametrize("case", BAD_CARDS)
def test_malformed_cards_are_refused_in_one_line(tmp_path, case):
    text, cause = BAD_CARDS[case]
    with pytest.raises(FselInputError, match=cause) as error:
        load_card(write_card(tmp_path, text))
    assert "'custom'" in str(error.value)
    assert "\n" not in str(error.value)


def test_lightgbm_booster_parameters_are_accepted_and_typos_are_not(tmp_path):
    good = card_text(classifier="lightgbm.LGBMClassifier", params="{ min_data_in_leaf = 3 }")
    assert load_card(write_card(tmp_path, good)).classifier_params == {"min_data_in_leaf": 3}
    bad = card_text(classifier="lightgbm.LGBMClassifier", params="{ min_dat_in_leaf = 3 }")
    with pytest.raises(FselInputError, match="min_dat_in_leaf"):
        load_card(write_card(tmp_path, bad))


def test_a_lightgbm_card_that_forgets_verbose_is_quiet_too(tmp_path, classification_data, capfd):
    text = card_text(classifier="lightgbm.LGBMClassifier", params="{ n_estimators = 5 }")
    card = load_card(write_card(tmp_path, text))
    X, y = classification_data
    make_estimator(card, "classification", params={"min_child_samples": 500}).fit(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
