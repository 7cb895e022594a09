"""The four KAN feature-importance scores (l1, l2, si, ko), all from one fitted network."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from fsel.kan._estimators import local_random_state
from fsel.kan._forward import after_first_layer, fast_forward
from fsel.kan._network import bounded_torch_threads
from fsel.kan._training import EVAL_CHUNK_ROWS

SCORES = ("l1", "l2", "si", "ko")
# Points per input at which SiLU is sampled to express the base branch in the spline basis.
_BASE_FIT_POINTS = 64


def _edge_coefficients(model) -> torch.Tensor:
    """Coefficients of every first-layer edge function in its B-spline basis, centred.

    An edge from input j to hidden unit q computes
    ``phi_qj(x) = b_qj * SiLU(x) + s_qj * sum_k c_qjk B_jk(x)``. The SiLU branch is
    projected onto input j's basis by least squares on its grid (SiLU = sum_k beta_jk B_jk),
    giving ``w_qjk = s_qj * c_qjk + b_qj * beta_jk`` (times the edge mask). Because
    B-splines sum to one, a constant added to ``phi_qj`` adds the same value to every
    ``w_qjk``; subtracting the mean over k removes such offsets, which carry no
    information about the target.
    """
    layer = model.network_.act_fun[0]
    beta = torch.as_tensor(
        _base_in_spline_basis(layer), dtype=layer.coef.dtype, device=layer.coef.device
    )
    coefficients = (
        layer.scale_sp.detach()[:, :, None] * layer.coef.detach()
        + layer.scale_base.detach()[:, :, None] * beta[:, None, :]
    ) * layer.mask.detach()[:, :, None]
    return coefficients - coefficients.mean(dim=2, keepdim=True)


def _base_in_spline_basis(layer) -> np.ndarray:
    """Least-squares B-spline coefficients of the base function on each input's grid.

    Solved through the normal equations with NumPy's einsum (no BLAS) and one small
    solve per input: LAPACK's least squares varies in its last bits between calls, and
    the same network must give the same scores.
    """
    from kan.spline import B_batch

    order = layer.k
    grid = layer.grid.detach().double()
    low, high = grid[:, order], grid[:, -order - 1]
    steps = torch.linspace(0.0, 1.0, _BASE_FIT_POINTS, dtype=grid.dtype, device=grid.device)
    x = low[None, :] + (high - low)[None, :] * steps[:, None]
    basis = B_batch(x, grid, k=order).cpu().numpy()  # (points, inputs, n_basis)
    target = layer.base_fun(x).cpu().numpy()  # (points, inputs)
    gram = np.einsum("pjk,pjl->jkl", basis, basis)
    right = np.einsum("pjk,pj->jk", basis, target)
    # The ridge keeps a degenerate grid (constant input, all-zero basis) solvable: beta = 0.
    gram += 1e-10 * np.eye(gram.shape[1])[None, :, :]
    return np.linalg.solve(gram, right[:, :, None])[:, :, 0]


def _edge_spread(model, X, power: int, max_rows, random_state) -> np.ndarray:
    r"""Per input j, :math:`\sum_q \frac{1}{n} \sum_n |\phi_{qj}(z_{nj}) - \bar\phi_{qj}|^p`.

    The first-layer edge outputs are evaluated on the standardised rows ``X`` (chunked),
    centred by their mean over the rows, and raised to ``power``.
    """
    inputs, _ = _held_out(model, X, None, max_rows, random_state)
    layer = model.network_.act_fun[0]
    chunks = range(0, inputs.shape[0], EVAL_CHUNK_ROWS)
    # Two passes (mean, then deviations) keep memory at one chunk of rows x hidden x inputs.
    sums = torch.zeros(layer.in_dim, layer.out_dim, dtype=torch.float64, device=inputs.device)
    for start in chunks:
        _, _, edges, _ = layer(inputs[start : start + EVAL_CHUNK_ROWS])
        # A constant training column has a degenerate grid whose spline can evaluate to
        # NaN; such an edge is constant on the data, so it contributes no spread.
        sums += torch.nan_to_num(edges, nan=0.0).double().sum(dim=0).T
    means = sums / inputs.shape[0]
    spread = torch.zeros_like(sums)
    for start in chunks:
        _, _, edges, _ = layer(inputs[start : start + EVAL_CHUNK_ROWS])
        deviation = torch.nan_to_num(edges, nan=0.0).double().permute(0, 2, 1) - means[None]
        spread += deviation.abs().pow(power).sum(dim=0)
    return (spread / inputs.shape[0]).sum(dim=1).cpu().numpy()


def l1_scores(model, X=None, *, max_rows=2000, random_state=None) -> np.ndarray:
    r"""KAN-L1: mean absolute deviation of each input's first-layer edge functions.

    With rows ``X`` (standardised as the network sees them, :math:`z_{nj}`):

    .. math:: \mathrm{L1}_j = \sum_q \frac{1}{n} \sum_{n}
              \big|\phi_{qj}(z_{nj}) - \bar\phi_{qj}\big|,
              \qquad \bar\phi_{qj} = \frac{1}{n} \sum_n \phi_{qj}(z_{nj}),

    where :math:`\phi_{qj}(x) = b_{qj}\,\mathrm{SiLU}(x) + s_{qj} \sum_k c_{qjk}
    B_{jk}(x)` is the edge function from input j to hidden unit q (base branch
    ``scale_base``, spline scale ``scale_sp``, spline coefficients ``coef``). This is the
    L1 norm of the centred edge function under the inputs' empirical distribution: a
    coefficient over grid intervals holding few rows (a sparse, mostly constant input)
    counts only as much as the rows it affects.

    Without ``X`` the score falls back to the data-free coefficient norm
    :math:`\sum_q \sum_k |w_{qjk} - \bar w_{qj}|`, with
    :math:`w_{qjk} = s_{qj} c_{qjk} + b_{qj} \beta_{jk}` the edge's coefficients
    (SiLU expressed in the spline basis as :math:`\sum_k \beta_{jk} B_{jk}`) and
    :math:`\bar w_{qj}` their mean over k; it weights every grid interval alike,
    whatever the data density, and ranks sparse inputs too high.

    Differences: the paper's text defines the score on the spline coefficients alone
    (no data, no base branch); the paper's code averages the absolute edge outputs over
    the rows without centring, so a constant offset (or a constant input) scores above
    zero. Here the base branch is included, because a network may carry a feature's
    (near-)linear effect in it, and the outputs are centred, so an edge that is constant
    on the data scores zero.

    Parameters
    ----------
    model : KANClassifier or KANRegressor
        A fitted KAN estimator.
    X : array-like of shape (n_samples, n_features), optional
        Rows in original units the network was fitted on or validated with, e.g.
        ``X_train[model.validation_indices_]``.
    max_rows : int or None, default=2000
        At most this many rows (a random subset) are used.
    random_state : int, RandomState instance or None
        Seeds the subset.

    Returns
    -------
    ndarray of shape (n_features,)
        Higher is more important.
    """
    with bounded_torch_threads(model.n_jobs), torch.no_grad():
        if X is not None:
            return _edge_spread(model, X, 1, max_rows, random_state)
        return _edge_coefficients(model).abs().sum(dim=(1, 2)).double().cpu().numpy()


def l2_scores(model, X=None, *, max_rows=2000, random_state=None) -> np.ndarray:
    r"""KAN-L2: root mean square deviation of each input's first-layer edge functions.

    .. math:: \mathrm{L2}_j = \Big(\sum_q \frac{1}{n} \sum_{n}
              \big(\phi_{qj}(z_{nj}) - \bar\phi_{qj}\big)^2\Big)^{1/2}

    with :math:`\phi`, :math:`\bar\phi` and the rows as in :func:`l1_scores`. Without
    ``X`` the data-free fallback is :math:`(\sum_q \sum_k (w_{qjk} - \bar w_{qj})^2)^{1/2}`.
    The paper's text uses the L2 norm of the spline coefficients; its code the root mean
    square of the uncentred edge outputs. Parameters and return value as in
    :func:`l1_scores`.
    """
    with bounded_torch_threads(model.n_jobs), torch.no_grad():
        if X is not None:
            return np.sqrt(_edge_spread(model, X, 2, max_rows, random_state))
        return _edge_coefficients(model).square().sum(dim=(1, 2)).sqrt().double().cpu().numpy()


def _held_out(model, X, y, max_rows, random_state):
    """Standardised inputs and encoded targets (None without ``y``) of at most ``max_rows`` rows."""
    if X is None:
        raise ValueError("si and ko scores need held-out rows X; got None.")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != model.n_features_in_:
        raise ValueError(f"held-out X must have shape (n, {model.n_features_in_}); got {X.shape}.")
    y = None if y is None else np.asarray(y)
    if y is not None and y.shape[0] != X.shape[0]:
        raise ValueError(f"held-out X has {X.shape[0]} rows but y has {y.shape[0]}.")
    if X.shape[0] == 0:
        raise ValueError("si and ko scores need at least one held-out row; got none.")
    if max_rows is not None and X.shape[0] > max_rows:
        rows = np.sort(
            local_random_state(random_state).choice(X.shape[0], max_rows, replace=False)
        )
        X = X[rows]
        y = None if y is None else y[rows]
    inputs = model._input_tensor(X)
    if y is None:
        return inputs, None
    if hasattr(model, "classes_"):
        codes = np.searchsorted(model.classes_, y)
        known = (codes < model.classes_.size) & (
            model.classes_[np.minimum(codes, model.classes_.size - 1)] == y
        )
        if not known.all():
            raise ValueError("held-out y contains labels the model was not trained on.")
        target = torch.as_tensor(codes, dtype=torch.long, device=inputs.device)
    else:
        standardised = (np.asarray(y, dtype=np.float64) - model.y_mean_) / model.y_scale_
        target = torch.as_tensor(standardised, dtype=inputs.dtype, device=inputs.device)[:, None]
    return inputs, target


def sensitivity_scores(model, X, y=None, *, max_rows=2000, random_state=None) -> np.ndarray:
    r"""KAN-SI: mean absolute gradient of the output with respect to each input.

    .. math:: \mathrm{SI}_j = \frac{1}{n} \sum_{i=1}^{n} \sum_c
              \left| \frac{\partial p_c(z_i)}{\partial z_{ij}} \right|

    over the n held-out rows, where z are the standardised inputs (so the score does not
    depend on a feature's units) and :math:`p_c` the predicted probability of class c;
    for regression the single output (standardised target) replaces :math:`p_c`.

    Differences: the paper's code differentiates the sum of the absolute logits,
    :math:`|\partial/\partial x_j \sum_c |f_c||`, so gradients of different classes can
    cancel and logits can grow without changing predictions; here each class's
    probability gradient is taken in absolute value before summing.
    A feature constant over the training rows scores 0: the network's function of it
    (its collapsed spline and an untrained SiLU edge) varies with no training data.
    ``y`` is not used (accepted so every score has the same call).
    """
    inputs, _ = _held_out(model, X, y, max_rows, random_state)
    network = model.network_
    total = torch.zeros(inputs.shape[1], dtype=torch.float64, device=inputs.device)
    with bounded_torch_threads(model.n_jobs):
        for start in range(0, inputs.shape[0], EVAL_CHUNK_ROWS):
            chunk = inputs[start : start + EVAL_CHUNK_ROWS].clone().requires_grad_(True)
            with torch.enable_grad():
                outputs = fast_forward(network, chunk)
                if hasattr(model, "classes_"):
                    outputs = torch.softmax(outputs, dim=1)
                for column in range(outputs.shape[1]):
                    (gradient,) = torch.autograd.grad(
                        outputs[:, column].sum(), chunk, retain_graph=column + 1 < outputs.shape[1]
                    )
                    total += gradient.abs().sum(dim=0).double()
    scores = (total / inputs.shape[0]).cpu().numpy()
    scores[model.x_min_ == model.x_max_] = 0.0
    return scores


def knockout_scores(
    model,
    X,
    y,
    *,
    knockout: str = "mean",
    n_repeats: int = 5,
    max_rows: int | None = 2000,
    random_state=None,
) -> np.ndarray:
    r"""KAN-KO: increase of the held-out loss when one input is knocked out.

    .. math:: \mathrm{KO}_j = \frac{1}{R} \sum_{r=1}^{R} L\big(f(Z^{(j, r)}), y\big) - L\big(f(Z), y\big)

    where L is the mean cross-entropy (classification) or the mean squared error on the
    standardised target (regression) over the held-out rows, and :math:`Z^{(j, r)}` is
    the standardised held-out data with column j replaced by its training mean
    (``knockout="mean"``, one pass: R = 1) or by the r-th random permutation of the
    column (``knockout="permutation"``, R = ``n_repeats``). Batched: the first layer is a
    sum of univariate edge functions, so its edges are evaluated once on the held-out
    rows, every knocked-out copy is formed by swapping one edge term in the hidden sums,
    and the later layers run over all n x d copies in large chunks.

    Differences: the paper's code zeroes input j's first-layer weights (which removes
    the edge functions' value at the input, not the input's information), evaluates
    once, uses MSE on the unscaled regression target and clips negative values to zero.
    Here the input itself is replaced, the target is standardised and negative values
    (a feature whose removal helps) are kept, so they rank below zero-effect features.
    """
    if knockout not in ("mean", "permutation"):
        raise ValueError(f"knockout must be 'mean' or 'permutation'; got {knockout!r}.")
    if y is None:
        raise ValueError("ko scores need the held-out targets y; got None.")
    inputs, target = _held_out(model, X, y, max_rows, random_state)
    network = model.network_
    loss_fn = model._loss()
    loss_fn.reduction = "none"
    n_rows, n_features = inputs.shape
    rng = local_random_state(random_state)
    repeats = 1 if knockout == "mean" else n_repeats
    increase = np.zeros(n_features)
    with bounded_torch_threads(model.n_jobs), torch.no_grad():
        # The first layer is a sum of univariate edges, h_q = sum_j phi_qj(z_j), so knocking
        # out input j only swaps phi_qj(z_j) for phi_qj(replacement) in every h_q: the edges
        # are evaluated once and only the later layers run on the n_rows x n_features copies.
        _, _, edges, _ = network.act_fun[0](inputs)  # (rows, hidden, features)
        hidden = edges.sum(dim=2)
        baseline = float(loss_fn(after_first_layer(network, hidden), target).mean())
        for _ in range(repeats):
            if knockout == "mean":
                # Inputs are standardised with the training mean, which is therefore 0.
                _, _, replaced, _ = network.act_fun[0](torch.zeros_like(inputs[:1]))
                replaced = replaced.expand_as(edges)
            else:
                orders = np.stack([rng.permutation(n_rows) for _ in range(n_features)], axis=1)
                index = torch.as_tensor(orders, device=inputs.device)[:, None, :]
                replaced = torch.gather(edges, 0, index.expand_as(edges))
            # knocked[i, j, q]: hidden unit q of row i with input j knocked out.
            knocked = (hidden[:, :, None] - edges + replaced).permute(0, 2, 1)
            losses = _rowwise_losses(network, loss_fn, knocked, target)  # (rows, features)
            increase += losses.mean(dim=0).double().cpu().numpy() - baseline
    return increase / repeats


def _rowwise_losses(network, loss_fn, knocked: torch.Tensor, target: torch.Tensor):
    """Per-row loss of every knocked-out copy, shape (rows, features), in bounded chunks."""
    n_rows, n_features, width = knocked.shape
    flat = knocked.reshape(-1, width)
    repeated = target.repeat_interleave(n_features, dim=0)
    losses = []
    for start in range(0, flat.shape[0], EVAL_CHUNK_ROWS):
        stop = start + EVAL_CHUNK_ROWS
        outputs = after_first_layer(network, flat[start:stop])
        losses.append(loss_fn(outputs, repeated[start:stop]).reshape(outputs.shape[0], -1))
    return torch.cat(losses)[:, 0].reshape(n_rows, n_features)


def kan_scores(
    model,
    X=None,
    y=None,
    scores: Iterable[str] = SCORES,
    *,
    knockout: str = "mean",
    n_repeats: int = 5,
    max_rows: int | None = 2000,
    random_state=None,
) -> dict[str, np.ndarray]:
    """Every requested score of one fitted KAN, one array of ``n_features_in_`` per score.

    Parameters
    ----------
    model : KANClassifier or KANRegressor
        A fitted KAN estimator.
    X : array-like of shape (n_samples, n_features), optional
        Held-out rows in original units (needed by ``si`` and ``ko``; ``l1`` and ``l2``
        use them as the data distribution and fall back to a data-free norm without);
        use rows the network was not trained on, e.g.
        ``X_train[model.validation_indices_]``.
    y : array-like of shape (n_samples,), optional
        Their targets (needed by ``ko``).
    scores : iterable of {"l1", "l2", "si", "ko"}, default=all four
        Which scores to compute.
    knockout : {"mean", "permutation"}, default="mean"
        What replaces an input in ``ko``.
    n_repeats : int, default=5
        Permutations averaged in ``ko`` with ``knockout="permutation"``.
    max_rows : int or None, default=2000
        At most this many held-out rows (a random subset) are used.
    random_state : int, RandomState instance or None
        Seeds the subset and the permutations.

    Returns
    -------
    dict of str to ndarray of shape (n_features,)
        Higher is more important, in the requested order.

    Examples
    --------
    >>> import numpy as np
    >>> from fsel.kan import KANRegressor, kan_scores
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=300)
    >>> model = KANRegressor(random_state=0).fit(X, y)
    >>> held = model.validation_indices_
    >>> result = kan_scores(model, X[held], y[held], random_state=0)
    >>> [int(np.argmax(result[name])) for name in ("l1", "l2", "si", "ko")]
    [0, 0, 0, 0]
    """
    scores = list(scores)
    unknown = sorted(set(scores) - set(SCORES))
    if unknown:
        raise ValueError(f"unknown KAN score(s) {unknown}; choose from {list(SCORES)}.")
    result = {}
    for name in scores:
        if name == "l1":
            result[name] = l1_scores(model, X, max_rows=max_rows, random_state=random_state)
        elif name == "l2":
            result[name] = l2_scores(model, X, max_rows=max_rows, random_state=random_state)
        elif name == "si":
            result[name] = sensitivity_scores(
                model, X, y, max_rows=max_rows, random_state=random_state
            )
        else:
            result[name] = knockout_scores(
                model,
                X,
                y,
                knockout=knockout,
                n_repeats=n_repeats,
                max_rows=max_rows,
                random_state=random_state,
            )
    return result
