"""Ball action spotting (2023, 2024) and Team Ball Action Spotting (2025), end to end from video.

Composes frame-level spotters (E2E-Spot, T-DEED) with clips decoded straight from the official
videos (no frame dumps), the E2E-Spot / T-DEED training recipe (augmentations with a team-swapping
flip, mixup, weighted cross-entropy, displacement and team losses, or team folded into the label),
overlapping-clip inference, NMS or soft-NMS, the official `results_spotting.json` writer (with
`team` for 2025) and the official-parity mAP@1 / Team mAP@1.

Data: `config.data.manual_dir` holds the official tree (`league/season/game/<video>` +
`Labels-ball.json`, or `Labels-v2.json` + `1_224p.mkv`/`2_224p.mkv` for the `v2_video`
pretraining set); its index (videos, frame counts, labels) is built once into TFDS. With no
manual_dir, synthetic videos in the same layout are written into the workdir and used instead.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

import grain
import jax
import ml_collections
import numpy as np
from absl import logging

from zoo import progress
from zoo.data import ball_index, clip_transforms, video
from zoo.formats import spotting as spotting_format
from zoo.formats.splits import SPLITS
from zoo.metrics import spotting as spotting_metric
from zoo.metrics import team_spotting
import zoo.models
from zoo.errors import ConfigError
from zoo.losses import frame_spotting
from zoo.postprocess import frame_scores as frame_decoding
from zoo.postprocess.nms import soft_nms, window_nms
from zoo.train.task import Models, PredictFile, Scores, Shard, Task, TrainData

DATASET_CLASSES = {
    "2023": spotting_format.CLASSES_BALL_2023,
    "2024": spotting_format.CLASSES_BALL,
    "2025": spotting_format.CLASSES_BALL,
    "v2_video": spotting_format.CLASSES_V2,
}


def classes(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    if config.data.dataset not in DATASET_CLASSES:
        raise ValueError(f"Unknown data.dataset {config.data.dataset!r}; expected one of {sorted(DATASET_CLASSES)}.")
    return DATASET_CLASSES[config.data.dataset]


def team_mode(config: ml_collections.ConfigDict) -> str:
    """none, head or joint; the team recipes need the 2025 labels, which carry a team."""
    mode = config.model.team_mode
    frame_spotting.num_outputs(1, mode)  # validates the name
    if mode != "none" and config.data.dataset != "2025":
        raise ValueError(f"model.team_mode={mode!r} needs team labels: set data.dataset='2025' "
                         f"(or model.team_mode='none' for {config.data.dataset}).")
    return mode


# ----------------------------------------------------------------------------- data


def _synthetic_settings(config: ml_collections.ConfigDict) -> dict:
    synthetic = config.data.synthetic
    settings = {"games_per_split": synthetic.games_per_split.to_dict(), "width": synthetic.width,
                "height": synthetic.height, "seed": synthetic.seed}
    if config.data.dataset == "v2_video":
        return {**settings, "half_seconds": synthetic.video_seconds / 2,
                "events_per_half": max(1, round(synthetic.events_per_minute * synthetic.video_seconds / 120))}
    seconds = {split: synthetic.test_video_seconds if split == "test" and synthetic.test_video_seconds
               else synthetic.video_seconds for split in SPLITS}
    return {**settings, "video_seconds": seconds,
            "events_per_minute": synthetic.events_per_minute}


def _synthetic_root(config: ml_collections.ConfigDict, workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), f"synthetic_ball_{config.data.dataset}")


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the video index once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    classes(config)
    return ball_index.prepare_ball(
        config.data.dataset, manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=_synthetic_root(config, workdir),
        synthetic=_synthetic_settings(config),
    )


def read_split(config: ml_collections.ConfigDict, workdir: str, split: str) -> ball_index.VideoSplit:
    # The videos are where this run finds them now (a copied or moved workdir included), not where
    # the index was built.
    video_root = config.data.manual_dir or _synthetic_root(config, workdir)
    return ball_index.load_split(config.data.dataset, split, data_dir=prepare_data(config, workdir),
                                 video_root=video_root)


def input_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    """(height, width) of the frames the model sees: the crop if there is one, else the decoded size."""
    crop = tuple(config.augment.crop_size or ())
    return crop if crop else tuple(config.data.frame_size)


@dataclasses.dataclass(frozen=True)
class TrainClip:
    """Augments one clip and turns its labels into targets (a grain random map)."""

    augment: clip_transforms.ClipAugment
    num_classes: int
    team_mode: str
    label_expansion: int
    radius: int

    def __call__(self, clip: dict, rng: np.random.Generator) -> dict:
        clip = self.augment(clip, rng)
        targets = frame_spotting.clip_targets(
            clip["labels"], clip["teams"], clip["valid"], num_classes=self.num_classes,
            team_mode=self.team_mode, label_expansion=self.label_expansion, radius=self.radius)
        return {"frames": clip["frames"], **targets}


@dataclasses.dataclass(frozen=True)
class Mixup:
    """Mixup of a batch (a grain random map), then the batch in the train step's layout."""

    alpha: float
    enabled: bool

    def __call__(self, batch: dict, rng: np.random.Generator) -> dict:
        if self.enabled:
            batch = clip_transforms.mixup(batch, rng, alpha=self.alpha, target_keys=frame_spotting.TARGET_KEYS)
        return {"inputs": batch.pop("frames"), **batch}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    split = read_split(config, workdir, config.data.train_split)
    source = video.ClipSource(
        split.videos, video_root=split.video_root, clip_len=config.data.clip_len,
        stride=config.data.stride, overlap=config.data.overlap,
        size=tuple(config.data.frame_size), num_classes=len(split.classes))
    augment = config.augment
    train_clip = TrainClip(
        augment=clip_transforms.ClipAugment(
            flip_p=augment.flip_p, crop_size=tuple(augment.crop_size) or None,
            camera_motion_p=augment.camera_motion_p, max_rotation_degrees=augment.max_rotation_degrees,
            max_translation=augment.max_translation, color_jitter_p=augment.color_jitter_p,
            brightness=augment.brightness, contrast=augment.contrast, saturation=augment.saturation,
            hue=augment.hue),
        num_classes=len(split.classes), team_mode=team_mode(config),
        label_expansion=config.loss.label_expansion, radius=config.loss.displacement_radius)
    events = sum(len(v["event_frame"]) for v in split.videos)
    logging.info("%d training clips of %d frames (stride %d) from %d videos with %d events.",
                 len(source), config.data.clip_len, config.data.stride, len(split.videos), events)
    shard = slice(jax.process_index(), None, jax.process_count())
    dataset = grain.MapDataset.source(source)[shard].seed(config.seed).shuffle().repeat()
    fraction = config.data.event_clip_fraction
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"data.event_clip_fraction must be in [0, 1], got {fraction}")
    if fraction > 0:
        rows = video.balanced_events(split.videos, num_classes=len(split.classes),
                                     balance=config.data.event_class_balance)
        if not len(rows):
            raise ValueError(f"data.event_clip_fraction={fraction} but the {config.data.train_split} split has no events.")
        logging.info("A fraction %g of the training clips hold one of %d event rows (class balance %g).",
                     fraction, len(rows), config.data.event_class_balance)
        around = (grain.MapDataset.source(rows)[shard].seed(config.seed + 1).shuffle().repeat()
                  .random_map(video.AroundEvent(source)))
        dataset = around if fraction == 1 else grain.MapDataset.mix([dataset, around], [1 - fraction, fraction])
    dataset = (
        dataset
        .random_map(train_clip)
        .batch(batch_size, drop_remainder=True)
        .random_map(Mixup(alpha=augment.mixup_alpha, enabled=augment.mixup))
    )
    return TrainData(dataset=dataset, num_examples=len(source), read_threads=config.data.read_threads)


