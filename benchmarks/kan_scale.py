"""Scale: seconds and peak memory of one ``KANSelector(score="si")`` fit at 1k, 10k and 100k rows."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys

import torch

N_FEATURES = 100
SEED = 0

# Run in a fresh interpreter per size, so that its peak RSS is that fit's alone.
_CHILD = """
import json, sys, time
from sklearn.datasets import make_classification
from fsel.selectors import make_selector

n_rows, n_features, seed = map(int, sys.argv[1:4])
X, y = make_classification(
    n_samples=n_rows, n_features=n_features, n_informative=10, n_redundant=10,
    random_state=seed,
)
start = time.perf_counter()
selector = make_selector("kan-si", random_state=seed).fit(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "n_iter": int(selector.n_iter_)}))
"""


def _measure(n_rows: int) -> dict:
    """Fit seconds, training rounds and the child's peak RSS in MiB for ``n_rows`` rows."""
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n_rows), str(N_FEATURES), str(SEED)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # RUSAGE_CHILDREN is the maximum over every child waited for so far; sizes run in
    # increasing order, so each reading is the latest (largest) child's own peak.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_mib"] = peak_kib / 1024
    return result


def main(quick: bool = False) -> str:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    lines = [
        "# KANSelector scale",
        "",
        f'`KANSelector(score="si", random_state={SEED}).fit(X, y)` on '
        f"`make_classification(n_samples=n, n_features={N_FEATURES}, n_informative=10, "
        "n_redundant=10)`, each size in a fresh Python process (peak RSS of that "
        "process, including the interpreter, torch and the data).",
        "",
        "| rows x features | fit seconds | training rounds | peak RSS (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for n_rows in sizes:
        result = _measure(n_rows)
        lines.append(
            f"| {n_rows:,} x {N_FEATURES} | {result['seconds']:.1f} | {result['n_iter']} "
            f"| {result['peak_mib']:.0f} |"
        )
    lines += [
        "",
        "Target: 100k x 100 under 60 s on 2 cores. Threads: fsel's default (`n_jobs=None`, "
        f"one torch thread). Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
