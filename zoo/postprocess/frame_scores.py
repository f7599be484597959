"""Per-frame action scores of frame-level spotters (E2E-Spot, T-DEED), before NMS (numpy)."""

from __future__ import annotations

import numpy as np


def frame_scores(outputs: dict, *, num_classes: int, team_mode: str) -> np.ndarray:
    """Per-frame action scores of one clip's outputs (numpy), before NMS.

    Returns [T, K] scores, or [T, 2K] class x team scores (column 2k + team) for the team recipes:
    with a team head, left = (1 - sigmoid(team)) * p_k and right = sigmoid(team) * p_k (T-DEED).
    """
    logits = np.asarray(outputs["class_logits"], np.float64)
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    foreground = probabilities[..., 1:]
    if team_mode != "head":
        return foreground
    right = 1.0 / (1.0 + np.exp(-np.asarray(outputs["team_logits"], np.float64)))[..., None]
    paired = np.stack([(1.0 - right) * foreground, right * foreground], axis=-1)
    return paired.reshape(*foreground.shape[:-1], 2 * num_classes)


def shift_by_displacement(scores: np.ndarray, displacement: np.ndarray | None) -> np.ndarray:
    """Moves each frame's scores to the frame its predicted displacement points at (max if several).

    scores [T, C], displacement [T] (frames, event = t + displacement) or None (no move).
    """
    if displacement is None:
        return scores
    num_frames = scores.shape[0]
    target = np.clip(np.arange(num_frames) + np.rint(displacement).astype(np.int64), 0, num_frames - 1)
    shifted = np.zeros_like(scores)
    np.maximum.at(shifted, target, scores)
    return shifted
