"""Autoregressive decoding, jitted end to end: greedy search and beam search over a step function.

Both loop with `jax.lax.while_loop` over a fixed maximum length, so one compilation serves every
caption length, the whole search runs on the device, and it stops as soon as every sequence of the
batch is settled. They take any model as a pure step function

    step(state, tokens [n]) -> (logits [n, vocab], new state)

where `state` is a pytree whose leaves have a leading axis of n (LSTM carries, KV caches...).
Beam search gathers the state along that axis when beams are reordered.

Outputs are `[batch, max_length]` int32 tokens: the generated tokens, the end token included when
one was generated, then `pad_token`. A sequence that reaches `max_length` without an end token is
returned cut there (as the official baseline's sampler does). Banned tokens are never generated,
and the end token never comes first (no empty caption); the probabilities of the tokens allowed
at a step are renormalised over them.

Beam search (Wu et al. 2016 scoring): a candidate's score is its summed log-probability divided by
the length penalty ((5 + length) / 6) ** length_penalty, length counting the end token. At each
step the 2k best extensions of the k live beams are ranked; an extension by the end token is kept
as a finished hypothesis only if it ranks among the first k (as Hugging Face does), the k best
other extensions live on. The search ends when no live beam can still beat the k-th finished
hypothesis, bounded with the penalty of the maximum length. With beam_width 1 and no length
penalty this is exactly greedy search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any
StepFn = Callable[[PyTree, jax.Array], tuple[jax.Array, PyTree]]


def _log_probabilities(logits: jax.Array, banned_tokens: Sequence[int], end_token: int, first: jax.Array) -> jax.Array:
    """float32 log-softmax of [n, vocab] logits over the tokens allowed now (the others -inf,
    never generated; the allowed ones renormalised): not the banned tokens, and not the end token
    as the first token."""
    logits = logits.astype(jnp.float32)
    if banned_tokens:
        logits = logits.at[:, jnp.asarray(banned_tokens)].set(-jnp.inf)
    logits = logits.at[:, end_token].set(jnp.where(first, -jnp.inf, logits[:, end_token]))
    return jax.nn.log_softmax(logits, axis=-1)


def length_penalty(length: jax.Array, alpha: float) -> jax.Array:
    """((5 + length) / 6) ** alpha, the GNMT length normalisation (1 for alpha 0)."""
    return ((5.0 + jnp.asarray(length, jnp.float32)) / 6.0) ** alpha


def greedy_search(
    step: StepFn,
    state: PyTree,
    *,
    batch_size: int,
    start_token: int,
    end_token: int,
    max_length: int,
    banned_tokens: Sequence[int] = (),
    pad_token: int = 0,
) -> tuple[jax.Array, jax.Array]:
    """The most likely token at every step until the end token or max_length.

    Returns tokens [batch, max_length] int32 and their summed log-probabilities [batch] float32.
    """

    def cond(carry):
        i, _, _, done, _, _ = carry
        return (i < max_length) & ~jnp.all(done)

    def body(carry):
        i, tokens, last, done, log_prob, state = carry
        logits, state = step(state, last)
        log_probs = _log_probabilities(logits, banned_tokens, end_token, i == 0)
        chosen = jnp.argmax(log_probs, axis=-1).astype(jnp.int32)
        chosen = jnp.where(done, pad_token, chosen)
        log_prob = log_prob + jnp.where(done, 0.0, jnp.take_along_axis(log_probs, chosen[:, None], axis=1)[:, 0])
        tokens = tokens.at[:, i].set(chosen)
        return i + 1, tokens, chosen, done | (chosen == end_token), log_prob, state

    carry = (
        jnp.zeros((), jnp.int32),
        jnp.full((batch_size, max_length), pad_token, jnp.int32),
        jnp.full((batch_size,), start_token, jnp.int32),
        jnp.zeros((batch_size,), bool),
        jnp.zeros((batch_size,), jnp.float32),
        state,
    )
    _, tokens, _, _, log_prob, _ = jax.lax.while_loop(cond, body, carry)
    return tokens, log_prob


def _gather(values: jax.Array, indices: jax.Array) -> jax.Array:
    """values [b, m, ...] at indices [b, n] along axis 1 -> [b, n, ...]."""
    return jax.vmap(lambda v, i: v[i])(values, indices)


def beam_search(
    step: StepFn,
    state: PyTree,
    *,
    batch_size: int,
    beam_width: int,
    start_token: int,
    end_token: int,
    max_length: int,
    length_penalty_alpha: float = 0.0,
    banned_tokens: Sequence[int] = (),
    pad_token: int = 0,
) -> tuple[jax.Array, jax.Array]:
    """The best-scoring sequence of a beam search (see the module docstring).

    state: the step function's state for the batch (leading axis batch_size); it is repeated
      for the beams.
    length_penalty_alpha: >= 0; 0 ranks by summed log-probability.

    Returns tokens [batch, max_length] int32 and the best scores [batch] float32 (the
    length-normalised summed log-probability).
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if length_penalty_alpha < 0:
        raise ValueError(f"the length penalty must be >= 0, got {length_penalty_alpha}")
    k, b, steps = beam_width, batch_size, max_length
    neg_inf = jnp.array(-jnp.inf, jnp.float32)
    state = jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), state)  # row b * k + j: beam j of b

    def cond(carry):
        i, alive_logp, _, _, finished_score, _, _ = carry
        # A live beam can reach at best its log-probability now over the longest penalty.
        best_alive = jnp.max(alive_logp, axis=1) / length_penalty(steps, length_penalty_alpha)
        settled = best_alive < jnp.min(finished_score, axis=1)  # False while fewer than k finished
        return (i < steps) & ~jnp.all(settled | jnp.all(alive_logp == neg_inf, axis=1))

    def body(carry):
        i, alive_logp, alive_seq, last, finished_score, finished_seq, state = carry
        logits, state = step(state, last.reshape(b * k))
        log_probs = _log_probabilities(logits, banned_tokens, end_token, i == 0).reshape(b, k, -1)
        vocab = log_probs.shape[-1]
        candidates = (alive_logp[:, :, None] + log_probs).reshape(b, k * vocab)
        top_logp, top_index = jax.lax.top_k(candidates, 2 * k)  # [b, 2k], best first
        parent, token = top_index // vocab, (top_index % vocab).astype(jnp.int32)
        sequences = _gather(alive_seq, parent).at[:, :, i].set(token)  # [b, 2k, L]
        ends = token == end_token

        # Finished: end-token extensions among the first k, scored with the length penalty.
        new_score = jnp.where(ends & (jnp.arange(2 * k) < k), top_logp / length_penalty(i + 1, length_penalty_alpha),
                              neg_inf)
        pooled_score = jnp.concatenate([finished_score, new_score], axis=1)
        finished_score, keep = jax.lax.top_k(pooled_score, k)
        finished_seq = _gather(jnp.concatenate([finished_seq, sequences], axis=1), keep)

        # Alive: the k best extensions by another token.
        alive_logp, keep = jax.lax.top_k(jnp.where(ends, neg_inf, top_logp), k)
        alive_seq, last = _gather(sequences, keep), _gather(token, keep)
        rows = (jnp.arange(b)[:, None] * k + _gather(parent, keep)).reshape(b * k)
        state = jax.tree.map(lambda x: x[rows], state)
        return i + 1, alive_logp, alive_seq, last, finished_score, finished_seq, state

    carry = (
        jnp.zeros((), jnp.int32),
        # Only the first beam is live at the start: the others would duplicate it.
        jnp.tile(jnp.concatenate([jnp.zeros((1,), jnp.float32), jnp.full((k - 1,), -jnp.inf)]), (b, 1)),
        jnp.full((b, k, steps), pad_token, jnp.int32),
        jnp.full((b, k), start_token, jnp.int32),
        jnp.full((b, k), -jnp.inf, jnp.float32),
        jnp.full((b, k, steps), pad_token, jnp.int32),
        state,
    )
    i, alive_logp, alive_seq, _, finished_score, finished_seq, _ = jax.lax.while_loop(cond, body, carry)
    # Beams still alive at max_length are complete captions cut there: they compete too.
    cut_score = jnp.where(i >= steps, alive_logp / length_penalty(steps, length_penalty_alpha), neg_inf)
    score, keep = jax.lax.top_k(jnp.concatenate([finished_score, cut_score], axis=1), 1)
    tokens = _gather(jnp.concatenate([finished_seq, alive_seq], axis=1), keep)[:, 0]
    return tokens, score[:, 0]
