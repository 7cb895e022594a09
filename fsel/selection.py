"""Rank one dataset's features with one registered selector: what ``fsel select`` runs."""

from __future__ import annotations

import pandas as pd

from fsel.data import Dataset
from fsel.exceptions import FselInputError, first_line
from fsel.selectors import make_selector, selector_names


def rank_features(
    dataset: Dataset,
    selector: str = "lasso",
    retention: float | int = 0.4,
    *,
    random_state: int | None = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Fit the selector registered as ``selector`` on the whole dataset and rank its features.

    Returns a DataFrame with one row per feature, best first: ``rank``, ``feature``,
    ``score`` and ``kept`` (whether ``retention`` keeps it).
    """
    if selector not in selector_names():
        raise FselInputError(
            f"unknown selector {selector!r}; choose from {', '.join(selector_names())}."
        )
    params = {"retention": retention, "task": dataset.task, "random_state": random_state}
    if n_jobs is not None:
        params["n_jobs"] = n_jobs
    estimator = make_selector(selector)
    accepted = estimator.get_params()
    estimator.set_params(**{key: value for key, value in params.items() if key in accepted})
    try:
        estimator.fit(dataset.X, dataset.y)
    except ValueError as error:
        # scikit-learn reports data it cannot fit (too few rows per class, ...) as ValueError.
        raise FselInputError(
            f"selector {selector!r} cannot be fitted on this table: {first_line(error)}"
        ) from None
    ranking = pd.DataFrame(
        {
            "rank": estimator.ranking_,
            "feature": dataset.feature_names,
            "score": estimator.scores_,
            "kept": estimator.get_support(),
        }
    )
    return ranking.sort_values("rank", kind="stable").reset_index(drop=True)
