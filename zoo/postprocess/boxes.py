"""Box conversions and pairwise IoU for the trackers and the detector's post-processing.

Boxes are float arrays [n, 4] in one of three layouts: `tlwh` (top-left x, y, width, height: the
MOT files), `xyxy` (corners) and `cxcywh` (centre, size: the YOLOX head).
"""

from __future__ import annotations

import numpy as np


def tlwh_to_xyxy(tlwh: np.ndarray) -> np.ndarray:
    tlwh = np.asarray(tlwh, np.float64).reshape(-1, 4)
    return np.concatenate([tlwh[:, :2], tlwh[:, :2] + tlwh[:, 2:]], axis=1)


def xyxy_to_tlwh(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1)


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray, *, pixel_offset: float = 0.0) -> np.ndarray:
    """IoU of every pair: [n, 4] x [m, 4] corner boxes -> [n, m].

    pixel_offset: 1 counts the corners as inclusive pixel indices (width = x2 - x1 + 1), as the
      `cython_bbox.bbox_overlaps` of the original ByteTrack does; 0 is the continuous IoU.
    """
    a = np.asarray(a_xyxy, np.float64).reshape(-1, 4)
    b = np.asarray(b_xyxy, np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    area_a = (a[:, 2] - a[:, 0] + pixel_offset) * (a[:, 3] - a[:, 1] + pixel_offset)
    area_b = (b[:, 2] - b[:, 0] + pixel_offset) * (b[:, 3] - b[:, 1] + pixel_offset)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + pixel_offset
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + pixel_offset
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def box_nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first (ties keep the
    earlier box). A box is dropped when its IoU with a kept, better box exceeds iou_threshold."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        if not len(rest):
            break
        order = rest[iou_matrix(xyxy[best][None], xyxy[rest])[0] <= iou_threshold]
    return np.asarray(keep, np.int64)
