"""The retention-level evaluator: nested selection, parallel runner, metrics, AutoML."""

from fsel.evaluation._auto import AutoSelector
from fsel.evaluation._evaluator import RetentionEvaluator
from fsel.evaluation._results import choose, overview, summarize, write_outputs

__all__ = [
    "AutoSelector",
    "RetentionEvaluator",
    "choose",
    "overview",
    "summarize",
    "write_outputs",
]
