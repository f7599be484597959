"""Constant-velocity Kalman filters for boxes, vectorised over tracks (numpy).

Two state layouts, as the two tracker families define them:

  "xyah" (ByteTrack, from DeepSORT): centre x, centre y, aspect ratio w / h, height, and their
    velocities. Noise scales with the height; the aspect ratio has small fixed noise.
  "xywh" (BoT-SORT): centre x, centre y, width, height, and their velocities. Noise scales with
    the width for x / w and with the height for y / h, so wide and tall boxes are treated alike
    and a camera warp can scale w and h directly.

Every function takes a batch of tracks: mean [n, 8], covariance [n, 8, 8], measurement [n, 4].
The process noise weights are the published ones (1/20 of the size for positions, 1/160 for
velocities). `warp` applies a camera motion (a 2x3 similarity / affine matrix mapping the previous
frame's pixels to the current frame's) to the states, for camera-motion compensation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160
LAYOUTS = ("xyah", "xywh")

_MOTION = np.eye(8) + np.eye(8, k=4)  # x_{t+1} = x_t + v_t
_OBSERVE = np.eye(4, 8)


def tlwh_to_measurement(tlwh: np.ndarray, layout: str) -> np.ndarray:
    """Boxes [n, 4] (x, y of the top-left corner, w, h) -> measurements [n, 4] in `layout`."""
    tlwh = np.asarray(tlwh, np.float64).reshape(-1, 4)
    centre = tlwh[:, :2] + tlwh[:, 2:] / 2
    if layout == "xyah":
        return np.column_stack([centre, tlwh[:, 2] / tlwh[:, 3], tlwh[:, 3]])
    return np.column_stack([centre, tlwh[:, 2:]])


def mean_to_tlwh(mean: np.ndarray, layout: str) -> np.ndarray:
    """States [n, 8] -> boxes [n, 4] (x, y of the top-left corner, w, h)."""
    mean = np.asarray(mean, np.float64).reshape(-1, 8)
    if layout == "xyah":
        size = np.column_stack([mean[:, 2] * mean[:, 3], mean[:, 3]])
    else:
        size = mean[:, 2:4].copy()
    return np.column_stack([mean[:, :2] - size / 2, size])


def _size_scales(values: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-track scales of the x-like and y-like noise: (height, height) or (width, height)."""
    if layout == "xyah":
        return values[:, 3], values[:, 3]
    return values[:, 2], values[:, 3]


@dataclasses.dataclass(frozen=True)
class KalmanFilter:
    """A constant-velocity box filter in `layout` ("xyah" or "xywh")."""

    layout: str = "xyah"

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"Unknown Kalman layout {self.layout!r}; expected one of {LAYOUTS}.")

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks from measurements [n, 4]: mean [n, 8] (zero velocity), covariance [n, 8, 8]."""
        measurement = np.asarray(measurement, np.float64).reshape(-1, 4)
        n = len(measurement)
        mean = np.concatenate([measurement, np.zeros((n, 4))], axis=1)
        sx, sy = _size_scales(measurement, self.layout)
        p, v = 2 * STD_WEIGHT_POSITION, 10 * STD_WEIGHT_VELOCITY
        if self.layout == "xyah":
            std = [p * sy, p * sy, np.full(n, 1e-2), p * sy, v * sy, v * sy, np.full(n, 1e-5), v * sy]
        else:
            std = [p * sx, p * sy, p * sx, p * sy, v * sx, v * sy, v * sx, v * sy]
        return mean, _diagonal(np.square(np.stack(std, axis=1)))

    def _process_noise(self, mean: np.ndarray) -> np.ndarray:
        sx, sy = _size_scales(mean, self.layout)
        n = len(mean)
        p, v = STD_WEIGHT_POSITION, STD_WEIGHT_VELOCITY
        if self.layout == "xyah":
            std = [p * sy, p * sy, np.full(n, 1e-2), p * sy, v * sy, v * sy, np.full(n, 1e-5), v * sy]
        else:
            std = [p * sx, p * sy, p * sx, p * sy, v * sx, v * sy, v * sx, v * sy]
        return _diagonal(np.square(np.stack(std, axis=1)))

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One frame ahead: mean [n, 8], covariance [n, 8, 8] -> the same, predicted."""
        if not len(mean):
            return mean, covariance
        noise = self._process_noise(mean)
        mean = mean @ _MOTION.T
        covariance = _MOTION @ covariance @ _MOTION.T + noise
        return mean, covariance

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The states in measurement space: [n, 4] and [n, 4, 4] (with the measurement noise)."""
        sx, sy = _size_scales(mean, self.layout)
        p = STD_WEIGHT_POSITION
        if self.layout == "xyah":
            std = [p * sy, p * sy, np.full(len(mean), 1e-1), p * sy]
        else:
            std = [p * sx, p * sy, p * sx, p * sy]
        noise = _diagonal(np.square(np.stack(std, axis=1)))
        return mean[:, :4], covariance[:, :4, :4] + noise

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The Kalman correction of each track with its measurement [n, 4]."""
        if not len(mean):
            return mean, covariance
        projected_mean, projected_cov = self.project(mean, covariance)
        cross = covariance[:, :, :4]  # P H^T: [n, 8, 4]
        # K = P H^T S^-1, solved rather than inverted (S is symmetric positive definite).
        gain = np.linalg.solve(projected_cov, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
        innovation = np.asarray(measurement, np.float64).reshape(-1, 4) - projected_mean
        mean = mean + (gain @ innovation[:, :, None])[:, :, 0]
        covariance = covariance - gain @ projected_cov @ np.swapaxes(gain, 1, 2)
        return mean, covariance

    def warp(
        self, mean: np.ndarray, covariance: np.ndarray, affine: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """States moved by a camera motion `affine` [2, 3] (previous pixels -> current pixels).

        xywh: every (x, y)-like pair of the state (centre, size, their velocities) is multiplied
        by the linear part, and the centre shifted (BoT-SORT's compensation). xyah: the centre and
        its velocity are moved the same way; the height and its velocity are scaled by the zoom
        (sqrt |det|) and the aspect ratio kept, since a similarity does not change it.
        """
        if not len(mean):
            return mean, covariance
        affine = np.asarray(affine, np.float64)
        linear, shift = affine[:, :2], affine[:, 2]
        if self.layout == "xywh":
            transform = np.kron(np.eye(4), linear)
        else:
            zoom = float(np.sqrt(abs(np.linalg.det(linear))))
            size = np.diag([1.0, zoom])
            transform = np.zeros((8, 8))
            for block, part in enumerate((linear, size, linear, size)):
                transform[2 * block : 2 * block + 2, 2 * block : 2 * block + 2] = part
        mean = mean @ transform.T
        mean[:, :2] += shift
        covariance = transform @ covariance @ transform.T
        return mean, covariance


def _diagonal(values: np.ndarray) -> np.ndarray:
    """[n, d] -> [n, d, d] diagonal matrices."""
    out = np.zeros((*values.shape, values.shape[-1]))
    index = np.arange(values.shape[-1])
    out[:, index, index] = values
    return out
