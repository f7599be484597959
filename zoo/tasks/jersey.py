"""SoccerNet jersey number recognition: the whole pipeline, one number per tracklet.

A pipeline of trained runs (`config.pipeline.<stage> = "workdir[:step]"`), after Koshkina & Elder
(CVPRW 2024) and its light-classifier variant:

  1. balls: a tracklet of small crops is a ball (-1)              zoo.postprocess.tracklet_voting
  2. outliers (optional `reid` stage): crops far from the tracklet's mean appearance are dropped
  3. pose (`pose`): keypoints -> torso box; crops without a reliable torso are not read
     (`eval.crop = "upper_body"` uses a fixed upper-body box instead: the no-pose ablation)
  4. legibility (`legibility`): only crops with P(legible) >= eval.legibility_threshold are read
     (`eval.use_legibility = False`: all are: the no-filter ablation)
  5. recogniser (`recogniser`: PARSeq or CRNN): log P(number) for 0..99 per read crop
  6. vote: the Bayesian combination over the tracklet, -1 when the evidence is too weak

The stages run batched across tracklets: `eval.tracklets_per_chunk` tracklets are decoded
together and each model sees all their crops at once, so a split is a few large batches per
model rather than thousands of small ones.

Outputs: `predictions.json` (the official submission: {"<tracklet>": number}, -1 = not visible,
`zoo.formats.jersey`), `tracklet_reads.json` (per tracklet: crops, outliers, crops read,
confidence) and, for labelled splits, the scores of `zoo.metrics.jersey` (accuracy, equal to the
official `SoccerNet.Evaluation.JerseyNumber`, and the legible / illegible confusion).

    python -m zoo.predict jersey --checkpoint runs/jersey --tracklets FOLDER --out numbers.json \
        [--contact-sheet sheet.png]

reads any folder of tracklet folders of crops (`<tracklet>/<anything>.jpg`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import zipfile

import numpy as np
from absl import logging

from zoo.data import jersey_tracklets as data
from zoo.data.torso_crops import torso_boxes, upper_body_boxes
from zoo.errors import ConfigError, UserError
from zoo.formats import jersey as formats
from zoo.metrics import jersey as jersey_metric
from zoo.postprocess import jersey_reading, tracklet_voting
from zoo.train.task import PredictFile, Scores, Task

SUBMISSION_FILE = "predictions.json"  # the challenge server takes one JSON file; its name is free
DETAILS_FILE = "tracklet_reads.json"
STAGES = ("pose", "legibility", "recogniser", "reid")  # reid is optional
CROPS = ("pose", "upper_body")


def required_stages(config) -> list[str]:
    """The stages this config reads with: the recogniser always, pose for pose crops, legibility
    when filtering, reid only when given."""
    return [name for name, needed in (("pose", config.eval.crop == "pose"),
                                      ("legibility", bool(config.eval.use_legibility)),
                                      ("recogniser", True)) if needed]


def check_config(config) -> None:
    """The eval fields; which stage runs this config needs is `required_stages` (checked by
    `check_models` once the runs are restored: the config files leave them empty)."""
    ev = config.eval
    if ev.crop not in CROPS:
        raise ConfigError(f"config.eval.crop={ev.crop!r}: expected one of {CROPS}")
    if ev.tracklets_per_chunk < 1:
        raise ConfigError(f"config.eval.tracklets_per_chunk={ev.tracklets_per_chunk}: give at least 1")
    if not 0 < ev.min_confidence <= 1:
        raise ConfigError(f"config.eval.min_confidence={ev.min_confidence}: give a probability in (0, 1]")


def check_models(config, models) -> None:
    """Every stage the config reads with is there, before any crop is decoded (a missing one is
    the core's one-line error naming `--config.pipeline.<stage>`)."""
    for name in required_stages(config):
        models[name]  # the lookup raises for a missing stage


def _timed(times: dict | None, stage: str, start: float) -> None:
    if times is not None:
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - start


def _spread(count: int, limit: int) -> np.ndarray:
    """Indices of at most `limit` crops spread evenly over a tracklet (all if limit is 0)."""
    if not limit or count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def read_tracklets(config, models, tracklets: list[tuple[str, list[np.ndarray]]], *,
                   times: dict | None = None, keep_states: bool = False) -> list[dict]:
    """Numbers of tracklets given as (id, RGB thumbnails), all stages batched across them.

    Returns one record per tracklet: {"tracklet", "number", "confidence", "best" (the most
    probable number, even when not confident enough), "crops", "outliers", "torso" (crops with a
    torso box), "read" (crops read: legible ones), "ball"} (and "states" per crop with keep_states: "read",
    "outlier" or "other"). `times` (if given) accumulates seconds per stage.
    """
    ev = config.eval
    start = time.perf_counter()
    owner, thumbnails, balls = [], [], []
    for t, (_, images) in enumerate(tracklets):
        ball = bool(images) and tracklet_voting.is_ball(
            np.array([i.shape[0] for i in images]), np.array([i.shape[1] for i in images]),
            max_height=ev.ball_max_height, max_width=ev.ball_max_width)
        balls.append(ball or not images)
        if not ball:
            picks = _spread(len(images), ev.max_crops_per_tracklet)
            owner += [t] * len(picks)
            thumbnails += [images[i] for i in picks]
    owner = np.asarray(owner, np.int64)
    sizes = np.array([t.shape[:2] for t in thumbnails], np.float64).reshape(-1, 2)
    _timed(times, "balls", start)

    inlier = np.ones(len(thumbnails), bool)
    reid = models.stages.get("reid")
    if reid is not None and ev.remove_outliers and len(thumbnails):
        start = time.perf_counter()
        size = (int(reid.config.data.height), int(reid.config.data.width))
        embeddings = jersey_reading.appearance(reid.predictor, thumbnails, size)
        for t in np.unique(owner):
            rows = np.flatnonzero(owner == t)
            inlier[rows] = tracklet_voting.appearance_inliers(
                embeddings[rows], threshold=ev.outlier_threshold, rounds=ev.outlier_rounds)
        _timed(times, "reid", start)

    candidates = np.flatnonzero(inlier)
    start = time.perf_counter()
    if ev.crop == "pose":
        pose = models["pose"]
        found = jersey_reading.keypoints(pose.predictor, [thumbnails[i] for i in candidates],
                                         tuple(pose.config.data.image_size))
        boxes, valid = torso_boxes(found, sizes[candidates], min_score=ev.keypoint_threshold,
                                   padding=ev.torso_padding)
        _timed(times, "pose", start)
    else:
        boxes, valid = upper_body_boxes(sizes[candidates]), np.ones(len(candidates), bool)
    candidates, boxes = candidates[valid], boxes[valid]

    start = time.perf_counter()
    legible = np.ones(len(candidates), bool)
    if ev.use_legibility:
        stage = models["legibility"]
        probability = jersey_reading.legibility(stage.predictor, jersey_reading.crops(
            [thumbnails[i] for i in candidates], boxes, tuple(stage.config.data.crop_size)))
        legible = probability >= ev.legibility_threshold
        _timed(times, "legibility", start)
    read, read_boxes = candidates[legible], boxes[legible]

    start = time.perf_counter()
    recogniser = models["recogniser"]
    log_probs = jersey_reading.number_log_probs(
        recogniser.predictor,
        jersey_reading.recogniser_crops([thumbnails[i] for i in read], read_boxes, recogniser.config),
        int(recogniser.config.data.max_label_length))
    _timed(times, "recogniser", start)

    start = time.perf_counter()
    records = []
    for t, (tracklet, images) in enumerate(tracklets):
        mine = owner[read] == t
        vote = tracklet_voting.combine(log_probs[mine], probability_floor=ev.probability_floor,
                                       min_confidence=ev.min_confidence, min_legible=ev.min_legible)
        rows = np.flatnonzero(owner == t)
        record = {
            "tracklet": tracklet,
            "number": formats.ILLEGIBLE if balls[t] else vote.number,
            "confidence": None if balls[t] or np.isnan(vote.confidence) else round(vote.confidence, 4),
            "best": None if balls[t] or not vote.read else int(np.argmax(vote.posterior)),
            "crops": len(images),
            "outliers": int((~inlier[rows]).sum()),
            "torso": int(np.isin(candidates, rows).sum()),
            "read": vote.read,
            "ball": balls[t],
        }
        if keep_states:
            state = np.full(len(rows), "other", object)
            state[~inlier[rows]] = "outlier"
            state[np.isin(rows, read)] = "read"
            record["states"] = state.tolist()
        records.append(record)
    _timed(times, "vote", start)
    return records


def _chunks(items: list, size: int):
    for first in range(0, len(items), size):
        yield items[first : first + size]


def predict_split(config, workdir, models, split, shard) -> list[dict]:
    """The numbers of this process's share of the split's tracklets (records of `read_tracklets`
    plus "label", the true number or None)."""
    check_models(config, models)
    source = data.crop_source(config, workdir, split)
    records = []
    for chunk in _chunks(shard.take(data.tracklets(source)), int(config.eval.tracklets_per_chunk)):
        tracklets = []
        for t in chunk:
            rows = [source[i] for i in range(t.first, t.first + t.count)]
            tracklets.append((t.id, [data.decode_image(r["image"], r["image_path"].decode()) for r in rows]))
        found = read_tracklets(config, models, tracklets)
        for record, t in zip(found, chunk):
            record["label"] = t.label
        records += found
    return records


def write_submission(config, records, output_dir) -> None:
    os.makedirs(output_dir, exist_ok=True)
    formats.write_predictions(os.path.join(output_dir, SUBMISSION_FILE),
                              {r["tracklet"]: r["number"] for r in records})
    with open(os.path.join(output_dir, DETAILS_FILE), "w") as f:
        json.dump({r["tracklet"]: {k: v for k, v in r.items() if k not in ("tracklet", "states")}
                   for r in records}, f)


def zip_submission(output_dir: str, zip_path: str) -> None:
    """The challenge archive: `predictions.json` alone."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(os.path.join(output_dir, SUBMISSION_FILE), SUBMISSION_FILE)


def groundtruth_file(config, workdir: str, split: str, output_dir: str, records: list[dict]) -> str | None:
    """The ground truth to score against: the official `<split>_gt.json` of the tree for test
    and challenge (where it exists), else (train, valid: subsets of train_gt.json) one written
    from the dataset's labels into `output_dir`. None for a split without labels."""
    if any(r["label"] is None for r in records) or not records:
        return None
    if split in ("test", "challenge"):
        root = config.data.manual_dir or data.synthetic_root(workdir)
        official = os.path.join(root, formats.groundtruth_file(split))
        if os.path.isfile(official):
            return official
    return str(formats.write_predictions(os.path.join(output_dir, f"{split}_gt.json"),
                                         {r["tracklet"]: r["label"] for r in records}))


CONFIDENCE_GRID = tuple(round(0.05 * i, 2) for i in range(1, 21))  # eval.min_confidence values swept


def confidence_sweep(records: list[dict], thresholds=CONFIDENCE_GRID) -> dict[str, float]:
    """Accuracy on labelled records had the vote used each `eval.min_confidence` in `thresholds`.

    A tracklet answers its most probable number ("best") when that number's confidence reaches the
    threshold, else -1 (balls and tracklets with too few read crops have no "best": -1), as
    `tracklet_voting.combine` decides. Run on `valid` to choose the threshold that `test` and
    `challenge` then use: the recogniser's confidence scale depends on the model and its training.
    """
    labels = np.array([r["label"] for r in records])
    best = np.array([-1 if r["best"] is None else r["best"] for r in records])
    confidence = np.array([-1.0 if r["confidence"] is None else r["confidence"] for r in records])
    # `confidence` is rounded to 4 decimals in the records; so is the comparison.
    return {f"{t:.2f}": float(np.mean(np.where(confidence >= round(t, 4), best, formats.ILLEGIBLE) == labels))
            for t in thresholds}


def score(config, workdir, split, output_dir, records) -> Scores | None:
    truth = groundtruth_file(config, workdir, split, output_dir, records)
    if truth is None:
        return None
    results = jersey_metric.evaluate(truth, os.path.join(output_dir, SUBMISSION_FILE))
    headline = {k: float(results[k]) for k in ("Accuracy", "legible_accuracy", "illegible_accuracy")}
    read = [r for r in records if not r["ball"]]
    sweep = confidence_sweep(records)
    best_threshold = max(sweep, key=lambda t: (sweep[t], -float(t)))  # ties: the lower threshold
    logging.info("On %s, eval.min_confidence=%s would score accuracy %.4f (configured %s: %.4f); "
                 "choose it on valid, not on test.", split, best_threshold, sweep[best_threshold],
                 config.eval.min_confidence, headline["Accuracy"])
    details = dict(results, groundtruth=truth, balls=sum(r["ball"] for r in records),
                   crops=sum(r["crops"] for r in read), crops_read=sum(r["read"] for r in read),
                   outliers=sum(r["outliers"] for r in read), min_confidence_sweep=sweep,
                   best_min_confidence=float(best_threshold))
    unavailable = {k: "no tracklet of that kind in the split" for k, v in headline.items() if np.isnan(v)}
    return Scores(headline=headline, details=details, unavailable=unavailable)


# ----------------------------------------------------------------------------- python -m zoo.predict jersey


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracklets", required=True,
                        help="a folder of tracklet folders of crops (<tracklet>/<tracklet>_<k>.jpg), "
                             "or a split folder with images/")
    parser.add_argument("--out", required=True, help="the JSON file to write: {\"<tracklet>\": number}")
    parser.add_argument("--contact-sheet", default="", help="also write a PNG of each tracklet's crops and number")
    parser.add_argument("--sheet-tracklets", type=int, default=40, help="tracklets shown on the contact sheet")


