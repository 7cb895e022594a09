"""Downstream-model cards (``estimators/*.toml``): load them and build the models they describe."""

from __future__ import annotations

import keyword
import os
import re
import sys
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils.metaestimators import available_if

from fsel._resources import shipped_dir
from fsel.exceptions import FselInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["EstimatorCard", "card_names", "load_card", "make_estimator"]

# A card is data a user may have downloaded, so the class it names is resolved only inside
# these packages, and only after the name has been checked.
_ALLOWED_PACKAGES = ("sklearn", "lightgbm", "xgboost", "fsel")
_IDENTIFIER_CHAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_CARD_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_REQUIRED_KEYS = ("description", "needs_scaling", "classifier", "regressor")
_OPTIONAL_KEYS = ("scale_target",)
_MODEL_KEYS = ("class", "params")
# The boosting libraries log to stdout/stderr from C++ unless told not to; fsel never prints.
_QUIET_PARAMS = {"lightgbm": {"verbose": -1}, "xgboost": {"verbosity": 0}}
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class EstimatorCard:
    """A downstream-model family: which scikit-learn-compatible classes to fit, and how.

    Read from a TOML card by :func:`load_card`; turned into a pipeline by
    :func:`make_estimator`.

    Parameters
    ----------
    name : str
        The card's name (its file name without ``.toml``).
    description : str
        One sentence for reports and ``--help`` listings.
    needs_scaling : bool
        Whether the features are standardised before the model (linear models, SVMs).
    classifier, regressor : str
        Dotted paths of the model classes used for each task.
    classifier_params, regressor_params : dict
        Keyword arguments for those classes.
    scale_target : bool, default=False
        Whether a regressor is fitted on a standardised target (for models whose
        hyper-parameters are in target units, such as SVR's ``epsilon``).

    Examples
    --------
    >>> from fsel.estimators import load_card
    >>> card = load_card("random_forest")
    >>> card.classifier, card.classifier_params
    ('sklearn.ensemble.RandomForestClassifier', {'n_estimators': 200})
    """

    name: str
    description: str
    needs_scaling: bool
    classifier: str
    classifier_params: dict
    regressor: str
    regressor_params: dict
    scale_target: bool = False


def card_names() -> list[str]:
    """Names of the cards shipped in fsel's ``estimators/`` folder, sorted.

    Examples
    --------
    >>> from fsel.estimators import card_names
    >>> "xgboost" in card_names()
    True
    """
    return sorted(path.stem for path in shipped_dir("estimators").glob("*.toml"))


def load_card(name_or_path: str | os.PathLike) -> EstimatorCard:
    """Read and check a downstream-model card, by shipped name or by path to a ``.toml`` file.

    Every check happens here: the card's keys and types, that each class is a
    scikit-learn-compatible model inside scikit-learn, LightGBM, XGBoost or fsel, and
    that each parameter is one the class accepts.

    Raises
    ------
    FselInputError
        With one line naming the card and the problem.

    Examples
    --------
    >>> from fsel.estimators import load_card
    >>> load_card("linear").regressor
    'sklearn.linear_model.Ridge'
    """
    text = os.fspath(name_or_path)
    if (
        isinstance(name_or_path, os.PathLike)
        or text.endswith(".toml")
        or "/" in text
        or os.sep in text
    ):
        path, name = Path(text), Path(text).stem
        if not path.is_file():
            raise FselInputError(f"estimator card file not found: {path}")
    else:
        name, path = text, shipped_dir("estimators") / f"{text}.toml"
        if not _CARD_NAME.fullmatch(name) or not path.is_file():
            raise FselInputError(
                f"unknown estimator card {name!r}; available: {', '.join(card_names())}"
            )
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise FselInputError(f"estimator card {name!r} is not valid TOML: {error}") from None
    return _card_from_dict(name, data)