# ----------------------------------------------------------------------------- model and loss


def make_model(config: ml_collections.ConfigDict):
    """E2E-Spot or T-DEED from config.model; the class columns, clip length and heads follow from the
    dataset, the team recipe and the loss."""
    mode = team_mode(config)
    extra = {"num_classes": frame_spotting.num_outputs(len(classes(config)), mode)}
    if config.model.name == "tdeed":
        extra.update(clip_len=config.data.clip_len, displacement=config.loss.displacement_radius > 0,
                     team_head=mode == "head")
    return zoo.models.build(config.model, skip=("team_mode",), **extra)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, config.data.clip_len, *input_size(config), 3), np.uint8)


def make_loss(config: ml_collections.ConfigDict):
    return frame_spotting.make_loss(
        foreground_weight=config.loss.foreground_weight, focal_gamma=config.loss.focal_gamma,
        displacement_weight=config.loss.displacement_weight, team_weight=config.loss.team_weight)


# ----------------------------------------------------------------------------- inference


@dataclasses.dataclass(frozen=True)
class Spots:
    """The actions spotted in one video, after NMS; frames at the video's frame rate."""

    frame: np.ndarray  # [N] int64
    class_index: np.ndarray  # [N] int64, into the dataset's classes
    team: np.ndarray | None  # [N] int64 0 left / 1 right, None without team recipe
    confidence: np.ndarray  # [N] float64


