"""Box detection average precision, equal to pycocotools' COCOeval at one IoU threshold.

The semantics are COCOeval's (bbox, area range "all", no crowd boxes), which is what detection
papers (and YOLOX) report as AP50:

  * per image and class, detections sorted by score (stable) and cut to the `max_detections` best;
  * each detection in that order takes the unmatched ground-truth box of highest IoU (the last one
    among equals, as COCOeval's loop does) if that IoU >= the threshold (`min(t, 1 - 1e-10)`);
  * over all images (in image order), detections sorted by score (stable), cumulative true and
    false positives give recall and precision; precision is made non-increasing from the right and
    read at the 101 recall points 0, 0.01, ..., 1 (0 past the last recall reached); AP is their
    mean, and the mean over the classes that have ground truth is mAP.

IoU is the continuous one of (x, y, w, h) boxes. `class_agnostic=True` puts every box in one class,
as the SoccerNet tracking challenge evaluates detections (players, referees and the ball alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


class ImageBoxes(NamedTuple):
    """Boxes of one image: tlwh [n, 4] (x, y, w, h pixels), classes [n] int, scores [n] (1 for GT)."""

    tlwh: np.ndarray
    classes: np.ndarray
    scores: np.ndarray


def _iou_tlwh(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """[n, 4] x [m, 4] tlwh -> IoU [n, m] (COCO's bbox IoU, no crowd)."""
    if not len(d) or not len(g):
        return np.zeros((len(d), len(g)))
    x1 = np.maximum(d[:, None, 0], g[None, :, 0])
    y1 = np.maximum(d[:, None, 1], g[None, :, 1])
    x2 = np.minimum(d[:, None, 0] + d[:, None, 2], g[None, :, 0] + g[None, :, 2])
    y2 = np.minimum(d[:, None, 1] + d[:, None, 3], g[None, :, 1] + g[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = (d[:, 2] * d[:, 3])[:, None] + (g[:, 2] * g[:, 3])[None, :] - inter
    return inter / union


def _match_image(det: np.ndarray, gt: np.ndarray, threshold: float) -> np.ndarray:
    """True-positive flags [n] of detections (already score-sorted) against ground truth."""
    ious = _iou_tlwh(det, gt)
    taken = np.zeros(len(gt), bool)
    tp = np.zeros(len(det), bool)
    limit = min(threshold, 1 - 1e-10)
    for i in range(len(det)):
        candidates = np.flatnonzero(~taken & (ious[i] >= limit))
        if not len(candidates):
            continue
        best = ious[i, candidates]
        g = candidates[np.flatnonzero(best == best.max())[-1]]  # the last of the best, as COCOeval
        taken[g] = True
        tp[i] = True
    return tp


def _class_ap(groundtruth, detections, klass, threshold, max_detections) -> float | None:
    scores, flags, num_gt = [], [], 0
    for gt, det in zip(groundtruth, detections):
        g = gt.tlwh[gt.classes == klass]
        in_class = det.classes == klass
        d, s = det.tlwh[in_class], det.scores[in_class]
        order = np.argsort(-s, kind="mergesort")[:max_detections]
        num_gt += len(g)
        scores.append(s[order])
        flags.append(_match_image(d[order], g, threshold))
    if num_gt == 0:
        return None
    scores, flags = np.concatenate(scores), np.concatenate(flags)
    if not len(scores):
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(flags[order])
    fp = np.cumsum(~flags[order])
    recall = tp / num_gt
    precision = tp / (tp + fp + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    points = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.where(points < len(precision), precision[np.minimum(points, len(precision) - 1)], 0.0)
    return float(np.mean(sampled))


def average_precision(
    groundtruth: Sequence[ImageBoxes],
    detections: Sequence[ImageBoxes],
    *,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
    class_agnostic: bool = True,
) -> dict[str, float]:
    """AP at `iou_threshold` of detections against ground truth, image by image (same order).

    Returns {"mAP": mean over classes with ground truth, "AP/<class>": each}; with
    class_agnostic, one class "all". NaN when no image has ground truth.
    """
    if len(groundtruth) != len(detections):
        raise ValueError(f"{len(groundtruth)} ground-truth images but {len(detections)} detection images")

    def prepared(images, is_gt):
        out = []
        for b in images:
            n = len(b.tlwh)
            classes = np.zeros(n, np.int64) if class_agnostic else np.asarray(b.classes, np.int64)
            scores = np.ones(n) if is_gt else np.asarray(b.scores, np.float64)
            out.append(ImageBoxes(np.asarray(b.tlwh, np.float64).reshape(-1, 4), classes, scores))
        return out

    groundtruth, detections = prepared(groundtruth, True), prepared(detections, False)
    classes = sorted(set(np.concatenate([g.classes for g in groundtruth] + [np.zeros(0, np.int64)]).tolist()))
    results = {}
    for klass in classes:
        ap = _class_ap(groundtruth, detections, klass, iou_threshold, max_detections)
        if ap is not None:
            results["AP/all" if class_agnostic else f"AP/{klass}"] = ap
    results["mAP"] = float(np.mean(list(results.values()))) if results else float("nan")
    return results
