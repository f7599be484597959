"""Per-output-step targets and the loss of ASTRA (chunk spotting with class and displacement heads).

Targets of one chunk, built on the host (numpy), at the output rate (ASTRA: 2 steps a second):

  class_targets      [T, K + 1]  1 for class k within `class_radius` steps of an event of k
                                 (ASTRA's rC = 2 s), column 0 (background) 1 where no class is
  displacement       [T, K + 1]  step - event, for steps within `displacement_radius` steps of an
                                 event of that class (ASTRA's rD = 3 s); so event = step - displacement
  displacement_mask  [T, K + 1]  1 where `displacement` is a target

An event belongs to a step when its output step, int(rate x position_ms / 1000), is within the
radius; events just outside the chunk still label the steps inside it that are within reach (the
features there show them). Where two events of one class reach a step, the nearer one owns it
(the later one on a tie).

The loss (ASTRA `ASTRALoss`, run inside the jitted train step):
  class: mean over steps and columns of the "focal" binary cross-entropy on sigmoid
    probabilities, -(y log(p + e) + (1 - y) log(1 - p + e)) |y - p|, e = 7e-5, times `class_weight`;
  displacement: on target cells, the Gaussian negative log-likelihood of the uncertainty head,
    alpha (d - mu)^2 / exp(log_var) + (1 - alpha) log_var (alpha 0.3), or the squared error
    without it, weighted by the class targets max-pooled over `2 (rD - rC) rate + 1` steps, summed
    and divided by batch x steps, times `displacement_weight`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

_LOG_EPSILON = 7e-5  # ASTRA adds this inside the logs of its classification loss
TARGET_KEYS = ("class_targets", "displacement", "displacement_mask")


def chunk_targets(
    event_steps: Sequence[int] | np.ndarray,
    event_classes: Sequence[int] | np.ndarray,
    *,
    start: int,
    steps: int,
    num_classes: int,
    class_radius: int,
    displacement_radius: int,
) -> dict[str, np.ndarray]:
    """Targets of the chunk covering output steps [start, start + steps) (see the module docstring).

    event_steps: [E] output step of each event in the half; event_classes: [E] class in [0, K).
    Returns float32 arrays class_targets, displacement, displacement_mask, each [steps, K + 1].
    """
    event_steps = np.asarray(event_steps, np.int64)
    event_classes = np.asarray(event_classes, np.int64)
    reach = max(class_radius, displacement_radius)
    near = (event_steps >= start - reach) & (event_steps < start + steps + reach)
    event_steps, event_classes = event_steps[near], event_classes[near]
    position = start + np.arange(steps)
    # [E, T] signed offsets step - event; each class column takes its nearest event (later on ties).
    offset = position[None, :] - event_steps[:, None]
    distance = np.abs(offset).astype(np.float64)
    nearest = np.full((steps, num_classes + 1), np.inf)
    chosen = np.zeros((steps, num_classes + 1), np.int64)
    for index in np.argsort(event_steps, kind="stable"):
        column = event_classes[index] + 1
        owns = distance[index] <= nearest[:, column]
        nearest[owns, column] = distance[index][owns]
        chosen[owns, column] = offset[index][owns]
    class_targets = (nearest <= class_radius).astype(np.float32)
    class_targets[:, 0] = class_targets[:, 1:].max(axis=1, initial=0.0) == 0
    displacement_mask = (nearest <= displacement_radius).astype(np.float32)
    displacement = np.where(displacement_mask > 0, chosen, 0).astype(np.float32)
    return {"class_targets": class_targets, "displacement": displacement, "displacement_mask": displacement_mask}


def classes_present(class_targets: np.ndarray) -> np.ndarray:
    """Columns (background + classes) with at least one positive step: [K + 1] bool."""
    return np.asarray(class_targets).max(axis=0) >= 1


def focal_class_loss(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """ASTRA's per-cell classification loss on sigmoid probabilities (soft targets allowed)."""
    p = jax.nn.sigmoid(logits.astype(jnp.float32))
    modulation = jnp.abs(targets - p)
    return -(jnp.log(p + _LOG_EPSILON) * targets + jnp.log(1.0 - p + _LOG_EPSILON) * (1.0 - targets)) * modulation


def dilate_over_time(targets: jax.Array, window: int) -> jax.Array:
    """Max over a centred window of `window` steps (odd), per column: [B, T, C] -> [B, T, C]."""
    if window <= 1:
        return targets
    pad = window // 2
    padded = jnp.pad(targets, ((0, 0), (pad, pad), (0, 0)), constant_values=-jnp.inf)
    return jax.lax.reduce_window(padded, -jnp.inf, jax.lax.max, (1, window, 1), (1, 1, 1), "VALID")


def chunk_spotting_loss(
    *,
    class_weight: float,
    displacement_weight: float,
    uncertainty: bool,
    uncertainty_alpha: float,
    dilation: int,
):
    """The ASTRA loss as a task loss: (outputs, batch) -> (scalar, metrics as (sum, count) pairs).

    dilation: steps of the max-pool that spreads the class targets into displacement weights
      (ASTRA: 2 (rD - rC) x rate + 1 = 5).
    """

    def loss(outputs: dict, batch: dict):
        targets = batch["class_targets"]
        cells = jnp.asarray(targets.size, jnp.float32)
        class_sum = focal_class_loss(outputs["class_logits"], targets).sum()
        mask = batch["displacement_mask"]
        error = (batch["displacement"] - outputs["displacement"].astype(jnp.float32)) ** 2
        if uncertainty:
            log_variance = outputs["log_variance"].astype(jnp.float32)
            error = uncertainty_alpha * error / jnp.exp(log_variance) + (1.0 - uncertainty_alpha) * log_variance
        weight = dilate_over_time(targets, dilation) * mask
        steps = jnp.asarray(targets.shape[0] * targets.shape[1], jnp.float32)
        displacement_sum = (error * weight).sum()
        total = class_weight * class_sum / cells + displacement_weight * displacement_sum / steps
        return total, {"class_loss": (class_sum, cells), "displacement_loss": (displacement_sum, steps)}

    return loss


def make_loss(config):
    """The task loss of `config`: `chunk_spotting_loss` with `config.loss` and the dilation from `config.data`."""
    rate = config.data.output_rate
    dilation = 2 * round((config.data.displacement_radius_seconds - config.data.class_radius_seconds) * rate) + 1
    return chunk_spotting_loss(
        class_weight=config.loss.class_weight, displacement_weight=config.loss.displacement_weight,
        uncertainty=config.loss.uncertainty, uncertainty_alpha=config.loss.uncertainty_alpha,
        dilation=max(dilation, 1))