def _clip_scores(config, outputs: dict) -> np.ndarray:
    """[clips, T, columns] scores of a batch of clips, displacement applied (T-DEED)."""
    scores = frame_decoding.frame_scores(outputs, num_classes=len(classes(config)), team_mode=team_mode(config))
    if "displacement" in outputs:
        scores = np.stack([frame_decoding.shift_by_displacement(s, d)
                           for s, d in zip(scores, np.asarray(outputs["displacement"]))])
    return scores


def video_scores(
    config: ml_collections.ConfigDict,
    predictors: Sequence[Callable],
    path: str,
    kept_frames: np.ndarray,
    *,
    seekable: bool = True,
    progress=None,
) -> np.ndarray:
    """Per-frame scores of a whole video at the model's rate: [len(kept_frames), columns].

    kept_frames: the video's frame at each position the model sees (every `stride`-th frame of a
    25 fps video, or `video.frames_at_rate` for any other rate). Overlapping clips
    (`config.eval.overlap`) cover them; each position's score is the mean over the clips (and
    ensemble members) that hold it. Clips are decoded and run a batch at a time, so memory stays
    bounded for a 97-minute video.
    """
    clip_len, kept = config.data.clip_len, len(kept_frames)
    starts = video.clip_starts(kept, clip_len=clip_len, overlap=config.eval.overlap)
    # Positions past the end read past the video's last frame: padding, not valid.
    past_end = int(kept_frames[-1]) + 1 + np.arange(clip_len) if kept else np.arange(clip_len)
    total, count = None, np.zeros(kept, np.float64)
    crop = tuple(config.augment.crop_size or ())
    for first in range(0, len(starts), config.eval.batch_size):
        batch_starts = starts[first : first + config.eval.batch_size]
        clips = []
        for start in batch_starts:
            positions = int(start) + np.arange(clip_len)
            indices = np.where(positions < kept, kept_frames[np.minimum(positions, kept - 1)],
                               past_end[np.maximum(positions - kept, 0)])
            clips.append(video.read_frames(path, indices, size=tuple(config.data.frame_size), seek=seekable))
        frames = np.stack([c[0] for c in clips])
        valid = np.stack([c[1] for c in clips])
        if crop:
            frames = clip_transforms.center_crop({"frames": frames.reshape(-1, *frames.shape[2:])}, crop)["frames"]
            frames = frames.reshape(len(clips), clip_len, *frames.shape[1:])
        scores = np.mean([_clip_scores(config, predictor(frames)) for predictor in predictors], axis=0)
        if total is None:
            total = np.zeros((kept, scores.shape[-1]), np.float64)
        for start, clip_scores, clip_valid in zip(batch_starts, scores, valid):
            index = start + np.arange(clip_len)
            keep = clip_valid & (index < kept)
            total[index[keep]] += clip_scores[keep]
            count[index[keep]] += 1
        if progress is not None:
            progress.update(len(batch_starts))
    return total / np.maximum(count, 1)[:, None]


