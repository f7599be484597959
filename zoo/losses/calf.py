"""CALF's training targets and losses (Cioppa et al., "A Context-Aware Loss Function for Action
Spotting in Soccer Videos", CVPR 2020), with the SoccerNet-v2 recipe of the official benchmark.

Targets, built on the host per half (numpy):

  shifts  [T, C]  per frame and class, the signed distance (frames) to the event of that class
                  that the frame is attributed to: negative before it, 0 at it, positive after
                  (`frame_shifts`). The context slicing parameters K [4, C] cut this axis into the
                  published zones: far before (< K1 ... K0), just before (K1..0, no loss), just
                  after (0..K2, the "hit" zone) and after (K2..K3).
  spotting_targets [N, 2 + C]  per chunk, N fixed action slots: (1, t / chunk, one-hot class)
                  for each event of the chunk, zeros for the empty slots.

Losses (jax.numpy, inside the jitted step):

  `context_aware_loss`: the segmentation loss of the paper, applied to the segmentation scores
    [B, T, C] of the temporal segmentation module, summed over everything as published.
  `spotting_loss`: the detection loss. The N predicted action vectors are matched one to one to
    the N target slots by the published iterative scheme (mutual best pairs by 1 - |dt|, first
    the true actions, then the empty slots), then an element-wise squared error (confidence,
    lambda_coord x position, class vector; lambda_noobj on empty slots), summed.

The K parameters (seconds) are those of the official `config/classes.py` (`K_V2`); the
calibration paper's patterned / fuzzy networks take the columns of their classes.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from zoo.formats.spotting import CLASSES_V2

# Context slicing parameters of the official SoccerNet-v2 recipe, in seconds, per class:
# (K0, K1, K2, K3) with K0 < K1 < 0 < K2 < K3.
K_SECONDS: Mapping[str, tuple[float, float, float, float]] = types.MappingProxyType({
    "Penalty": (-100, -50, 50, 100),
    "Kick-off": (-98, -49, 49, 98),
    "Goal": (-20, -10, 60, 90),
    "Substitution": (-40, -20, 10, 20),
    "Offside": (-96, -48, 48, 96),
    "Shots on target": (-5, -3, 3, 5),
    "Shots off target": (-8, -4, 4, 8),
    "Clearance": (-93, -46, 46, 93),
    "Ball out of play": (-99, -50, 50, 99),
    "Throw-in": (-31, -15, 15, 31),
    "Foul": (-75, -37, 37, 75),
    "Indirect free-kick": (-10, -5, 5, 10),
    "Direct free-kick": (-97, -49, 49, 97),
    "Corner": (-75, -38, 38, 75),
    "Yellow card": (-20, -10, 10, 20),
    "Red card": (-84, -42, 42, 84),
    "Yellow->red card": (-18, -9, 9, 18),
})

# The calibration paper's split of the 17 classes: actions with a typical player layout
# ("patterned", its "visual" classes) and the others ("fuzzy"), in the official code's order.
PATTERNED_CLASSES: tuple[str, ...] = (
    "Penalty", "Kick-off", "Throw-in", "Direct free-kick", "Corner", "Yellow card", "Red card",
    "Yellow->red card",
)
FUZZY_CLASSES: tuple[str, ...] = (
    "Goal", "Substitution", "Offside", "Shots on target", "Shots off target", "Clearance",
    "Ball out of play", "Foul", "Indirect free-kick",
)
CLASS_SUBSETS: Mapping[str, tuple[str, ...]] = types.MappingProxyType({
    "all": CLASSES_V2, "patterned": PATTERNED_CLASSES, "fuzzy": FUZZY_CLASSES,
})

HIT_RADIUS = 0.1  # the published defaults of ContextAwareLoss
MISS_RADIUS = 0.9


def class_subset(name: str) -> tuple[str, ...]:
    """The classes a CALF network spots: "all" (17), "patterned" (8) or "fuzzy" (9)."""
    if name not in CLASS_SUBSETS:
        raise ValueError(f"Unknown class subset {name!r}; expected one of {sorted(CLASS_SUBSETS)}.")
    return CLASS_SUBSETS[name]


def k_parameters(classes: Sequence[str], framerate: float) -> np.ndarray:
    """The K parameters of `classes` in frames: float32 [4, C] (rows K0..K3)."""
    unknown = [c for c in classes if c not in K_SECONDS]
    if unknown:
        raise ValueError(f"No published K parameters for {unknown}.")
    return (np.array([K_SECONDS[c] for c in classes], np.float64).T * framerate).astype(np.float32)


# ------------------------------------------------------------------------------------------ targets


def frame_shifts(events: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The shift of every frame to the event it is attributed to, per class.

    Args:
      events: [T, C] bool, an event of class c at frame t.
      k: [4, C] K parameters in frames.

    Returns:
      float32 [T, C]. A class with no event in the half is "far before" everywhere (K0). With
      one event, the shift is t - event everywhere. With several, frame t sits between the last
      event at or before it (shift s1 >= 0) and the next one after it (s2 < 0); the official rule
      keeps s1 while inside the after-zone (s1 < K2), s2 once past it (s1 >= K3), and in between
      s1 unless s2 is already in the before-zone and the frame is relatively closer to the
      next event: (s1 - K2) / (K3 - K2) >= (K1 - s2) / (K1 - K0). The sequence is padded with a
      virtual event K3 frames before the start and one -K0 frames after the end, as published.
    """
    events = np.asarray(events, bool)
    num_frames, num_classes = events.shape
    frames = np.arange(num_frames, dtype=np.float64)
    shifts = np.empty((num_frames, num_classes), np.float64)
    for c in range(num_classes):
        k0, k1, k2, k3 = (float(v) for v in k[:, c])
        where = np.flatnonzero(events[:, c]).astype(np.float64)
        if len(where) == 0:
            shifts[:, c] = k0
            continue
        if len(where) == 1:
            shifts[:, c] = frames - where[0]
            continue
        padded = np.concatenate([[-k3], where, [num_frames - k0]])
        last = np.searchsorted(padded, frames, side="right") - 1  # last event <= t
        s1 = frames - padded[last]
        s2 = frames - padded[last + 1]  # next event > t
        between = (s1 - k2) / (k3 - k2) < (k1 - s2) / (k1 - k0)
        middle = np.where(s2 <= k0, s1, np.where(between, s1, s2))
        shifts[:, c] = np.where(s1 < k2, s1, np.where(s1 < k3, middle, s2))
    return shifts.astype(np.float32)


