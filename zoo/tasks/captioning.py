"""SoccerNet dense video captioning (METEOR@30): the captioner, and the two-stage pipeline that
spots comments and captions each spot (the official baseline's second stage and evaluation).

Training: the captioner (`zoo.models.captioner`, registry name "captioner": NetVLAD++ encoder, LSTM
or Transformer decoder) learns, with teacher forcing and token cross-entropy, to write the
anonymised caption of each ground-truth comment from the window of features centred on its time
(45 s in the baseline). Captions are tokenized as the metric tokenizes them and encoded with the
train split's vocabulary (`zoo.data.caption_vocabulary`), which `derive_config` saves into the
run's config, so inference never needs the dataset.

Evaluation (`config.eval.spots`): the spotter stage (`config.pipeline.spotter`, a run of
`caption_spotting`) spots the comments of each half, the captioner captions a window centred on
each spot (greedy or beam search, jitted), and each game's `results_dense_captioning.json` is
written with gameTime, label "comments", position, half, confidence (the spot's score) and
comment, then zipped and scored with `zoo.metrics.captioning` (METEOR, BLEU, ROUGE-L, CIDEr,
recall, precision; equal to the official evaluator). "oracle" captions the ground-truth times
instead (confidence 1), which measures captioning apart from spotting; its scores are reported as
`oracle_<metric>@<window>`. "auto" (the default) uses the spotter when one is named, else the
oracle times (a captioner is trained before the baseline's spotter exists).

`python evaluate.py --workdir <captioner run> --config.pipeline.spotter=<spotter run>` evaluates
the pipeline; `python -m zoo.predict captioning --checkpoint <captioner run> --spotter <spotter run> --features
1_x.npy 2_x.npy --out results_dense_captioning.json` runs it on one game's features (without
--spotter: the spotter named in the captioner run's config.pipeline.spotter).
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import ml_collections
import numpy as np
from absl import logging

from zoo.data import caption_vocabulary
from zoo.data import soccernet_caption as caption_data
from zoo.data.batches import shuffled_batches
from zoo.data.windows import windows_at
from zoo.errors import ConfigError, UserError
from zoo.formats import captioning as captioning_format
from zoo.formats.features import read_features
from zoo.formats.spotting import FEATURE_KINDS
from zoo.losses.sequence import token_cross_entropy
from zoo.metrics import captioning as captioning_metric
from zoo.models import build as build_model
from zoo.postprocess.window_scores import spots
from zoo.train.task import Models, PredictFile, Scores, Shard, Task, TrainData

SPOT_MODES = ("auto", "spotter", "oracle")


@dataclasses.dataclass(frozen=True)
class GameCaptions:
    """The captions predicted for one game: [n] entries."""

    game: str
    half: np.ndarray  # 1 or 2
    position_ms: np.ndarray  # milliseconds into the half (gameTime gets its whole seconds)
    confidence: np.ndarray  # the spot's score (1 for oracle spots)
    comments: tuple[str, ...]


# ----------------------------------------------------------------------------- training


class CaptionWindows:
    """Random-access training examples: the window centred on each caption, with its tokens.

    Windows are cut when read, from the half features held once in memory (a window per caption
    would repeat each frame a dozen times).
    """

    def __init__(self, features: list[np.ndarray], half: np.ndarray, frame: np.ndarray, ids: np.ndarray,
                 length: int):
        self.features, self.half, self.frame, self.ids, self.length = features, half, frame, ids, length

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict:
        ids = self.ids[index]
        window = windows_at(self.features[self.half[index]], self.frame[index : index + 1], self.length)[0]
        return {"inputs": {"features": window, "tokens": ids[:-1]}, "targets": ids[1:],
                "mask": (ids[1:] != caption_vocabulary.PAD).astype(np.float32)}


def vocabulary(config: ml_collections.ConfigDict) -> caption_vocabulary.Vocabulary:
    return caption_vocabulary.Vocabulary(config.data.vocabulary)


def run_vocabulary(config: ml_collections.ConfigDict, workdir: str) -> tuple[str, ...]:
    """config.data.vocabulary, or before it is derived (the core builds the training data first)
    the dataset's vocabulary of the train captions."""
    words = tuple(config.data.vocabulary)
    if not words:
        words = tuple(caption_data.metadata(config, workdir).get("vocabulary", ()))
        if not words:
            raise UserError(f"The {caption_data.DATASET} dataset of {config.data.features} has no vocabulary: it "
                            "was built without train games.")
    return words


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    halves = caption_data.read_halves(config, workdir, config.data.train_split)
    words = caption_vocabulary.Vocabulary(run_vocabulary(config, workdir))
    fps = caption_data.framerate(config)
    half_index, frames, ids, cut = [], [], [], 0
    for h, half in enumerate(halves):
        for seconds, tokens in zip(half.seconds, half.tokens):
            encoded, was_cut = words.encode(tokens, max_length=config.model.max_length)
            half_index.append(h)
            frames.append(int(seconds) * fps)
            ids.append(encoded)
            cut += was_cut
    if not ids:
        raise UserError(f"The {config.data.train_split!r} split has no caption to train on.")
    ids = np.stack(ids)
    unknown = float(np.mean(ids[ids > caption_vocabulary.END] == caption_vocabulary.UNKNOWN))
    logging.info("%d training captions from %d halves; %.1f%% of their words unknown to the vocabulary of %d; "
                 "%d cut to %d tokens.", len(ids), len(halves), 100 * unknown, len(words), cut,
                 config.model.max_length)
    source = CaptionWindows([h.features for h in halves], np.asarray(half_index), np.asarray(frames), ids,
                            caption_data.window_frames(config))
    dataset = shuffled_batches(source, seed=config.seed, batch_size=batch_size)
    return TrainData(dataset=dataset, num_examples=len(source))


