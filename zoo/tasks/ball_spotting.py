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
import json
import os
from collections.abc import Callable, Sequence

import grain
import jax
import ml_collections
import numpy as np
from absl import logging
from tqdm import tqdm

from zoo.data import clip_transforms, video
from zoo.formats import spotting as spotting_format
from zoo.metrics import spotting as spotting_metric
from zoo.models.e2e_spot import E2ESpot
from zoo.models.regnet import RegNetSpec
from zoo.models.tdeed import TDEED
from zoo.losses import frame_spotting
from zoo.postprocess import frame_scores as frame_decoding
from zoo.postprocess.nms import soft_nms, window_nms
from zoo.train.task import Task, TrainData

DATASET_CLASSES = {
    "2023": spotting_format.CLASSES_BALL_2023,
    "2024": spotting_format.CLASSES_BALL,
    "2025": spotting_format.CLASSES_BALL,
    "v2_video": spotting_format.CLASSES_V2,
}
# A small RegNetY for tests and quick CPU runs; real runs use regnety_002 / regnety_008.
BACKBONES = {
    "regnety_micro": RegNetSpec(widths=(16, 24, 48, 96), depths=(1, 1, 2, 1), group_size=8, stem_width=16),
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
    return {**settings, "video_seconds": synthetic.video_seconds,
            "events_per_minute": synthetic.events_per_minute}


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the video index once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    classes(config)
    return video.prepare_ball(
        config.data.dataset, manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=os.path.join(workdir, f"synthetic_ball_{config.data.dataset}"),
        synthetic=_synthetic_settings(config),
    )


def read_split(config: ml_collections.ConfigDict, workdir: str, split: str) -> video.VideoSplit:
    return video.load_split(config.data.dataset, split, data_dir=prepare_data(config, workdir))


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


def make_model(config: ml_collections.ConfigDict, workdir: str | None = None):
    mode = team_mode(config)
    outputs = frame_spotting.num_outputs(len(classes(config)), mode)
    backbone = BACKBONES.get(config.model.backbone, config.model.backbone)
    if config.model.name == "e2e_spot":
        if mode == "head":
            raise ValueError("E2E-Spot has no team head: use model.team_mode='joint' (or 'none').")
        return E2ESpot(num_classes=outputs, backbone=backbone, temporal_shift=config.model.temporal_shift,
                       hidden_dim=config.model.hidden_dim, gru_layers=config.model.gru_layers)
    if config.model.name == "tdeed":
        return TDEED(num_classes=outputs, clip_len=config.data.clip_len, backbone=backbone,
                     temporal_shift=config.model.temporal_shift, n_layers=config.model.n_layers,
                     sgp_kernel=config.model.sgp_kernel, sgp_r=config.model.sgp_r,
                     displacement=config.loss.displacement_radius > 0, team_head=mode == "head")
    raise ValueError(f"Unknown model.name {config.model.name!r}; expected e2e_spot or tdeed.")


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
    num_frames: int,
    *,
    seekable: bool = True,
    progress: tqdm | None = None,
) -> np.ndarray:
    """Per-frame scores of a whole video at the strided rate: [ceil(num_frames / stride), columns].

    Overlapping clips (`config.eval.overlap`) cover the video; each kept frame's score is the mean
    over the clips (and ensemble members) that hold it. Clips are decoded and run a batch at a time,
    so memory stays bounded for a 97-minute video.
    """
    clip_len, stride = config.data.clip_len, config.data.stride
    starts = video.clip_starts(num_frames, clip_len=clip_len, stride=stride, overlap=config.eval.overlap)
    kept = -(-num_frames // stride)
    total, count = None, np.zeros(kept, np.float64)
    crop = tuple(config.augment.crop_size or ())
    for first in range(0, len(starts), config.eval.batch_size):
        batch_starts = starts[first : first + config.eval.batch_size]
        clips = [video.read_clip(path, int(s), clip_len, stride=stride, size=tuple(config.data.frame_size),
                                 seek=seekable) for s in batch_starts]
        frames = np.stack([c[0] for c in clips])
        valid = np.stack([c[1] for c in clips])
        if crop:
            frames = clip_transforms.center_crop({"frames": frames.reshape(-1, *frames.shape[2:])}, crop)["frames"]
            frames = frames.reshape(len(clips), clip_len, *frames.shape[1:])
        scores = np.mean([_clip_scores(config, predictor(frames)) for predictor in predictors], axis=0)
        if total is None:
            total = np.zeros((kept, scores.shape[-1]), np.float64)
        for start, clip_scores, clip_valid in zip(batch_starts, scores, valid):
            index = start // stride + np.arange(clip_len)
            keep = clip_valid & (index < kept)
            total[index[keep]] += clip_scores[keep]
            count[index[keep]] += 1
        if progress is not None:
            progress.update(len(batch_starts))
    return total / np.maximum(count, 1)[:, None]


def spot(config: ml_collections.ConfigDict, scores: np.ndarray) -> Spots:
    """NMS or soft-NMS of a video's scores; class x team columns are split back into class and team."""
    postprocessing = {"nms": window_nms, "soft_nms": soft_nms}.get(config.eval.postprocessing)
    if postprocessing is None:
        raise ValueError(f"Unknown eval.postprocessing {config.eval.postprocessing!r}; expected nms or soft_nms.")
    frame, column, score = postprocessing(scores, window=config.eval.nms_window, threshold=config.eval.nms_threshold)
    frame = frame * config.data.stride
    if team_mode(config) == "none":
        return Spots(frame, column, None, score)
    return Spots(frame, column // 2, column % 2, score)


def count_clips(config: ml_collections.ConfigDict, num_frames: int) -> int:
    return len(video.clip_starts(num_frames, clip_len=config.data.clip_len, stride=config.data.stride,
                                 overlap=config.eval.overlap))


# ----------------------------------------------------------------------------- evaluation


def _label_file(config) -> str:
    return spotting_format.LABEL_FILE if config.data.dataset == "v2_video" else spotting_format.BALL_LABEL_FILE


def evaluate(config: ml_collections.ConfigDict, workdir: str, predictor, split: str, output_dir: str) -> dict[str, float]:
    """Spots actions in every video of `split`, writes the submission and scores it.

    Writes `<output_dir>/<league>/<season>/<game>/results_spotting.json` per game (with `team` for
    2025) and `<output_dir>.zip` for the challenge server, and for labelled splits
    `<output_dir>/metrics.json` with every official key. Returns the headline numbers: `mAP` (and
    `mAP_no_team` for 2025) for ball data, `a_mAP` for the v2_video pretraining set.
    """
    predictors = list(predictor) if isinstance(predictor, (list, tuple)) else [predictor]
    data = read_split(config, workdir, split)
    names = data.classes
    mode = team_mode(config)
    framerate_of = {v["game"]: v["fps"] for v in data.videos}
    games: dict[str, list[dict]] = {}
    for v in data.videos:
        games.setdefault(v["game"], []).append(v)
    main = jax.process_index() == 0
    labelled = split != "challenge"
    total_clips = sum(count_clips(config, v["num_frames"]) for v in data.videos)
    game_labels, game_predictions = [], []
    with tqdm(total=total_clips, desc=f"spot {split}", unit="clip", disable=not main) as bar:
        for game, parts in games.items():
            fps = framerate_of[game]
            found = {"half": [], "frame": [], "class_index": [], "team": [], "confidence": []}
            for part in parts:
                scores = video_scores(config, predictors, os.path.join(data.video_root, part["video"]),
                                      part["num_frames"], seekable=part["seekable"], progress=bar)
                spots = spot(config, scores)
                found["half"].append(np.full(len(spots.frame), part["half"]))
                found["frame"].append(spots.frame)
                found["class_index"].append(spots.class_index)
                found["team"].append(spots.team if spots.team is not None else np.zeros(0, np.int64))
                found["confidence"].append(spots.confidence)
            found = {k: np.concatenate(v) for k, v in found.items()}
            team = found.pop("team")
            team = team if mode != "none" else None
            if main:
                spotting_format.write_predictions(
                    os.path.join(output_dir, game, spotting_format.PREDICTION_FILE), url_local=game,
                    framerate=fps, classes=names, team=team, **found)
            if labelled:
                game_labels.append(_game_labels(parts, mode, names, _metric_framerate(config)))
                game_predictions.append(_game_predictions(found, team, fps, mode, names, _metric_framerate(config)))
    if main:
        spotting_format.zip_predictions(output_dir, output_dir + ".zip")
    if not labelled:
        logging.info("Split %s has no labels: wrote %s.zip for the challenge server.", split, output_dir)
        return {}
    metric = config.eval.metric
    if mode != "none":
        scores = spotting_metric.team_average_map(game_labels, game_predictions, classes=names,
                                                  framerate=spotting_format.BALL_FRAMERATE, metric=metric)
        results = {"mAP": float(scores["mAP"]), "mAP_no_team": float(scores["mAP_no_team"])}
    else:
        framerate = _metric_framerate(config)
        scores = spotting_metric.average_map(game_labels, game_predictions, framerate=framerate, metric=metric)
        key = "mAP" if config.data.dataset != "v2_video" else "a_mAP"
        results = {key: float(scores["a_mAP"])}
    if main:
        with open(os.path.join(output_dir, "metrics.json"), "w") as f:
            json.dump({"split": split, "metric": metric, "classes": list(names), **scores}, f, indent=2)
    return results


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
        return spotting_metric.TeamEvents(frame, label, team, value)
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
        return spotting_metric.TeamEvents(frame, found["class_index"], team, found["confidence"])
    return spotting_metric.prediction_vectors(found["half"], position, found["class_index"], found["confidence"],
                                              framerate=framerate, num_classes=len(names))


# ----------------------------------------------------------------------------- any video


def predict_video(config: ml_collections.ConfigDict, predictor, path: str, *, progress: bool = True) -> tuple[Spots, float]:
    """Spots actions in a user's video file (any frame rate): returns the spots and the video's fps.

    The model was trained on frames `config.data.stride` apart at 25 fps; a video at another rate
    is read with the stride that gives the same time between frames.
    """
    probe = video.probe_video(path)
    train_rate = spotting_format.BALL_FRAMERATE / config.data.stride
    stride = max(1, round(probe.fps / train_rate))
    if stride != config.data.stride:
        logging.info("%s is %.3g fps: reading every %d-th frame to match training (%.3g fps).",
                     path, probe.fps, stride, train_rate)
    local = config.copy_and_resolve_references()
    with local.unlocked():
        local.data.stride = stride
    with tqdm(total=count_clips(local, probe.num_frames), desc=os.path.basename(path), unit="clip",
              disable=not progress) as bar:
        scores = video_scores(local, [predictor], path, probe.num_frames, seekable=probe.seekable, progress=bar)
    return spot(local, scores), probe.fps


TASK = Task(
    name="ball_spotting",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    evaluate=evaluate,
)
