"""Sparse row graphs for GAIS: k-NN inside stratified mini-batches or random-projection buckets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows in one training chunk of the GAT. A chunk is a group of whole batches or buckets, so the
# graph's edges (which never leave a batch or bucket in the single-view builders) are all kept.
CHUNK_ROWS = 8192


@dataclass
class RowGraph:
    """Directed edges ``source -> target`` (the target attends to the source) over ``n_rows``.

    ``groups`` lists the row blocks (batches or buckets) the graph was built from; rows of one
    block are linked only to each other by the single-view builders.
    """

    source: np.ndarray
    target: np.ndarray
    similarity: np.ndarray
    n_rows: int
    groups: list[np.ndarray]

    def chunks(self, max_rows: int = CHUNK_ROWS) -> list[np.ndarray]:
        """Consecutive groups merged into node sets of at most ``max_rows`` (one if it fits)."""
        if self.n_rows <= max_rows:
            return [np.arange(self.n_rows)]
        chunks, current, size = [], [], 0
        for group in self.groups:
            if size and size + len(group) > max_rows:
                chunks.append(np.concatenate(current))
                current, size = [], 0
            current.append(group)
            size += len(group)
        if current:
            chunks.append(np.concatenate(current))
        return chunks


def _knn_edges(X: np.ndarray, rows: np.ndarray, n_neighbors: int):
    """Edges from each row's ``n_neighbors`` nearest rows inside ``rows`` (all pairs if few)."""
    block = X[rows]
    m = len(rows)
    if m < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float32)
    squared = np.einsum("ij,ij->i", block, block)
    distances = squared[:, None] + squared[None, :] - 2.0 * block @ block.T
    np.maximum(distances, 0.0, out=distances)
    np.fill_diagonal(distances, np.inf)
    k = min(n_neighbors, m - 1)
    # The order among the k does not matter: _prune sorts the edges.
    nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    target = np.repeat(np.arange(m), k)
    source = nearest.ravel()
    return rows[source], rows[target], np.sqrt(distances[target, source])


def _assemble(X, groups, n_neighbors, similarity_threshold) -> RowGraph:
    """k-NN edges inside every group, turned into similarities and pruned."""
    parts = [_knn_edges(X, rows, n_neighbors) for rows in groups]
    source = np.concatenate([p[0] for p in parts]).astype(np.int64)
    target = np.concatenate([p[1] for p in parts]).astype(np.int64)
    distance = np.concatenate([p[2] for p in parts]).astype(np.float32)
    return _prune(source, target, distance, X.shape[0], groups, similarity_threshold)


def _prune(source, target, distance, n_rows, groups, similarity_threshold) -> RowGraph:
    """Drop duplicate edges and edges whose similarity is below ``similarity_threshold``.

    Similarity is a Gaussian kernel of the distance, its width the median edge length of the
    graph, so the threshold means the same on every dataset (0.37 at the median length). Each
    row's closest neighbour is kept whatever its similarity, so that no row is cut off.
    """
    if source.size == 0:
        return RowGraph(source, target, distance, n_rows, groups)
    key = target * n_rows + source
    key, first = np.unique(key, return_index=True)
    source, target, distance = source[first], target[first], distance[first]
    scale = float(np.median(distance))
    scale = scale if scale > 0 else 1.0
    similarity = np.exp(-((distance / scale) ** 2)).astype(np.float32)
    # Edges are sorted by target, so the closest source of each target is found per segment.
    order = np.lexsort((distance, target))
    closest = np.zeros(source.size, dtype=bool)
    starts = np.flatnonzero(np.r_[True, np.diff(target[order]) != 0])
    closest[order[starts]] = True
    keep = (similarity >= similarity_threshold) | closest
    return RowGraph(source[keep], target[keep], similarity[keep], n_rows, groups)