def spot(config: ml_collections.ConfigDict, scores: np.ndarray, kept_frames: np.ndarray) -> Spots:
    """NMS or soft-NMS of a video's scores (at the positions of `kept_frames`); frames back in the
    video's numbering, and class x team columns split back into class and team."""
    postprocessing = {"nms": window_nms, "soft_nms": soft_nms}[config.eval.postprocessing]
    position, column, score = postprocessing(scores, window=config.eval.nms_window,
                                             threshold=config.eval.nms_threshold)
    frame = np.asarray(kept_frames, np.int64)[position]
    if team_mode(config) == "none":
        return Spots(frame, column, None, score)
    return Spots(frame, column // 2, column % 2, score)


def strided_frames(config: ml_collections.ConfigDict, num_frames: int) -> np.ndarray:
    """The frames a model sees of a dataset video (25 fps): every `data.stride`-th."""
    return np.arange(0, num_frames, config.data.stride, dtype=np.int64)


def count_clips(config: ml_collections.ConfigDict, kept: int) -> int:
    return len(video.clip_starts(kept, clip_len=config.data.clip_len, overlap=config.eval.overlap))


# ----------------------------------------------------------------------------- evaluation


def _label_file(config) -> str:
    return spotting_format.LABEL_FILE if config.data.dataset == "v2_video" else spotting_format.BALL_LABEL_FILE


@dataclasses.dataclass(frozen=True)
class GameSpots:
    """The actions spotted in one game's videos, with the game's labels (if any) for scoring."""

    game: str
    fps: float
    half: np.ndarray  # [N] int64
    frame: np.ndarray  # [N] int64, at the video's frame rate
    class_index: np.ndarray  # [N] int64
    team: np.ndarray | None  # [N] int64 0 left / 1 right; None without the team recipe
    confidence: np.ndarray  # [N] float64
    parts: tuple[dict, ...]  # the game's videos as the index holds them (labels included)


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                  shard: Shard) -> list[GameSpots]:
    """Overlapping-clip scores (the ensemble's mean) and NMS on this shard's games of `split`."""
    data = read_split(config, workdir, split)
    games: dict[str, list[dict]] = {}
    for v in data.videos:
        games.setdefault(v["game"], []).append(v)
    mine = shard.take(sorted(games))
    total_clips = sum(count_clips(config, len(strided_frames(config, v["num_frames"])))
                      for game in mine for v in games[game])
    records = []
    with progress.bar(total=total_clips, desc=f"spot {split}", unit="clip") as bar:
        for game in mine:
            parts = games[game]
            found = {"half": [], "frame": [], "class_index": [], "team": [], "confidence": []}
            for part in parts:
                kept_frames = strided_frames(config, part["num_frames"])
                scores = video_scores(config, models.predictors, os.path.join(data.video_root, part["video"]),
                                      kept_frames, seekable=part["seekable"], progress=bar)
                spots = spot(config, scores, kept_frames)
                found["half"].append(np.full(len(spots.frame), part["half"]))
                found["frame"].append(spots.frame)
                found["class_index"].append(spots.class_index)
                found["team"].append(spots.team if spots.team is not None else np.zeros(0, np.int64))
                found["confidence"].append(spots.confidence)
            found = {k: np.concatenate(v) for k, v in found.items()}
            team = found.pop("team") if team_mode(config) != "none" else None
            records.append(GameSpots(game=game, fps=parts[0]["fps"], team=team, parts=tuple(parts),
                                     **{k: v for k, v in found.items() if k != "team"}))
    return records


def write_submission(config: ml_collections.ConfigDict, records: list[GameSpots], output_dir: str) -> None:
    """`<output_dir>/<league>/<season>/<game>/results_spotting.json` per game (with `team` for 2025)."""
    for r in records:
        spotting_format.write_predictions(
            os.path.join(output_dir, r.game, spotting_format.PREDICTION_FILE), url_local=r.game, framerate=r.fps,
            classes=classes(config), team=r.team, half=r.half, frame=r.frame, class_index=r.class_index,
            confidence=r.confidence)