def spotting_targets(shifts: np.ndarray, num_detections: int) -> tuple[np.ndarray, int]:
    """The spotting targets of one chunk from its shifts [T, C] (events where the shift is 0).

    Events fill the slots in frame order, then class order, as published; events beyond
    `num_detections` are left out (the published code prints a warning), and their number is
    returned so that callers can count them.

    Returns: (float32 [num_detections, 2 + C], events left out).
    """
    num_frames, num_classes = shifts.shape
    frame, klass = np.nonzero(shifts == 0)
    targets = np.zeros((num_detections, 2 + num_classes), np.float32)
    kept = min(len(frame), num_detections)
    slots = np.arange(kept)
    targets[slots, 0] = 1.0
    targets[slots, 1] = frame[:kept] / num_frames
    targets[slots, 2 + klass[:kept]] = 1.0
    return targets, len(frame) - kept


# -------------------------------------------------------------------------------------------- losses


def context_aware_loss(
    shifts: jax.Array,
    segmentation: jax.Array,
    k: jax.Array,
    *,
    hit_radius: float = HIT_RADIUS,
    miss_radius: float = MISS_RADIUS,
) -> jax.Array:
    """The context-aware segmentation loss, summed over batch, frames and classes.

    Args:
      shifts: [..., T, C] targets from `frame_shifts` (frames set to a value in [K1, 0), e.g. -1,
        carry no loss: the published code masks the chunk borders that way).
      segmentation: [..., T, C] scores in [0, 1]; high means "an action of this class here".
      k: [4, C] K parameters in frames.

    Zones of the shift x and the per-frame loss, with q = 1 - score:
      x < K0 and x >= K3: far from any action, max(0, -log q + log m);
      K0 <= x < K1 and K2 <= x < K3: a ramp from that to no loss at K1 / at K2;
      K1 <= x < 0: no loss (just before an action, the score may rise or not);
      0 <= x < K2: near the action, max(0, -log(1 - q + q (x / K2)) + log(1 - h)).
    """
    x = shifts
    k0, k1, k2, k3 = (k[i] for i in range(4))
    q = 1.0 - segmentation
    log = lambda v: jnp.log(jnp.maximum(v, 1e-12))
    log_miss, log_hit = np.log(miss_radius), np.log(1.0 - hit_radius)
    far = jnp.maximum(0.0, -log(q) + log_miss)
    ramp_before = jnp.maximum(0.0, -log(q + (1.0 - q) * (jnp.clip(x, k0, k1) - k0) / (k1 - k0)) + log_miss)
    near = jnp.maximum(0.0, -log(1.0 - q + q * jnp.clip(x, 0.0, k2) / k2) + log_hit)
    ramp_after = jnp.maximum(0.0, -log(q + (1.0 - q) * (jnp.clip(x, k2, k3) - k3) / (k2 - k3)) + log_miss)
    loss = jnp.where(
        (x < k0) | (x >= k3), far,
        jnp.where(x < k1, ramp_before,
                  jnp.where(x < 0.0, 0.0, jnp.where(x < k2, near, ramp_after))))
    return loss.sum()


