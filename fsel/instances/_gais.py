"""GAISampler: graph-attention instance selection (GAIS) as an imbalanced-learn sampler."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from imblearn.utils._validation import ArraysTransformer
from sklearn.base import _fit_context
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import LabelEncoder, label_binarize
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import validate_data

from fsel._threads import bounded_torch_threads
from fsel.instances._gat import fit_gat
from fsel.instances._graphs import hash_graph, minibatch_graph

GRAPHS = ("minibatch", "hash", "hash-multilevel", "hash-multiview")

# With ``selection="spread"``, a row's weight in the cell cuts is ``1 + BOUNDARY_DENSITY * b``
# (``b`` its boundary term in [0, 1]): cells up to three times denser where the network hesitates.
BOUNDARY_DENSITY = 2.0
# Lloyd steps that refine the cells of ``selection="spread"``. Measured at 4 % kept (3 seeds,
# mean macro-F1 of 1-NN / RF / LR): digits .882 -> .888, breast_cancer .933 -> .938.
REFINE_STEPS = 2
# Which row a cell of ``selection="spread"`` keeps: the one nearest the cell's mean. It used to
# be the best sum of two ranks (closeness to the mean and the GAT score); the scores mostly
# picked an off-centre row, and a kept row stands for its whole cell. Measured at 4 % kept
# (minibatch graph, 5 splits, mean macro-F1 of 1-NN / RF / LR; 100k: 2 splits), rank sum ->
# nearest the mean: breast_cancer .940 -> .938, digits .898 -> .895, ckd .930 -> .944,
# alzheimers .625 -> .662, synthetic 100k .871 -> .875 (small-data changes under .01 are
# within the spread between cut seeds). Rank sums that still count the score
# (0.3 x its rank) gave .935 / .896 / .932 / .652 / .873; more Lloyd steps (4, 6, 10) or
# none, balanced or boundary-weighted class quotas, cells in the GAT's hidden space or in
# features scaled by the GAT's input weights, and dropping rows the GAT calls another class
# did not do better (the last lifts 1-NN on the 100k data by a point and costs RF as much).


def class_quotas(keep, counts: dict, min_per_class: int) -> dict:
    """Rows kept per class for ``keep`` (fraction, total count or per-class dict).

    A fraction or a total is shared among the classes in proportion to their sizes (largest
    remainders first); every class then keeps at least ``min_per_class`` rows (or all its rows,
    if it has fewer), taken back from the classes with the most rows to spare.

    >>> class_quotas(0.1, {"a": 90, "b": 10}, 2)
    {'a': 8, 'b': 2}
    """
    labels = list(counts)
    if isinstance(keep, dict):
        quotas = {c: min(int(keep.get(c, counts[c])), counts[c]) for c in labels}
        return {c: max(q, min(min_per_class, counts[c])) for c, q in quotas.items()}
    n_rows = sum(counts.values())
    if isinstance(keep, Integral) and not isinstance(keep, bool):
        total = min(int(keep), n_rows)
    else:
        total = max(1, math.ceil(float(keep) * n_rows - 1e-9))
    shares = {c: total * counts[c] / n_rows for c in labels}
    quotas = {c: int(math.floor(shares[c])) for c in labels}
    by_remainder = sorted(labels, key=lambda c: (-(shares[c] - quotas[c]), labels.index(c)))
    for c in by_remainder[: total - sum(quotas.values())]:
        quotas[c] += 1
    floors = {c: min(min_per_class, counts[c]) for c in labels}
    for c in labels:
        while quotas[c] < floors[c]:
            donor = max(labels, key=lambda d: quotas[d] - floors[d])
            if quotas[donor] - floors[donor] <= 0:
                quotas[c] = floors[c]
                break
            quotas[donor] -= 1
            quotas[c] += 1
    return quotas


def _rank01(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (ties share the lower rank); a constant gives zeros."""
    if values.size < 2:
        return np.zeros(values.size)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(values.size)
    return ranks / (values.size - 1)


