"""The CALF family of the action_spotting task: CALF and calibration-aware CALF.

The task selects this family with `config.model.name == "calf"` and calls, with the same config:

  make_model(config), example_inputs(config)       the network and its input shapes
  make_loss(config)                                 context-aware + spotting loss
  make_train_data(config, workdir, batch_size)      the published chunk sampling (TrainData)
  read_halves(config, workdir, split)               a split's halves with their context
  predict_half(config, predictor, half)             chunk-wise inference + NMS -> spots
  predict_split(config, workdir, models, split, shard)   HalfSpots records (merges the patterned /
                                                    fuzzy stages of the action_spotting_merged pipeline)

The task writes and scores the records as for every family (`zoo.tasks.action_spotting`).

Data: plain CALF reads `soccernet_v2_features/<features>`; with a context branch
(`config.model.context`), `soccernet_v2_calibration/<features>`, whose calibrations and player
detections become, per half, players on the pitch (`zoo.geometry.topview`) and from them the
branch's input: top views rendered per chunk ("topview_images"), top-view features of a frozen
ResNet-34 computed once per half and cached in the workdir ("topview_features"), or player
graphs ("player_graph"). With no manual_dir, a synthetic tree (with calibrations and players)
is written into the workdir.

A network spots `config.data.classes`: "all", or the calibration paper's "patterned" / "fuzzy"
subset; the `action_spotting_merged` pipeline (`zoo.tasks.action_spotting_merged`) merges the
spots of the two runs its config names in `config.pipeline.patterned` and `.fuzzy` (`CLASS_STAGES`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from zoo import models as model_registry
from zoo import progress
from zoo.data import tfds_sources
from zoo.data.feature_halves import annotations_of, text
from zoo.data.calf_chunks import ChunkSampler, HalfChunks, cut_frames, event_matrix
from zoo.formats import frame_detections
from zoo.formats import spotting as spotting_format
from zoo.geometry import topview
from zoo.losses import calf as calf_loss
from zoo.models import topview_preprocess
from zoo.models.resnet import resnet
from zoo.postprocess.chunk_spotting import chunk_frames, merge_class_subsets, stitch_spotting
from zoo.postprocess.nms import greedy_nms
from zoo.synthetic import soccernet_v2 as synthetic
from zoo.errors import ConfigError, UserError
from zoo.tasks.action_spotting import HalfSpots
from zoo.train.task import Models, Shard, TrainData

CLASSES = spotting_format.CLASSES_V2
CLASS_STAGES = ("patterned", "fuzzy")  # config.pipeline stages of a merged calibration-aware model


@dataclasses.dataclass(frozen=True)
class Half:
    """One half of a game with what the network reads of it.

    context: None (plain CALF); topview.PlayersOnPitch ("topview_images"); [F, 512] features
    ("topview_features"); (nodes [F, P, 8], positions [F, P, 2], mask [F, P]) ("player_graph").
    """

    game: str
    half: int
    features: np.ndarray
    annotations: tuple[spotting_format.Annotation, ...]
    context: Any = None


# ------------------------------------------------------------------------------------------ config


def classes_of(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    return calf_loss.class_subset(config.data.classes)


def frames(config: ml_collections.ConfigDict, seconds: float) -> int:
    return round(seconds * config.data.framerate)


def chunk_size(config) -> int:
    return frames(config, config.data.chunk_seconds)


def receptive_field(config) -> int:
    return frames(config, config.data.receptive_field_seconds)


def dataset_name(config: ml_collections.ConfigDict) -> str:
    base = "soccernet_v2_features" if config.model.context == "none" else "soccernet_v2_calibration"
    return f"{base}/{config.data.features}"


def check_config(config: ml_collections.ConfigDict) -> None:
    classes_of(config)
    if config.model.context not in ("none", "topview_features", "topview_images", "player_graph"):
        raise ConfigError(f"config.model.context: unknown {config.model.context!r}.")
    if spotting_format.FEATURE_KINDS[config.data.features][1] != config.data.framerate:
        raise ConfigError(f"config.data.framerate {config.data.framerate} is not that of {config.data.features}.")
    if config.model.context != "none" and config.data.framerate != 2:
        raise ConfigError("The calibration and player files are at 2 fps: use 2 fps features.")
    if receptive_field(config) >= chunk_size(config):
        raise ConfigError("config.data.receptive_field_seconds must be shorter than chunk_seconds.")


# -------------------------------------------------------------------------------------------- data


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the dataset once (the synthetic default without manual_dir); returns its data_dir."""
    workdir = os.path.abspath(workdir)
    s = config.data.synthetic
    return tfds_sources.prepare_once(
        dataset_name(config),
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(workdir, "tfds"),
        synthetic_root=os.path.join(workdir, "synthetic_soccernet_v2"),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_v2, games_per_split=s.games_per_split.to_dict(),
            feature_kinds=(config.data.features,), half_seconds=s.half_seconds,
            events_per_half=s.events_per_half, seed=s.seed, with_players=s.with_players,
            set_piece_features=s.set_piece_features),
        description="SoccerNet-v2 (features, calibrations, players)",
        sources=(f"**/{spotting_format.LABEL_FILE}", f"**/[12]_{config.data.features}.npy")
        + (("**/" + frame_detections.CALIBRATION_FILE.format(half="[12]"),
            "**/" + frame_detections.PLAYERS_FILE.format(half="[12]"))
           if config.model.context != "none" else ()),
    )