def minibatch_graph(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_neighbors: int,
    batch_size: int,
    similarity_threshold: float,
    rng: np.random.RandomState,
) -> RowGraph:
    """k-NN graph inside stratified mini-batches of at most ``batch_size`` rows.

    Each class's rows are shuffled and dealt evenly over the batches, so that every batch keeps
    the class proportions of the whole; the k-NN search is all-pairs inside one batch, so the
    cost is ``n * batch_size`` rather than ``n ** 2``.
    """
    n_rows = X.shape[0]
    n_batches = max(1, -(-n_rows // batch_size))
    batch_of = np.empty(n_rows, dtype=np.int64)
    offset = rng.randint(n_batches) if n_batches > 1 else 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        # Rotating the starting batch per class spreads the remainders over the batches.
        batch_of[members] = (np.arange(len(members)) + offset) % n_batches
        offset = (offset + len(members)) % n_batches
    order = np.argsort(batch_of, kind="stable")
    bounds = np.searchsorted(batch_of[order], np.arange(1, n_batches))
    groups = [g for g in np.split(order, bounds) if len(g)]
    return _assemble(X, groups, n_neighbors, similarity_threshold)


def _bucket_groups(
    projected: np.ndarray, n_bits: int, max_size: int, min_size: int
) -> list[np.ndarray]:
    """Rows grouped by the sign pattern of their first ``n_bits`` projections.

    Buckets larger than ``max_size`` are cut along the next projection (sorted, then split in
    equal pieces); runs of buckets smaller than ``min_size`` are merged with their neighbours
    in code order, which share the leading sign bits and so lie on the same side of the first
    hyperplanes.
    """
    n_rows = projected.shape[0]
    bits = projected[:, :n_bits] > 0
    codes = bits @ (1 << np.arange(n_bits - 1, -1, -1, dtype=np.int64)) if n_bits else None
    if codes is None:
        codes = np.zeros(n_rows, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    splitter = projected[:, n_bits % projected.shape[1]]
    groups: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    pending_size = 0
    for bucket in np.split(order, bounds):
        if len(bucket) > max_size:
            bucket = bucket[np.argsort(splitter[bucket], kind="stable")]
            pieces = np.array_split(bucket, -(-len(bucket) // max_size))
        else:
            pieces = [bucket]
        for piece in pieces:
            pending.append(piece)
            pending_size += len(piece)
            if pending_size >= min_size:
                groups.append(np.concatenate(pending))
                pending, pending_size = [], 0
    if pending:
        if groups and pending_size + len(groups[-1]) <= max_size:
            groups[-1] = np.concatenate([groups[-1], *pending])
        else:
            groups.append(np.concatenate(pending))
    return groups


def _auto_bits(n_rows: int, batch_size: int) -> int:
    """Bits that give buckets of about a quarter of ``batch_size`` rows on spread-out data."""
    return int(np.clip(np.ceil(np.log2(max(n_rows, 2) * 4 / batch_size)), 1, 24))


def hash_graph(
    X: np.ndarray,
    *,
    n_neighbors: int,
    batch_size: int,
    similarity_threshold: float,
    rng: np.random.RandomState,
    n_bits: int | None = None,
    n_levels: int = 1,
    n_views: int = 1,
) -> RowGraph:
    """k-NN graph inside random-projection hash buckets.

    Rows are projected on Gaussian random directions; the signs give each row a bucket code.
    ``n_levels > 1`` builds buckets from nested prefixes of the code (coarse to fine: fewer
    bits give larger buckets, linking rows further apart); ``n_views > 1`` repeats the whole
    construction with independent projections. The edge sets are united. Buckets hold at most
    ``batch_size`` rows, so the cost stays linear in the number of rows.
    """
    n_rows, n_features = X.shape
    bits = n_bits if n_bits is not None else _auto_bits(n_rows, batch_size)
    # The finest level has at least n_levels bits, so that the levels differ even where few
    # bits are picked automatically (small data); otherwise they would all be one level.
    bits = max(bits, n_levels)
    min_size = min(n_neighbors + 1, n_rows)
    groups: list[np.ndarray] = []
    partition: list[np.ndarray] | None = None
    for _ in range(n_views):
        directions = rng.standard_normal((n_features, bits + 1)).astype(X.dtype)
        # Centring makes the first hyperplanes cut through the data rather than beside it.
        projected = (X - X.mean(axis=0)) @ directions
        for level in range(n_levels):
            level_bits = max(level + 1, round(bits * (level + 1) / n_levels))
            level_groups = _bucket_groups(projected, level_bits, batch_size, min_size)
            groups.extend(level_groups)
            if partition is None and level == n_levels - 1:
                partition = level_groups
    graph = _assemble(X, groups, n_neighbors, similarity_threshold)
    # The GAT's training chunks follow the finest buckets of the first view: a partition of
    # the rows. Edges of the other levels or views that cross two chunks are left out of it.
    graph.groups = partition
    return graph
