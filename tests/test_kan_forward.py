"""fsel's lean KAN forward pass and grid update compute what pykan's own do."""

import copy

import numpy as np
import pytest
import torch

from fsel.kan._forward import (
    bspline_basis,
    fast_forward,
    input_features,
    place_grids,
    select_inputs,
    supports_fast_forward,
)
from fsel.kan._network import build_network


def _network(widths, grid=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    network = build_network(widths, grid, 3, generator, torch.device("cpu"))
    return network.double()


def _inputs(rows, columns, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return 2.0 * torch.randn(rows, columns, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("widths", [[6, 4, 2], [3, 5, 1], [4, 3, 3, 2]])
def test_fast_forward_equals_pykan_forward(widths):
    network = _network(widths)
    X = _inputs(200, widths[0])
    with torch.no_grad():
        network.update_grid_from_samples(X)  # a data-placed, non-uniform grid
        expected = network(X)
        assert supports_fast_forward(network)
        np.testing.assert_allclose(fast_forward(network, X), expected, rtol=1e-10, atol=1e-12)
        cached = input_features(network.act_fun[0], select_inputs(network, X))
        np.testing.assert_allclose(
            fast_forward(network, None, cached), expected, rtol=1e-10, atol=1e-12
        )


def test_fast_forward_gradients_equal_pykan_gradients():
    network = _network([5, 3, 2])
    X = _inputs(100, 5)
    with torch.no_grad():
        network.update_grid_from_samples(X)
    twin = copy.deepcopy(network)
    network(X).square().sum().backward()
    fast_forward(twin, X).square().sum().backward()
    for (name, ours), theirs in zip(twin.named_parameters(), network.parameters(), strict=True):
        if theirs.grad is None:
            assert ours.grad is None or not ours.grad.any(), name
        else:
            np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-8, atol=1e-12)


def test_place_grids_matches_pykan_grid_update():
    network = _network([6, 4, 2])
    twin = copy.deepcopy(network)
    X = _inputs(300, 6)
    with torch.no_grad():
        network.update_grid_from_samples(X)
        place_grids(twin, X)
    for layer, ours in zip(network.act_fun, twin.act_fun, strict=True):
        np.testing.assert_allclose(ours.grid.detach(), layer.grid.detach(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.coef.detach(), layer.coef.detach(), rtol=1e-8, atol=1e-10)


def test_basis_over_a_collapsed_grid_is_zero_not_nan():
    # A constant training column places every knot at one value.
    grid = torch.zeros(1, 12, dtype=torch.float64)
    basis = bspline_basis(torch.tensor([[0.0], [1.0]], dtype=torch.float64), grid, 3)
    assert torch.isfinite(basis).all()
    assert not basis.any()


def test_basis_is_a_partition_of_unity_inside_the_grid():
    network = _network([2, 2, 1])
    layer = network.act_fun[0]
    x = torch.linspace(-0.99, 0.99, 50, dtype=torch.float64)[:, None].expand(50, 2)
    basis = bspline_basis(x, layer.grid, layer.k)
    np.testing.assert_allclose(basis.sum(dim=2), 1.0, rtol=1e-12)
