"""Speed of fsel's KAN training vs pykan's ``KAN.fit`` on breast_cancer, with held-out accuracy."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fsel.kan import KANClassifier

SEED = 0
HIDDEN = 5
GRID = 5
PYKAN_STEPS = 50
FSEL_REPEATS = 3


def _data():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SEED
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _fsel(X_train, X_test, y_train, y_test) -> tuple[float, float, int]:
    """Median wall seconds of ``FSEL_REPEATS`` fits, held-out accuracy, training rounds."""
    seconds = []
    for _ in range(FSEL_REPEATS):
        model = KANClassifier(hidden_width=HIDDEN, grid=GRID, random_state=SEED)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), model.score(X_test, y_test), model.n_iter_


def _pykan(X_train, X_test, y_train, y_test) -> tuple[float, float]:
    """Wall seconds of building and fitting pykan's KAN (LBFGS, 50 steps), held-out accuracy."""
    from kan import KAN

    dataset = {
        "train_input": torch.tensor(X_train, dtype=torch.float32),
        "train_label": torch.tensor(y_train, dtype=torch.long),
        "test_input": torch.tensor(X_test, dtype=torch.float32),
        "test_label": torch.tensor(y_test, dtype=torch.long),
    }
    here = os.getcwd()
    # pykan writes checkpoints to ./model and prints a progress bar: both kept out of sight.
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                start = time.perf_counter()
                model = KAN(width=[X_train.shape[1], HIDDEN, 2], grid=GRID, k=3, seed=SEED)
                model.fit(
                    dataset,
                    opt="LBFGS",
                    steps=PYKAN_STEPS,
                    loss_fn=torch.nn.CrossEntropyLoss(),
                )
                seconds = time.perf_counter() - start
                with torch.no_grad():
                    predicted = model(dataset["test_input"]).argmax(dim=1).numpy()
        finally:
            os.chdir(here)
    return seconds, float(np.mean(predicted == y_test))


def main(quick: bool = False) -> str:
    data = _data()
    fsel_seconds, fsel_accuracy, fsel_rounds = _fsel(*data)
    pykan_seconds, pykan_accuracy = _pykan(*data)
    ratio = pykan_seconds / fsel_seconds
    met = ratio >= 20 and fsel_accuracy >= pykan_accuracy
    lines = [
        "# KAN training speed: fsel vs pykan's `KAN.fit`",
        "",
        f"breast_cancer (569 x 30), standardised, stratified 75/25 split (seed {SEED}); "
        f"width [30, {HIDDEN}, 2], grid {GRID}, spline order 3.",
        "",
        "| trainer | wall seconds | held-out accuracy |",
        "|---|---:|---:|",
        f"| fsel `KANClassifier(hidden_width={HIDDEN}, grid={GRID}, random_state={SEED})` "
        f"(Adam, early stopping: {fsel_rounds} rounds; median of {FSEL_REPEATS}) "
        f"| {fsel_seconds:.2f} | {fsel_accuracy:.3f} |",
        f"| pykan `KAN.fit` (LBFGS, {PYKAN_STEPS} steps, cross-entropy, defaults otherwise) "
        f"| {pykan_seconds:.2f} | {pykan_accuracy:.3f} |",
        "",
        f"**fsel is {ratio:.1f}x faster** "
        f"(target: at least 20x at equal or better accuracy: {'met' if met else 'NOT met'}).",
        "",
        f"Threads: fsel 1 (its default `n_jobs=None`), pykan torch's default "
        f"{torch.get_num_threads()}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
