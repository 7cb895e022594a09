"""Feature selectors: four KAN scores and four classical baselines on one shared base."""

from fsel.selectors._base import BaseSelector, rank_order, resolve_retention, top_k_mask
from fsel.selectors._registry import (
    CLASSICAL_SELECTORS,
    KAN_SELECTORS,
    make_selector,
    selector_names,
)

__all__ = [
    "BaseSelector",
    "CLASSICAL_SELECTORS",
    "KAN_SELECTORS",
    "make_selector",
    "rank_order",
    "resolve_retention",
    "selector_names",
    "top_k_mask",
]
