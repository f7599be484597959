"""Losses of the text recognisers: PARSeq's permutation language modelling and CTC.

Both return per-example losses [batch] and the token counts behind them, so a task can report
(sum, count) metrics that padding never biases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def permutation_loss(logits: jax.Array, tokens: jax.Array, *, eos: int, pad: int) -> tuple[jax.Array, jax.Array]:
    """PARSeq's training loss over K orderings, as the published training step computes it.

    logits: [K, batch, T + 1, classes] (`PARSeq` in training); tokens: [batch, T + 2] (BOS,
    characters, EOS, PAD...). The targets are tokens[:, 1:]; the first two orderings (canonical
    and reverse) are also trained to predict EOS, the others not (EOS cannot depend on any
    character order but those two). The loss is the cross-entropy summed over every (ordering,
    target) pair that is not padding, divided by their number, which equals the published
    sum over orderings of n_k * mean_k / sum n_k.

    Returns (per-example loss sums [batch], the number of target tokens per example [batch]):
    loss = sums.sum() / counts.sum().
    """
    targets = tokens[:, 1:]
    k = logits.shape[0]
    without_eos = jnp.where(targets == eos, pad, targets)
    per_perm = jnp.stack([targets if i < 2 else without_eos for i in range(k)])  # [K, b, T+1]
    valid = per_perm != pad
    ce = optax.softmax_cross_entropy_with_integer_labels(
        logits.astype(jnp.float32), jnp.where(valid, per_perm, 0))
    ce = jnp.where(valid, ce, 0.0)
    return ce.sum(axis=(0, 2)), valid.sum(axis=(0, 2)).astype(jnp.float32)


def ctc_loss(logits: jax.Array, labels: jax.Array, label_lengths: jax.Array, *, blank: int = 0) -> jax.Array:
    """CTC negative log-likelihood per example [batch].

    logits: [batch, frames, classes] (class `blank` is the CTC blank); labels: [batch, L] int,
    padded after `label_lengths` [batch] characters.
    """
    logit_paddings = jnp.zeros(logits.shape[:2], jnp.float32)
    label_paddings = (jnp.arange(labels.shape[1])[None, :] >= label_lengths[:, None]).astype(jnp.float32)
    return optax.ctc_loss(logits.astype(jnp.float32), logit_paddings, labels, label_paddings, blank_id=blank)