def players_on_pitch(config: ml_collections.ConfigDict, record: dict) -> topview.PlayersOnPitch:
    """A calibration dataset record -> its players on the pitch (frames of the features)."""
    c, p = record["calibration"], record["players"]
    calibration = frame_detections.HalfCalibration(
        tuple(int(v) for v in c["image_size"]), np.asarray(c["homography"]), np.asarray(c["confidence"]))
    players = frame_detections.HalfPlayers(
        tuple(int(v) for v in p["image_size"]), np.asarray(p["boxes"]), np.asarray(p["colors"]),
        np.asarray(p["scores"]), np.asarray(p["counts"]))
    return topview.players_on_pitch(
        calibration, players, num_frames=len(record["features"]),
        threshold=config.data.calibration_threshold, max_players=config.data.max_players)


def read_halves(config: ml_collections.ConfigDict, workdir: str, split: str) -> list[Half]:
    """Every half of a split, in dataset order, with the context its network reads."""
    data_dir = prepare_data(config, workdir)
    source = tfds_sources.data_source(dataset_name(config), split, data_dir=data_dir)
    halves, dropped = [], 0
    for index in progress.bar(range(len(source)), desc=f"read {split}", unit="half", leave=False):
        record = source[index]
        context = None
        if config.model.context != "none":
            scene = players_on_pitch(config, record)
            dropped += scene.dropped
            if config.model.context == "topview_images":
                context = scene
            elif config.model.context == "player_graph":
                context = topview.graph_nodes(scene, frame_centre=config.data.graph_frame_centre)
            else:
                context = topview_features(config, workdir, text(record["game"]), int(record["half"]), scene)
        halves.append(Half(text(record["game"]), int(record["half"]),
                           np.asarray(record["features"], np.float32), annotations_of(record), context))
    if dropped:
        logging.warning("%s: %d detections left out of frames with more than %d players (config.data.max_players).",
                        split, dropped, config.data.max_players)
    return halves


def _topview_images(config, scene: topview.PlayersOnPitch) -> np.ndarray:
    t = config.data.topview
    return topview.render_topviews(scene, height=t.height, width=t.width, mode=t.mode, player_size=t.player_size)


def topview_features(config: ml_collections.ConfigDict, workdir: str, game: str, half: int,
                     scene: topview.PlayersOnPitch) -> np.ndarray:
    """The frozen ResNet-34 features of a half's top views, [F, 512], cached in the workdir."""
    t = config.data.topview
    settings = json.dumps({k: t[k] for k in sorted(t.keys())}, sort_keys=True)
    weights = t.backbone_weights
    stamp = f"{os.path.getsize(weights)}:{os.path.getmtime(weights)}" if weights and os.path.exists(weights) else ""
    key = hashlib.sha1(f"{settings}|{stamp}|{config.data.calibration_threshold}|{config.data.max_players}".encode())
    path = os.path.join(workdir, "topview_features", key.hexdigest()[:12], game, f"{half}_resnet34.npy")
    if os.path.exists(path):
        features = np.load(path)
        if len(features) == scene.num_frames:
            return features
    extract = _feature_extractor(settings)
    batch = t.extract_batch_size
    chunks = []
    for start in range(0, scene.num_frames, batch):
        images = _topview_images(config, scene.frames(start, start + batch))
        valid = len(images)
        if valid < batch:
            images = np.concatenate([images, np.zeros((batch - valid,) + images.shape[1:], images.dtype)])
        chunks.append(np.asarray(extract(images))[:valid])
    features = np.concatenate(chunks).astype(np.float32)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.npy"  # every process of a multi-host run computes it: write atomically
    np.save(partial, features)
    os.replace(partial, path)
    return features