def _mutual_best(score: jax.Array, rows: jax.Array, cols: jax.Array, steps: int) -> tuple[jax.Array, jax.Array]:
    """Greedy one-to-one pairs of `rows` and `cols` by highest score, the published way.

    score [B, N, N] > 0; rows [B, N] (1 = a row to match), cols [B, N] (1 = a free column).
    Each step, every open row picks its best free column, every column keeps the open row that
    picked it with the highest score, and those mutual pairs are fixed. Ties go to the lowest
    index, as torch.argmax does.

    Returns the pairs found [B, N, N] (0/1) and the columns still free [B, N].
    """
    n = score.shape[-1]

    def step(_, carry):
        pairs, open_rows, free_cols = carry
        masked = score * open_rows[..., :, None] * free_cols[..., None, :]
        picks = jax.nn.one_hot(jnp.argmax(masked, axis=-1), n) * open_rows[..., :, None]
        kept = jax.nn.one_hot(jnp.argmax(picks * masked, axis=-2), n)  # [B, col, row]
        new = picks * jnp.swapaxes(kept, -1, -2)
        pairs = pairs + new
        return pairs, open_rows * (1.0 - new.sum(-1)), free_cols * (1.0 - new.sum(-2))

    pairs = jnp.zeros_like(score)
    pairs, _, free = jax.lax.fori_loop(0, steps, step, (pairs, rows, cols))
    return pairs, free


def match_predictions(targets: jax.Array, predictions: jax.Array) -> jax.Array:
    """The predicted action vectors reordered to face their matched target slots.

    targets, predictions: [B, N, 2 + C] (confidence, position in [0, 1], class vector).
    True actions are matched first, by 1 - |position difference|, then the empty slots take the
    remaining predictions by 1 - position (the empty slots' position is 0). Nothing flows back
    through the matching itself.

    Returns: [B, N, 2 + C], row i the prediction matched to target slot i.
    """
    alpha = jax.lax.stop_gradient(targets[..., 0])
    true_pos = jax.lax.stop_gradient(targets[..., 1])
    pred_pos = jax.lax.stop_gradient(predictions[..., 1])
    n = targets.shape[-2]
    closeness = 1.0 - jnp.abs(true_pos[..., :, None] - pred_pos[..., None, :])
    pairs, free = _mutual_best(closeness, alpha, jnp.ones_like(alpha), n)
    empty_pairs, _ = _mutual_best(closeness, 1.0 - alpha, free, n)
    permutation = jnp.argmax(pairs + empty_pairs, axis=-1)  # [B, N]
    return jnp.take_along_axis(predictions, permutation[..., None], axis=-2)


def spotting_loss(
    targets: jax.Array, predictions: jax.Array, *, lambda_coord: float, lambda_noobj: float
) -> jax.Array:
    """The detection loss of the spotting module, summed over the batch and slots.

    targets, predictions: [B, N, 2 + C]. After `match_predictions`, per slot:
      alpha (lambda_coord (x - x')^2 + (1 - c')^2 + |y - y'|^2) + (1 - alpha) lambda_noobj c'^2
    where alpha is 1 for a true action, c' the predicted confidence, x the position and y the
    class vector.
    """
    matched = match_predictions(targets, predictions)
    alpha = targets[..., 0]
    confidence_error = jnp.square(alpha - matched[..., 0])
    loss = (
        alpha * lambda_coord * jnp.square(targets[..., 1] - matched[..., 1])
        + alpha * confidence_error
        + (1.0 - alpha) * lambda_noobj * confidence_error
        + alpha * jnp.square(targets[..., 2:] - matched[..., 2:]).sum(-1)
    )
    return loss.sum()
