"""The selector registry: CLI names (``lasso``, ``kan-si``, ...) to selector classes."""

from __future__ import annotations

from importlib import import_module

# name -> (module, class, fixed parameters). Modules are imported on first use so that
# listing the names does not import torch.
_ENTRIES: dict[str, tuple[str, str, dict]] = {
    "kan-l1": ("fsel.selectors._kan", "KANSelector", {"score": "l1"}),
    "kan-l2": ("fsel.selectors._kan", "KANSelector", {"score": "l2"}),
    "kan-si": ("fsel.selectors._kan", "KANSelector", {"score": "si"}),
    "kan-ko": ("fsel.selectors._kan", "KANSelector", {"score": "ko"}),
    "lasso": ("fsel.selectors._lasso", "LassoSelector", {}),
    "rf": ("fsel.selectors._random_forest", "RandomForestSelector", {}),
    "mi": ("fsel.selectors._mutual_info", "MutualInfoSelector", {}),
    "svm-rfe": ("fsel.selectors._svm_rfe", "SVMRFESelector", {}),
}

KAN_SELECTORS = ("kan-l1", "kan-l2", "kan-si", "kan-ko")
CLASSICAL_SELECTORS = ("lasso", "rf", "mi", "svm-rfe")


def selector_names() -> list[str]:
    """Every registered selector name, KAN selectors first."""
    return list(_ENTRIES)


def make_selector(name: str, **params):
    """A new, unfitted selector registered as ``name``, with ``params`` set on it.

    Raises ``KeyError`` with the valid names when ``name`` is unknown.
    """
    try:
        module, cls_name, fixed = _ENTRIES[name]
    except KeyError:
        raise KeyError(f"unknown selector {name!r}; choose from {', '.join(_ENTRIES)}") from None
    cls = getattr(import_module(module), cls_name)
    return cls(**{**fixed, **params})
