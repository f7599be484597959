"""Greedy and beam search (zoo.models.decoding) on bigram models small enough to check by hand or
by enumerating every caption."""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.models import decoding

PAD, START, END = 0, 1, 2
BANNED = (PAD, START)


def bigram_step(tables: jax.Array):
    """A step function whose next-token logits depend on the last token and the row's table:
    state {"row": [n]} picks tables[row] [vocab, vocab] (row = last token)."""

    def step(state, tokens):
        return tables[state["row"], tokens], state

    return step


@functools.partial(jax.jit, static_argnames=("beam_width", "max_length", "alpha"))
def search(tables, *, beam_width=None, max_length, alpha=0.0):
    """Greedy search (beam_width None) or beam search of each row's bigram table [rows, vocab, vocab]."""
    tables = jnp.asarray(tables, jnp.float32)
    state = {"row": jnp.arange(tables.shape[0])}
    settings = dict(batch_size=tables.shape[0], start_token=START, end_token=END, max_length=max_length,
                    banned_tokens=BANNED)
    if beam_width is None:
        return decoding.greedy_search(bigram_step(tables), state, **settings)
    return decoding.beam_search(bigram_step(tables), state, beam_width=beam_width, length_penalty_alpha=alpha,
                                **settings)


def words(row) -> tuple[int, ...]:
    return tuple(int(t) for t in row if t != PAD)


def test_beam_search_on_a_hand_checked_case():
    """Tokens a=3, b=4. From start: a 0.6, b 0.4 (end is never first). After a: a 0.4, b 0.3,
    end 0.3. After b: end 0.9, a 0.05, b 0.05. Max length 3.

    Greedy: a, a, a (cut at the maximum length), p = 0.6 * 0.4 * 0.4 = 0.096.
    Beam 2, step 1: live a (0.6), b (0.4).
    Step 2: the 4 best extensions are b-end 0.36, a-a 0.24, a-end 0.18, a-b 0.18; b-end ranks
    first, so it is finished; a-end ranks third (not among the first 2), so it is dropped; live
    a-a, a-b.
    Step 3: a-b-end 0.162 ranks first (finished); live a-a-a 0.096, a-a-b 0.072, cut at length 3.
    Best: b, end with p = 0.36.
    """
    probabilities = np.full((5, 5), 1e-12)
    probabilities[START, [3, 4]] = [0.6, 0.4]
    probabilities[3, [3, 4, END]] = [0.4, 0.3, 0.3]
    probabilities[4, [END, 3, 4]] = [0.9, 0.05, 0.05]
    table = np.log(probabilities)[None]
    tokens, log_prob = search(table, max_length=3)
    assert words(tokens[0]) == (3, 3, 3)
    np.testing.assert_allclose(log_prob[0], math.log(0.096), rtol=1e-5)
    tokens, score = search(table, beam_width=2, max_length=3)
    assert tokens[0].tolist() == [4, END, PAD]
    np.testing.assert_allclose(score[0], math.log(0.36), rtol=1e-5)
    # A longer maximum does not change it: nothing can beat 0.36 once b-end is found.
    tokens, score = search(table, beam_width=2, max_length=10)
    assert words(tokens[0]) == (4, END)
    # With a length penalty, score = log p / ((5 + length) / 6) ** alpha: b-end has length 2.
    tokens, score = search(table, beam_width=2, max_length=3, alpha=1.0)
    np.testing.assert_allclose(score[0], math.log(0.36) / (7 / 6), rtol=1e-5)


# The random cases share one shape, so that their searches compile once for the module.
ROWS, MAX_LENGTH = 16, 12


def random_tables(seed: int, rows: int = ROWS, vocab: int = 6, scale: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, vocab, vocab)) * scale


def test_beam_width_one_is_greedy_search():
    tables = random_tables(0)
    tables[:4, :, END] -= 20  # these rows never end: cut at the maximum length
    greedy_tokens, greedy_log_prob = search(tables, max_length=MAX_LENGTH)
    beam_tokens, beam_score = search(tables, beam_width=1, max_length=MAX_LENGTH)
    np.testing.assert_array_equal(beam_tokens, greedy_tokens)
    np.testing.assert_allclose(beam_score, greedy_log_prob, rtol=1e-6)
    lengths = [len(words(row)) for row in np.asarray(greedy_tokens)]
    assert max(lengths) == MAX_LENGTH and min(lengths) < MAX_LENGTH  # both cut and ended captions


def best_by_enumeration(table: np.ndarray, max_length: int, alpha: float) -> tuple[tuple[int, ...], float]:
    """The best caption over every token sequence: ended by END, or cut at max_length."""
    vocab = table.shape[0]
    allowed = [t for t in range(vocab) if t not in BANNED]
    best = (None, -np.inf)
    for length in range(1, max_length + 1):
        for sequence in itertools.product(allowed, repeat=length):
            if sequence[0] == END or END in sequence[:-1] or (length < max_length and sequence[-1] != END):
                continue
            log_prob, last = 0.0, START
            for i, token in enumerate(sequence):
                logits = table[last].copy()
                logits[list(BANNED)] = -np.inf
                if i == 0:
                    logits[END] = -np.inf
                log_prob += logits[token] - np.logaddexp.reduce(logits)
                last = token
            score = log_prob / ((5 + length) / 6) ** alpha
            if score > best[1]:
                best = (sequence, score)
    return best


@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_a_beam_as_wide_as_every_prefix_is_exhaustive_search(alpha):
    max_length, vocab = 4, 5  # 3 tokens allowed: at most 27 live prefixes
    tables = random_tables(1, rows=6, vocab=vocab)
    tokens, score = search(tables, beam_width=27, max_length=max_length, alpha=alpha)
    for row, table in enumerate(tables):
        expected, expected_score = best_by_enumeration(table, max_length, alpha)
        assert words(tokens[row]) == expected
        np.testing.assert_allclose(score[row], expected_score, rtol=1e-5)


def test_one_compilation_serves_every_caption_length():
    lengths = set()
    search.clear_cache()
    for seed in range(6):
        tables = random_tables(seed)
        tables[:, :, END] += seed - 2.5  # from captions that never end to two-word captions
        for beam_width in (None, 3):
            tokens = search(tables, beam_width=beam_width, max_length=MAX_LENGTH)[0]
            lengths.update(len(words(row)) for row in np.asarray(tokens))
    assert len(lengths) >= 4, lengths
    assert search._cache_size() == 2  # one compilation for greedy, one for the beam


def test_never_banned_tokens_nor_an_empty_caption_and_padding_after_the_end():
    tables = random_tables(2)
    tables[:, :, list(BANNED)] += 10  # the most likely tokens, were they allowed
    tables[:, START, END] += 10  # and an immediate end
    for beam_width in (None, 3):
        tokens = np.asarray(search(tables, beam_width=beam_width, max_length=MAX_LENGTH)[0])
        assert not np.isin(tokens[:, 0], (*BANNED, END)).any()
        for row in tokens:
            ended = np.flatnonzero(row == END)
            after = row[ended[0] + 1:] if len(ended) else row[:0]
            assert (after == PAD).all() and not np.isin(row[: len(row) - len(after)], BANNED).any()


def test_invalid_settings():
    tables = random_tables(0, rows=1)
    with pytest.raises(ValueError, match="beam_width"):
        search(tables, beam_width=0, max_length=3)
    with pytest.raises(ValueError, match="length penalty"):
        search(tables, beam_width=2, max_length=3, alpha=-1.0)
