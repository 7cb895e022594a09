"""fsel's training loop for a KAN: Adam or L-BFGS, early stopping, best weights restored."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from fsel.kan._forward import fast_forward, input_features, place_grids, select_inputs

# Rows used to place the spline grids: the grids only need quantiles, and the refit of the
# coefficients solves one least-squares problem per input over every row it is given.
_GRID_SAMPLE_ROWS = 512
# Full-batch steps (or mini-batch epochs) after which the grids are placed again: the hidden
# layer's activations widen as the network learns and would leave its grid behind.
_GRID_UPDATE_ROUNDS = frozenset({0, 5, 10, 20, 40})
# Above this many training rows one optimisation round is a shuffled pass of mini-batches.
FULL_BATCH_MAX_ROWS = 4096
_MINI_BATCH_ROWS = 512
# A round is at most this many mini-batch steps: at 512 rows a batch, up to 8,192 training
# rows a round is still one full pass, while at 80k rows a pass would be ten times the work
# between two validation checks, and patience (in rounds) would cost ten passes. Bounding
# the round keeps the cost of a round, and of early stopping, independent of n.
MAX_STEPS_PER_ROUND = 16
# Early stopping measures the loss on at most this many validation rows (a fixed random
# subsample): its noise is far below ``tol``, and its cost stays bounded at large n.
_MAX_VALIDATION_ROWS = 8192
# Rows per forward pass when only evaluating (validation loss, scores): bounds memory.
EVAL_CHUNK_ROWS = 16384
# The first layer's SiLU values and spline basis are kept for the training (full batch)
# and validation rows when they hold at most this many numbers (128 MB in float32).
_MAX_CACHED_FEATURES = 1 << 25


@dataclass
class TrainingResult:
    """What happened in :func:`train_network`."""

    n_iter: int = 0
    best_iteration: int = 0
    best_validation_loss: float = float("inf")
    training_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)


def resolve_batch_size(batch_size: int | str, n_rows: int) -> int:
    """``"auto"``: full batch up to :data:`FULL_BATCH_MAX_ROWS` rows, else 512-row batches."""
    if batch_size == "auto":
        return n_rows if n_rows <= FULL_BATCH_MAX_ROWS else _MINI_BATCH_ROWS
    return int(min(batch_size, n_rows))


def evaluate_loss(network, loss_fn, X: torch.Tensor, y: torch.Tensor, features=None) -> float:
    """Mean ``loss_fn`` of ``network`` on ``(X, y)``, in chunks, without gradients.

    ``features``: the first layer's cached :func:`input_features` of all of ``X``.
    """
    with torch.no_grad():
        if features is not None:
            return float(loss_fn(fast_forward(network, None, features), y))
        total = 0.0
        for start in range(0, X.shape[0], EVAL_CHUNK_ROWS):
            stop = start + EVAL_CHUNK_ROWS
            total += float(loss_fn(fast_forward(network, X[start:stop]), y[start:stop])) * (
                min(stop, X.shape[0]) - start
            )
    return total / X.shape[0]


def _first_layer_features(network, X: torch.Tensor | None):
    """The first layer's :func:`input_features` of ``X``, or None when they would be large."""
    if X is None:
        return None
    layer = network.act_fun[0]
    if X.shape[0] * layer.coef.shape[0] * (layer.coef.shape[2] + 1) > _MAX_CACHED_FEATURES:
        return None
    with torch.no_grad():
        return input_features(layer, select_inputs(network, X))


def update_grids(network, X: torch.Tensor, rng: np.random.RandomState) -> None:
    """Place every layer's spline grid on the quantiles of its inputs (pykan's grid update)."""
    if X.shape[0] > _GRID_SAMPLE_ROWS:
        rows = torch.as_tensor(rng.choice(X.shape[0], _GRID_SAMPLE_ROWS, replace=False))
        X = X[rows.to(X.device)]
    # The coefficients are refitted by least squares, whose float32 result varies in the
    # last bits from call to call (LAPACK blocking); in float64 the variation is far below
    # float32 resolution, so the same seed gives the same network.
    dtype = next(network.parameters()).dtype
    torch.nn.Module.to(network, torch.float64)  # pykan's own .to() would record a device
    with torch.no_grad():
        place_grids(network, X.double())
    torch.nn.Module.to(network, dtype)


def input_group_norms(network) -> torch.Tensor:
    """Euclidean norm of each input's first-layer parameters, one value per input.

    An input reaches the network only through its first-layer edges: a SiLU weight
    ``scale_base`` and spline coefficients ``coef`` times ``scale_sp`` per hidden unit,
    each gated by ``mask``. The norm of that group is zero exactly when the network
    ignores the input. Penalising the sum of the norms (a group lasso; Yuan & Lin, 2006)
    makes the network rely on few inputs instead of spreading the weight over correlated
    copies, which is what a ranking of the inputs needs.
    """
    layer = network.act_fun[0]
    gate = layer.mask
    spline = (layer.coef * (layer.scale_sp * gate).unsqueeze(-1)).pow(2).sum(dim=(1, 2))
    base = (layer.scale_base * gate).pow(2).sum(dim=1)
    # The small constant keeps the gradient finite when a group is exactly zero.
    return torch.sqrt(spline + base + 1e-12)


