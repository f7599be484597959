"""Torso crops of player thumbnails, where shirt numbers are: from pose keypoints or a fixed box.

The jersey pipeline reads numbers from the torso only. As in Koshkina & Elder's pipeline, the box
spans the shoulders and hips (COCO keypoints 5, 6, 11, 12), widened by `padding` pixels left,
right and above, and is given up when any of the four keypoints scores below `min_score` (the
pose model could not find the torso, so the crop is not read). The ablation without pose uses a
fixed upper-body box instead.

Boxes are (x0, y0, x1, y1) in pixels of the thumbnail, x1 and y1 exclusive.
"""

from __future__ import annotations

import cv2
import numpy as np

TORSO_KEYPOINTS = (5, 6, 11, 12)  # left/right shoulder, left/right hip (COCO order)
# The upper body of a thumbnail framed by a tracker box: the shirt, without head and legs.
UPPER_BODY = (0.15, 0.12, 0.85, 0.55)  # (x0, y0, x1, y1) as shares of the width and height


def torso_boxes(keypoints: np.ndarray, sizes: np.ndarray, *, min_score: float = 0.4,
                padding: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Torso boxes of many thumbnails at once.

    keypoints: [n, 17, 3] (x, y, score) in thumbnail pixels; sizes: [n, 2] (height, width).
    Returns (boxes [n, 4] float, inside the thumbnail, valid [n] bool); a box is invalid when a
    torso keypoint scores below min_score or the box is empty.
    """
    torso = np.asarray(keypoints, np.float64)[:, TORSO_KEYPOINTS]
    sizes = np.asarray(sizes, np.float64)
    reliable = np.all(torso[..., 2] >= min_score, axis=1)
    x0 = np.clip(torso[..., 0].min(axis=1) - padding, 0, sizes[:, 1])
    x1 = np.clip(torso[..., 0].max(axis=1) + padding, 0, sizes[:, 1])
    y0 = np.clip(torso[..., 1].min(axis=1) - padding, 0, sizes[:, 0])
    y1 = np.clip(torso[..., 1].max(axis=1), 0, sizes[:, 0])
    boxes = np.stack([x0, y0, x1, y1], axis=1)
    valid = reliable & (x1 - x0 >= 2) & (y1 - y0 >= 2)
    return boxes, valid


def upper_body_boxes(sizes: np.ndarray, share=UPPER_BODY) -> np.ndarray:
    """The fixed upper-body box [n, 4] of thumbnails of sizes [n, 2] (height, width)."""
    sizes = np.asarray(sizes, np.float64)
    h, w = sizes[:, 0], sizes[:, 1]
    return np.stack([share[0] * w, share[1] * h, share[2] * w, share[3] * h], axis=1)


def jitter_box(box: np.ndarray, rng: np.random.Generator, *, scale: float = 0.1,
               shift: float = 0.05) -> np.ndarray:
    """A training-time box: its size times [1 - scale, 1 + scale], its centre moved by up to
    `shift` of its size, so a stage trained on true keypoints sees boxes like a pose model's."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + rng.uniform(-shift, shift) * w
    cy = (y0 + y1) / 2 + rng.uniform(-shift, shift) * h
    w *= rng.uniform(1 - scale, 1 + scale)
    h *= rng.uniform(1 - scale, 1 + scale)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def crop_resize(image: np.ndarray, box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The box of `image` resized to (height, width), bilinear.

    Parts of the box outside the image are filled by replicating its border, so a box that
    leaves the thumbnail keeps its aspect (and its number stays where it was) instead of being
    squeezed.
    """
    height, width = size
    x0, y0, x1, y1 = (float(v) for v in box)
    sx, sy = width / max(x1 - x0, 1e-6), height / max(y1 - y0, 1e-6)
    # pixel centres: out (u + 0.5) = (x + 0.5 - x0) * sx
    matrix = np.array([[sx, 0, sx * (0.5 - x0) - 0.5], [0, sy, sy * (0.5 - y0) - 0.5]], np.float64)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
