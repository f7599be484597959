"""From YOLOX outputs to detections in frame pixels, and a detector run over frames.

`yolox_detections` is the official post-processing: score = objectness x best class probability,
boxes below `conf_thresh` dropped, NMS at `nms_thresh` (class-agnostic, as the tracking
challenge ignores classes, or per class), boxes divided by the letterbox scale back into frame
pixels. `detect_frames` letterboxes frames, runs a predictor in batches and post-processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from zoo.data.detection_transforms import letterbox, to_model_input
from zoo.postprocess.boxes import box_nms, cxcywh_to_xyxy, xyxy_to_tlwh


class Detections(NamedTuple):
    """One frame's detections: tlwh [n, 4] (frame pixels), scores [n], classes [n] int."""

    tlwh: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


def yolox_detections(outputs: np.ndarray, ratio: float, *, conf_thresh: float, nms_thresh: float,
                     class_agnostic: bool = True) -> Detections:
    """Decoded outputs of one image [A, 5 + C] (cx, cy, w, h, objectness, class probabilities)."""
    outputs = np.asarray(outputs, np.float64)
    class_prob = outputs[:, 5:]
    classes = np.argmax(class_prob, axis=1)
    scores = outputs[:, 4] * class_prob[np.arange(len(outputs)), classes]
    keep = scores >= conf_thresh
    xyxy, scores, classes = cxcywh_to_xyxy(outputs[keep, :4]) / ratio, scores[keep], classes[keep]
    if class_agnostic:
        kept = box_nms(xyxy, scores, nms_thresh)
    else:  # moving each class far away keeps NMS within a class (torchvision's batched_nms)
        offset = classes[:, None] * (xyxy.max(initial=0.0) + 1.0)
        kept = box_nms(xyxy + offset, scores, nms_thresh)
    return Detections(xyxy_to_tlwh(xyxy[kept]), scores[kept], classes[kept].astype(np.int64))


def detect_frames(
    predictor: Callable[[np.ndarray], np.ndarray],
    frames: Sequence[np.ndarray],
    *,
    input_size: tuple[int, int],
    pixel_format: str,
    conf_thresh: float,
    nms_thresh: float,
    class_agnostic: bool = True,
) -> list[Detections]:
    """Detections of each frame (uint8 BGR [h, w, 3]); the predictor sees [n, H, W, 3] inputs."""
    if not len(frames):
        return []
    boxed = [letterbox(frame, input_size) for frame in frames]
    outputs = np.asarray(predictor(to_model_input(np.stack([b[0] for b in boxed]), pixel_format)))
    return [yolox_detections(out, r, conf_thresh=conf_thresh, nms_thresh=nms_thresh, class_agnostic=class_agnostic)
            for out, (_, r) in zip(outputs, boxed)]


def detector_settings(config) -> dict:
    """`detect_frames`' keyword arguments from a `tracking_detector` run's config (its data and
    eval fields), for that task and for the pipelines that use the run as a stage."""
    return dict(input_size=(int(config.data.height), int(config.data.width)), pixel_format=config.data.pixel_format,
                conf_thresh=config.eval.conf_thresh, nms_thresh=config.eval.nms_thresh,
                class_agnostic=config.eval.class_agnostic_nms)
