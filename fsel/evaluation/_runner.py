"""Run the plan's tasks in this process, on joblib's loky workers, or on a Dask cluster."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from time import perf_counter

import numpy as np
from threadpoolctl import threadpool_limits

from fsel.evaluation._metrics import score_predictions
from fsel.evaluation._plan import FitTask, RankTask
from fsel.selectors import KAN_SELECTORS, make_selector

BACKENDS = ("loky", "dask")


# --------------------------------------------------------------------------- one task


class _SingleThreaded:
    """Holds BLAS / OpenMP pools at one thread while its stack is open.

    threadpoolctl only reaches libraries already loaded, and inspecting them costs
    milliseconds, so the limit is (re)applied only when modules were imported since.
    """

    def __init__(self, stack: contextlib.ExitStack):
        self._stack = stack
        self._modules_seen = -1

    def __call__(self) -> None:
        if len(sys.modules) != self._modules_seen:
            self._stack.enter_context(threadpool_limits(limits=1))
            self._modules_seen = len(sys.modules)


# In a worker process (loky or Dask) the limit stays for the worker's life: it is ours.
_worker_threads = _SingleThreaded(contextlib.ExitStack())


def execute(task: RankTask | FitTask, X: np.ndarray, y: np.ndarray, context: dict):
    """Run one task in a worker process, single-threaded; return ``(task.key, result)``.

    Every task runs with one BLAS / OpenMP / torch thread whatever the backend:
    parallelism comes from running tasks side by side, so workers never
    oversubscribe the cores, and a task's arithmetic (hence its result) does not
    depend on ``n_jobs``.
    """
    _worker_threads()
    return run_task(task, X, y, context)


def run_task(task: RankTask | FitTask, X: np.ndarray, y: np.ndarray, context: dict):
    """Run one task with torch at one thread (the caller bounds BLAS / OpenMP)."""
    uses_torch = isinstance(task, RankTask) and any(
        name in KAN_SELECTORS for name in task.selectors
    )
    with _torch_single_thread(uses_torch):
        if isinstance(task, RankTask):
            return task.key, _rank(task, X, y, context)
        return task.key, _fit(task, X, y, context)


@contextlib.contextmanager
def _torch_single_thread(needed: bool):
    if not needed and "torch" not in sys.modules:
        yield
        return
    from fsel._threads import bounded_torch_threads

    with bounded_torch_threads(1):
        yield


def configured_selector(name: str, params: dict, random_state: int, learning_task: str):
    """The registered selector ``name`` for one fold: the fold's seed, the task, one job,
    then the user's ``params`` on top."""
    selector = make_selector(name)
    accepted = selector.get_params()
    defaults = {"task": learning_task, "random_state": random_state, "n_jobs": 1}
    selector.set_params(**{key: value for key, value in defaults.items() if key in accepted})
    return selector.set_params(**params)


def _rank(task: RankTask, X: np.ndarray, y: np.ndarray, context: dict) -> dict:
    """``{selector: (scores, seconds)}`` for the task's training rows."""
    X_train, y_train = X[task.split.train], y[task.split.train]
    learning_task = context["task"]
    start = perf_counter()
    first = configured_selector(task.selectors[0], task.params, task.random_state, learning_task)
    first.fit(X_train, y_train)
    shared = getattr(first, "all_scores_", None)
    if len(task.selectors) > 1 and isinstance(shared, dict):
        # One trained KAN scored every way at once: each score shares the network's time.
        seconds = perf_counter() - start
        return {
            name: (np.asarray(shared[_kan_score(name)], dtype=float), seconds)
            for name in task.selectors
        }
    results = {task.selectors[0]: (np.asarray(first.scores_, dtype=float), perf_counter() - start)}
    for name in task.selectors[1:]:
        start = perf_counter()
        selector = configured_selector(name, task.params, task.random_state, learning_task)
        selector.fit(X_train, y_train)
        results[name] = (np.asarray(selector.scores_, dtype=float), perf_counter() - start)
    return results


