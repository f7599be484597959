"""Inputs and targets of top-down heatmap pose models: letterboxing, flips and Gaussian heatmaps.

A thumbnail is scaled to fit the model's input (aspect kept, centred, zero padding), so a
keypoint (x, y) of the thumbnail is at (x * scale + offset_x, y * scale + offset_y) in the input
and back. Heatmap targets are SimpleBaseline's: one unnormalised Gaussian (peak 1, sigma in
heatmap cells) per visible keypoint, centred at input position / stride.
"""

from __future__ import annotations

import cv2
import numpy as np

# COCO keypoint pairs that swap under a horizontal flip (left <-> right).
FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))


def letterbox(image: np.ndarray, size: tuple[int, int], zoom: float = 1.0,
              shift: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, float, np.ndarray]:
    """Fits `image` into (height, width), aspect kept, centred; zoom and shift (shares of the
    input size) move it for training augmentation.

    Returns (image [height, width, 3], scale, offset [2] = (x, y)): input = thumbnail * scale + offset.
    """
    height, width = size
    h, w = image.shape[:2]
    scale = min(height / h, width / w) * zoom
    offset = np.array([(width - w * scale) / 2 + shift[0] * width, (height - h * scale) / 2 + shift[1] * height])
    matrix = np.array([[scale, 0, offset[0] + 0.5 * scale - 0.5], [0, scale, offset[1] + 0.5 * scale - 0.5]])
    out = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, scale, offset


def to_input(keypoints: np.ndarray, scale: float, offset: np.ndarray) -> np.ndarray:
    """Thumbnail keypoints [..., 3] -> input coordinates (the third column kept)."""
    out = np.array(keypoints, np.float64, copy=True)
    out[..., :2] = out[..., :2] * scale + offset
    return out


def to_thumbnail(keypoints: np.ndarray, scale, offset) -> np.ndarray:
    """Input keypoints [n, K, 3] -> thumbnail coordinates, for per-image scale [n] and offset [n, 2]."""
    out = np.array(keypoints, np.float64, copy=True)
    out[..., :2] = (out[..., :2] - np.asarray(offset)[:, None, :]) / np.asarray(scale)[:, None, None]
    return out


def flip(image: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirrors an input image [h, w, 3] and its keypoints [17, 3], swapping left and right."""
    width = image.shape[1]
    keypoints = np.array(keypoints, copy=True)
    keypoints[:, 0] = width - 1 - keypoints[:, 0]
    for a, b in FLIP_PAIRS:
        keypoints[[a, b]] = keypoints[[b, a]]
    return np.ascontiguousarray(image[:, ::-1]), keypoints


def gaussian_heatmaps(keypoints: np.ndarray, heatmap_size: tuple[int, int], stride: float,
                      sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Targets of keypoints [K, 3] (x, y in input pixels, visibility): heatmaps [h, w, K] float32
    and weights [K] (1 for a labelled keypoint inside the input, else 0)."""
    h, w = heatmap_size
    centres = np.asarray(keypoints, np.float64)[:, :2] / stride
    weights = ((keypoints[:, 2] > 0) & (centres[:, 0] >= 0) & (centres[:, 0] <= w - 1)
               & (centres[:, 1] >= 0) & (centres[:, 1] <= h - 1)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    d2 = (xx[None] - centres[:, 0, None, None]) ** 2 + (yy[None] - centres[:, 1, None, None]) ** 2
    maps = np.exp(-d2 / (2 * sigma**2)) * weights[:, None, None]
    return np.ascontiguousarray(maps.transpose(1, 2, 0), np.float32), weights
