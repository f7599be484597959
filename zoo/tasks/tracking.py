"""SoccerNet multiple object tracking (HOTA): a pipeline of an optional detector run, an optional
ReID run and ByteTrack / BoT-SORT.

Not trained itself; `config.tracking.detections` says where each frame's boxes come from:

  * "public" or "groundtruth": association only (the 2022 task), on each sequence's public
    `det/det.txt` or its ground-truth boxes (score 1);
  * "detector": detection + association (2023), on the boxes of the `tracking_detector` run named
    by `config.pipeline.detector` (score = objectness x class).

`config.pipeline.reid` names a `reid` run, needed by `tracking.use_appearance` (BoT-SORT's fusion of
appearance with IoU); when given, tracklet linking also compares the tracklets' mean embeddings.
The crops are embedded as `zoo.tasks.reid` embeds its images: the ReID run's own `data.height`,
`data.width`, `eval.feature` and `eval.flip` (its ensemble members, if any, are not used).

Per sequence, in chunks of `eval.batch_size` frames: detections -> (ReID embeddings of the boxes
of the whole chunk, one batch) -> frame by frame, (camera motion from the previous frame) ->
`zoo.postprocess.bytetrack` -> the baseline's box filter; then optionally tracklet linking and gap
interpolation (`zoo.postprocess.tracklets`). The tracks are written as `SNMOT-XXX.txt` and
`soccernet_mot_results.zip` (`zoo.formats.tracking`) and scored with `zoo.metrics.tracking`
(HOTA, DetA, AssA, MOTA, IDF1, equal to TrackEval). `python -m zoo.predict tracking` runs the same
chain on any video, or on a det.txt for association only.
"""

from __future__ import annotations

import argparse
import colorsys
import dataclasses
import os

import cv2
import ml_collections
import numpy as np

from zoo import progress
from zoo.data import snmot
from zoo.data.video import open_video
from zoo.errors import ConfigError, UserError
from zoo.formats import tracking as formats
from zoo.metrics import tracking as tracking_metric
from zoo.postprocess.appearance import embed_boxes
from zoo.postprocess.bytetrack import ByteTracker, TrackerSettings, keep_plausible
from zoo.postprocess.camera_motion import CameraMotion
from zoo.postprocess.kalman import LAYOUTS as KALMAN_LAYOUTS
from zoo.postprocess.detections import Detections, detect_frames, detector_settings
from zoo.postprocess.tracklets import SequenceTracks, interpolate_gaps, link_tracklets
from zoo.train.task import Models, PredictFile, Scores, Shard, Stage, Task

STAGES = ("detector", "reid")
DETECTIONS = ("public", "groundtruth", "detector")  # config.tracking.detections
CAMERA_MOTION = ("none", "sparse_flow", "ecc")


def tracker_settings(config: ml_collections.ConfigDict, frame_rate: float) -> TrackerSettings:
    fields = {f.name for f in dataclasses.fields(TrackerSettings)} - {"frame_rate"}
    return TrackerSettings(frame_rate=frame_rate, **{k: config.tracking[k] for k in fields})


