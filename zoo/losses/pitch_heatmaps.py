"""Training targets and loss of the pitch keypoint and line heatmap networks.

Targets follow the published calibrators (No Bells Just Whistles, PnLCalib): per class a Gaussian
of standard deviation `sigma` heatmap pixels (2 at stride 2) around each keypoint, or around each
straight pitch line (exp(-d^2 / 2 sigma^2) of the distance d to the polyline through its points);
the last channel is the background, 1 minus the sum of the others, clipped to [0, 1], so the
targets match a softmax over channels. PnLCalib's line network instead has Gaussians at the two
ends of each line (`line_end_heatmaps`, for a sigmoid head). The loss is the mean squared error
over pixels and channels, optionally weighted up on the targets' peaks (`positive_weight`: weight
1 + w * target on the class channels, 1 on the background channel, whose target is 1 almost
everywhere) since the heatmaps are mostly background.

Coordinates are heatmap pixels: x along the width, pixel centres at integers.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np



def _with_background(channels: np.ndarray) -> np.ndarray:
    """[h, w, C] -> [h, w, C + 1] with the background 1 - sum, clipped to [0, 1]."""
    background = np.clip(1.0 - channels.sum(-1, keepdims=True), 0.0, 1.0)
    return np.concatenate([channels, background], -1).astype(np.float32)


def keypoint_heatmaps(points: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """points [K, 2] (x, y; NaN where absent) -> targets [h, w, K + 1] float32.

    A point outside the heatmap gets no peak (its channel is 0 everywhere).
    """
    height, width = shape
    points = np.asarray(points, np.float64)
    inside = np.isfinite(points).all(-1) & (points[:, 0] >= 0) & (points[:, 0] <= width - 1) & (
        points[:, 1] >= 0) & (points[:, 1] <= height - 1)
    channels = np.zeros((height, width, len(points)), np.float32)
    radius = int(np.ceil(4 * sigma))
    for k in np.flatnonzero(inside):
        x, y = points[k]
        x0, x1 = max(int(x) - radius, 0), min(int(x) + radius + 2, width)
        y0, y1 = max(int(y) - radius, 0), min(int(y) + radius + 2, height)
        xs, ys = np.arange(x0, x1), np.arange(y0, y1)
        patch = np.exp(-((xs[None] - x) ** 2 + (ys[:, None] - y) ** 2) / (2 * sigma * sigma))
        channels[y0:y1, x0:x1, k] = patch
    return _with_background(channels)


def order_along_line(points: np.ndarray) -> np.ndarray:
    """Points [n, 2] of one straight line, sorted along its principal direction (annotations give
    the extremities first, then points in any order)."""
    centred = points - points.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return points[np.argsort(centred @ vt[0])]


def _distance_to_polyline(xs: np.ndarray, ys: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Distance [len(ys), len(xs)] of grid pixels to a polyline [n, 2] (exact, segment by segment)."""
    px, py = np.meshgrid(xs, ys)
    best = np.full(px.shape, np.inf)
    for (ax, ay), (bx, by) in zip(polyline[:-1], polyline[1:]):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(length2, 1e-12), 0.0, 1.0)
        best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def line_heatmaps(
    lines: Mapping[int, np.ndarray], num_lines: int, shape: tuple[int, int], sigma: float
) -> np.ndarray:
    """lines: channel -> points [n >= 2, 2] along the line (any order) -> targets
    [h, w, num_lines + 1] float32: a Gaussian of the distance to the polyline through the points."""
    height, width = shape
    channels = np.zeros((height, width, num_lines), np.float32)
    reach = 4 * sigma
    for channel, points in lines.items():
        points = np.asarray(points, np.float64)
        if len(points) < 2 or not np.isfinite(points).all():
            continue
        # Only the pixels near the line can be above exp(-8).
        x0, y0 = np.maximum(np.floor(points.min(0) - reach), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(points.max(0) + reach) + 1, [width, height]).astype(int)
        if x1 <= x0 or y1 <= y0:
            continue
        distance = _distance_to_polyline(np.arange(x0, x1), np.arange(y0, y1), order_along_line(points))
        channels[y0:y1, x0:x1, channel] = np.exp(-(distance**2) / (2 * sigma * sigma))
    return _with_background(channels)


def line_end_heatmaps(
    lines: Mapping[int, np.ndarray], num_lines: int, shape: tuple[int, int], sigma: float
) -> np.ndarray:
    """PnLCalib's line targets: per channel, Gaussians at the two extreme points of the line's
    points (clipped to 1 where they overlap) -> [h, w, num_lines + 1] float32."""
    height, width = shape
    channels = np.zeros((height, width, num_lines), np.float32)
    for channel, points in lines.items():
        points = np.asarray(points, np.float64)
        if len(points) < 2 or not np.isfinite(points).all():
            continue
        ordered = order_along_line(points)
        ends = keypoint_heatmaps(ordered[[0, -1]], shape, sigma)[..., :2].sum(-1)
        channels[..., channel] = np.minimum(ends, 1.0)
    return _with_background(channels)


def heatmap_loss(
    predicted: jax.Array, target: jax.Array, image_weight: jax.Array, positive_weight: float = 0.0
) -> jax.Array:
    """Per-image weighted mean squared error [batch].

    predicted, target [batch, h, w, C]; image_weight [batch] (0 leaves an image out, e.g. one
    whose keypoints are unknown); positive_weight: pixels of the class channels weigh
    1 + positive_weight * target; the background channel (the last) weighs 1, since weighting its
    target (1 almost everywhere) up would only deepen the all-background minimum that the weight
    is there to get out of. The target may be smaller than the prediction (a stride-2 map of an
    odd size): the prediction is cropped to it.
    """
    predicted = predicted[:, : target.shape[1], : target.shape[2]]
    classes = jnp.arange(target.shape[-1]) < target.shape[-1] - 1
    weight = 1.0 + positive_weight * target * classes
    error = jnp.mean(weight * (predicted - target) ** 2, axis=(1, 2, 3))
    return error * image_weight
