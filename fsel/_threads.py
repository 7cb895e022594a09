"""Bound torch's CPU threads during a fit: one shared guard for the KAN engine and GAIS."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch

# torch's intra-op thread count is process-wide: the first fit that bounds it remembers the
# original value and the last one to finish puts it back.
_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_original = 0


@contextmanager
def bounded_torch_threads(n_jobs: int | None):
    """Let torch use ``n_jobs`` CPU threads inside the block, as scikit-learn counts them.

    ``None`` is one thread (small networks run several times faster single-threaded
    on a busy machine), -1 every thread torch would use by default, -2 all but one.
    """
    global _threads_users, _threads_original
    n_jobs = 1 if n_jobs is None else n_jobs
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_original = torch.get_num_threads()
        _threads_users += 1
        available = _threads_original
        wanted = n_jobs if n_jobs > 0 else max(1, available + 1 + n_jobs)
        torch.set_num_threads(max(1, min(wanted, available)))
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_original)
