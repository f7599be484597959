"""Targets and loss of window classifiers that spot events (the NetVLAD++ spotting baselines).

Training examples are non-overlapping windows of a half; each gets a multi-hot target over
[background, classes...]: an event at frame f marks window f // length with its class and clears
background. The loss is the mean binary cross-entropy over examples and columns.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from zoo.data.windows import window_indices


def window_targets(
    num_frames: int, event_frames: np.ndarray, event_classes: np.ndarray, *, length: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's training windows of one half.

    Args:
      num_frames: frames of the half.
      event_frames, event_classes: [n] frame and class index (0..num_classes-1) of each event;
        events at or past the last window's end have no window and are left out.
      length: window length in frames (also the stride).

    Returns:
      indices [windows, length] int32 into the half's frames (`window_indices`), targets
      [windows, num_classes + 1] float32 (column 0 background).
    """
    indices = window_indices(num_frames, length=length, stride=length)
    targets = np.zeros((len(indices), num_classes + 1), np.float32)
    targets[:, 0] = 1.0
    window = np.asarray(event_frames, np.int64) // length
    inside = window < len(indices)
    targets[window[inside], 0] = 0.0
    targets[window[inside], 1 + np.asarray(event_classes, np.int64)[inside]] = 1.0
    return indices, targets


def window_bce(logits: jax.Array, batch: dict) -> tuple[jax.Array, dict]:
    """Mean binary cross-entropy over examples and the background + class columns (the baseline's
    loss) of logits [batch, classes + 1] against batch["targets"]."""
    per_example = optax.sigmoid_binary_cross_entropy(logits, batch["targets"]).mean(axis=-1)
    count = jnp.asarray(per_example.shape[0], jnp.float32)
    return per_example.mean(), {"bce": (per_example.sum(), count)}