def _card_from_dict(name: str, data: dict) -> EstimatorCard:
    def fail(cause: str) -> FselInputError:
        return FselInputError(f"estimator card {name!r}: {cause}")

    unknown = sorted(set(data) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        allowed = ", ".join(_REQUIRED_KEYS + _OPTIONAL_KEYS)
        raise fail(f"unknown key(s) {', '.join(unknown)}; a card has {allowed}")
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise fail(f"missing key(s) {', '.join(missing)}")
    if not isinstance(data["description"], str):
        raise fail("description must be a string")
    for flag in ("needs_scaling", "scale_target"):
        if not isinstance(data.get(flag, False), bool):
            raise fail(f"{flag} must be true or false")
    models = {}
    for task_key in ("classifier", "regressor"):
        section = data[task_key]
        if not isinstance(section, dict):
            raise fail(f"[{task_key}] must be a table with 'class' and 'params'")
        unknown = sorted(set(section) - set(_MODEL_KEYS))
        if unknown:
            raise fail(
                f"unknown key(s) {', '.join(unknown)} in [{task_key}]; it has class, params"
            )
        dotted, params = section.get("class"), section.get("params", {})
        if not isinstance(dotted, str):
            raise fail(f'[{task_key}] needs class = "package.module.ClassName"')
        if not isinstance(params, dict):
            raise fail(f"[{task_key}] params must be a table")
        _check_params(name, _resolve_class(name, dotted), params)
        models[task_key] = (dotted, dict(params))
    return EstimatorCard(
        name=name,
        description=data["description"],
        needs_scaling=data["needs_scaling"],
        classifier=models["classifier"][0],
        classifier_params=models["classifier"][1],
        regressor=models["regressor"][0],
        regressor_params=models["regressor"][1],
        scale_target=data.get("scale_target", False),
    )


def _resolve_class(card_name: str, dotted: str) -> type:
    """The model class at ``dotted``, importing its module only once the path is known safe."""

    def fail(cause: str) -> FselInputError:
        return FselInputError(f"estimator card {card_name!r}: class {dotted!r} {cause}")

    parts = dotted.split(".")
    # A plain identifier chain, so neither calls nor indexing nor dunder attributes
    # (``__class__``, ``__subclasses__``) can reach past the named class.
    if not _IDENTIFIER_CHAIN.fullmatch(dotted) or any(
        part.startswith("__") or keyword.iskeyword(part) for part in parts
    ):
        raise fail("is not a dotted path such as 'sklearn.svm.SVC'")
    if parts[0] not in _ALLOWED_PACKAGES:
        raise fail(f"is outside the allowed packages ({', '.join(_ALLOWED_PACKAGES)})")
    module_name, class_name = ".".join(parts[:-1]), parts[-1]
    try:
        module = import_module(module_name)
    except ImportError as error:
        raise fail(f"cannot be imported: {error}") from None
    model_class = getattr(module, class_name, None)
    if model_class is None:
        raise fail(f"does not exist in {module_name}")
    if not (
        isinstance(model_class, type)
        and issubclass(model_class, BaseEstimator)
        and callable(getattr(model_class, "fit", None))
        and callable(getattr(model_class, "predict", None))
    ):
        raise fail("is not a model (a scikit-learn estimator class with fit and predict)")
    return model_class


def _check_params(card_name: str, model_class: type, params: dict) -> set[str]:
    """Refuse parameters ``model_class`` does not take; return the names it does take."""
    try:
        # get_params() rather than the signature: XGBoost declares its parameters on a
        # base class and passes them through **kwargs.
        accepted = set(model_class().get_params(deep=False))
    except Exception as error:  # a class that needs arguments cannot be a card's model
        raise FselInputError(
            f"estimator card {card_name!r}: {model_class.__name__} cannot be created "
            f"with default arguments ({error})"
        ) from None
    if model_class.__module__.split(".")[0] == "lightgbm":
        accepted |= _lightgbm_parameter_names()
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise FselInputError(
            f"estimator card {card_name!r}: {model_class.__name__} does not accept "
            f"parameter(s) {', '.join(unknown)}"
        )
    return accepted


def _lightgbm_parameter_names() -> set[str]:
    """Every LightGBM configuration name and alias (its sklearn classes take them as **kwargs)."""
    from lightgbm import basic

    # A private helper of LightGBM's, hence the fallback: without it the card's LightGBM
    # parameters are checked against get_params() only, which misses verbose and friends.
    try:
        aliases = basic._ConfigAliases._get_all_param_aliases()
    except AttributeError:  # pragma: no cover - depends on the LightGBM release
        return set(_QUIET_PARAMS["lightgbm"])
    return set(aliases).union(*aliases.values())


def make_estimator(
    card: EstimatorCard | str | os.PathLike,
    task: str,
    *,
    random_state: int | None = None,
    n_jobs: int = 1,
    params: dict | None = None,
) -> Pipeline:
    """A new, unfitted pipeline for ``task``: median imputation, scaling if the card asks, the model.

    Parameters
    ----------
    card : EstimatorCard, str or path
        A loaded card, or a shipped card's name / a card file (see :func:`load_card`).
    task : {"classification", "regression"}
        Which of the card's two models to build.
    random_state : int, optional
        Set on the model when its class takes one; None keeps the card's setting.
    n_jobs : int, default=1
        Set on the model when its class takes it (the evaluator parallelises across
        folds, so one thread per model is the right default).
    params : dict, optional
        Parameters overriding the card's, checked the same way.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``impute`` (median, keeps all-missing columns), ``scale`` (only when the
        card needs scaling) and ``model``. It accepts NaN, can be cloned, and is
        deterministic for a fixed ``random_state``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from fsel.estimators import make_estimator
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_estimator("linear", "classification", random_state=0).fit(X, y)
    >>> [name for name, _ in model.steps]
    ['impute', 'scale', 'model']
    >>> round(model.score(X, y), 2)
    0.99
    """
    if not isinstance(card, EstimatorCard):
        card = load_card(card)
    if task == "classification":
        dotted, card_params = card.classifier, card.classifier_params
    elif task == "regression":
        dotted, card_params = card.regressor, card.regressor_params
    else:
        raise FselInputError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    model_class = _resolve_class(card.name, dotted)
    package = dotted.split(".")[0]
    settings = {**_QUIET_PARAMS.get(package, {}), **card_params, **(params or {})}
    accepted = _check_params(card.name, model_class, settings)
    if random_state is not None and "random_state" in accepted:
        settings["random_state"] = random_state
    if "n_jobs" in accepted and not issubclass(model_class, LogisticRegression):
        # LogisticRegression still lists n_jobs, but ignores it since scikit-learn 1.8
        # and warns whenever it is set.
        settings["n_jobs"] = n_jobs
    model = model_class(**settings)
    if task == "classification" and package == "xgboost":
        model = _LabelEncodedClassifier(model)
    if task == "regression" and card.scale_target:
        model = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    steps = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if card.needs_scaling:
        steps.append(("scale", StandardScaler()))
    steps.append(("model", model))
    return Pipeline(steps)


def _estimator_has(attribute: str):
    return lambda self: hasattr(self.estimator, attribute)


class _LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on labels 0..K-1 and answer in the original labels.

    XGBoost's classifier refuses any other labels; this makes an XGBoost card behave like
    every other classifier when given strings or gappy integers.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        self.label_encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.label_encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(
            X, self.label_encoder_.transform(y), **fit_params
        )
        self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        codes = np.asarray(self.estimator_.predict(X)).astype(int)
        return self.label_encoder_.inverse_transform(codes)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @property
    def feature_importances_(self):
        return self.estimator_.feature_importances_
