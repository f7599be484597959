"""SoccerNet-v2 action spotting on pre-extracted 2 fps features (17 classes, Average-mAP).

Composes the NetVLAD++ model, the baseline's window training (non-overlapping windows with one
multi-hot label each, background first, binary cross-entropy), sliding-window inference with
per-class NMS, the official `results_spotting.json` writer and the official-parity Average-mAP.

Data: the official tree `<league>/<season>/<game>/{1,2}_<features>.npy + Labels-v2.json` given
by `config.data.manual_dir`, built once into TFDS (array_record) and read through
`tfds.data_source`. With no manual_dir, a synthetic tree in the same layout is written into the
workdir and used instead.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import scipy.special
from absl import logging

from zoo import progress
from zoo.data import tfds_sources
from zoo.data.windows import ArraySource, centred_windows, window_indices
from zoo.formats import spotting as spotting_format
from zoo.metrics import spotting as spotting_metric
from zoo.synthetic import soccernet_v2 as synthetic
import zoo.models
from zoo.errors import ConfigError
from zoo.postprocess.nms import greedy_nms
from zoo.train.task import Models, Scores, Shard, Task, TrainData

DATASET = "soccernet_v2_features"
CLASSES = spotting_format.CLASSES_V2


@dataclasses.dataclass(frozen=True)
class Half:
    """One half of one game, as read from the dataset."""

    game: str  # league/season/game
    half: int  # 1 or 2
    features: np.ndarray  # [frames, dim] float32
    annotations: tuple[spotting_format.Annotation, ...]  # empty for challenge games


# ----------------------------------------------------------------------------- data


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    synthetic_config = config.data.synthetic
    return tfds_sources.prepare_once(
        f"{DATASET}/{config.data.features}",
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=os.path.join(workdir, "synthetic_soccernet_v2"),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_v2,
            games_per_split=synthetic_config.games_per_split.to_dict(),
            feature_kinds=(config.data.features,), half_seconds=synthetic_config.half_seconds,
            events_per_half=synthetic_config.events_per_half, seed=synthetic_config.seed,
        ),
        description="SoccerNet-v2",
        sources=(f"**/{spotting_format.LABEL_FILE}", f"**/[12]_{config.data.features}.npy"),
    )


def _annotations(record: dict) -> tuple[spotting_format.Annotation, ...]:
    found = record["annotations"]
    return tuple(
        spotting_format.Annotation(
            half=int(record["half"]),
            game_time_s=int(game_time_s),
            position_ms=None if int(position_ms) < 0 else int(position_ms),
            label=CLASSES[int(label)],
            visibility="visible" if bool(visible) else "not shown",
            team=team.decode() if isinstance(team, bytes) else str(team),
        )
        for label, position_ms, game_time_s, visible, team in zip(
            found["label"], found["position_ms"], found["game_time_s"], found["visible"], found["team"]
        )
    )


def read_halves(config: ml_collections.ConfigDict, workdir: str, split: str, shard: Shard = Shard()) -> list[Half]:
    """The halves of a split (this shard of them), in dataset order."""
    data_dir = prepare_data(config, workdir)
    source = tfds_sources.data_source(f"{DATASET}/{config.data.features}", split, data_dir=data_dir)
    halves = []
    for index in progress.bar(shard.take(range(len(source))), desc=f"read {split}", unit="half", leave=False):
        record = source[index]
        game = record["game"]
        halves.append(Half(
            game=game.decode() if isinstance(game, bytes) else str(game),
            half=int(record["half"]),
            features=np.asarray(record["features"], np.float32),
            annotations=_annotations(record),
        ))
    return halves


def window_frames(config: ml_collections.ConfigDict) -> int:
    return int(round(config.data.window_seconds * config.data.framerate))


def training_windows(half: Half, *, length: int, framerate: float) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's training examples of one half.

    Non-overlapping windows of `length` frames; each gets a multi-hot target over
    [background, classes...]: an event at frame f marks window f // length with its class and
    clears background.

    Returns: windows [n, length, dim] float32, targets [n, num_classes + 1] float32.
    """
    indices = window_indices(len(half.features), length=length, stride=length)
    targets = np.zeros((len(indices), len(CLASSES) + 1), np.float32)
    targets[:, 0] = 1.0
    for annotation in half.annotations:
        window = annotation.frame(framerate) // length
        if window < len(indices):  # events after the last feature frame have no window
            targets[window, 0] = 0.0
            targets[window, 1 + CLASSES.index(annotation.label)] = 1.0
    return half.features[indices], targets


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    halves = read_halves(config, workdir, config.data.train_split)
    length = window_frames(config)
    windows, targets = zip(*(training_windows(h, length=length, framerate=config.data.framerate) for h in halves))
    windows, targets = np.concatenate(windows), np.concatenate(targets)
    logging.info("%d training windows of %d frames from %d halves; %d with an event.",
                 len(windows), length, len(halves), int((targets[:, 0] == 0).sum()))
    source = ArraySource({"inputs": windows, "targets": targets})
    dataset = (
        grain.MapDataset.source(source)[jax.process_index()::jax.process_count()]
        .seed(config.seed)
        .shuffle()
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    return TrainData(dataset=dataset, num_examples=len(windows))


# ----------------------------------------------------------------------------- model and loss


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.data.features not in spotting_format.FEATURE_KINDS:
        raise ConfigError(f"data.features={config.data.features!r}; expected one of "
                          f"{sorted(spotting_format.FEATURE_KINDS)}.")
    if window_frames(config) < 2:
        raise ConfigError(f"data.window_seconds={config.data.window_seconds} at data.framerate="
                          f"{config.data.framerate} gives a window of fewer than 2 frames.")
    unknown = sorted(set(config.eval.metrics) - set(spotting_metric.METRICS))
    if unknown:
        raise ConfigError(f"eval.metrics: unknown {unknown}; expected some of {list(spotting_metric.METRICS)}.")


def make_model(config: ml_collections.ConfigDict):
    return zoo.models.build(config.model, num_classes=len(CLASSES))


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    dim = spotting_format.FEATURE_KINDS[config.data.features][0]
    return np.zeros((1, window_frames(config), dim), np.float32)


def loss(logits: jax.Array, batch: dict) -> tuple[jax.Array, dict]:
    """Mean binary cross-entropy over examples and the background + class columns (the baseline's)."""
    per_example = optax.sigmoid_binary_cross_entropy(logits, batch["targets"]).mean(axis=-1)
    count = jnp.asarray(per_example.shape[0], jnp.float32)
    return per_example.mean(), {"bce": (per_example.sum(), count)}


# ----------------------------------------------------------------------------- inference and evaluation


@dataclasses.dataclass(frozen=True)
class HalfSpots:
    """The actions spotted in one half (after NMS), with the half's labels for scoring."""

    game: str
    half: int
    frame: np.ndarray  # [N] int64, at the features' frame rate
    class_index: np.ndarray  # [N] int64
    confidence: np.ndarray  # [N] float64
    annotations: tuple[spotting_format.Annotation, ...]


def half_scores(predictors, half: Half, *, length: int, chunk: int = 2048) -> np.ndarray:
    """Class scores of every frame of a half from the window centred on it: [frames, classes].

    With several predictors (an ensemble), their probabilities are averaged.
    """
    scores = []
    for first in range(0, len(half.features), chunk):
        last = min(first + chunk, len(half.features))
        windows = centred_windows(half.features, length, first, last)
        probabilities = [scipy.special.expit(np.asarray(p(windows), np.float64))[:, 1:] for p in predictors]
        scores.append(np.mean(probabilities, axis=0))  # background column dropped
    return np.concatenate(scores)


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                  shard: Shard) -> list[HalfSpots]:
    """Sliding-window scores and per-class NMS on this shard's halves of `split`."""
    length, framerate = window_frames(config), config.data.framerate
    window = config.eval.nms_window_seconds * framerate
    records = []
    for half in progress.bar(read_halves(config, workdir, split, shard), desc=f"spot {split}", unit="half"):
        frame, klass, score = greedy_nms(half_scores(models.predictors, half, length=length), window=window,
                                         threshold=config.eval.nms_threshold)
        records.append(HalfSpots(half.game, half.half, frame, klass, score, half.annotations))
    return records


