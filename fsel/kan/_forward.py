"""A lean forward pass and grid update for pykan's ``KAN`` module: same function, less work.

pykan's ``MultKAN.forward`` materialises, for every layer, the ``(rows, outputs, inputs)``
tensors of pre-activations, post-activations and spline outputs (three clones, kept for
its plots and pruning), evaluates the B-spline basis by recursion and sums the edges with
an ``einsum``. Training needs none of those intermediates. Here each layer is

.. math:: y_o = \\sum_i m_{io} \\big( s^b_{io}\\, \\mathrm{silu}(x_i)
                + s^s_{io} \\sum_k c_{iok} B_k(x_i) \\big)

computed as two matrix products, ``silu(x) @ (m * s^b)`` and the flattened basis
``B (rows, inputs * basis) @ W (inputs * basis, outputs)`` with
``W[i k, o] = m_io s^s_io c_iok``, followed by pykan's sub-node and node affine maps. The
parameters are the module's own, so gradients reach the same tensors, and the result
equals ``network(x)`` to float rounding (tested). Because the first layer's inputs are
the data, its SiLU values and basis (:func:`input_features`) do not change between two
grid updates: the training loop computes them once and each step is then a matrix product.

The basis is the Cox–de Boor recursion, unrolled from order 0 upward, in the form
:math:`B_{i,p} = w_{i,p} B_{i,p-1} + (1 - w_{i+1,p}) B_{i+1,p-1}` with
:math:`w_{i,p} = (x - t_i) / (t_{i+p} - t_i)`; a zero knot span gives :math:`w = 0`
(pykan divides by zero and then replaces the NaN, which leads to the same zeros, since a
basis function over an empty span is zero).
"""

from __future__ import annotations

import torch


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, order: int) -> torch.Tensor:
    """B-spline basis values, shape ``(rows, inputs, grid points - order - 1)``.

    ``x`` is ``(rows, inputs)``; ``grid`` is ``(inputs, grid points)``, the extended grid
    pykan keeps on each layer.
    """
    x = x.unsqueeze(2)
    knots = grid.unsqueeze(0)
    basis = ((x >= knots[:, :, :-1]) & (x < knots[:, :, 1:])).to(x.dtype)
    for p in range(1, order + 1):
        span = knots[:, :, p:] - knots[:, :, :-p]
        inverse = torch.where(span > 0, 1.0 / torch.where(span > 0, span, 1.0), 0.0)
        w = (x - knots[:, :, :-p]) * inverse
        basis = w[:, :, :-1] * basis[:, :, :-1] + (1.0 - w[:, :, 1:]) * basis[:, :, 1:]
    return basis


def input_features(layer: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A layer's SiLU values ``(rows, inputs)`` and flattened basis ``(rows, inputs * basis)``."""
    return torch.nn.functional.silu(x), bspline_basis(x, layer.grid, layer.k).flatten(1)


def layer_output(layer: torch.nn.Module, silu: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """One pykan ``KANLayer`` from its :func:`input_features`: two matrix products."""
    n_in, n_out, n_basis = layer.coef.shape
    spline_weight = (layer.coef * (layer.scale_sp * layer.mask).unsqueeze(2)).transpose(1, 2)
    return silu @ (layer.scale_base * layer.mask) + basis @ spline_weight.reshape(
        n_in * n_basis, n_out
    )


def select_inputs(network: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The columns pykan's forward feeds the first layer (``input_id``)."""
    return x[:, network.input_id.long()]


def _node_affine(network: torch.nn.Module, depth: int, x: torch.Tensor) -> torch.Tensor:
    """pykan's sub-node then node affine maps after layer ``depth``."""
    x = network.subnode_scale[depth][None, :] * x + network.subnode_bias[depth][None, :]
    return network.node_scale[depth][None, :] * x + network.node_bias[depth][None, :]


def after_first_layer(network: torch.nn.Module, first_sums: torch.Tensor) -> torch.Tensor:
    """The network's output given the first layer's summed edge outputs ``(rows, hidden)``."""
    x = _node_affine(network, 0, first_sums)
    for depth in range(1, len(network.act_fun)):
        layer = network.act_fun[depth]
        x = _node_affine(network, depth, layer_output(layer, *input_features(layer, x)))
    return x


def fast_forward(
    network: torch.nn.Module,
    x: torch.Tensor | None,
    first_features: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """``network(x)`` for a pykan ``KAN`` with SiLU bases and no multiplication nodes.

    ``first_features``, when given, are :func:`input_features` of the first layer for
    ``select_inputs(network, x)`` (and ``x`` is not used). Keeps nothing on the module.
    """
    first = network.act_fun[0]
    features = first_features or input_features(first, select_inputs(network, x))
    return after_first_layer(network, layer_output(first, *features))


def supports_fast_forward(network: torch.nn.Module) -> bool:
    """True when :func:`fast_forward` computes what ``network.forward`` does."""
    sums_only = all(width[1] == 0 for width in network.width)
    silu_bases = all(isinstance(layer.base_fun, torch.nn.SiLU) for layer in network.act_fun)
    return sums_only and silu_bases and not network.symbolic_enabled


def _place_grid(layer: torch.nn.Module, x: torch.Tensor) -> None:
    """pykan's ``KANLayer.update_grid_from_samples`` (mode "sample"), solved per input.

    The grid moves to the quantiles of ``x`` (mixed with a uniform grid by the layer's
    ``grid_eps``) and the coefficients are refitted by least squares so each edge keeps
    its function on the sorted samples. pykan solves one problem per edge with the design
    matrix copied for every output; the outputs of one input share that matrix, so here
    each input's problem is solved once with all outputs as right-hand sides.
    """
    order = layer.k
    x_sorted = torch.sort(x, dim=0).values
    n_rows = x_sorted.shape[0]
    old_basis = bspline_basis(x_sorted, layer.grid, order).transpose(0, 1)  # (in, n, basis)
    values = old_basis @ layer.coef.transpose(1, 2)  # (in, n, out)
    n_intervals = layer.grid.shape[1] - 1 - 2 * order
    ids = [int(n_rows / n_intervals * i) for i in range(n_intervals)] + [-1]
    adaptive = x_sorted[ids, :].T
    step = (adaptive[:, [-1]] - adaptive[:, [0]]) / n_intervals
    steps = torch.arange(n_intervals + 1, device=x.device, dtype=x.dtype)[None, :]
    uniform = adaptive[:, [0]] + step * steps
    grid = layer.grid_eps * uniform + (1 - layer.grid_eps) * adaptive
    spacing = (grid[:, [-1]] - grid[:, [0]]) / (grid.shape[1] - 1)
    extension = spacing * torch.arange(1, order + 1, device=x.device, dtype=x.dtype)[None, :]
    grid = torch.cat([grid[:, [0]] - extension.flip(1), grid, grid[:, [-1]] + extension], dim=1)
    layer.grid.data = grid
    new_basis = bspline_basis(x_sorted, grid, order).transpose(0, 1)
    layer.coef.data = torch.linalg.lstsq(new_basis, values).solution.transpose(1, 2)


def place_grids(network: torch.nn.Module, x: torch.Tensor) -> None:
    """pykan's ``MultKAN.update_grid_from_samples``: each layer in turn, on its own inputs.

    Layer l's grid is placed on the activations that reach it through the layers
    before it, already updated, as in pykan. Call under ``torch.no_grad()``.
    """
    x = select_inputs(network, x)
    for depth, layer in enumerate(network.act_fun):
        _place_grid(layer, x)
        x = _node_affine(network, depth, layer_output(layer, *input_features(layer, x)))