@functools.lru_cache(maxsize=2)
def _feature_extractor(settings: str):
    """jit(images -> ResNet-34 average pool) with the configured weights (cached per settings)."""
    t = json.loads(settings)
    # torchvision's ResNet-34 trunk; the tiny config has fewer blocks per stage
    network = resnet("resnet34").clone(stage_sizes=tuple(t["backbone_blocks"]))
    if t["backbone_weights"]:
        from zoo.convert.cli import load_torch_checkpoint
        from zoo.convert.torch_resnet import convert_resnet

        conversion = convert_resnet(load_torch_checkpoint(t["backbone_weights"]), depth="resnet34")
        variables = {collection: tree["backbone"] for collection, tree in conversion.variables.items()}
    else:
        logging.warning("config.data.topview.backbone_weights is empty: top-view features come from a "
                        "randomly initialised (seed %d), frozen ResNet-34, not ImageNet weights.", t["backbone_seed"])
        variables = jax.jit(functools.partial(network.init, train=False))(
            jax.random.key(t["backbone_seed"]), jnp.zeros((1, t["crop"], t["crop"], 3)))

    @jax.jit
    def extract(images):
        x = topview_preprocess.preprocess(images, resize=t["resize"], crop=t["crop"])
        return jnp.mean(network.apply(variables, x, train=False), axis=(1, 2))  # the average pool

    return extract


def _graph_inputs(context, index: np.ndarray) -> dict[str, np.ndarray]:
    nodes, positions, mask = context
    return {"graph_nodes": nodes[index], "graph_positions": positions[index], "graph_mask": mask[index]}


def chunk_inputs(config: ml_collections.ConfigDict, half: Half, start: int) -> dict[str, np.ndarray]:
    """The model inputs of frames [start, start + T) of a half (zero-padded past its end)."""
    t = chunk_size(config)
    inputs = {"features": cut_frames(half.features, start, t)}
    context = config.model.context
    if context == "topview_features":
        inputs["topview_features"] = cut_frames(half.context, start, t)
    elif context == "topview_images":
        images = cut_frames(_topview_images(config, half.context.frames(start, start + t)), start=0, length=t)
        inputs["topview_images"] = images.astype(np.float32) / 127.0 - 1.0  # the published scaling
    elif context == "player_graph":
        inputs.update({k: cut_frames(v, 0, t) for k, v in _graph_inputs(half.context, slice(start, start + t)).items()})
    return inputs


def half_inputs(config: ml_collections.ConfigDict, half: Half) -> dict[str, np.ndarray]:
    """The model inputs of every inference chunk of a half: [n, T, ...] each."""
    index = chunk_frames(len(half.features), chunk_size(config), receptive_field(config))
    inputs = {"features": half.features[index]}
    context = config.model.context
    if context == "topview_features":
        inputs["topview_features"] = half.context[index]
    elif context == "topview_images":
        inputs["topview_images"] = _topview_images(config, half.context)[index].astype(np.float32) / 127.0 - 1.0
    elif context == "player_graph":
        inputs.update(_graph_inputs(half.context, index))
    return inputs


def _chunk_half(config, half: Half) -> HalfChunks:
    classes = classes_of(config)
    labelled = [a for a in half.annotations if a.label in classes]
    events = event_matrix([a.frame(config.data.framerate) for a in labelled],
                          [classes.index(a.label) for a in labelled], len(half.features), len(classes))
    return HalfChunks(half.features, events, half)


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    check_config(config)
    halves = read_halves(config, workdir, config.data.train_split)
    sampler = ChunkSampler(
        [_chunk_half(config, h) for h in halves],
        k=calf_loss.k_parameters(classes_of(config), config.data.framerate),
        chunk_size=chunk_size(config), receptive_field=receptive_field(config),
        num_detections=config.model.num_detections,
        inputs_of=lambda chunks, start: chunk_inputs(config, chunks.context, start))
    drawn = [classes_of(config)[c] if c < len(classes_of(config)) else "no action" for c in sampler.drawn_classes]
    logging.info("CALF chunks from %d halves; anchors drawn from: %s.", len(halves), ", ".join(drawn))
    dataset = (
        grain.MapDataset.range(config.data.chunks_per_epoch)
        .repeat()
        .seed(config.seed * 1_000_003 + jax.process_index())
        .random_map(sampler)
        .batch(batch_size, drop_remainder=True)
    )
    return TrainData(dataset=dataset, num_examples=config.data.chunks_per_epoch,
                     read_threads=config.data.read_threads)


# ---------------------------------------------------------------------------------- model and loss


def make_model(config: ml_collections.ConfigDict):
    return model_registry.build(
        config.model, num_classes=len(classes_of(config)), chunk_size=chunk_size(config),
        receptive_field=receptive_field(config))