def _by_game(records: list[HalfSpots]) -> dict[str, list[HalfSpots]]:
    games: dict[str, list[HalfSpots]] = {}
    for record in sorted(records, key=lambda r: (r.game, r.half)):
        games.setdefault(record.game, []).append(record)
    return games


def _game_spots(halves: list[HalfSpots]) -> dict[str, np.ndarray]:
    return {
        "half": np.concatenate([np.full(len(h.frame), h.half) for h in halves]),
        "frame": np.concatenate([h.frame for h in halves]),
        "class_index": np.concatenate([h.class_index for h in halves]),
        "confidence": np.concatenate([h.confidence for h in halves]),
    }


def write_submission(config: ml_collections.ConfigDict, records: list[HalfSpots], output_dir: str) -> None:
    """`<output_dir>/<league>/<season>/<game>/results_spotting.json` for every game."""
    for game, halves in _by_game(records).items():
        spotting_format.write_predictions(
            os.path.join(output_dir, game, spotting_format.PREDICTION_FILE), url_local=game,
            framerate=config.data.framerate, classes=CLASSES, **_game_spots(halves))


def zip_submission(output_dir: str, zip_path: str) -> None:
    spotting_format.zip_predictions(output_dir, zip_path)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[HalfSpots]) -> Scores | None:
    """Average-mAP of what was written, for each metric in `config.eval.metrics` (every official
    key in metrics.json); None for challenge, which ships no labels."""
    if split == "challenge":
        return None
    framerate = config.data.framerate
    game_labels, game_predictions = [], []
    for halves in _by_game(records).values():
        spots = _game_spots(halves)
        annotations = [a for h in halves for a in h.annotations]
        game_labels.append(spotting_metric.label_vectors(annotations, framerate=framerate, classes=CLASSES))
        # Score exactly what was written: positions go through the file's millisecond rounding.
        position_ms = spotting_format.positions_ms(spots["frame"], framerate)
        game_predictions.append(spotting_metric.prediction_vectors(
            spots["half"], position_ms, spots["class_index"], spots["confidence"],
            framerate=framerate, num_classes=len(CLASSES)))
    headline, details = {}, {"classes": list(CLASSES)}
    for metric in config.eval.metrics:
        scores = spotting_metric.average_map(game_labels, game_predictions, framerate=framerate, metric=metric)
        details[metric] = scores
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            headline[f"{key}_{metric}"] = float(scores[key])
    return Scores(headline=headline, details=details)


TASK = Task(
    name="action_spotting",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=lambda config: loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=zip_submission,
    check_config=check_config,
)
