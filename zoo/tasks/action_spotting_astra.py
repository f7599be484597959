"""The ASTRA family of the action_spotting task: a temporal Transformer head over frame features.

The task selects this family with `config.model.name == "astra"` (`configs/action_spotting/
transformer.py`). Training chunks and balanced mixup: `zoo.data.feature_chunks`; targets and
loss: `zoo.losses.chunk_spotting`; chunk-wise inference with displacement votes and per-class
soft NMS: `zoo.postprocess.chunk_spots`. Spots come at `config.data.output_rate` per second and
are written at that rate; the task scores them as the official evaluator does, at 2 fps.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from zoo import models as model_registry
from zoo import progress
from zoo.data import feature_chunks
from zoo.data.feature_halves import Half, read_halves
from zoo.errors import ConfigError
from zoo.losses import chunk_spotting
from zoo.metrics import spotting as spotting_metric
from zoo.postprocess.chunk_spots import predict_half
from zoo.tasks.action_spotting import HalfSpots
from zoo.train.task import Models, Shard, TrainData


def check_config(config: ml_collections.ConfigDict) -> None:
    feature_chunks.check_config(config)
    unknown = sorted(set(config.eval.metrics) - set(spotting_metric.METRICS))
    if unknown:
        raise ConfigError(f"eval.metrics: unknown {unknown}; expected some of {list(spotting_metric.METRICS)}.")


def make_model(config: ml_collections.ConfigDict):
    return model_registry.build(config.model, **feature_chunks.model_extras(config))


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return feature_chunks.example_inputs(config)


def make_loss(config: ml_collections.ConfigDict):
    return chunk_spotting.make_loss(config)


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    return feature_chunks.make_train_data(config, workdir, batch_size)


def spot_half(config: ml_collections.ConfigDict, predictors, half: Half) -> HalfSpots:
    """The actions of one half (an ensemble's outputs averaged), at the model's output rate."""
    spots = predict_half(config, list(predictors), half)
    return HalfSpots(half.game, half.half, spots.frame, spots.class_index, spots.confidence, half.annotations,
                     spots.framerate)


def predict_split(config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                  shard: Shard) -> list[HalfSpots]:
    """`spot_half` on this shard's halves of `split`."""
    halves = read_halves(config, workdir, split, shard)
    return [spot_half(config, models.predictors, half)
            for half in progress.bar(halves, desc=f"spot {split}", unit="half")]