def zip_submission(output_dir: str, zip_path: str) -> None:
    spotting_format.zip_predictions(output_dir, zip_path)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[GameSpots]) -> Scores | None:
    """mAP@1 (`mAP`), Team mAP@1 and mAP without team for 2025 (`mAP`, `mAP_no_team`), or Average-mAP
    (`a_mAP`) for the v2_video pretraining set, of what was written; every official key goes to
    metrics.json. None for challenge."""
    if split == "challenge":
        return None
    names, mode, framerate = classes(config), team_mode(config), _metric_framerate(config)
    game_labels, game_predictions = [], []
    for r in sorted(records, key=lambda r: r.game):
        found = {"half": r.half, "frame": r.frame, "class_index": r.class_index, "confidence": r.confidence}
        game_labels.append(_game_labels(list(r.parts), mode, names, framerate))
        game_predictions.append(_game_predictions(found, r.team, r.fps, mode, names, framerate))
    metric = config.eval.metric
    if mode != "none":
        scores = team_spotting.team_average_map(game_labels, game_predictions, classes=names,
                                                framerate=spotting_format.BALL_FRAMERATE, metric=metric)
        headline = {"mAP": float(scores["mAP"]), "mAP_no_team": float(scores["mAP_no_team"])}
    else:
        scores = spotting_metric.average_map(game_labels, game_predictions, framerate=framerate, metric=metric)
        headline = {"mAP" if config.data.dataset != "v2_video" else "a_mAP": float(scores["a_mAP"])}
    return Scores(headline=headline, details={"metric": metric, "classes": list(names), **scores},
                  unavailable=_unavailable(headline, game_labels, names, mode))


def _unavailable(headline: dict, game_labels, names, mode: str) -> dict[str, str]:
    """Why a headline number is NaN: the split has none of some classes (the official mean is then
    undefined)."""
    if all(np.isfinite(v) for v in headline.values()):
        return {}
    if mode != "none":
        present = {int(c) for events in game_labels for c in np.asarray(events.class_index)}
    else:
        present = {int(c) for vectors in game_labels for part in vectors for c in np.flatnonzero(np.abs(part).sum(0))}
    missing = [n for c, n in enumerate(names) if c not in present]
    reason = (f"no {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''} in the split's labels"
              if missing else "the official evaluator's mean is undefined here")
    return {k: reason for k, v in headline.items() if not np.isfinite(v)}


def _metric_framerate(config) -> int:
    """The official evaluation rate: 25 fps for ball data, 2 fps for SoccerNet-v2 action spotting."""
    return 2 if config.data.dataset == "v2_video" else spotting_format.BALL_FRAMERATE


def _positions(frame: np.ndarray, fps: float) -> np.ndarray:
    """Milliseconds as the writer stores them, so that the score is the one of the written files."""
    return spotting_format.positions_ms(frame, fps)


