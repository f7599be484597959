"""ReID embeddings of detected people, for appearance-aware association and tracklet linking.

Each detection box is cut from the frame (clipped to it), resized to the ReID model's input,
normalised as `zoo.tasks.reid` evaluates (ImageNet statistics, RGB) and embedded by the ReID
run's predictor; the embeddings come back L2-normalised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from zoo.data.image_transforms import evaluation_transform


def crops(frame_bgr: np.ndarray, tlwh: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Normalised RGB crops [n, height, width, 3] of the boxes (at least 1 px, inside the frame)."""
    h, w = frame_bgr.shape[:2]
    out = []
    for x, y, bw, bh in np.asarray(tlwh, np.float64).reshape(-1, 4):
        x0 = int(np.clip(np.floor(x), 0, w - 1))
        y0 = int(np.clip(np.floor(y), 0, h - 1))
        x1 = int(np.clip(np.ceil(x + bw), x0 + 1, w))
        y1 = int(np.clip(np.ceil(y + bh), y0 + 1, h))
        rgb = cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        out.append(evaluation_transform(rgb, size))
    return np.stack(out) if out else np.zeros((0, *size, 3), np.float32)


def embed_boxes(predictor: Callable, frames_bgr: Sequence[np.ndarray], tlwh: Sequence[np.ndarray], *,
                size: tuple[int, int], feature: str = "bn", flip: bool = False) -> list[np.ndarray]:
    """Unit embeddings [n_i, d] of the boxes tlwh[i] [n_i, 4] of each frame, all frames' crops in
    one predictor call. feature: "bn" (post-BNNeck, the retrieval feature) or "raw"; flip: also
    embed the mirrored crops and add them (as `zoo.tasks.reid` evaluates with eval.flip)."""
    counts = [len(boxes) for boxes in tlwh]
    if not sum(counts):
        return [np.zeros((0, 0)) for _ in counts]
    images = np.concatenate([crops(frame, boxes, size) for frame, boxes in zip(frames_bgr, tlwh) if len(boxes)])
    key = "embedding_bn" if feature == "bn" else "embedding"
    embeddings = np.asarray(predictor(images)[key], np.float64)
    if flip:
        embeddings = embeddings + np.asarray(predictor(np.ascontiguousarray(images[:, :, ::-1]))[key], np.float64)
    embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return np.split(embeddings, np.cumsum(counts)[:-1])