def make_model(config: ml_collections.ConfigDict):
    # Padding, start and unknown are never generated.
    return build_model(config.model, start_token=caption_vocabulary.START, end_token=caption_vocabulary.END,
                       banned_tokens=(caption_vocabulary.PAD, caption_vocabulary.START, caption_vocabulary.UNKNOWN))


def example_inputs(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    return {
        "features": np.zeros((1, caption_data.window_frames(config), caption_data.feature_dim(config)), np.float32),
        "tokens": np.zeros((1, config.model.max_length), np.int32),
    }


def make_loss(config: ml_collections.ConfigDict):
    def loss(logits, batch):
        return token_cross_entropy(logits, batch["targets"], batch["mask"])

    return loss


def derive_config(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """The train split's vocabulary (from the dataset's metadata) and its size."""
    derived = {}
    words = run_vocabulary(config, workdir)
    if not config.data.vocabulary:
        derived["data.vocabulary"] = words
    if not config.model.num_words:
        derived["model.num_words"] = len(words)
    elif config.model.num_words != len(words):
        raise ConfigError(f"config.model.num_words={config.model.num_words} but the vocabulary has {len(words)} "
                          "tokens; leave model.num_words at 0 to derive it.")
    return derived


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.data.features not in FEATURE_KINDS:
        raise ConfigError(f"config.data.features={config.data.features!r}; expected one of {sorted(FEATURE_KINDS)}")
    if caption_data.window_frames(config) < 2:
        raise ConfigError(f"config.data.window_seconds={config.data.window_seconds} is under 2 frames")
    if config.eval.spots not in SPOT_MODES:
        raise ConfigError(f"config.eval.spots={config.eval.spots!r}; expected one of {SPOT_MODES}")
    if config.eval.spots == "spotter" and not config.pipeline.get("spotter"):
        raise ConfigError("config.eval.spots='spotter' needs the spotter run: set config.pipeline.spotter "
                          "(a caption_spotting workdir), or use spots='oracle'")
    if config.model.max_length < 2:
        raise ConfigError(f"config.model.max_length={config.model.max_length}; a caption needs at least 2 tokens")
    if config.model.beam_width < 1 or config.model.length_penalty < 0:
        raise ConfigError("config.model.beam_width must be >= 1 and config.model.length_penalty >= 0")
    for window in config.eval.window_sizes:
        if int(window) != window or window < 0:
            raise ConfigError(f"config.eval.window_sizes holds {window!r}; windows are whole seconds >= 0")


# ----------------------------------------------------------------------------- the pipeline


def spot_mode(config: ml_collections.ConfigDict) -> str:
    """"spotter" or "oracle", resolving "auto" by whether config.pipeline names a spotter run."""
    if config.eval.spots == "auto":
        return "spotter" if config.pipeline.get("spotter") else "oracle"
    return config.eval.spots


def _spotter(config: ml_collections.ConfigDict, models: Models):
    if "spotter" not in models.stages:
        raise UserError("Captioning at spotted times needs the spotter stage: name a caption_spotting run in "
                        "config.pipeline.spotter (or set config.eval.spots='oracle').")
    stage = models.stages["spotter"]
    if stage.config.data.features != config.data.features:
        raise UserError(f"The spotter run {stage.workdir} reads {stage.config.data.features} features but the "
                        f"captioner reads {config.data.features}: both stages must use the same features.")
    return stage


def caption_windows(config: ml_collections.ConfigDict, predictor, features: np.ndarray, frames: np.ndarray
                    ) -> list[str]:
    """The captioner's caption of the window centred on each frame: features [frames, dim]."""
    if not len(frames):
        return []
    outputs = predictor({"features": windows_at(features, frames, caption_data.window_frames(config))})
    words = vocabulary(config)
    return [words.decode(row) for row in np.asarray(outputs["tokens"]).astype(np.int64)]


def caption_half(config: ml_collections.ConfigDict, models: Models, features: np.ndarray,
                 oracle_seconds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Spots (or the oracle's seconds) and captions of one half: (frames, confidences, captions)."""
    fps = caption_data.framerate(config)
    if oracle_seconds is None:
        spotter = _spotter(config, models)  # with its own window, NMS window and threshold
        frames, _, confidence = spots(
            spotter.predictor, features, length=caption_data.window_frames(spotter.config),
            nms_window=spotter.config.eval.nms_window_seconds * fps, threshold=spotter.config.eval.nms_threshold)
    else:
        frames = np.unique(np.asarray(oracle_seconds, np.int64)) * fps  # one caption per labelled second
        confidence = np.ones(len(frames))
    return frames, confidence, caption_windows(config, models.own.predictor, features, frames)


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str, shard: Shard
                  ) -> list[GameCaptions]:
    if len(models.predictors) > 1:
        raise UserError("Captioning does not ensemble runs (config.eval.ensemble must be empty).")
    oracle = spot_mode(config) == "oracle"
    if oracle and split == "challenge":
        raise UserError("The challenge split has no labels, so no oracle spots: name the spotter run in "
                        "config.pipeline.spotter.")
    logging.info("Captioning %s at %s.", split, "the ground-truth times (oracle spots)" if oracle else "spotted times")
    fps = caption_data.framerate(config)
    games = shard.take(caption_data.split_games(config, workdir, split))
    parts: dict[str, list] = {game: [] for game in games}
    for half in caption_data.read_halves(config, workdir, split, games=set(games)):
        parts[half.game].append((half.half, *caption_half(config, models, half.features,
                                                           half.seconds if oracle else None)))
    records = []
    for game, found in parts.items():
        frames = np.concatenate([part[1] for part in found]).astype(np.int64)
        records.append(GameCaptions(
            game=game, half=np.concatenate([np.full(len(part[1]), part[0]) for part in found]),
            position_ms=frames * 1000 // fps, confidence=np.concatenate([part[2] for part in found]),
            comments=tuple(c for part in found for c in part[3])))
    return records


def write_submission(config: ml_collections.ConfigDict, records: list[GameCaptions], output_dir: str) -> None:
    for record in records:
        captioning_format.write_predictions(
            os.path.join(output_dir, record.game, captioning_format.PREDICTION_FILE), url_local=record.game,
            half=record.half, position_ms=record.position_ms, comments=record.comments,
            confidence=record.confidence)


def score(config: ml_collections.ConfigDict, workdir: str, split: str, output_dir: str,
          records: list[GameCaptions]) -> Scores | None:
    """The official metrics of the written files at each of config.eval.window_sizes."""
    if split == "challenge":  # the official challenge split ships no labels
        return None
    prefix = "oracle_" if spot_mode(config) == "oracle" else ""
    games = [r.game for r in records]
    headline, details = {}, {"spots": spot_mode(config)}
    for window in config.eval.window_sizes:
        results = captioning_metric.evaluate(caption_data.labels_root(config, workdir), output_dir, games=games,
                                             window_size=int(window))
        details[f"window_{window}"] = results
        headline.update({f"{prefix}{key}@{window}": value for key, value in results.items()})
    return Scores(headline=headline, details=details)


# ----------------------------------------------------------------------------- one game's features


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", nargs="+", required=True,
                        help="one game's feature files in half order, e.g. 1_baidu_soccer_embeddings.npy "
                             "2_baidu_soccer_embeddings.npy (the kind the captioner was trained on)")
    parser.add_argument("--out", required=True, help=f"the {captioning_format.PREDICTION_FILE} to write")
    parser.add_argument("--spotter", default="",
                        help="the caption_spotting run (workdir[:step]) that spots the comments (default: the "
                             "captioner run's config.pipeline.spotter)")
    parser.add_argument("--game", default="",
                        help="UrlLocal written in the file (default: the last three folders of the features)")


def _check_predict_args(args: argparse.Namespace) -> None:
    """The flags' mistakes, found before any model is restored."""
    if not 1 <= len(args.features) <= 2:
        raise UserError(f"--features takes one file per half (1 or 2), got {len(args.features)}")
    for path in args.features:
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such features file")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UserError(f"--out {args.out}: no such folder {folder}")


def _with_spotter(models: Models, spec: str) -> Models:
    """`models` with the spotter stage restored from `spec` (the captioner is trained before its
    spotter, so the captioner run's saved config rarely names one)."""
    # The pipeline restore of the core, reached from the command line only (zoo.predict).
    from zoo import tasks
    from zoo.train import evaluation
    from zoo.train import mesh as mesh_lib

    stage = evaluation.restore_stage("spotter", spec, tasks.get_task, mesh_lib.local_mesh())
    if stage.config.task != "caption_spotting":
        raise UserError(f"--spotter {spec} is a {stage.config.task} run, not a caption_spotting run.")
    return Models(own=models.own, stages={**models.stages, "spotter": stage})


def _predict_file(config: ml_collections.ConfigDict, models: Models, args: argparse.Namespace) -> str:
    _check_predict_args(args)
    if args.spotter:
        models = _with_spotter(models, args.spotter)
    halves, frames, confidence, comments = [], [], [], []
    for half, path in enumerate(args.features, start=1):
        spotted, scores, captions = caption_half(config, models, read_features(path, kind=config.data.features))
        halves.append(np.full(len(spotted), half))
        frames.append(spotted)
        confidence.append(scores)
        comments.extend(captions)
    game = args.game or "/".join(os.path.abspath(args.features[0]).split(os.sep)[-4:-1])
    frames = np.concatenate(frames).astype(np.int64)
    captioning_format.write_predictions(
        args.out, url_local=game, half=np.concatenate(halves), position_ms=frames * 1000 // caption_data.framerate(config),
        comments=comments, confidence=np.concatenate(confidence))
    return f"{len(comments)} captions over {len(args.features)} half(s) written to {args.out}"


TASK = Task(
    name="captioning",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    zip_submission=lambda output_dir, zip_path: captioning_format.zip_predictions(output_dir, zip_path),
    check_config=check_config,
    derive_config=derive_config,
    stages=("spotter",),
    predict_file=PredictFile(
        add_arguments=_add_arguments, run=_predict_file, check_args=_check_predict_args,
        help="dense captions of one game's feature files (spotter stage + captioner)"),
)