def _game_labels(parts: list[dict], mode: str, names: Sequence[str], framerate: int):
    """The game's GT in the metric's array form (events for the team metric, vectors otherwise)."""
    halves = np.concatenate([np.full(len(p["event_frame"]), p["half"]) for p in parts])
    position = np.concatenate([p["event_position_ms"] for p in parts])
    label = np.concatenate([p["event_label"] for p in parts])
    team = np.concatenate([p["event_team"] for p in parts])
    visible = np.concatenate([p["event_visible"] for p in parts])
    value = np.where(visible, 1.0, -1.0)
    if mode != "none":
        frame = spotting_format.position_frames(position, framerate)  # the official's frame
        return team_spotting.TeamEvents(frame, label, team, value)
    annotations = [
        spotting_format.Annotation(half=int(h), game_time_s=int(p // 1000), position_ms=int(p),
                                   label=names[int(c)], visibility="visible" if v else "not shown", team="")
        for h, p, c, v in zip(halves, position, label, visible)
    ]
    return spotting_metric.label_vectors(annotations, framerate=framerate, classes=names)


def _game_predictions(found: dict, team, fps: float, mode: str, names: Sequence[str], framerate: int):
    position = _positions(found["frame"], fps)
    if mode != "none":
        frame = spotting_format.position_frames(position, framerate)
        return team_spotting.TeamEvents(frame, found["class_index"], team, found["confidence"])
    return spotting_metric.prediction_vectors(found["half"], position, found["class_index"], found["confidence"],
                                              framerate=framerate, num_classes=len(names))


# ----------------------------------------------------------------------------- any video


def predict_video(config: ml_collections.ConfigDict, predictors: Sequence[Callable], path: str, *,
                  quiet: bool = False) -> tuple[Spots, float, int]:
    """Spots actions in a user's video file at any frame rate: returns the spots, the video's fps and
    its number of frames.

    The model was trained on frames `config.data.stride` apart at 25 fps; from a video at any rate
    it sees the frame nearest to each of those times (`video.frames_at_rate`).
    """
    probe = video.probe_video(path)
    rate = spotting_format.BALL_FRAMERATE / config.data.stride
    kept_frames = video.frames_at_rate(probe.num_frames, probe.fps, rate)
    if abs(probe.fps - spotting_format.BALL_FRAMERATE) > 1e-3:
        logging.info("%s is %.5g fps: the model sees the frame nearest to every 1/%.5g s, as in training.",
                     path, probe.fps, rate)
    with progress.bar(total=count_clips(config, len(kept_frames)), desc=os.path.basename(path), unit="clip",
                      quiet=quiet) as bar:
        scores = video_scores(config, predictors, path, kept_frames, seekable=probe.seekable, progress=bar)
    return spot(config, scores, kept_frames), probe.fps, probe.num_frames


def _predict_arguments(parser) -> None:
    parser.add_argument("--video", required=True, help="the video file (any container OpenCV's FFmpeg reads)")
    parser.add_argument("--out", default="results_spotting.json", help="where to write the predictions")
    parser.add_argument("--plot", default="", help="also draw a timeline of the actions to this PNG")
    parser.add_argument("--plot-min-confidence", type=float, default=None,
                        help="actions below this confidence are left out of the plot "
                        "(default: config.eval.nms_threshold, i.e. every written action)")


def _check_predict_args(args) -> None:
    if not os.path.isfile(args.video):
        raise FileNotFoundError(2, "no such video file", args.video)


def _predict_file(config: ml_collections.ConfigDict, models: Models, args) -> str:
    spots, fps, num_frames = predict_video(config, models.predictors, args.video, quiet=args.quiet)
    names = classes(config)
    name = os.path.splitext(os.path.basename(args.video))[0]
    spotting_format.write_predictions(
        args.out, url_local=name, half=np.ones(len(spots.frame), np.int64), frame=spots.frame,
        class_index=spots.class_index, confidence=spots.confidence, framerate=fps, classes=names,
        team=spots.team)
    summary = f"{len(spots.frame)} actions -> {args.out}"
    if args.plot:
        from zoo.plots.timeline import plot_timeline

        threshold = config.eval.nms_threshold if args.plot_min_confidence is None else args.plot_min_confidence
        drawn = plot_timeline(args.plot, seconds=np.asarray(spots.frame) / fps, class_index=spots.class_index,
                              confidence=spots.confidence, classes=names, team=spots.team, title=name,
                              min_confidence=threshold, duration_s=num_frames / fps)
        summary += f"; timeline of {drawn} -> {args.plot}"
    return summary


PREDICT_FILE = PredictFile(add_arguments=_predict_arguments, run=_predict_file, check_args=_check_predict_args,
                           help="spot ball actions in a video file")


def check_config(config: ml_collections.ConfigDict) -> None:
    """The cross-field rules, once at start-up."""
    classes(config)
    team_mode(config)
    if config.eval.postprocessing not in ("nms", "soft_nms"):
        raise ConfigError(f"eval.postprocessing={config.eval.postprocessing!r}; expected nms or soft_nms.")
    fraction = config.data.event_clip_fraction
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"data.event_clip_fraction must be in [0, 1], got {fraction}.")
    if config.model.name not in ("e2e_spot", "tdeed"):
        raise ConfigError(f"model.name={config.model.name!r}; ball spotting has e2e_spot and tdeed.")
    if config.model.name == "e2e_spot" and team_mode(config) == "head":
        raise ConfigError("E2E-Spot has no team head: use model.team_mode='joint' (or 'none').")


TASK = Task(
    name="ball_spotting",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=zip_submission,
    check_config=check_config,
    predict_file=PREDICT_FILE,
)