def _spread_cells(
    X: np.ndarray, weight: np.ndarray, quota: int, rng: np.random.RandomState
) -> list[np.ndarray]:
    """Split rows into ``quota`` cells by recursive cuts along their widest direction.

    Every cut splits the quota in two halves and puts the cut where the ``weight`` on each side
    is proportional to its half, so cells are smaller (kept rows denser) where weight is high.
    Each level costs one pass over the rows: the whole is ``O(n log quota)``.
    """
    cells, stack = [], [(np.arange(X.shape[0]), quota)]
    while stack:
        rows, share = stack.pop()
        if share <= 1 or len(rows) <= 1:
            cells.append(rows)
            continue
        if share >= len(rows):
            cells.extend(rows[:, None])
            continue
        block = X[rows]
        anchor = block[rng.randint(len(rows))]
        far = block[np.argmax(((block - anchor) ** 2).sum(1))]
        other = block[np.argmax(((block - far) ** 2).sum(1))]
        order = np.argsort(block @ (other - far), kind="stable")
        left_share = share // 2
        cumulative = np.cumsum(weight[rows[order]])
        cut = int(np.searchsorted(cumulative, cumulative[-1] * left_share / share)) + 1
        cut = min(max(cut, left_share), len(rows) - (share - left_share))
        stack.append((rows[order[cut:]], share - left_share))
        stack.append((rows[order[:cut]], left_share))
    return cells


def _refine_cells(X: np.ndarray, cells: list[np.ndarray], steps: int) -> list[np.ndarray]:
    """``steps`` Lloyd steps: every row moves to the cell whose mean is nearest.

    The cuts of :func:`_spread_cells` are straight and blind to each other; a few moves let
    the cells follow the data, as k-means cells do. The nearest-mean search uses a tree, so a
    step costs about ``n log(cells)``. Cells left empty disappear.
    """
    for _ in range(steps):
        means = np.stack([X[cell].mean(axis=0) for cell in cells])
        nearest = NearestNeighbors(n_neighbors=1).fit(means)
        owner = nearest.kneighbors(X, return_distance=False).ravel()
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        cells = np.split(order, bounds)
    return cells


