"""DeeperGCN over padded player graphs (Li et al., "DeeperGCN: All You Need to Train Deeper
GCNs", 2020), in the form the SoccerNet calibration paper used for its player-graph branch.

One graph per video frame: a node per player (8 features), an edge between two players less
than `edge_distance` metres apart on the pitch. Graphs are padded to a fixed number of node
slots with a mask, and the edges are derived inside the model from the node positions, so every
graph size from 0 to `max_nodes` runs through one compiled program.

The network (PyTorch Geometric's `ogbn_proteins_deepgcn` recipe, as in the official
`CALF_Calibration_GCN` "resGCN-14" model):

  x = Linear(features -> hidden)(nodes)
  x = GENConv_0(x)
  for l in 1..L-1:  x = x + ReLU(LayerNorm_l(GENConv_l(x)))                 ("res" blocks)
  x = Linear(hidden -> out)(Dropout(ReLU(LayerNorm_0(x))))
  graph = max over the graph's nodes (0 for a graph without nodes)

The "res" blocks have no dropout: the published runs used PyTorch Geometric 1.6.3 (pinned by the
official repository), whose `DeepGCNLayer(block="res", dropout=0.1)` stores the rate but applies
it only in "res+" blocks; later releases drop out after the sum. The only dropout is the one
before the output layer. (The data gives an empty frame one all-zero node, as the official
dataset does, so "a graph without nodes" does not reach the model from `zoo.geometry.topview`.)

GENConv: x_i' = MLP(x_i + softmax-aggregation over neighbours j of (ReLU(x_j) + 1e-7)), where
the aggregation weighs the messages m_j channel by channel with softmax_j(t * m_j), t a learnt
temperature (initial 1), and the MLP is Linear(h, 2h) -> LayerNorm -> ReLU -> Linear(2h, h).

Aggregation backends (`aggregation`), equal to float precision (tested):
  "segment": an explicit edge list over all node-slot pairs, masked, with `jax.ops.segment_max`
    (the per-receiver shift of the softmax) and `jax.ops.segment_sum`. It materialises
    [graphs * slots^2, hidden] tensors: the reference, and fine for small batches.
  "dense": the same sums as masked adjacency matrix products. The messages depend only on the
    sender (the published model uses no edge features), so sum_j A_ij w_j m_j is one [slots x
    slots] by [slots x hidden] product per graph and nothing of size slots^2 x hidden exists.
    The softmax shift is the graph's largest logit per channel instead of each receiver's; a
    weight is floored at exp(-60) relative to it, which changes the result only for a receiver
    whose every neighbour lies 60 logits below the graph's best (then its neighbours count
    equally). The default: about 30x less memory and time than "segment" on CPU.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

AGGREGATIONS = ("dense", "segment")
MESSAGE_EPS = 1e-7  # GENConv's eps added to every message
DENSE_LOGIT_FLOOR = -60.0


def adjacency(positions: jax.Array, mask: jax.Array, edge_distance: float) -> jax.Array:
    """Edges of padded graphs: [G, N, N] bool, [g, i, j] = an edge from node j to node i.

    positions [G, N, 2] metres; mask [G, N] real nodes. Two distinct real nodes are joined
    (both ways) when they are less than `edge_distance` apart.
    """
    distance = jnp.linalg.norm(positions[:, :, None, :] - positions[:, None, :, :], axis=-1)
    n = positions.shape[1]
    return (distance < edge_distance) & mask[:, :, None] & mask[:, None, :] & ~jnp.eye(n, dtype=bool)


def softmax_aggregate_dense(messages: jax.Array, edges: jax.Array, mask: jax.Array, t: jax.Array) -> jax.Array:
    """sum_j softmax_j(t m_j) m_j over each node's neighbours, per channel, as matrix products.

    messages [G, N, H]; edges [G, N, N] (receiver, sender); mask [G, N]; t a scalar.
    Returns [G, N, H]; 0 for a node without neighbours.
    """
    real = mask[..., None]
    messages = jnp.where(real, messages, 0.0)  # whatever the padding slots hold never leaks in
    logits = t * messages
    shift = jnp.max(jnp.where(real, logits, -jnp.inf), axis=1, keepdims=True)
    shift = jax.lax.stop_gradient(jnp.where(jnp.isfinite(shift), shift, 0.0))
    weights = jnp.where(real, jnp.exp(jnp.maximum(jnp.where(real, logits - shift, 0.0), DENSE_LOGIT_FLOOR)), 0.0)
    adjacency_matrix = edges.astype(messages.dtype)
    numerator = jnp.einsum("gij,gjh->gih", adjacency_matrix, weights * messages)
    denominator = jnp.einsum("gij,gjh->gih", adjacency_matrix, weights)
    has_neighbours = edges.any(-1)[..., None]
    return jnp.where(has_neighbours, numerator / jnp.where(has_neighbours, denominator, 1.0), 0.0)


def softmax_aggregate_segment(messages: jax.Array, edges: jax.Array, mask: jax.Array, t: jax.Array) -> jax.Array:
    """The same aggregation over an explicit (masked) edge list with segment operations.

    Every ordered pair of node slots of a graph is an edge slot; `edges` says which are real.
    """
    del mask  # the edges only join real nodes
    g, n, h = messages.shape
    flat = messages.reshape(g * n, h)
    first = jnp.arange(g)[:, None, None] * n  # edge slot [g, i, j]: node j of graph g -> node i
    receiver = jnp.broadcast_to(first + jnp.arange(n)[None, :, None], (g, n, n)).reshape(-1)
    sender = jnp.broadcast_to(first + jnp.arange(n)[None, None, :], (g, n, n)).reshape(-1)
    real = edges.reshape(-1)[:, None]
    sent = jnp.where(real, flat[sender], 0.0)
    logits = jnp.where(real, t * sent, -jnp.inf)
    shift = jax.ops.segment_max(logits, receiver, num_segments=g * n)
    shift = jax.lax.stop_gradient(jnp.where(jnp.isfinite(shift), shift, 0.0))
    weights = jnp.where(real, jnp.exp(logits - shift[receiver]), 0.0)
    numerator = jax.ops.segment_sum(weights * sent, receiver, num_segments=g * n)
    denominator = jax.ops.segment_sum(weights, receiver, num_segments=g * n)
    out = jnp.where(denominator > 0, numerator / jnp.where(denominator > 0, denominator, 1.0), 0.0)
    return out.reshape(g, n, h)


class GENConv(nn.Module):
    """GENConv with softmax aggregation and a learnt temperature (PyG `GENConv(aggr="softmax",
    learn_t=True, num_layers=2, norm="layer")`).

    Call: x [G, N, H], edges [G, N, N], mask [G, N] -> [G, N, H].
    """

    aggregation: str = "dense"

    @nn.compact
    def __call__(self, x: jax.Array, edges: jax.Array, mask: jax.Array) -> jax.Array:
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"Unknown aggregation {self.aggregation!r}; expected one of {AGGREGATIONS}.")
        hidden = x.shape[-1]
        t = self.param("t", nn.initializers.ones, ())
        messages = nn.relu(x) + MESSAGE_EPS
        aggregate = softmax_aggregate_dense if self.aggregation == "dense" else softmax_aggregate_segment
        y = x + aggregate(messages, edges, mask, t)
        y = nn.Dense(2 * hidden, name="mlp_0")(y)
        y = nn.relu(nn.LayerNorm(epsilon=1e-5, name="mlp_1")(y))
        return nn.Dense(hidden, name="mlp_3")(y)


class DeeperGCN(nn.Module):
    """The residual DeeperGCN of the player-graph branch, max-pooled to one vector per graph.

    Attributes:
      out_features: width of the pooled graph vector.
      hidden: node width inside the network (published 64).
      num_layers: GENConv layers (published 14, "resGCN-14").
      dropout_rate: dropout before the output layer (published 0.1; none in the blocks, see above).
      edge_distance: players closer than this (metres) are joined (published 25).
      aggregation: "dense" or "segment" (see the module docstring).

    Call: nodes [G, N, F], positions [G, N, 2] (metres), mask [G, N] -> [G, out_features].
    """

    out_features: int
    hidden: int = 64
    num_layers: int = 14
    dropout_rate: float = 0.1
    edge_distance: float = 25.0
    aggregation: str = "dense"

    @nn.compact
    def __call__(self, nodes: jax.Array, positions: jax.Array, mask: jax.Array, *, train: bool) -> jax.Array:
        mask = mask.astype(bool)
        edges = adjacency(positions, mask, self.edge_distance)
        x = nn.Dense(self.hidden, name="node_encoder")(nodes)
        x = GENConv(self.aggregation, name="conv_0")(x, edges, mask)
        for layer in range(1, self.num_layers):
            h = GENConv(self.aggregation, name=f"conv_{layer}")(x, edges, mask)
            x = x + nn.relu(nn.LayerNorm(epsilon=1e-5, name=f"norm_{layer}")(h))
        x = nn.relu(nn.LayerNorm(epsilon=1e-5, name="norm_0")(x))
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        x = nn.Dense(self.out_features, name="output")(x)
        pooled = jnp.max(jnp.where(mask[..., None], x, -jnp.inf), axis=1)
        return jnp.where(mask.any(axis=1, keepdims=True), pooled, 0.0)
