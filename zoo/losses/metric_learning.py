"""Losses for re-identification: identity cross-entropy with label smoothing, batch-hard triplet,
and a supervised InfoNCE. Each returns a per-example loss [batch] so callers can weight and mask.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def smoothed_cross_entropy(logits: jax.Array, labels: jax.Array, epsilon: float) -> jax.Array:
    """Cross-entropy against one-hot targets smoothed by epsilon (Szegedy et al. 2016).

    logits [batch, classes], labels int [batch] -> [batch].
    """
    targets = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), epsilon)
    return optax.softmax_cross_entropy(logits, targets)


def pairwise_distances(embeddings: jax.Array) -> jax.Array:
    """Euclidean distances [batch, batch]; the square root is kept finite at 0 for gradients."""
    squared = jnp.sum(embeddings**2, axis=-1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * embeddings @ embeddings.T
    return jnp.sqrt(jnp.maximum(d2, 1e-12))


def batch_hard_triplet(embeddings: jax.Array, labels: jax.Array, margin: float) -> jax.Array:
    """Batch-hard triplet loss (Hermans et al. 2017): for each anchor, its farthest positive and
    nearest negative in the batch, hinged at `margin`.

    embeddings [batch, dim], labels int [batch] -> [batch]. An anchor with no negative in the
    batch contributes 0.
    """
    distances = pairwise_distances(embeddings)
    same = labels[:, None] == labels[None, :]
    hardest_positive = jnp.max(jnp.where(same, distances, 0.0), axis=1)
    hardest_negative = jnp.min(jnp.where(same, jnp.inf, distances), axis=1)
    has_negative = jnp.isfinite(hardest_negative)
    loss = jax.nn.relu(hardest_positive - jnp.where(has_negative, hardest_negative, 0.0) + margin)
    return jnp.where(has_negative, loss, 0.0)


def supervised_infonce(embeddings: jax.Array, labels: jax.Array, temperature: float) -> jax.Array:
    """Supervised contrastive InfoNCE (Khosla et al. 2020) on L2-normalised embeddings.

    For each anchor: minus the mean, over its positives (same label, not itself), of the log
    softmax of cosine similarity / temperature against every other example in the batch.
    embeddings [batch, dim], labels int [batch] -> [batch]; anchors without positives give 0.
    """
    normalised = embeddings / jnp.maximum(jnp.linalg.norm(embeddings, axis=-1, keepdims=True), 1e-12)
    logits = normalised @ normalised.T / temperature
    self_mask = jnp.eye(labels.shape[0], dtype=bool)
    logits = jnp.where(self_mask, -jnp.inf, logits)
    log_prob = jax.nn.log_softmax(logits, axis=1)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    count = positives.sum(axis=1)
    total = jnp.sum(jnp.where(positives, log_prob, 0.0), axis=1)
    return jnp.where(count > 0, -total / jnp.maximum(count, 1), 0.0)
