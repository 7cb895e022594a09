"""The KAN engine: pykan's network, fsel's training loop, the four feature-importance scores."""

from fsel.kan._estimators import KANClassifier, KANRegressor
from fsel.kan._functions import LearnedFunctions, learned_functions
from fsel.kan._training import input_group_norms
from fsel.kan.scores import (
    SCORES,
    kan_scores,
    knockout_scores,
    l1_scores,
    l2_scores,
    sensitivity_scores,
)

__all__ = [
    "SCORES",
    "KANClassifier",
    "KANRegressor",
    "LearnedFunctions",
    "input_group_norms",
    "kan_scores",
    "knockout_scores",
    "l1_scores",
    "l2_scores",
    "learned_functions",
    "sensitivity_scores",
]
