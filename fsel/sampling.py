"""Thin a dataset's rows with GAIS instance selection: what ``fsel sample`` runs."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fsel.data import Dataset
from fsel.exceptions import FselInputError, first_line


@dataclass
class SampleResult:
    """The kept rows (original columns and row numbers) and the class counts around them."""

    rows: pd.DataFrame
    counts_before: dict
    counts_after: dict


def sample_rows(
    dataset: Dataset,
    keep: float | int = 0.04,
    *,
    graph: str = "minibatch",
    min_per_class: int = 2,
    random_state: int | None = 0,
    n_jobs: int | None = None,
) -> SampleResult:
    """Keep the rows of ``dataset`` that GAIS finds most useful (see :class:`GAISampler`).

    Returns the kept rows as they were read (raw columns plus the target, indexed by
    their original row number) with per-class counts before and after.
    """
    from fsel.instances import GAISampler

    if dataset.task != "classification":
        raise FselInputError(
            f"instance selection needs class labels; target {dataset.target!r} is a "
            "regression target."
        )
    sampler = GAISampler(
        keep=keep,
        graph=graph,
        min_per_class=min_per_class,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    try:
        sampler.fit_resample(dataset.X, dataset.y)
    except ValueError as error:
        raise FselInputError(f"GAIS cannot sample this table: {first_line(error)}") from None
    positions = sorted(sampler.sample_indices_)
    table = dataset.raw.assign(**{dataset.target: dataset.y})
    kept = table.iloc[positions]
    return SampleResult(
        rows=kept,
        counts_before=_counts(dataset.y),
        counts_after=_counts(kept[dataset.target]),
    )


def _counts(labels: pd.Series) -> dict:
    return {str(label): int(count) for label, count in labels.value_counts().sort_index().items()}
