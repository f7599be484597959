"""Global camera motion between consecutive frames, for camera-motion compensation (BoT-SORT's GMC).

Two estimators, called once per frame in order:

  "sparse_flow": corners of the previous frame (`cv2.goodFeaturesToTrack`, away from the
    detections: players move on their own) followed into the current frame with pyramidal
    Lucas-Kanade (`cv2.calcOpticalFlowPyrLK`), then a RANSAC similarity
    (`cv2.estimateAffinePartial2D`: pan, zoom, roll).
  "ecc": OpenCV's enhanced correlation coefficient alignment (`cv2.findTransformECC`) of the
    downscaled grey frames, affine.

Broadcasts cut between cameras and to replays all the time. At a cut there is no motion to find:
the published implementation then fails (too few points, a None transform) or returns garbage.
Here the motion is the identity whenever the frames look like different shots (their grey-level
histograms differ), too few points survive, RANSAC keeps too few inliers, the transform is
implausible (zoom outside [1/max_zoom, max_zoom] or a shift over a third of the frame) or ECC does
not converge; `shot_change` says when that happened. The tracker then keeps its own motion model,
and the Kalman gates sort out the new shot.
"""

from __future__ import annotations

import cv2
import numpy as np

METHODS = ("none", "sparse_flow", "ecc")
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _grey(frame: np.ndarray, downscale: float) -> np.ndarray:
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if downscale > 1:
        size = (max(int(grey.shape[1] / downscale), 8), max(int(grey.shape[0] / downscale), 8))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def _histogram(grey: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([grey], [0], None, [32], [0, 256])
    return cv2.normalize(hist, hist).ravel()


class CameraMotion:
    """Estimates the affine [2, 3] that maps the previous frame's pixels to the current frame's.

    method: "sparse_flow" or "ecc" ("none" always returns the identity).
    downscale: frames are shrunk by this factor first (the returned transform is in full pixels).
    min_points: fewer tracked corners (or RANSAC inliers) than this means a cut.
    cut_correlation: a histogram correlation below this between two frames means a cut.
    max_zoom: the largest plausible zoom between consecutive frames.
    """

    def __init__(self, method: str = "sparse_flow", *, downscale: float = 1.0, min_points: int = 12,
                 cut_correlation: float = 0.7, max_zoom: float = 1.25):
        if method not in METHODS:
            raise ValueError(f"Unknown camera motion method {method!r}; expected one of {METHODS}.")
        self.method, self.downscale, self.min_points = method, downscale, min_points
        self.cut_correlation, self.max_zoom = cut_correlation, max_zoom
        self.previous: np.ndarray | None = None
        self.previous_histogram: np.ndarray | None = None
        self.shot_change = False

    def __call__(self, frame: np.ndarray, detections_tlwh: np.ndarray | None = None) -> np.ndarray:
        """The motion from the previous frame to `frame` ([h, w, 3] BGR or [h, w] grey uint8);
        the identity for the first frame and at shot changes. detections_tlwh [n, 4] (full
        pixels) are left out of the corners that sparse flow follows."""
        grey = _grey(frame, self.downscale)
        histogram = _histogram(grey)
        previous, self.previous = self.previous, grey
        previous_histogram, self.previous_histogram = self.previous_histogram, histogram
        self.shot_change = False
        if self.method == "none" or previous is None:
            return IDENTITY.copy()
        if previous.shape != grey.shape or cv2.compareHist(
                previous_histogram, histogram, cv2.HISTCMP_CORREL) < self.cut_correlation:
            return self._cut()
        if self.method == "ecc":
            affine = self._ecc(previous, grey)
        else:
            affine = self._sparse_flow(previous, grey, detections_tlwh)
        if affine is None or not self._plausible(affine, grey.shape):
            return self._cut()
        affine = affine.astype(np.float64)
        affine[:, 2] *= self.downscale
        return affine

    def _cut(self) -> np.ndarray:
        self.shot_change = True
        return IDENTITY.copy()

    def _plausible(self, affine: np.ndarray, shape) -> bool:
        if not np.isfinite(affine).all():
            return False
        zoom = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
        shift = np.abs(affine[:, 2])
        return 1 / self.max_zoom <= zoom <= self.max_zoom and shift[0] < shape[1] / 3 and shift[1] < shape[0] / 3

    def _sparse_flow(self, previous, grey, detections_tlwh) -> np.ndarray | None:
        mask = np.full(previous.shape, 255, np.uint8)
        if detections_tlwh is not None and len(detections_tlwh):
            boxes = np.asarray(detections_tlwh, np.float64).reshape(-1, 4) / self.downscale
            for x, y, w, h in boxes:
                mask[max(int(y), 0):max(int(y + h) + 1, 0), max(int(x), 0):max(int(x + w) + 1, 0)] = 0
        corners = cv2.goodFeaturesToTrack(previous, maxCorners=500, qualityLevel=0.01, minDistance=3,
                                          blockSize=3, mask=mask)
        if corners is None or len(corners) < self.min_points:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, corners, None)
        found = status.ravel() == 1
        if found.sum() < self.min_points:
            return None
        affine, inliers = cv2.estimateAffinePartial2D(corners[found], moved[found], method=cv2.RANSAC,
                                                      ransacReprojThreshold=1.0)
        if affine is None or inliers is None or inliers.sum() < self.min_points:
            return None
        return affine

    def _ecc(self, previous, grey) -> np.ndarray | None:
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        try:
            _, warp = cv2.findTransformECC(previous, grey, warp, cv2.MOTION_AFFINE, criteria, None, 1)
        except cv2.error:  # no convergence: a cut, a blank frame
            return None
        return warp
