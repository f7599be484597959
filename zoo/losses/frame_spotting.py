"""Per-frame targets and losses of frame-level spotters (E2E-Spot, T-DEED).

Targets are built on the host for each clip (numpy), after augmentation and before mixup:

  class_targets  [T, C]  one-hot over background + classes (C = K + 1), or over background +
                         class x team columns in the team-joint recipe (C = 2K + 1; column
                         1 + 2k + team, the official 2025 evaluator's `LABEL-left`/`LABEL-right` order)
  displacement   [T]     signed offset (frames) from each frame to the event it belongs to
  displacement_mask [T]  1 within `radius` frames of an event (T-DEED's radi_displacement)
  team_targets   [T]     1 for right, 0 for left, at event frames
  team_mask      [T]     1 where an event has a team
  frame_mask     [T]     1 for frames inside the video (clips at the end are padded)

Losses run inside the jitted train step (jax.numpy) and accept mixed-up (soft) targets.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

TEAM_MODES = ("none", "head", "joint")


def num_outputs(num_classes: int, team_mode: str) -> int:
    """Foreground columns of the class head: K, or 2K in the team-joint recipe."""
    if team_mode not in TEAM_MODES:
        raise ValueError(f"Unknown team mode {team_mode!r}; expected one of {TEAM_MODES}")
    return 2 * num_classes if team_mode == "joint" else num_classes


def clip_targets(
    labels: np.ndarray,
    teams: np.ndarray,
    valid: np.ndarray,
    *,
    num_classes: int,
    team_mode: str,
    label_expansion: int = 0,
    radius: int = 0,
) -> dict[str, np.ndarray]:
    """Per-frame training targets of one clip (see the module docstring).

    Args:
      labels: [T] int, 0 background, c + 1 for class c at the frame of an event.
      teams: [T] int, -1 none, 0 left, 1 right at the frames of events.
      valid: [T] bool, frames inside the video.
      num_classes: K foreground classes.
      team_mode: none, head (team from a separate head) or joint (team folded into the class).
      label_expansion: frames on each side of an event that also get its class (0: the frame only).
      radius: displacement targets within this many frames of an event (0: none).

    Raises:
      ValueError: an event without a team in the joint recipe (the dataset has no teams).
    """
    num_frames = len(labels)
    events = np.flatnonzero(labels > 0)
    if team_mode == "joint" and (teams[events] < 0).any():
        raise ValueError("the team-joint recipe needs a team for every event (2025 labels)")
    columns = np.zeros(num_frames, np.int64)
    team_targets = np.zeros(num_frames, np.float32)
    team_mask = np.zeros(num_frames, np.float32)
    displacement = np.zeros(num_frames, np.float32)
    displacement_mask = np.zeros(num_frames, np.float32)
    # The nearest event owns a frame; on a tie the later event does (it is written last).
    distance = np.full(num_frames, np.iinfo(np.int64).max)
    positions = np.arange(num_frames)
    for event in events:
        klass = labels[event] - 1
        column = 1 + (2 * klass + teams[event] if team_mode == "joint" else klass)
        offset = event - positions
        reach = max(label_expansion, radius)
        owned = (np.abs(offset) <= reach) & (np.abs(offset) <= distance)
        distance = np.where(owned, np.abs(offset), distance)
        columns[owned], team_mask[owned], displacement_mask[owned] = 0, 0.0, 0.0
        in_class = owned & (np.abs(offset) <= label_expansion)
        columns[in_class] = column
        if teams[event] >= 0:
            team_targets[in_class] = float(teams[event])
            team_mask[in_class] = 1.0
        if radius:
            in_radius = owned & (np.abs(offset) <= radius)
            displacement[in_radius] = offset[in_radius]
            displacement_mask[in_radius] = 1.0
    width = 1 + num_outputs(num_classes, team_mode)
    class_targets = np.eye(width, dtype=np.float32)[columns]
    frame_mask = valid.astype(np.float32)
    return {
        "class_targets": class_targets,
        "displacement": displacement,
        "displacement_mask": displacement_mask * frame_mask,
        "team_targets": team_targets,
        "team_mask": team_mask * frame_mask,
        "frame_mask": frame_mask,
    }


# Keys that mixup blends (all float targets).
TARGET_KEYS = ("class_targets", "displacement", "displacement_mask", "team_targets", "team_mask", "frame_mask")


def weighted_cross_entropy(logits, targets, mask, *, foreground_weight: float, focal_gamma: float = 0.0):
    """Mean over frames of -sum_c w_c y_c (1 - p_c)^gamma log p_c, w = 1 for background, fg weight else.

    With soft (mixed-up) targets this is PyTorch's `cross_entropy(weight=...)` on probabilities,
    E2E-Spot's loss; gamma > 0 turns it into the softmax focal loss.

    Args: logits, targets [B, T, C]; mask [B, T] (0 for padded frames). Returns (sum, count).
    """
    log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    weights = jnp.full((logits.shape[-1],), foreground_weight, jnp.float32).at[0].set(1.0)
    modulation = (1.0 - jnp.exp(log_p)) ** focal_gamma if focal_gamma else 1.0
    per_frame = -(weights * targets * modulation * log_p).sum(-1)
    return (per_frame * mask).sum(), mask.sum()


def displacement_loss(predicted, target, mask):
    """Squared error of the predicted offset to the event, on frames within the radius. (sum, count)"""
    return (((predicted.astype(jnp.float32) - target) ** 2) * mask).sum(), mask.sum()


def team_loss(logits, target, mask):
    """Binary cross-entropy of the team logit (1 = right), on frames that carry a team. (sum, count)"""
    per_frame = optax.sigmoid_binary_cross_entropy(logits.astype(jnp.float32), target)
    return (per_frame * mask).sum(), mask.sum()


def make_loss(*, foreground_weight: float, focal_gamma: float, displacement_weight: float,
              team_weight: float):
    """The task loss: weighted CE (+ displacement MSE, + team BCE when the model has those heads).

    Each term is a mean over its frames; the total is their weighted sum (T-DEED: 1, 1, 2).
    """

    def loss(outputs: dict, batch: dict):
        mask = batch["frame_mask"]
        ce_sum, ce_count = weighted_cross_entropy(
            outputs["class_logits"], batch["class_targets"], mask,
            foreground_weight=foreground_weight, focal_gamma=focal_gamma,
        )
        total = ce_sum / jnp.maximum(ce_count, 1.0)
        metrics = {"class_loss": (ce_sum, ce_count)}
        if "displacement" in outputs and displacement_weight:
            d_sum, d_count = displacement_loss(outputs["displacement"], batch["displacement"],
                                               batch["displacement_mask"])
            total += displacement_weight * d_sum / jnp.maximum(d_count, 1.0)
            metrics["displacement_loss"] = (d_sum, d_count)
        if "team_logits" in outputs and team_weight:
            t_sum, t_count = team_loss(outputs["team_logits"], batch["team_targets"], batch["team_mask"])
            total += team_weight * t_sum / jnp.maximum(t_count, 1.0)
            metrics["team_loss"] = (t_sum, t_count)
        return total, metrics

    return loss
