"""Pseudo-labels for the legibility classifier and weak labels for the recogniser, from a
recogniser's confident reads: the label file the jersey stages train on when the data has no
per-crop truth (the real SoccerNet data).

The light-classifier variant of Koshkina & Elder labels torso crops with a text recogniser:
a crop is legible when the recogniser reads a number confidently. Here the pipeline's own
stages do it (`config.pipeline.pose`, `config.pipeline.recogniser`, e.g. the converted published
PARSeq, fine-tuned or not): every crop of `config.eval.split` (usually `train`) is cropped at the
torso (crops without a reliable torso are left out of the file) and read; it is labelled

  legible = 1  if the most probable number has probability >= eval.confidence and, where the
               tracklet's number is known, equals it;
  legible = 0  otherwise (and for every crop of a tracklet labelled -1);
  text         the tracklet's number (weak label) where known, else the number read.

It is a pipeline evaluation: `python evaluate.py --config configs/jersey/pseudo_labels.py --split
train ...` writes `crop_labels.json` (`zoo.data.jersey_tracklets.write_crop_labels`), which
`config.data.labels` of configs/jersey/legibility.py and parseq.py / crnn.py take. Where the
data has legibility truth (synthetic), the labels are scored against it.
"""

from __future__ import annotations

import os

import numpy as np

from zoo.data import jersey_tracklets as data
from zoo.data.torso_crops import torso_boxes
from zoo.errors import UserError
from zoo.metrics import jersey_stages
from zoo.postprocess import jersey_reading
from zoo.train.task import Scores, Task

LABELS_FILE = "crop_labels.json"


def predict_split(config, workdir, models, split, shard) -> list[dict]:
    """One record per crop with a torso: {"image_path", "legible", "text", "torso_box",
    "probability", "read", "truth"} (truth: the synthetic legibility, -1 unknown)."""
    source = data.crop_source(config, workdir, split)
    pose, recogniser = models["pose"], models["recogniser"]
    ev = config.eval
    records = []
    for t in shard.take(data.tracklets(source)):
        rows = [source[i] for i in range(t.first, t.first + t.count)]
        thumbnails = [data.decode_image(r["image"], r["image_path"].decode()) for r in rows]
        sizes = np.array([im.shape[:2] for im in thumbnails], np.float64)
        found = jersey_reading.keypoints(pose.predictor, thumbnails, tuple(pose.config.data.image_size))
        boxes, valid = torso_boxes(found, sizes, min_score=ev.keypoint_threshold, padding=ev.torso_padding)
        keep = np.flatnonzero(valid)
        log_probs = jersey_reading.number_log_probs(
            recogniser.predictor,
            jersey_reading.recogniser_crops([thumbnails[i] for i in keep], boxes[keep], recogniser.config),
            int(recogniser.config.data.max_label_length))
        best = np.argmax(log_probs, axis=1) if len(keep) else np.zeros(0, int)
        probability = np.exp(log_probs[np.arange(len(keep)), best]) if len(keep) else np.zeros(0)
        for i, number, p in zip(keep, best, probability):
            agrees = t.label is None or int(number) == t.label
            legible = int(p >= ev.confidence and agrees and t.label != -1)
            text = str(t.label) if t.label is not None and t.label >= 0 else str(int(number))
            records.append({"image_path": rows[i]["image_path"].decode(), "legible": legible,
                            "text": text if legible else "", "torso_box": [round(float(v), 2) for v in boxes[i]],
                            "probability": round(float(p), 5), "read": str(int(number)),
                            "truth": int(rows[i]["legible"])})
    return records


def write_submission(config, records, output_dir) -> None:
    if not records:
        raise UserError(f"No crop of split {config.eval.split!r} got a torso box from the pose stage "
                        f"{config.pipeline.pose!r} (keypoints scoring >= {config.eval.keypoint_threshold}): "
                        "nothing to label.")
    crops = {r["image_path"]: {k: r[k] for k in ("legible", "text", "torso_box", "probability", "read")}
             for r in records}
    data.write_crop_labels(os.path.join(output_dir, LABELS_FILE), crops, split=config.eval.split,
                           confidence=config.eval.confidence, pose=config.pipeline.pose,
                           recogniser=config.pipeline.recogniser)


def score(config, workdir, split, output_dir, records) -> Scores | None:
    """How the pseudo-labels agree with the legibility truth, where there is one."""
    known = [r for r in records if r["truth"] >= 0]
    if not known:
        return None
    scores = jersey_stages.binary_scores([r["legible"] for r in known], [r["truth"] for r in known])
    scores.pop("auc")  # the labels are 0/1, not scores
    return Scores(headline={f"pseudo_{k}": v for k, v in scores.items()},
                  details={"crops": len(records), "legible": sum(r["legible"] for r in records)})


TASK = Task(
    name="jersey_pseudo_labels",
    make_model=None,
    example_inputs=None,
    make_loss=None,
    make_train_data=None,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    stages=("pose", "recogniser"),
)
