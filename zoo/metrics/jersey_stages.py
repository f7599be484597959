"""Scores of the jersey pipeline's stages on their own (no official evaluator exists for them).

The official metric of the task is the tracklet accuracy of `zoo.metrics.jersey`; these say how
each stage does where the data has per-crop truth (the synthetic data):

- pose: PCK (the share of labelled keypoints within `fraction` x the thumbnail height of the
  truth, the MPII/LSP convention with the thumbnail as reference size) and the torso boxes the
  pipeline crops (`zoo.data.torso_crops`): the share found, and their mean IoU with the boxes of
  the true keypoints;
- legibility: accuracy, precision, recall and F1 of "legible" at a threshold, balanced accuracy
  and the ROC AUC (threshold-free);
- reading: the share of legible crops whose text is read exactly.
"""

from __future__ import annotations

import numpy as np

from zoo.data.torso_crops import torso_boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU [n] of boxes a, b [n, 4] (x0, y0, x1, y1)."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def keypoint_scores(predicted: np.ndarray, truth: np.ndarray, sizes: np.ndarray, *,
                    fraction: float = 0.1, min_score: float = 0.4) -> dict[str, float]:
    """predicted [n, 17, 3] (x, y, score), truth [n, 17, 3] (x, y, visibility), sizes [n, 2]
    (height, width). Crops without a labelled torso in the truth are left out of the torso scores."""
    labelled = truth[..., 2] > 0
    distance = np.linalg.norm(predicted[..., :2] - truth[..., :2], axis=-1)
    correct = distance <= fraction * sizes[:, :1]
    true_boxes, has_torso = torso_boxes(np.concatenate([truth[..., :2], labelled[..., None]], -1), sizes,
                                        min_score=0.5)
    boxes, found = torso_boxes(predicted, sizes, min_score=min_score)
    iou = box_iou(boxes[has_torso], true_boxes[has_torso])
    return {
        f"pck@{fraction:g}": float(correct[labelled].mean()) if labelled.any() else float("nan"),
        "torso_found": float(found[has_torso].mean()) if has_torso.any() else float("nan"),
        "torso_iou": float(np.where(found[has_torso], iou, 0.0).mean()) if has_torso.any() else float("nan"),
    }


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half), NaN when one class is absent."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def binary_scores(probabilities: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Scores of P(positive) [n] against 0/1 labels [n]."""
    predicted = np.asarray(probabilities) >= threshold
    labels = np.asarray(labels).astype(bool)
    tp = int((predicted & labels).sum())
    fp = int((predicted & ~labels).sum())
    fn = int((~predicted & labels).sum())
    tn = int((~predicted & ~labels).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    specificity = tn / (tn + fp) if tn + fp else float("nan")
    return {
        "accuracy": (tp + tn) / max(len(labels), 1),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
        "balanced_accuracy": (recall + specificity) / 2,
        "auc": roc_auc(probabilities, labels),
    }


def reading_scores(read: list[str], truth: list[str], best_numbers: np.ndarray | None = None) -> dict[str, float]:
    """Exact-match accuracy of texts read (greedy decoding) against the true texts; with
    best_numbers [n] (the arg-max of each crop's number probabilities), also theirs."""
    truth = list(truth)
    scores = {"read_accuracy": float(np.mean([r == t for r, t in zip(read, truth)])) if truth else float("nan")}
    if best_numbers is not None:
        scores["number_accuracy"] = (float(np.mean([str(int(n)) == t for n, t in zip(best_numbers, truth)]))
                                     if truth else float("nan"))
    return scores
