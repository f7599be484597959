"""Points from pitch heatmaps (JAX, batched): keypoint peaks, points along lines, line ends.

Heatmaps are [batch, h, w, C + 1] probabilities with the background last; coordinates come out
in heatmap pixels (x along the width, pixel centres at integers).

* `keypoint_peaks`: each keypoint class has one instance, so its peak is its maximum, kept when
  it is a local maximum (3x3 max-pool non-maximum suppression) above `threshold`, refined to sub-
  pixel precision by a parabola through the log-probabilities around it (a Gaussian's vertex).
* `line_points`: each line class's pixels above `threshold` are split into `count` bins along
  their principal direction; each bin's probability-weighted centroid is a point on the line
  (bins follow a line that the lens bends). A bin with less than `min_mass` is left out.
* `line_end_peaks`: PnLCalib's line heatmaps hold the two ends of each line: the two highest
  non-maximum-suppressed peaks per class.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _local_maxima(heatmaps: jax.Array) -> jax.Array:
    """[..., h, w, C] bool: pixels equal to the max of their 3x3 neighbourhood."""
    pooled = jax.lax.reduce_window(
        heatmaps, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, 1, 1, 1), "SAME")
    return heatmaps >= pooled


def _refine(heatmaps: jax.Array, flat_index: jax.Array) -> jax.Array:
    """Sub-pixel (x, y) [batch, C, K, 2] of peaks at flat indices [batch, C, K] (row-major h, w):
    along each axis the vertex of the parabola through the log-probabilities of the peak and its
    two neighbours (exact for a Gaussian peak), at most half a pixel away."""
    batch, height, width, channels = heatmaps.shape
    y, x = flat_index // width, flat_index % width
    b = jnp.arange(batch)[:, None, None]
    c = jnp.arange(channels)[None, :, None]

    def log_at(dy, dx):
        value = heatmaps[b, jnp.clip(y + dy, 0, height - 1), jnp.clip(x + dx, 0, width - 1), c]
        return jnp.log(jnp.maximum(value, 1e-12))

    centre = log_at(0, 0)

    def offset(before, after):
        curvature = before - 2 * centre + after
        step = 0.5 * (before - after) / jnp.where(curvature < -1e-9, curvature, -1e-9)
        return jnp.clip(jnp.where(curvature < -1e-9, step, 0.0), -0.5, 0.5)

    dx = offset(log_at(0, -1), log_at(0, 1))
    dy = offset(log_at(-1, 0), log_at(1, 0))
    return jnp.stack([x + dx, y + dy], -1)


def keypoint_peaks(heatmaps: jax.Array, threshold: float) -> tuple[jax.Array, jax.Array]:
    """heatmaps [batch, h, w, C + 1] -> (points [batch, C, 2], scores [batch, C]); a score is the
    peak's probability, 0 where the class is not found."""
    classes = heatmaps[..., :-1]
    batch, height, width, channels = classes.shape
    flat = classes.reshape(batch, height * width, channels)
    index = jnp.argmax(flat, axis=1)  # [batch, C]
    value = jnp.take_along_axis(flat, index[:, None], axis=1)[:, 0]
    maximum = jnp.take_along_axis(
        _local_maxima(classes).reshape(batch, height * width, channels), index[:, None], axis=1)[:, 0]
    points = _refine(classes, index[..., None])[:, :, 0]
    found = maximum & (value > threshold)
    return points, jnp.where(found, value, 0.0)


def line_end_peaks(heatmaps: jax.Array, threshold: float) -> tuple[jax.Array, jax.Array]:
    """heatmaps [batch, h, w, C + 1] -> (ends [batch, C, 2, 2], scores [batch, C, 2])."""
    classes = heatmaps[..., :-1]
    batch, height, width, channels = classes.shape
    peaks = jnp.where(_local_maxima(classes), classes, 0.0)
    flat = jnp.moveaxis(peaks.reshape(batch, height * width, channels), 1, 2)  # [B, C, hw]
    value, index = jax.lax.top_k(flat, 2)
    ends = _refine(classes, index)
    return ends, jnp.where(value > threshold, value, 0.0)


def line_points(
    heatmaps: jax.Array, threshold: float, count: int, min_mass: float = 1.0
) -> tuple[jax.Array, jax.Array]:
    """heatmaps [batch, h, w, C + 1] -> (points [batch, C, count, 2], weights [batch, C, count]);
    a weight is 1 for a bin with at least `min_mass` of probability, else 0."""
    classes = heatmaps[..., :-1]
    batch, height, width, channels = classes.shape
    ys, xs = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32),
                          jnp.arange(width, dtype=jnp.float32), indexing="ij")
    position = jnp.stack([xs.reshape(-1), ys.reshape(-1)], -1)  # [hw, 2]

    def one(maps):  # [h, w, C]
        mass = jnp.where(maps > threshold, maps, 0.0).reshape(-1, channels).T  # [C, hw]
        total = jnp.maximum(mass.sum(-1), 1e-9)
        mean = mass @ position / total[:, None]  # [C, 2]
        centred = position[None] - mean[:, None]  # [C, hw, 2]
        cxx = jnp.sum(mass * centred[..., 0] ** 2, -1)
        cyy = jnp.sum(mass * centred[..., 1] ** 2, -1)
        cxy = jnp.sum(mass * centred[..., 0] * centred[..., 1], -1)
        angle = 0.5 * jnp.arctan2(2 * cxy, cxx - cyy)  # principal direction
        direction = jnp.stack([jnp.cos(angle), jnp.sin(angle)], -1)
        along = jnp.einsum("chi,ci->ch", centred, direction)
        low = jnp.min(jnp.where(mass > 0, along, jnp.inf), -1)
        high = jnp.max(jnp.where(mass > 0, along, -jnp.inf), -1)
        span = jnp.maximum(high - low, 1e-6)
        bins = jnp.clip(((along - low[:, None]) / span[:, None] * count).astype(jnp.int32), 0,
                        count - 1)
        segment = (jnp.arange(channels)[:, None] * count + bins).reshape(-1)
        weights = mass.reshape(-1)
        sums = jax.ops.segment_sum(weights, segment, channels * count)
        sums_xy = jax.ops.segment_sum(
            weights[:, None] * jnp.broadcast_to(position, (channels,) + position.shape).reshape(-1, 2),
            segment, channels * count)
        points = (sums_xy / jnp.maximum(sums, 1e-9)[:, None]).reshape(channels, count, 2)
        return points, (sums >= min_mass).reshape(channels, count).astype(jnp.float32)

    return jax.vmap(one)(classes)