def required_stages(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """The stages this config cannot run without (read with `models[name]`, whose error names the
    `--config.pipeline.<name>` to set)."""
    return tuple(name for name, needed in (("detector", config.tracking.detections == "detector"),
                                           ("reid", config.tracking.use_appearance)) if needed)


def check_config(config: ml_collections.ConfigDict) -> None:
    """The tracking fields, and no stage given that this config would not use."""
    t = config.tracking
    if t.detections not in DETECTIONS:
        raise ConfigError(f"tracking.detections={t.detections!r}; expected one of {DETECTIONS}.")
    if t.cmc not in CAMERA_MOTION:
        raise ConfigError(f"tracking.cmc={t.cmc!r}; expected one of {CAMERA_MOTION}.")
    pipeline = config.get("pipeline", {})
    if pipeline.get("detector") and t.detections != "detector":
        raise ConfigError(f"config.pipeline.detector is set but tracking.detections={t.detections!r} does not use "
                          "it: set --config.tracking.detections=detector (or leave the detector out).")
    if pipeline.get("reid") and not (t.use_appearance or t.link_tracklets):
        raise ConfigError("config.pipeline.reid is set but nothing uses it: set --config.tracking.use_appearance=True "
                          "(fusion with IoU) and/or --config.tracking.link_tracklets=True.")
    if t.kalman not in KALMAN_LAYOUTS:
        raise ConfigError(f"tracking.kalman={t.kalman!r}; expected one of {KALMAN_LAYOUTS}.")
    tracker_settings(config, 25.0)  # every tracker field is there


@dataclasses.dataclass
class OnlineTracker:
    """The per-frame chain of the pipeline for one sequence or video (see the module docstring)."""

    config: ml_collections.ConfigDict
    frame_rate: float
    detector: Stage | None = None
    reid: Stage | None = None

    def __post_init__(self):
        t = self.config.tracking
        self.tracker = ByteTracker(tracker_settings(self.config, self.frame_rate))
        self.motion = CameraMotion(t.cmc, downscale=t.cmc_downscale) if t.cmc != "none" else None
        self.rows: list[tuple] = []  # (frame, id, tlwh, score, feature or None)
        self.shot_changes = 0

    @property
    def needs_frames(self) -> bool:
        return self.detector is not None or self.reid is not None or self.motion is not None

    def detect(self, frames: list[np.ndarray]) -> list[Detections]:
        return detect_frames(self.detector.predictor, frames, **detector_settings(self.detector.config))

    def _embed(self, images: list[np.ndarray], found: list[Detections]) -> list[np.ndarray | None]:
        """Unit embeddings [n_i, d] of each frame's boxes, the boxes that take part in association
        (score above low_thresh) embedded in one batch for all the frames, the others zeros; None
        without a ReID stage or for a frame with no such box."""
        if self.reid is None:
            return [None] * len(found)
        keep = [d.scores > self.config.tracking.low_thresh for d in found]
        reid = self.reid.config
        embedded = embed_boxes(self.reid.predictor, images, [d.tlwh[k] for d, k in zip(found, keep)],
                               size=(int(reid.data.height), int(reid.data.width)),
                               feature=reid.eval.get("feature", "bn"), flip=bool(reid.eval.get("flip", False)))
        features = []
        for d, k, e in zip(found, keep, embedded):
            features.append(None)
            if len(e):
                features[-1] = np.zeros((len(d.tlwh), e.shape[1]))
                features[-1][k] = e
        return features

    def process(self, numbers, images: list[np.ndarray | None], found: list[Detections]) -> None:
        """Tracks consecutive frames (1-based numbers) given their detections (and images, when
        needed)."""
        for number, image, detections, features in zip(numbers, images, found, self._embed(images, found)):
            self.step(number, image, detections, features)

    def step(self, frame_number: int, image: np.ndarray | None, detections: Detections, features=None) -> None:
        t = self.config.tracking
        motion = None
        if self.motion is not None:
            motion = self.motion(image, detections.tlwh)
            self.shot_changes += self.motion.shot_change and frame_number > 1
        out = keep_plausible(self.tracker.update(detections.tlwh, detections.scores, features, motion),
                             min_box_area=t.min_box_area, aspect_ratio_thresh=t.aspect_ratio_thresh)
        by_id = {track.track_id: track.feature for track in self.tracker.tracked}
        for track_id, box, score in zip(out.track_id, out.tlwh, out.score):
            self.rows.append((frame_number, int(track_id), box, float(score), by_id.get(int(track_id))))

    def tracks(self) -> SequenceTracks:
        """Everything tracked so far, post-processed as configured."""
        t = self.config.tracking
        if not self.rows:
            return SequenceTracks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
        frame, ids, boxes, scores, feats = zip(*self.rows)
        features = None
        if all(f is not None for f in feats):
            features = np.stack(feats)
        tracks = SequenceTracks(np.array(frame, np.int64), np.array(ids, np.int64), np.stack(boxes),
                                np.array(scores), features)
        if t.link_tracklets:
            tracks = link_tracklets(tracks, max_gap=t.link_max_gap, max_distance=t.link_max_distance,
                                    appearance_thresh=t.link_appearance_thresh)
        if t.interpolate_max_gap > 0:
            tracks = interpolate_gaps(tracks, t.interpolate_max_gap)
        return tracks


def online_tracker(config: ml_collections.ConfigDict, frame_rate: float, models: Models, *,
                   boxes_given: bool = False) -> OnlineTracker:
    """The chain `config` asks for, with the stages it requires (a one-line error names a missing
    one) and the optional ReID stage for linking when given. `boxes_given`: the user brings the
    boxes (zoo.predict --detections), so no detector runs whatever the config says."""
    for name in required_stages(config):
        if not (boxes_given and name == "detector"):
            models[name]  # noqa: B018 (raises the one-line "set --config.pipeline.<name>" error)
    use_detector = config.tracking.detections == "detector" and not boxes_given
    return OnlineTracker(config, frame_rate, models.stages.get("detector") if use_detector else None,
                         models.stages.get("reid"))


def _given_detections(rows: np.ndarray, frame: int, *, groundtruth: bool) -> Detections:
    """A frame's boxes from the sequence's rows ([n, 6]: see the builder's `sequences` config)."""
    r = rows[rows[:, 0] == frame]
    if groundtruth:
        return Detections(r[:, 2:6], np.ones(len(r)), np.zeros(len(r), np.int64))
    return Detections(r[:, 1:5], r[:, 5], np.zeros(len(r), np.int64))


def track_sequence(config, root: str, record, models: Models) -> SequenceTracks:
    """Runs the pipeline over one sequence of the `sequences` dataset (frames read from `root`)."""
    online = online_tracker(config, float(record["frame_rate"]), models)
    length = int(record["seq_length"])
    image_dir = os.path.join(root, record["path"].decode(), "img1")
    groundtruth = config.tracking.detections == "groundtruth"
    rows = np.asarray(record["groundtruth" if groundtruth else "detections"])
    chunk = max(int(config.eval.batch_size), 1)
    for first in range(1, length + 1, chunk):
        numbers = range(first, min(first + chunk, length + 1))
        images = [None] * len(numbers)
        if online.needs_frames:
            images = [_read_frame(os.path.join(image_dir, f"{n:06d}.jpg")) for n in numbers]
        if online.detector is not None:
            found = online.detect(images)
        else:
            found = [_given_detections(rows, n, groundtruth=groundtruth) for n in numbers]
        online.process(numbers, images, found)
    return online.tracks()


def _read_frame(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{path}: missing or not a decodable image")
    return image


def predict_split(config, workdir, models: Models, split: str, shard: Shard) -> list[dict]:
    """Tracks of this process's sequences of `split`: one record per sequence."""
    source = snmot.source(config, workdir, "sequences", split)
    records = {source[i]["sequence"].decode(): i for i in range(len(source))}
    root = snmot.data_root(config, workdir)
    out = []
    for name in progress.bar(shard.take(sorted(records)), desc=f"track {split}", unit="sequence", leave=False):
        record = source[records[name]]
        tracks = dataclasses.replace(track_sequence(config, root, record, models), features=None)  # small records
        out.append({"sequence": name, "seq_length": int(record["seq_length"]), "tracks": tracks})
    return out


def write_submission(config, records, output_dir: str) -> None:
    """`<output_dir>/SNMOT-XXX.txt` per sequence and `soccernet_mot_results.zip` of them."""
    os.makedirs(output_dir, exist_ok=True)
    sequences = {}
    for r in records:
        t: SequenceTracks = r["tracks"]
        formats.write_mot(os.path.join(output_dir, f"{r['sequence']}.txt"), t.frame, t.track_id, t.tlwh, t.score)
        sequences[r["sequence"]] = (t.frame, t.track_id, t.tlwh, t.score)
    formats.write_submission(os.path.join(output_dir, formats.SUBMISSION_FILE), sequences)


def zip_submission(output_dir: str, zip_path: str) -> None:
    """The official archive: every `SNMOT-XXX.txt` of output_dir at the zip root."""
    import zipfile

    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(output_dir)):
            if formats.SEQUENCE_NAME.fullmatch(name.removesuffix(".txt")) and name.endswith(".txt"):
                archive.write(os.path.join(output_dir, name), name)


HEADLINE = ("HOTA", "DetA", "AssA", "MOTA", "IDF1")


def score(config, workdir, split, output_dir, records) -> Scores | None:
    """HOTA / CLEAR / Identity of the written files against `<root>/<split>/SNMOT-XXX/gt`."""
    gt_dir = os.path.join(snmot.data_root(config, workdir), split)
    names = sorted(r["sequence"] for r in records)
    if not names or not all(os.path.isfile(os.path.join(gt_dir, n, formats.GT_FILE)) for n in names):
        return None  # challenge: the ground truth stays with the organisers
    results = tracking_metric.evaluate(gt_dir, output_dir, seqmap=names)
    combined = results[tracking_metric.COMBINED]
    details = {seq: {k: (float(v) if np.ndim(v) == 0 else np.asarray(v).tolist()) for k, v in s.items()
                     if k != "per_alpha"} for seq, s in results.items()}
    return Scores(headline={k: float(combined[k]) for k in HEADLINE}, details=details)


# ----------------------------------------------------------------------------- any video


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", help="a video file to track (needed for detection, ReID, CMC, --render)")
    parser.add_argument("--detections", help="a MOT det.txt to associate instead of running the detector")
    parser.add_argument("--seqinfo", help="the seqinfo.ini of --detections (seqLength, frameRate)")
    parser.add_argument("--out", required=True, help="where to write the tracks (MOT text file)")
    parser.add_argument("--render", help="also write a video with the tracked boxes and ids")


def _colour(track_id: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((track_id * 0.618034) % 1.0, 0.85, 1.0)
    return int(255 * b), int(255 * g), int(255 * r)


def draw_tracks(image: np.ndarray, ids, boxes) -> np.ndarray:
    """The frame with each box and its id drawn in the id's colour (BGR, in place)."""
    for track_id, (x, y, w, h) in zip(ids, boxes):
        colour = _colour(int(track_id))
        cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), colour, 2)
        cv2.putText(image, str(int(track_id)), (int(x), max(int(y) - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    colour, 1, cv2.LINE_AA)
    return image


def _video_frames(path: str):
    """(frame count estimate, fps, iterator of BGR frames) of a video, decoded in order."""
    capture = open_video(path)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0

    def frames():
        try:
            while True:
                ok, image = capture.read()
                if not ok:
                    return
                yield image
        finally:
            capture.release()

    return count, fps, frames()


def check_args(args: argparse.Namespace) -> None:
    """The user's inputs, before any model is restored: a mistake costs no wait."""
    if args.detections is None and args.video is None:
        raise UserError("give --video (detection + association) or --detections with --seqinfo (association only)")
    if args.detections is not None and args.seqinfo is None:
        raise UserError("--detections needs --seqinfo (the sequence's length and frame rate)")
    for flag, path in (("--detections", args.detections), ("--seqinfo", args.seqinfo)):
        if path is not None and not os.path.isfile(path):
            raise UserError(f"{flag} {path}: no such file")
    if args.seqinfo is not None:
        formats.read_seqinfo(args.seqinfo)
    if args.video is not None:
        open_video(args.video).release()  # missing or unreadable: an error naming the file
    for flag in ("out", "render"):
        path = getattr(args, flag, None)
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            raise UserError(f"--{flag} {path}: the folder {folder} does not exist")


def run_on_file(config, models: Models, args: argparse.Namespace) -> str:
    """`python -m zoo.predict tracking`: tracks a video (or a det.txt) and writes args.out."""
    check_args(args)
    given = None
    frame_rate, length = 25.0, None
    if args.detections is not None:  # association only, whatever the config's detections
        info = formats.read_seqinfo(args.seqinfo)
        frame_rate, length = float(info.frame_rate or 25), info.seq_length
        rows = formats.read_mot(args.detections, detections=True, seq_length=info.seq_length)
        given = np.column_stack([rows.frame, rows.boxes, rows.confidence])
    elif config.tracking.detections != "detector":
        raise UserError(f"this pipeline associates given boxes (tracking.detections={config.tracking.detections!r}, "
                        "no detector): give --detections det.txt and --seqinfo seqinfo.ini, or use a pipeline "
                        "run with --config.tracking.detections=detector and a config.pipeline.detector")
    frames, writer, count = None, None, 0
    if args.video is not None:
        count, fps, frames = _video_frames(args.video)
        frame_rate = frame_rate if given is not None else fps
        length = length or count
    online = online_tracker(config, frame_rate, models, boxes_given=given is not None)
    if online.needs_frames and frames is None:
        raise UserError("this pipeline uses the frames (ReID or camera-motion compensation): give --video too")
    bar = progress.bar(total=length or None, unit="frame", quiet=getattr(args, "quiet", False))
    number = 0
    pending: list[np.ndarray] = []

    def flush():
        nonlocal number, writer
        numbers = range(number + 1, number + 1 + len(pending))
        if given is not None:
            found = [_given_detections(given, n, groundtruth=False) for n in numbers]
        else:
            found = online.detect(pending)
        online.process(numbers, pending, found)
        for n, image in zip(numbers, pending):
            if args.render:
                if writer is None:
                    writer = cv2.VideoWriter(args.render, cv2.VideoWriter_fourcc(*"mp4v"), frame_rate,
                                             (image.shape[1], image.shape[0]))
                shown = [r for r in online.rows if r[0] == n]
                writer.write(draw_tracks(image.copy(), [r[1] for r in shown], [r[2] for r in shown]))
        number += len(pending)
        bar.update(len(pending))
        pending.clear()

    try:
        if frames is None:
            pending.extend([None] * length)
            flush()
        else:
            for image in frames:
                pending.append(image)
                if len(pending) == max(int(config.eval.batch_size), 1):
                    flush()
                if given is not None and number + len(pending) >= length:
                    break
            flush()
    finally:
        bar.close()
        if writer is not None:
            writer.release()
    if number == 0:
        raise UserError(f"{args.video}: no frame could be decoded")
    if given is not None and number < length:
        raise UserError(f"{args.video}: {number} frames decoded, but {args.seqinfo} says seqLength={length}")
    tracks = online.tracks()
    formats.write_mot(args.out, tracks.frame, tracks.track_id, tracks.tlwh, tracks.score)
    rendered = f" and {args.render}" if args.render else ""
    cuts = f", {online.shot_changes} shot changes" if online.motion is not None else ""
    short = (f" (the video's header announced {count}: it ended early)"
             if given is None and count and number < count - 1 else "")
    return (f"{number} frames{short}{cuts}, {len(np.unique(tracks.track_id))} tracks, {len(tracks.frame)} boxes: "
            f"wrote {args.out}{rendered}")


TASK = Task(
    name="tracking",
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
    predict_file=PredictFile(add_arguments=_add_arguments, run=run_on_file, check_args=check_args,
                             help="track players, referees and the ball in a video (or a det.txt)"),
)
