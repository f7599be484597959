"""What the training core needs from a task: the interface, not any task.

The core (`zoo.train`) never imports `zoo.tasks`; the command lines look a task up in the
registry and hand it to `train_and_evaluate`. A task is a small record of functions, not a class
to subclass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import flax.linen as nn
import grain
import jax
import ml_collections

# name -> (sum, count): means are taken only when logging, so padding and sharding never bias them.
Metrics = Mapping[str, tuple[jax.Array, jax.Array]]


class Predictor(Protocol):
    """Runs the model in inference mode over any number of examples, sharded over the devices.

    inputs: array (or pytree of arrays) with a leading example axis of any length N.
    Returns the model outputs for the N examples as numpy arrays, identical on every process.
    """

    def __call__(self, inputs: Any) -> Any: ...


@dataclasses.dataclass(frozen=True)
class TrainData:
    """A task's training input, for this process.

    dataset: a grain MapDataset of per-process batches (each a dict with at least "inputs"),
      already shuffled, repeated and batched with drop_remainder; the core iterates it with a
      checkpointable grain iterator.
    num_examples: examples in the training split (all processes), for logging epochs.
    read_threads: threads that prepare batches ahead of the train step (decoding, augmenting);
      0 reads in the training thread.
    """

    dataset: grain.MapDataset
    num_examples: int
    read_threads: int = 0


@dataclasses.dataclass(frozen=True)
class Task:
    """One SoccerNet task, as the training core sees it.

    make_model: (config, workdir) -> a Flax Linen module called as `module(inputs, train=bool)`.
      The workdir lets a task size its model from the prepared data (e.g. the number of
      training identities).
    example_inputs: config -> model inputs for one example with a leading batch axis of 1
      (zeros are fine): only their shapes and dtypes are used, to initialise or restore a state.
    make_loss: config -> loss function (model outputs, batch) -> (scalar loss to minimise,
      Metrics), which runs inside the jitted train step.
    make_train_data: (config, workdir, per_process_batch_size) -> TrainData. Prepares the data
      (the synthetic default when the config names none) and builds the grain pipeline.
    evaluate: (config, workdir, predictor, split, output_dir) -> {name: float}. Runs inference
      on a split, writes the official submission files under output_dir and returns the
      official metrics (empty for splits without labels, such as challenge). `predictor` is a
      list of predictors when `config.eval.ensemble` names other runs (the first is this run's);
      a task that cannot ensemble raises.
    """

    name: str
    make_model: Callable[[ml_collections.ConfigDict, str], nn.Module]
    example_inputs: Callable[[ml_collections.ConfigDict], Any]
    make_loss: Callable[[ml_collections.ConfigDict], Callable[[Any, Mapping[str, Any]], tuple[jax.Array, Metrics]]]
    make_train_data: Callable[[ml_collections.ConfigDict, str, int], TrainData]
    evaluate: Callable[
        [ml_collections.ConfigDict, str, Predictor | list[Predictor], str, str], dict[str, float]
    ]