def train_network(
    network: torch.nn.Module,
    loss_fn,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    solver: str,
    learning_rate: float,
    alpha: float,
    max_iter: int,
    batch_size: int,
    n_iter_no_change: int,
    tol: float,
    update_grid: bool,
    rng: np.random.RandomState,
    input_sparsity: float = 0.0,
) -> TrainingResult:
    """Fit ``network`` in place and leave it with its best validation weights.

    One round is one full-batch step (or L-BFGS iteration) when ``batch_size`` covers
    the training rows, else the next :data:`MAX_STEPS_PER_ROUND` mini-batches of a
    shuffled pass over the training rows (fewer when the pass runs out; the next round
    starts a new pass). With up to ``MAX_STEPS_PER_ROUND * batch_size`` training rows a
    round is thus one whole pass (an epoch); above that, a round sees a bounded number
    of rows, so the work per round, and between early-stopping checks, does not grow
    with n. After each round the validation loss is measured (on a fixed random subsample
    of at most 8,192 validation rows); training stops after ``n_iter_no_change`` rounds
    without an improvement larger than ``tol`` and the best weights (grids included)
    are restored. Without validation rows it runs ``max_iter`` rounds.

    ``input_sparsity`` adds that multiple of :func:`input_group_norms` (summed over the
    inputs) to the training loss, a group lasso that drives whole inputs out of the
    network; early stopping watches the plain validation loss.
    """
    result = TrainingResult()
    n_rows = X_train.shape[0]
    full_batch = batch_size >= n_rows
    parameters = [p for p in network.parameters() if p.requires_grad]
    if solver == "lbfgs":
        optimizer = torch.optim.LBFGS(
            parameters,
            lr=learning_rate,
            max_iter=1,
            history_size=10,
            line_search_fn="strong_wolfe",
        )
    else:
        optimizer = torch.optim.Adam(
            parameters, lr=learning_rate, weight_decay=alpha, foreach=True
        )
    if X_val is not None and X_val.shape[0] > _MAX_VALIDATION_ROWS:
        rows = torch.as_tensor(rng.choice(X_val.shape[0], _MAX_VALIDATION_ROWS, replace=False))
        rows = rows.to(X_val.device)
        X_val, y_val = X_val[rows], y_val[rows]
    best_state = None
    train_features = val_features = None
    rounds_without_gain = 0
    pass_batches: list = []  # the mini-batches of the current pass not yet used
    for round_index in range(max_iter):
        if update_grid and round_index in _GRID_UPDATE_ROUNDS:
            update_grids(network, X_train, rng)
            train_features = val_features = None
        if train_features is None and full_batch:
            train_features = _first_layer_features(network, X_train)
        if val_features is None:
            val_features = _first_layer_features(network, X_val)
        network.train()
        if full_batch:
            batches = [None]
        else:
            if not pass_batches:
                order = torch.as_tensor(rng.permutation(n_rows)).to(X_train.device)
                pass_batches = list(torch.split(order, batch_size))
            batches = pass_batches[:MAX_STEPS_PER_ROUND]
            pass_batches = pass_batches[MAX_STEPS_PER_ROUND:]
        epoch_loss = 0.0
        rows_seen = 0
        for rows in batches:
            X_batch = X_train if rows is None else X_train[rows]
            y_batch = y_train if rows is None else y_train[rows]
            features = train_features if rows is None else None

            def closure(X_batch=X_batch, y_batch=y_batch, features=features):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(fast_forward(network, X_batch, features), y_batch)
                if solver == "lbfgs" and alpha > 0:
                    loss = loss + alpha * sum((p * p).sum() for p in parameters)
                if input_sparsity > 0:
                    loss = loss + input_sparsity * input_group_norms(network).sum()
                loss.backward()
                return loss

            loss = optimizer.step(closure)
            epoch_loss += float(loss.detach()) * X_batch.shape[0]
            rows_seen += X_batch.shape[0]
        network.eval()
        result.training_loss.append(epoch_loss / rows_seen)
        result.n_iter = round_index + 1
        if not np.isfinite(result.training_loss[-1]):
            break
        if X_val is None:
            continue
        validation_loss = evaluate_loss(network, loss_fn, X_val, y_val, val_features)
        result.validation_loss.append(validation_loss)
        if validation_loss < result.best_validation_loss - tol:
            result.best_validation_loss = validation_loss
            result.best_iteration = round_index + 1
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            rounds_without_gain = 0
        else:
            rounds_without_gain += 1
            if rounds_without_gain >= n_iter_no_change:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    elif X_val is None:
        result.best_iteration = result.n_iter
    return result
