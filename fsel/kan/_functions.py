"""Each input's learned univariate function in a fitted KAN, on a grid in original units."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from fsel.kan._network import bounded_torch_threads


class LearnedFunctions(NamedTuple):
    """Values of first-layer edge functions on a grid of each chosen input.

    ``x[:, i]`` is the grid of feature ``features[i]`` in its original units and
    ``values[:, i]`` the function there: shape (n_points, n_chosen) when summed over
    the hidden units, (n_points, n_chosen, hidden_width) per edge.
    """

    features: np.ndarray
    names: list[str]
    x: np.ndarray
    values: np.ndarray


def learned_functions(
    model,
    features=None,
    grid: int | np.ndarray = 100,
    *,
    per_edge: bool = False,
) -> LearnedFunctions:
    """The univariate functions a fitted KAN learned for each input.

    Input j reaches hidden unit q through the edge function ``phi_qj`` of the first
    layer; the curve returned is ``sum_q phi_qj`` (or every ``phi_qj`` with
    ``per_edge=True``), evaluated at inputs given in the feature's original units (the
    network sees them standardised).

    Parameters
    ----------
    model : KANClassifier or KANRegressor
        A fitted KAN estimator (for a ``KANSelector``, pass its ``model_``).
    features : int, str, or sequence of them, optional
        Column indices or names (names need ``feature_names_in_``); default all.
    grid : int or ndarray, default=100
        Number of evenly spaced points over each feature's training range, or the
        points themselves: shape (n_points,) shared by all chosen features, or
        (n_points, n_chosen).
    per_edge : bool, default=False
        Return each hidden unit's edge function instead of their sum.

    Returns
    -------
    LearnedFunctions
        ``features`` (indices), ``names``, ``x`` and ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from fsel.kan import KANRegressor, learned_functions
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, size=(300, 2))
    >>> model = KANRegressor(random_state=0).fit(X, X[:, 0] ** 2)
    >>> curves = learned_functions(model, 0, grid=5)
    >>> curves.x.shape, curves.values.shape
    ((5, 1), (5, 1))
    """
    names_in = getattr(model, "feature_names_in_", None)
    all_names = (
        [str(name) for name in names_in]
        if names_in is not None
        else [f"x{index}" for index in range(model.n_features_in_)]
    )
    if features is None:
        chosen = np.arange(model.n_features_in_)
    else:
        requested = [features] if np.isscalar(features) else list(features)
        chosen = np.array(
            [all_names.index(f) if isinstance(f, str) else int(f) for f in requested]
        )
    if isinstance(grid, (int, np.integer)):
        steps = np.linspace(0.0, 1.0, int(grid))[:, None]
        low, high = model.x_min_[chosen], model.x_max_[chosen]
        points = low + (high - low) * steps
    else:
        points = np.asarray(grid, dtype=np.float64)
        points = np.repeat(points[:, None], chosen.size, axis=1) if points.ndim == 1 else points
    inputs = np.tile(model.x_mean_, (points.shape[0], 1))
    # Every edge function depends on its own input only, so all chosen features are
    # placed on their grids at once and read off the edges that start from them.
    inputs[:, chosen] = points
    layer = model.network_.act_fun[0]
    with bounded_torch_threads(model.n_jobs), torch.no_grad():
        _, _, edge_outputs, _ = layer(model._input_tensor(inputs))
    # edge_outputs: (n_points, hidden, n_features)
    per_feature = edge_outputs[:, :, torch.as_tensor(chosen)].permute(0, 2, 1)
    values = per_feature if per_edge else per_feature.sum(dim=2)
    return LearnedFunctions(
        features=chosen,
        names=[all_names[index] for index in chosen],
        x=points,
        values=values.double().cpu().numpy(),
    )
