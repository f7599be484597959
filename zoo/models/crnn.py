"""CRNN: a convolutional recurrent network read with CTC, the cheap text recogniser.

Shi, Bai & Yao, "An End-to-End Trainable Neural Network for Image-based Sequence Recognition",
TPAMI 2017: a VGG-style stack of 3x3 convolutions pools the height of a text crop down to one
row while keeping a column per 4 pixels of width, two bidirectional LSTMs read the columns left
to right, and a linear layer gives per-column class scores (CTC blank = class 0, then the
charset). Trained with CTC (`zoo.losses.text_recognition.ctc_loss`); read greedily (best path,
repeats merged, blanks dropped), and every shirt number 0..99 is scored exactly with the CTC
forward algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from zoo.models.parseq import DIGITS
from zoo.models.resnet import batch_norm

BLANK = 0


def number_labels(charset: str) -> tuple[np.ndarray, np.ndarray]:
    """CTC labels [100, 2] and lengths [100] of the texts "0".."99" in `charset`'s classes."""
    ids = {c: i + 1 for i, c in enumerate(charset)}
    labels = np.zeros((100, 2), np.int32)
    lengths = np.zeros(100, np.int32)
    for n in range(100):
        text = str(n)
        labels[n, : len(text)] = [ids[c] for c in text]
        lengths[n] = len(text)
    return labels, lengths


def greedy_decode(logits: np.ndarray, charset: str) -> list[str]:
    """Best-path CTC decoding of logits [batch, frames, classes] -> texts."""
    best = np.argmax(np.asarray(logits), axis=-1)
    texts = []
    for row in best:
        keep = np.concatenate([[True], row[1:] != row[:-1]]) & (row != BLANK)
        texts.append("".join(charset[c - 1] for c in row[keep]))
    return texts


class CRNN(nn.Module):
    """Convolutions -> 2 x BiLSTM -> per-column classes.

    Attributes:
      charset: the characters (class i + 1 is charset[i]; class 0 is the CTC blank).
      widths: channels of the 7 convolutions (Shi et al.: 64, 128, 256, 256, 512, 512, 512).
      hidden: LSTM units per direction.
      score_numbers: at inference, score every shirt number 0..99 (needs the digits).

    Call: inputs {"images": [batch, 32, width, 3] normalised, ...} (height 32; other keys are
    ignored) -> {"logits": [batch, width / 4, classes]} and, at inference with score_numbers,
    "number_log_probs" [batch, 100]: log P(text = str(n)) summed over every CTC alignment.
    """

    charset: str = DIGITS
    widths: Sequence[int] = (64, 128, 256, 256, 512, 512, 512)
    hidden: int = 256
    score_numbers: bool = True

    @nn.compact
    def __call__(self, inputs, *, train: bool):
        x = inputs["images"]
        if x.shape[1] != 32:
            raise ValueError(f"CRNN reads 32-pixel-high crops, got height {x.shape[1]}")
        w = self.widths
        # (features, batch norm, pool (h, w) after): height 32 -> 16 -> 8 -> 4 -> 2 -> 1,
        # width / 4 (the last pools halve the height only, as in the paper).
        plan = [(w[0], False, (2, 2)), (w[1], False, (2, 2)), (w[2], True, None), (w[3], False, (2, 1)),
                (w[4], True, None), (w[5], False, (2, 1)), (w[6], True, (2, 1))]
        for i, (features, norm, pool) in enumerate(plan):
            x = nn.Conv(features, (3, 3), padding=1, use_bias=not norm, name=f"conv{i}")(x)
            if norm:
                x = batch_norm(train, f"bn{i}")(x)
            x = nn.relu(x)
            if pool is not None:
                x = nn.max_pool(x, pool, strides=pool)
        columns = einops.rearrange(x, "b 1 w c -> b w c")
        for i in range(2):
            columns = nn.Bidirectional(nn.RNN(nn.OptimizedLSTMCell(self.hidden)),
                                       nn.RNN(nn.OptimizedLSTMCell(self.hidden)), name=f"lstm{i}")(columns)
        logits = nn.Dense(len(self.charset) + 1, name="classifier")(columns)
        outputs = {"logits": logits}
        if not train and self.score_numbers and set(DIGITS) <= set(self.charset):
            outputs["number_log_probs"] = self.number_log_probs(logits)
        return outputs

    def number_log_probs(self, logits: jax.Array) -> jax.Array:
        """log P(str(n)) [batch, 100] by the CTC forward algorithm, for n = 0..99."""
        labels, lengths = number_labels(self.charset)
        batch, frames, classes = logits.shape
        repeated = jnp.broadcast_to(logits[:, None].astype(jnp.float32), (batch, 100, frames, classes))
        repeated = repeated.reshape(batch * 100, frames, classes)
        label_paddings = (np.arange(2)[None, :] >= lengths[:, None]).astype(np.float32)
        nll = optax.ctc_loss(
            repeated, jnp.zeros((batch * 100, frames)), jnp.tile(jnp.asarray(labels), (batch, 1)),
            jnp.tile(jnp.asarray(label_paddings), (batch, 1)), blank_id=BLANK)
        return -nll.reshape(batch, 100)
