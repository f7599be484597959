"""Losses of sequence decoders trained with teacher forcing (captioning)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def token_cross_entropy(logits: jax.Array, targets: jax.Array, mask: jax.Array) -> tuple[jax.Array, dict]:
    """Cross-entropy of logits [batch, length, vocab] against targets [batch, length], averaged over
    the tokens where mask [batch, length] is 1 (padding after the end token does not count), as
    PyTorch's cross-entropy over packed sequences averages.

    Returns the loss and metrics (sum, count): token_nll and token_accuracy over real tokens.
    """
    mask = mask.astype(jnp.float32)
    nll = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets) * mask
    count = jnp.maximum(mask.sum(), 1.0)
    correct = (jnp.argmax(logits, axis=-1) == targets).astype(jnp.float32) * mask
    return nll.sum() / count, {"token_nll": (nll.sum(), count), "token_accuracy": (correct.sum(), count)}
