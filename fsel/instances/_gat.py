"""A small graph attention network in plain torch: edge-list message passing, per-edge attention."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fsel.instances._graphs import RowGraph

# Rows whose loss one training epoch visits at most: beyond it an epoch is a random subset of
# chunks, so training cost stops growing with the data and only the final scoring pass does.
EPOCH_ROWS = 8192


def _dropout(x: torch.Tensor, rate: float, generator: torch.Generator, training: bool):
    """Inverted dropout drawing its mask from ``generator`` (torch's own uses the global one)."""
    if not training or rate <= 0.0:
        return x
    keep = torch.rand(x.shape, generator=generator) >= rate
    return x * keep / (1.0 - rate)


class GATLayer(nn.Module):
    """One multi-head graph attention layer over an edge list (``source -> target``).

    Each target's attention over its incoming edges is a softmax of
    ``LeakyReLU(a_s . W x_source + a_t . W x_target)``; heads are concatenated or averaged.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        heads: int,
        concat: bool,
        generator: torch.Generator,
    ):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.weight = nn.Parameter(torch.empty(in_features, heads * out_features))
        self.att_source = nn.Parameter(torch.empty(heads, out_features))
        self.att_target = nn.Parameter(torch.empty(heads, out_features))
        self.bias = nn.Parameter(torch.zeros(heads * out_features if concat else out_features))
        for parameter in (self.weight, self.att_source, self.att_target):
            nn.init.xavier_uniform_(parameter, generator=generator)

    def forward(self, x: torch.Tensor, source: torch.Tensor, target: torch.Tensor):
        """Return the new node features and the attention of every edge, shape (edges, heads)."""
        n_rows = x.shape[0]
        h = (x @ self.weight).view(n_rows, self.heads, self.out_features)
        # einsum rather than a broadcast product: its backward avoids a slow broadcast reduction.
        score_source = torch.einsum("nhf,hf->nh", h, self.att_source)
        score_target = torch.einsum("nhf,hf->nh", h, self.att_target)
        logits = nn.functional.leaky_relu(score_source[source] + score_target[target], 0.2)
        # Attention logits are bounded by clamping instead of subtracting each target's maximum:
        # a scatter-max per layer would double the cost, and exp(30) is far from overflow.
        weights = torch.exp(logits.clamp(-30.0, 30.0))
        total = torch.zeros(n_rows, self.heads).index_add_(0, target, weights)
        attention = weights / total[target]
        messages = h[source] * attention[..., None]
        out = torch.zeros_like(h).index_add_(0, target, messages)
        out = out.reshape(n_rows, -1) if self.concat else out.mean(1)
        return out + self.bias, attention


class GAT(nn.Module):
    """Two attention layers: ``heads`` concatenated heads, ELU, then ``heads`` averaged heads."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: int,
        heads: int,
        dropout: float,
        generator: torch.Generator,
    ):
        super().__init__()
        per_head = max(1, hidden // heads)
        self.first = GATLayer(n_features, per_head, heads, True, generator)
        self.second = GATLayer(per_head * heads, n_classes, heads, False, generator)
        self.dropout = dropout
        self.generator = generator

    def forward(self, x, source, target):
        """Class logits per row and each layer's edge attention."""
        x = _dropout(x, self.dropout, self.generator, self.training)
        x, first = self.first(x, source, target)
        x = _dropout(nn.functional.elu(x), self.dropout, self.generator, self.training)
        logits, second = self.second(x, source, target)
        return logits, (first, second)


@dataclass
class _Chunk:
    rows: np.ndarray
    x: torch.Tensor
    y: torch.Tensor
    source: torch.Tensor
    target: torch.Tensor
    n_edges: int  # the first n_edges are the graph's; the rest are self-loops
    holdout: torch.Tensor


def _chunks(X, y, graph: RowGraph, holdout: np.ndarray) -> list[_Chunk]:
    """Induced subgraphs of the graph's chunks, with self-loops added, as tensors."""
    parts = graph.chunks()
    chunk_of = np.empty(graph.n_rows, dtype=np.int64)
    local = np.empty(graph.n_rows, dtype=np.int64)
    for number, rows in enumerate(parts):
        chunk_of[rows] = number
        local[rows] = np.arange(len(rows))
    inside = chunk_of[graph.source] == chunk_of[graph.target]
    edge_chunk = chunk_of[graph.target[inside]]
    order = np.argsort(edge_chunk, kind="stable")
    source = local[graph.source[inside]][order]
    target = local[graph.target[inside]][order]
    bounds = np.searchsorted(edge_chunk[order], np.arange(len(parts) + 1))
    chunks = []
    for number, rows in enumerate(parts):
        lo, hi = bounds[number], bounds[number + 1]
        loops = np.arange(len(rows))
        chunks.append(
            _Chunk(
                rows=rows,
                x=torch.from_numpy(np.ascontiguousarray(X[rows], dtype=np.float32)),
                y=torch.from_numpy(y[rows]),
                source=torch.from_numpy(np.r_[source[lo:hi], loops]),
                target=torch.from_numpy(np.r_[target[lo:hi], loops]),
                n_edges=int(hi - lo),
                holdout=torch.from_numpy(holdout[rows]),
            )
        )
    return chunks


@dataclass
class GATResult:
    """What GAIS reads off the trained network, one value per row."""

    probabilities: np.ndarray
    attention_received: np.ndarray
    epochs_run: int


def fit_gat(
    X: np.ndarray,
    y: np.ndarray,
    graph: RowGraph,
    *,
    n_classes: int,
    hidden: int,
    heads: int,
    dropout: float,
    epochs: int,
    patience: int,
    lr: float,
    holdout: np.ndarray,
    rng: np.random.RandomState,
    generator: torch.Generator,
) -> GATResult:
    """Train a GAT node classifier on ``graph`` and score every row.

    Training minimises class-balanced cross-entropy on the rows outside ``holdout`` with Adam;
    the loss on the ``holdout`` rows decides early stopping, and the best weights are kept.
    Large graphs train chunk by chunk (each chunk an induced subgraph).
    """
    chunks = _chunks(X, y, graph, holdout)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    class_weight = torch.from_numpy(counts.sum() / (n_classes * np.maximum(counts, 1.0)))
    model = GAT(X.shape[1], n_classes, hidden, heads, dropout, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    loss_of = nn.CrossEntropyLoss(weight=class_weight, reduction="sum")

    # Early stopping reads a fixed sample of chunks: scoring every held-out row each epoch
    # would make training time grow with the data again.
    validation = _epoch_subset(chunks, rng, EPOCH_ROWS // 2)
    best_loss, best_state, waited, epochs_run = np.inf, None, 0, 0
    for epoch in range(1, epochs + 1):
        epochs_run = epoch
        model.train()
        for chunk in _epoch_subset(chunks, rng) if len(chunks) > 1 else chunks:
            train = ~chunk.holdout
            if not bool(train.any()):
                continue
            logits, _ = model(chunk.x, chunk.source, chunk.target)
            loss = loss_of(logits[train], chunk.y[train]) / int(train.sum())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            held, n_held = 0.0, 0
            for chunk in validation:
                logits, _ = model(chunk.x, chunk.source, chunk.target)
                held += float(loss_of(logits[chunk.holdout], chunk.y[chunk.holdout]))
                n_held += int(chunk.holdout.sum())
        held /= max(n_held, 1)
        # A relative tolerance: improvements in the third digit no longer move the ranks.
        if held < best_loss * (1.0 - 1e-3):
            best_loss, waited = held, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return _score(model, chunks, graph.n_rows, n_classes, epochs_run)


def _epoch_subset(
    chunks: list[_Chunk], rng: np.random.RandomState, rows: int = EPOCH_ROWS
) -> list[_Chunk]:
    """A random set of chunks holding about ``rows`` rows (all of them if fewer)."""
    picked, size = [], 0
    for number in rng.permutation(len(chunks)):
        picked.append(chunks[number])
        size += len(chunks[number].rows)
        if size >= rows:
            break
    return picked


def _score(model: GAT, chunks, n_rows: int, n_classes: int, epochs_run: int) -> GATResult:
    """Class probabilities and attention received (self-loops out, heads and layers averaged)."""
    probabilities = np.empty((n_rows, n_classes), dtype=np.float32)
    received = np.zeros(n_rows, dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for chunk in chunks:
            logits, attentions = model(chunk.x, chunk.source, chunk.target)
            probabilities[chunk.rows] = torch.softmax(logits, 1).numpy()
            edges = chunk.n_edges
            mean_attention = sum(a[:edges].mean(1) for a in attentions) / len(attentions)
            total = torch.zeros(len(chunk.rows)).index_add_(
                0, chunk.source[:edges], mean_attention
            )
            received[chunk.rows] = total.numpy()
    return GATResult(probabilities, received, epochs_run)
