"""fsel: tabular AutoML feature selection with KAN and classical selectors.

Every public class is importable from here; heavy modules (torch for the KAN
selectors) load only when their class is first used.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fsel")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

_PUBLIC = {
    "LassoSelector": "fsel.selectors._lasso",
    "RandomForestSelector": "fsel.selectors._random_forest",
    "MutualInfoSelector": "fsel.selectors._mutual_info",
    "SVMRFESelector": "fsel.selectors._svm_rfe",
    "KANSelector": "fsel.selectors._kan",
    "KANClassifier": "fsel.kan",
    "KANRegressor": "fsel.kan",
    "GAISampler": "fsel.instances",
    "RetentionEvaluator": "fsel.evaluation",
    "AutoSelector": "fsel.evaluation",
    "load_dataset": "fsel.data",
    "FselInputError": "fsel.exceptions",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fsel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