def check_predict_args(args) -> None:
    """Refuses a bad --tracklets folder or --out before any model is restored."""
    data.folder_tracklets(args.tracklets)
    if not args.out.endswith(".json"):
        raise UserError(f"--out {args.out}: the numbers are written as JSON; give a .json file")


def predict_folder(config, models, args) -> str:
    """Reads every tracklet of `args.tracklets`, writes `args.out` (and the contact sheet)."""
    check_predict_args(args)
    check_models(config, models)
    found = data.folder_tracklets(args.tracklets)
    records, sheet_rows = [], []
    for chunk in _chunks(found, int(config.eval.tracklets_per_chunk)):
        tracklets = [(t, [data.read_image(p) for p in paths]) for t, paths in chunk]
        part = read_tracklets(config, models, tracklets, keep_states=bool(args.contact_sheet))
        records += part
        if args.contact_sheet and len(sheet_rows) < args.sheet_tracklets:
            for (t, images), r in zip(tracklets, part):
                if len(sheet_rows) < args.sheet_tracklets:
                    states = r.get("states") or ["other"] * len(images)
                    sheet_rows.append({"tracklet": t, "number": r["number"], "thumbnails": images,
                                       "confidence": np.nan if r["confidence"] is None else r["confidence"],
                                       "states": states})
    formats.write_predictions(args.out, {r["tracklet"]: r["number"] for r in records})
    summary = (f"Read {len(records)} tracklets of {args.tracklets}: "
               f"{sum(r['number'] >= 0 for r in records)} numbers, "
               f"{sum(r['number'] < 0 for r in records)} not visible; wrote {args.out}")
    if args.contact_sheet:
        from zoo.plots.contact_sheet import write_contact_sheet

        write_contact_sheet(args.contact_sheet, sheet_rows)
        summary += f" and {args.contact_sheet}"
    return summary


TASK = Task(
    name="jersey",
    make_model=None,
    example_inputs=None,
    make_loss=None,
    make_train_data=None,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=zip_submission,
    check_config=check_config,
    stages=STAGES,
    predict_file=PredictFile(add_arguments=_add_arguments, run=predict_folder,
                             help="read the shirt numbers of a folder of tracklet crops",
                             check_args=check_predict_args),
)