def example_inputs(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    t = chunk_size(config)
    dim = spotting_format.FEATURE_KINDS[config.data.features][0]
    inputs = {"features": np.zeros((1, t, dim), np.float32)}
    p, v = config.data.max_players, config.data.topview
    if config.model.context == "topview_features":
        inputs["topview_features"] = np.zeros((1, t, 512), np.float32)
    elif config.model.context == "topview_images":
        inputs["topview_images"] = np.zeros((1, t, v.height, v.width, 3), np.float32)
    elif config.model.context == "player_graph":
        inputs.update(graph_nodes=np.zeros((1, t, p, topview.NODE_FEATURES), np.float32),
                      graph_positions=np.zeros((1, t, p, 2), np.float32), graph_mask=np.zeros((1, t, p), bool))
    return inputs


def make_loss(config: ml_collections.ConfigDict):
    k = jnp.asarray(calf_loss.k_parameters(classes_of(config), config.data.framerate))
    weights = config.loss

    def loss_fn(outputs, batch):
        segmentation = calf_loss.context_aware_loss(batch["shifts"], outputs["segmentation"], k)
        spotting = calf_loss.spotting_loss(
            batch["targets"], outputs["spotting"], lambda_coord=weights.lambda_coord, lambda_noobj=weights.lambda_noobj)
        count = jnp.asarray(batch["shifts"].shape[0], jnp.float32)
        loss = weights.segmentation_weight * segmentation + weights.spotting_weight * spotting
        return loss, {"segmentation_loss": (segmentation, count), "spotting_loss": (spotting, count)}

    return loss_fn


# -------------------------------------------------------------------------------------- inference


def predict_half(config: ml_collections.ConfigDict, predictor, half: Half) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame, class_index into the network's classes, confidence) of the spots of one half."""
    return half_spots(config, predictor(half_inputs(config, half))["spotting"], len(half.features))


def half_spots(config: ml_collections.ConfigDict, spotting, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spots (as `predict_half`) from the action vectors [n, N, 2 + C] of a half's inference chunks."""
    scores = stitch_spotting(np.asarray(spotting, np.float64), num_frames, chunk_size(config), receptive_field(config))
    return greedy_nms(scores, window=config.eval.nms_window_seconds * config.data.framerate,
                      threshold=config.eval.nms_threshold)


def spot_half(config: ml_collections.ConfigDict, predictors, half: Half) -> HalfSpots:
    """The spots of one half in the 17 classes' indices (`zoo.features` videos: plain CALF)."""
    if config.model.context != "none":
        raise UserError("a calibration-aware CALF reads calibrations and players: it cannot spot a plain video.")
    frame, klass, score = merge_class_subsets([predict_half(config, predictors[0], half)], [classes_of(config)],
                                              CLASSES)
    return HalfSpots(half.game, half.half, frame, klass, score, half.annotations, config.data.framerate)


def _spot_halves(config, workdir: str, predictor, split: str, shard: Shard) -> dict[tuple[str, int], tuple]:
    """(game, half) -> (spots in the network's classes, the half) of one network, for the games of
    this process's shard (a game's halves stay together, as the merge reads them)."""
    halves = read_halves(config, workdir, split)
    mine = set(shard.take(sorted({h.game for h in halves})))
    return {(h.game, h.half): (predict_half(config, predictor, h), h)
            for h in progress.bar(halves, desc=f"spot {split}", unit="half") if h.game in mine}


def predict_split(
    config: ml_collections.ConfigDict, workdir: str, models: Models, split: str, shard: Shard
) -> list[HalfSpots]:
    """Spots of every half of this process's shard of games.

    A pipeline (`configs/action_spotting/calf_calibration_merged.py`: no model of its own) merges
    the spots of the `config.pipeline.patterned` and `.fuzzy` runs, each read with its own saved
    config; a trained run spots with its own model.
    """
    if models.own is None:
        networks = [(models[name].config, models[name].workdir, models[name].predictor) for name in CLASS_STAGES]
    else:
        networks = [(config, workdir, models.own.predictor)]
    spotted = [(_spot_halves(c, w, p, split, shard), classes_of(c)) for c, w, p in networks]
    records = []
    for key in sorted(spotted[0][0]):
        _, half = spotted[0][0][key]
        frame, klass, score = merge_class_subsets([spots[key][0] for spots, _ in spotted],
                                                  [names for _, names in spotted], CLASSES)
        records.append(HalfSpots(half.game, half.half, frame, klass, score, half.annotations, config.data.framerate))
    return records