def _kan_score(name: str) -> str:
    return name.removeprefix("kan-")


def _fit(task: FitTask, X: np.ndarray, y: np.ndarray, context: dict) -> dict:
    """Fit the task's model on its kept columns of the training rows; score the test rows."""
    from fsel.estimators import make_estimator

    columns = list(task.columns)
    train, test = task.split.train, task.split.test
    learning_task, n_classes = context["task"], context["n_classes"]
    model = make_estimator(task.estimator, learning_task, random_state=task.random_state, n_jobs=1)
    start = perf_counter()
    model.fit(X[np.ix_(train, columns)], y[train])
    fit_seconds = perf_counter() - start
    X_test = X[np.ix_(test, columns)]
    predicted = model.predict(X_test)
    proba = None
    if learning_task == "classification" and hasattr(model, "predict_proba"):
        proba = model.predict_proba(X_test)
        if proba.shape[1] != n_classes:  # a class absent from the training fold
            proba = None
    scores = score_predictions(learning_task, y[test], predicted, proba, n_classes)
    return {"scores": scores, "fit_seconds": fit_seconds}


# --------------------------------------------------------------------------- backends


class TaskRunner:
    """Runs batches of tasks, yielding ``(key, result)`` as each finishes.

    ``n_jobs=1`` with the loky backend runs in this process. Otherwise the workers
    (a joblib loky pool, or a Dask client) live for the whole ``with`` block so the
    evaluation's two phases share them. With ``backend="dask"`` and no
    ``scheduler``, a local cluster of ``n_jobs`` single-threaded worker processes
    on 127.0.0.1 is started and closed with the block.
    """

    def __init__(
        self, n_jobs: int | None = 1, backend: str = "loky", scheduler: str | None = None
    ):
        self.n_jobs = n_jobs
        self.backend = backend
        self.scheduler = scheduler
        self._stack = contextlib.ExitStack()
        self._parallel = None
        self._client = None
        self._scattered: dict[int, object] = {}

    def __enter__(self) -> TaskRunner:
        from joblib import effective_n_jobs

        workers = effective_n_jobs(self.n_jobs if self.n_jobs is not None else 1)
        try:
            if self.backend == "dask":
                self._client = self._stack.enter_context(_dask_client(self.scheduler, workers))
            elif workers > 1:
                from joblib import Parallel

                parallel = Parallel(
                    n_jobs=workers, backend="loky", return_as="generator_unordered"
                )
                self._parallel = self._stack.enter_context(parallel)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._scattered.clear()
        self._stack.close()

    def map(self, tasks: Iterable, X: np.ndarray, y: np.ndarray, context: dict) -> Iterator:
        """``(key, result)`` of every task, in the order they finish."""
        tasks = list(tasks)
        if self._client is not None:
            yield from self._map_dask(tasks, X, y, context)
        elif self._parallel is not None:
            from joblib import delayed

            results = self._parallel(delayed(execute)(task, X, y, context) for task in tasks)
            try:
                yield from results
            finally:
                results.close()  # an interrupted consumer stops the pool's remaining work
        else:
            # In this process the limit is lifted again when the runner closes.
            bound_threads = _SingleThreaded(self._stack)
            for task in tasks:
                bound_threads()
                yield run_task(task, X, y, context)

    def _map_dask(self, tasks: list, X: np.ndarray, y: np.ndarray, context: dict) -> Iterator:
        from distributed import as_completed

        client = self._client
        shared = []
        for array in (X, y):
            if id(array) not in self._scattered:
                self._scattered[id(array)] = client.scatter(array, broadcast=True)
            shared.append(self._scattered[id(array)])
        futures = client.map(execute, tasks, X=shared[0], y=shared[1], context=context, pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)


@contextlib.contextmanager
def _dask_client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
