"""Build pykan's ``KAN`` module without its side effects, and the guards that keep fits local."""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager

import numpy as np
import torch

from fsel._threads import bounded_torch_threads  # noqa: F401 (used by fsel.kan)
from fsel.kan._forward import supports_fast_forward

# pykan's constructor reseeds the global torch, NumPy and ``random`` generators and writes a
# module global; one construction at a time, with the generators restored afterwards, keeps
# two fits in two threads from seeing each other's seeds.
_PYKAN_LOCK = threading.Lock()

# pykan's default amplitude of the random spline at initialisation.
_NOISE_SCALE = 0.3
# The first layer's SiLU weights start at a tenth of pykan's U(-1, 1) / sqrt(d): with
# pykan's scale a pure-noise input keeps a large random edge that the magnitude scores
# (l1, l2) count as importance; started small, an edge grows only where the data ask.
# On Friedman #1 this took KAN-L1 from 0/5 to 5/5 seeds and raised validation R^2.
_FIRST_LAYER_BASE_SCALE = 0.1


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when a GPU is visible, the CPU otherwise; any other value as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_hidden_width(n_inputs: int, cap: int = 16) -> int:
    """Hidden width ``2 d + 1`` (the Kolmogorov–Arnold count), capped so cost stays linear in d."""
    return int(min(2 * n_inputs + 1, cap))


@contextmanager
def _global_rng_preserved():
    """Put the global torch, NumPy and ``random`` generator states back on exit."""
    torch_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    numpy_state = np.random.get_state()  # noqa: NPY002 - the legacy global pykan reseeds
    python_state = random.getstate()
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)


def build_network(
    widths: list[int],
    grid: int,
    spline_order: int,
    generator: torch.Generator,
    device: torch.device,
) -> torch.nn.Module:
    """A pykan ``KAN`` with ``widths``, initialised from ``generator``, with no side effects.

    The module is built with ``auto_save=False`` (no ``./model`` checkpoints),
    ``save_act=False`` and ``symbolic_enabled=False``; its symbolic front is removed
    (it is never evaluated with ``symbolic_enabled=False``, and its lambdas make the
    module unpicklable). pykan's own random initialisation is replaced by draws from
    ``generator`` in the same distributions (except the first layer's smaller SiLU
    weights), so the result depends on ``generator`` only.
    """
    # Imported here: pykan pulls in sympy and matplotlib (seconds), needed only to fit.
    from kan import KAN

    with _PYKAN_LOCK, _global_rng_preserved():
        network = KAN(
            width=list(widths),
            grid=grid,
            k=spline_order,
            seed=0,
            noise_scale=_NOISE_SCALE,
            auto_save=False,
            save_act=False,
            symbolic_enabled=False,
            device="cpu",
        )
    network.symbolic_fun = torch.nn.ModuleList()
    if not supports_fast_forward(network):
        raise RuntimeError(
            "this pykan builds a KAN that fsel's forward pass does not compute "
            "(SiLU bases and sum nodes only); install the pykan version fsel pins."
        )
    with torch.no_grad():
        for depth, layer in enumerate(network.act_fun):
            n_in, n_out, n_basis = layer.coef.shape
            noise = torch.rand(n_in, n_out, n_basis, generator=generator, dtype=layer.coef.dtype)
            layer.coef.copy_((noise - 0.5) * _NOISE_SCALE / grid)
            uniform = torch.rand(n_in, n_out, generator=generator, dtype=layer.scale_base.dtype)
            base_scale = _FIRST_LAYER_BASE_SCALE if depth == 0 else 1.0
            layer.scale_base.copy_(base_scale * (2.0 * uniform - 1.0) / np.sqrt(n_in))
    return network.to(device)