class GAISampler(BaseSampler):
    """Keep a small, informative subset of rows by graph-attention instance selection.

    After Rustamov, Zaitouny & Zaki (GAIS; arXiv 2412.19201 and 2502.20293). The rows,
    standardised, are linked into a sparse graph (k nearest neighbours inside stratified
    mini-batches, or inside random-projection hash buckets); a graph attention network (GAT)
    learns to predict each row's class over that graph; each row is then scored by the
    attention its neighbours pay it (how much they rely on it: a representative row) and by how
    uncertain the network is about it (a row near a class boundary). The kept rows are chosen
    per class, in proportion to the class sizes.

    Parameters
    ----------
    keep : float, int or dict, default=0.04
        Target size. A float in (0, 1] is a fraction of the rows (rounded up); an int >= 1 a
        total number of rows; both are shared among classes in proportion to their sizes. A
        dict ``{class: count}`` fixes each class's count (classes left out keep every row).
        0.04 is the papers' operating point (reduction above 96 %).
    graph : {"minibatch", "hash", "hash-multilevel", "hash-multiview"}, default="minibatch"
        How rows are linked. ``"minibatch"``: k-NN inside stratified mini-batches of
        ``batch_size`` rows (the paper's best balance on large data). ``"hash"``: k-NN inside
        buckets of rows sharing the signs of ``n_bits`` random projections (buckets capped at
        ``batch_size`` rows, tiny neighbouring buckets merged). ``"hash-multilevel"``: the
        union over ``n_levels`` nested codes, coarse to fine. ``"hash-multiview"``: the union
        over ``n_views`` independent projections (the paper's best on high-dimensional data).
    min_per_class : int, default=2
        Each class keeps at least this many rows (all of them if it has fewer): two, so that a
        downstream model sees some spread of every class, even a rare one.
    n_neighbors : int, default=10
        Neighbours each row receives edges from, inside its batch or bucket.
    batch_size : int, default=1024
        Rows per mini-batch and largest bucket. The k-NN search is all-pairs inside one, so
        time grows as ``n_rows * batch_size``: linear in rows.
    n_bits : int, default=None
        Sign bits of the hash code; ``None`` picks ``log2(4 * n_rows / batch_size)`` so that
        buckets hold about a quarter of ``batch_size`` rows.
    n_levels : int, default=3
        Levels of ``"hash-multilevel"`` (level ``l`` uses ``n_bits * l / n_levels`` bits).
    n_views : int, default=3
        Independent projections of ``"hash-multiview"``.
    similarity_threshold : float, default=0.05
        Edges whose similarity ``exp(-(d / m) ** 2)`` (``m`` the median edge length) falls below
        this are pruned; each row keeps its closest neighbour regardless. 0.05 drops only edges
        longer than about 1.7 median lengths: far neighbours that a sparse batch or bucket
        forced on a row, which would mix unrelated regions in the attention.
    hidden : int, default=32
        Width of the GAT's hidden layer (all heads together: ``hidden // heads`` per head).
    heads : int, default=4
        Attention heads of both layers (concatenated in the first, averaged in the output).
    dropout : float, default=0.3
        Dropout on the inputs of both layers.
    epochs : int, default=100
        Most training epochs. An epoch visits every row, or about 8,192 rows (random
        chunks of whole batches or buckets) on large data, so training time stops growing
        with the rows.
    patience : int, default=10
        Epochs without a 0.1 % improvement of the held-out loss (20 % of the rows,
        stratified) before training stops; the best weights are kept. GAT-RWOS, by the same
        author, used up to 500 epochs and patience 30; 100 and 10 keep the 100k-row fit
        under a minute on two cores.
    lr : float, default=0.01
        Adam's learning rate (weight decay 5e-4).
    attention_weight : float, default=0.75
        Weight of the attention received in a row's score; ``1 - attention_weight`` goes to
        the boundary term ``1 - (p1 - p2)``, the gap between the network's two most probable
        classes. Both terms are ranked within the class first, so the weight is a real mix.
        Measured at 4 % kept (digits, breast_cancer, minibatch graph, 3 seeds, mean macro-F1
        of 1-NN / RF / LR, when ``"spread"`` still picked by score): 0.5 gave .876 / .925, 0.75
        .882 / .933, 1.0 .882 / .936. With ``selection="spread"`` the score only chooses rows
        that fill in for cells a refinement step emptied; the boundary term shapes its cells,
        whatever this weight.
    selection : {"spread", "top"}, default="spread"
        ``"top"`` keeps each class's best-scored rows (the papers' rule). ``"spread"`` first
        cuts each class into as many cells as rows it keeps (recursive cuts along the widest
        direction; a row's weight in a cut is ``1 + 2 * boundary``, so cells are denser where
        the network hesitates; then two Lloyd steps move each row to the cell whose mean is
        nearest) and keeps, in each cell, the row nearest the cell's mean. Measured on digits
        and breast_cancer at 4 % kept (``benchmarks/gais.py``), plain top-k piles the kept rows
        into a few regions and loses to random sampling; the cells keep every part of a class
        represented, and the row nearest the mean is a typical one that stands for its cell.
        Picking by the GAT score inside the cells as well did worse (alzheimers .625 against
        .670 at 4 % kept): with ``"spread"`` the network acts through the boundary term, which
        makes the cells denser where it hesitates.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches, projections, network initialisation, dropout and cuts. The same
        value gives the same rows.
    n_jobs : int, default=None
        Most torch threads during the fit: ``None`` means 1 (as in scikit-learn), ``-1`` all
        of torch's threads. One thread is the default because the graphs are small per
        step and, on a busy machine, torch's thread pool waits more than it computes.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Positions of the kept rows in the ``X`` given to ``fit_resample``, sorted.
    sampling_strategy_ : dict
        Rows kept per class.
    scores_ : ndarray of shape (n_samples,)
        Each row's score (higher = more worth keeping).
    attention_ : ndarray of shape (n_samples,)
        Attention each row received from its neighbours (heads and layers averaged).
    boundary_ : ndarray of shape (n_samples,)
        ``1 - (p1 - p2)`` of the GAT's class probabilities.
    n_edges_ : int
        Edges of the pruned graph (without self-loops).
    n_epochs_ : int
        Epochs the GAT trained.
    n_features_in_ : int
        Number of features seen in ``fit_resample``.

    Notes
    -----
    Cost. No ``n x n`` matrix is formed: distances are computed inside one batch or bucket at
    a time (at most ``batch_size`` rows), so the graph has at most ``n_neighbors`` edges per
    row and view or level. The network trains on the whole graph up to 8,192 rows; above
    that, on chunks of whole batches or buckets (their induced subgraphs), about 8,192 rows
    per epoch, and scores every row once at the end. With ``"hash-multilevel"`` and
    ``"hash-multiview"`` on large data the chunks follow the first view's finest buckets, so
    edges between two chunks are left out of training and scoring. ``X`` is standardised (a
    dense float32 copy; sparse input is densified) on the rows given; the rows returned are
    the original ones. Missing values are allowed: the graph and the network see them at
    their column's median, and the kept rows are returned with them.

    See Also
    --------
    imblearn.under_sampling.ClusterCentroids : k-means prototypes per class.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fsel.instances import GAISampler
    >>> X, y = load_digits(return_X_y=True)
    >>> sampler = GAISampler(keep=0.1, epochs=30, random_state=0)
    >>> X_kept, y_kept = sampler.fit_resample(X, y)
    >>> X_kept.shape
    (180, 64)
    >>> sum(sampler.sampling_strategy_.values()) == len(sampler.sample_indices_)
    True
    """

    _sampling_type = "clean-sampling"

    _parameter_constraints: dict = {
        "keep": [
            Interval(Real, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            dict,
        ],
        "graph": [StrOptions(set(GRAPHS))],
        "min_per_class": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "n_bits": [Interval(Integral, 1, 30, closed="both"), None],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "n_views": [Interval(Integral, 1, None, closed="left")],
        "similarity_threshold": [Interval(Real, 0, 1, closed="both")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "heads": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "attention_weight": [Interval(Real, 0, 1, closed="both")],
        "selection": [StrOptions({"spread", "top"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        keep=0.04,
        *,
        graph="minibatch",
        min_per_class=2,
        n_neighbors=10,
        batch_size=1024,
        n_bits=None,
        n_levels=3,
        n_views=3,
        similarity_threshold=0.05,
        hidden=32,
        heads=4,
        dropout=0.3,
        epochs=100,
        patience=10,
        lr=0.01,
        attention_weight=0.75,
        selection="spread",
        random_state=None,
        n_jobs=None,
    ):
        self.keep = keep
        self.graph = graph
        self.min_per_class = min_per_class
        self.n_neighbors = n_neighbors
        self.batch_size = batch_size
        self.n_bits = n_bits
        self.n_levels = n_levels
        self.n_views = n_views
        self.similarity_threshold = similarity_threshold
        self.hidden = hidden
        self.heads = heads
        self.dropout = dropout
        self.epochs = epochs
        self.patience = patience
        self.lr = lr
        self.attention_weight = attention_weight
        self.selection = selection
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_X_y(self, X, y, accept_sparse=None):
        _reject_regression(y)
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(
            self, X=X, y=y, reset=True, accept_sparse=["csr", "csc"], ensure_all_finite="allow-nan"
        )
        return X, y, binarize_y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Select the rows to keep (use :meth:`fit_resample` to get them).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : GAISampler
        """
        X, y, _ = self._check_X_y(X, y)
        self._select(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y):
        """Select rows and return them.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : same type as ``X``, shape (n_kept, n_features)
            The kept rows, in their original order.
        y_resampled : same type as ``y``, shape (n_kept,)
            Their labels.
        """
        _reject_regression(y)
        arrays = ArraysTransformer(X, y)
        X, y, binarize_y = self._check_X_y(X, y)
        X_kept, y_kept = self._fit_resample(X, y)
        if binarize_y:
            y_kept = label_binarize(y_kept, classes=np.unique(y))
        return arrays.transform(X_kept, y_kept)

    def _fit_resample(self, X, y):
        self._select(X, y)
        return X[self.sample_indices_], y[self.sample_indices_]

    def _select(self, X, y) -> None:
        """Set ``sample_indices_`` and the scores: the whole method, on validated input."""
        encoder = LabelEncoder().fit(y)
        codes = encoder.transform(y).astype(np.int64)
        if len(encoder.classes_) < 2:
            raise ValueError(
                "GAISampler needs at least two classes in y to learn class boundaries; "
                f"got one class ({encoder.classes_[0]!r})."
            )
        counts = {c: int(n) for c, n in zip(encoder.classes_, np.bincount(codes), strict=True)}
        quotas = class_quotas(self.keep, counts, self.min_per_class)
        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))

        features = _standardise(X)
        with bounded_torch_threads(self.n_jobs):
            graph = self._build_graph(features, codes, rng)
            holdout = _stratified_holdout(codes, 0.2, rng)
            result = fit_gat(
                features,
                codes,
                graph,
                n_classes=len(encoder.classes_),
                hidden=self.hidden,
                heads=self.heads,
                dropout=self.dropout,
                epochs=self.epochs,
                patience=self.patience,
                lr=self.lr,
                holdout=holdout,
                rng=rng,
                generator=generator,
            )
        ordered = np.sort(result.probabilities, axis=1)
        self.boundary_ = 1.0 - (ordered[:, -1] - ordered[:, -2])
        self.attention_ = result.attention_received
        self.scores_ = np.zeros(len(codes))
        kept = []
        for code, label in enumerate(encoder.classes_):
            members = np.flatnonzero(codes == code)
            score = self.attention_weight * _rank01(self.attention_[members]) + (
                1.0 - self.attention_weight
            ) * _rank01(self.boundary_[members])
            self.scores_[members] = score
            picked = self._pick(
                features[members], score, self.boundary_[members], quotas[label], rng
            )
            kept.append(members[picked])
        self.sample_indices_ = np.sort(np.concatenate(kept))
        self.sampling_strategy_ = quotas
        self.n_edges_ = int(graph.source.size)
        self.n_epochs_ = result.epochs_run

    def _build_graph(self, features, codes, rng):
        shared = dict(
            n_neighbors=self.n_neighbors,
            batch_size=self.batch_size,
            similarity_threshold=self.similarity_threshold,
            rng=rng,
        )
        if self.graph == "minibatch":
            return minibatch_graph(features, codes, **shared)
        levels = self.n_levels if self.graph == "hash-multilevel" else 1
        views = self.n_views if self.graph == "hash-multiview" else 1
        return hash_graph(features, n_bits=self.n_bits, n_levels=levels, n_views=views, **shared)

    def _pick(self, features, score, boundary, quota, rng) -> np.ndarray:
        """Positions (within one class) of the ``quota`` rows kept."""
        if quota >= len(score):
            return np.arange(len(score))
        if self.selection == "top":
            return np.lexsort((np.arange(len(score)), -score))[:quota]
        cells = _spread_cells(features, 1.0 + BOUNDARY_DENSITY * boundary, quota, rng)
        cells = _refine_cells(features, cells, REFINE_STEPS)
        # Each cell keeps its medoid-like row, the one nearest the cell's mean (notes under REFINE_STEPS).
        picks = [
            cell[np.argmin(((features[cell] - features[cell].mean(axis=0)) ** 2).sum(axis=1))]
            for cell in cells
        ]
        if len(picks) < quota:  # a refinement step emptied some cells: best scores fill in
            rest = np.setdiff1d(np.arange(len(score)), picks)
            best = rest[np.lexsort((rest, -score[rest]))]
            picks.extend(best[: quota - len(picks)])
        return np.array(picks)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.input_tags.allow_nan = True
        return tags


def _reject_regression(y) -> None:
    """Raise a clear error for a continuous target (GAIS learns class boundaries)."""
    kind = type_of_target(y)
    if kind in ("continuous", "continuous-multioutput"):
        raise ValueError(
            f"Unknown label type: {kind!r}. GAISampler selects rows for classification "
            "only: y looks like a regression target (continuous values). Pass class labels."
        )


def _standardise(X) -> np.ndarray:
    """Dense float32 copy of ``X``, missing values at the column median, standardised."""
    dense = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    # C order: a DataFrame arrives column-major, and sums in another order would change ties.
    dense = np.ascontiguousarray(dense, dtype=np.float32)
    missing = np.isnan(dense)
    if missing.any():
        with warnings.catch_warnings():  # an all-missing column has no median: it becomes 0
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nan_to_num(np.nanmedian(dense, axis=0))
        dense[missing] = np.take(medians, np.nonzero(missing)[1])
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    return (dense - mean) / scale


def _stratified_holdout(codes: np.ndarray, fraction: float, rng) -> np.ndarray:
    """Boolean mask of about ``fraction`` of each class's rows (none from a class of one)."""
    mask = np.zeros(len(codes), dtype=bool)
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        n_held = int(len(members) * fraction)
        mask[rng.choice(members, n_held, replace=False)] = True
    return mask
