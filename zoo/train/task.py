"""What the training core needs from a task: the interface, not any task.

The core (`zoo.train`) never imports `zoo.tasks`; the command lines look a task up in the
registry and hand it to the core. A task is a small frozen record of functions, not a class to
subclass. `tests/test_task_contract.py` holds a complete 20-line task that serves as the template.

Training: `make_model`, `example_inputs`, `make_loss`, `make_train_data` (None for a pipeline that
is not trained itself, only composed of trained runs).

Evaluation, one path for every task (`zoo.train.evaluation`):
  1. every process calls `predict_split` on its own `Shard` of the split's units (games,
     sequences, tracklets...) and returns picklable records;
  2. the records of all processes are gathered on process 0, which calls `write_submission`
     (the official files under output_dir), zips the folder and, for labelled splits, calls
     `score` on what was written and writes `metrics.json`;
  3. the headline numbers reach every process.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import flax.linen as nn
import grain
import jax
import ml_collections

from zoo.errors import UserError

ConfigDict = ml_collections.ConfigDict
PyTree = Any
# name -> (sum, count): means are taken only when logging, so padding and sharding never bias them.
Metrics = Mapping[str, tuple[jax.Array, jax.Array]]


class Predictor(Protocol):
    """Runs one trained model in inference mode over any number of examples.

    inputs: a pytree of arrays with a leading example axis of any length N (the same structure as
      the task's `example_inputs`).
    Returns the model outputs for the N examples as numpy arrays. It runs on this process's
    devices only, so each process can predict its own shard of a split independently.
    """

    def __call__(self, inputs: PyTree) -> PyTree: ...


@dataclasses.dataclass(frozen=True)
class Stage:
    """One trained run, restored for inference.

    name: "model" for the run being evaluated, else its key in `config.pipeline`.
    config: the run's own saved config (`<workdir>/config.json`, with the sizes derived at
      training time), so its inputs (image size, classes, vocabulary...) are known.
    predictors: the run's model, then the members of its ensemble (`config.eval.ensemble`).
    """

    name: str
    config: ConfigDict
    workdir: str
    step: int
    predictors: tuple[Predictor, ...]

    @property
    def predictor(self) -> Predictor:
        """The run's own model (the first predictor), for tasks that do not ensemble."""
        return self.predictors[0]


@dataclasses.dataclass(frozen=True)
class Models:
    """The trained models a task predicts with.

    own: this run (None for a pipeline config that trains nothing itself).
    stages: the runs named by `config.pipeline` (name -> Stage), e.g. "detector", "reid".
    """

    own: Stage | None
    stages: Mapping[str, Stage] = dataclasses.field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.stages or (name == "model" and self.own is not None)

    def __getitem__(self, name: str) -> Stage:
        if name == "model" and self.own is not None:
            return self.own
        if name not in self.stages:
            raise UserError(f"config.pipeline.{name} is empty: this needs a trained run for it "
                            f"(--config.pipeline.{name}=runs/<its workdir>[:step]).")
        return self.stages[name]

    @property
    def predictors(self) -> tuple[Predictor, ...]:
        """This run's predictors (the run, then its ensemble members)."""
        if self.own is None:
            raise ValueError("This pipeline has no model of its own: use its stages.")
        return self.own.predictors


@dataclasses.dataclass(frozen=True)
class Shard:
    """This process's share of a split: every `count`-th unit from `index` (units in a fixed order)."""

    index: int = 0
    count: int = 1

    def take(self, units: Sequence) -> list:
        return list(units)[self.index :: self.count]


@dataclasses.dataclass(frozen=True)
class Scores:
    """A labelled split's scores.

    headline: name -> number, logged to metrics.jsonl / TensorBoard and printed; NaN where a
      metric cannot be computed (printed as "n/a" with the reason from `unavailable`).
    details: everything the official evaluator returns (per class...), written to metrics.json.
    unavailable: name -> why it is NaN (e.g. "no GOAL in the test games").
    """

    headline: dict[str, float]
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    unavailable: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TrainData:
    """A task's training input, for this process.

    dataset: a grain MapDataset of per-process batches (each a dict with at least "inputs", a
      pytree matching `example_inputs`), already shuffled, repeated and batched with
      drop_remainder; the core iterates it with a checkpointable grain iterator.
    num_examples: examples in the training split (all processes), for logging epochs.
    read_threads: threads that prepare batches ahead of the train step (decoding, augmenting);
      0 reads in the training thread.
    """

    dataset: grain.MapDataset
    num_examples: int
    read_threads: int = 0


@dataclasses.dataclass(frozen=True)
class PredictFile:
    """`python -m zoo.predict <task>` for one of the user's own files (a video, a folder...).

    add_arguments: adds the task's own flags (its inputs and outputs) to its subcommand; the
      core adds `--checkpoint`, `--step` and `--quiet`.
    run: (config, models, args) -> a one-line summary of what was written. `config` is the run's
      saved config; `models` as in `predict_split`.
    help: one line for `--help`.
    check_args: args -> None, raises a UserError for bad inputs (a missing video...) before any
      model is restored, so a mistake costs no wait.
    needs_checkpoint: args -> whether these flags need a trained run; None: always. When it
      says no and `--checkpoint` is not given, `run` gets (None, None, args) (calibration's
      `--lines`: cameras from given lines need no network).
    """

    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[ConfigDict | None, Models | None, argparse.Namespace], str]
    help: str
    check_args: Callable[[argparse.Namespace], None] | None = None
    needs_checkpoint: Callable[[argparse.Namespace], bool] | None = None


def _no_check(config: ConfigDict) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Task:
    """One SoccerNet task (or pipeline stage), as the core sees it.

    Training (None for a pipeline that only composes trained runs):
      make_model: config -> a Flax Linen module called as `module(inputs, train=bool)`. It reads
        only the config: sizes that come from the data are put there by `derive_config`.
      example_inputs: config -> model inputs for one example, leading batch axis of 1 (zeros are
        fine); a pytree for models with several inputs. Only shapes and dtypes are used.
      make_loss: config -> loss function (model outputs, batch) -> (scalar loss, Metrics), run
        inside the jitted train step. Outputs arrive in float32 whatever the compute precision.
      make_train_data: (config, workdir, per_process_batch_size) -> TrainData. Prepares the data
        (the synthetic default when the config names none) and builds the grain pipeline.

    Evaluation:
      predict_split: (config, workdir, models, split, shard) -> records. Inference and
        post-processing of this process's shard of `split`; records are picklable (one per game,
        sequence, image...) and hold everything `write_submission` needs.
      write_submission: (config, records, output_dir) -> None. Writes the official files of all
        records (gathered from every process) under output_dir.
      score: (config, workdir, split, output_dir, records) -> Scores, or None for a split without
        labels (challenge). Scores what was written, with the zoo's official-parity metric.
      zip_submission: (output_dir, zip_path) -> None, the archive the challenge server takes;
        None zips every file under output_dir but metrics.json, with paths relative to it.

    Configuration:
      check_config: config -> None, raises ValueError naming the field; run once at start-up.
      derive_config: (config, workdir) -> {"model.num_classes": 243, ...}: sizes read from the
        prepared data once at training time and saved into the run's config.json, so inference
        never reads the dataset.
      stages: the names `config.pipeline` must give a run for (e.g. ("detector", "reid")).
      predict_file: `python -m zoo.predict <task>`, or None if the task has no such command.
    """

    name: str
    make_model: Callable[[ConfigDict], nn.Module] | None
    example_inputs: Callable[[ConfigDict], PyTree] | None
    make_loss: Callable[[ConfigDict], Callable[[Any, Mapping[str, Any]], tuple[jax.Array, Metrics]]] | None
    make_train_data: Callable[[ConfigDict, str, int], TrainData] | None
    predict_split: Callable[[ConfigDict, str, Models, str, Shard], list]
    write_submission: Callable[[ConfigDict, list, str], None]
    score: Callable[[ConfigDict, str, str, str, list], Scores | None]
    zip_submission: Callable[[str, str], None] | None = None
    check_config: Callable[[ConfigDict], None] = _no_check
    derive_config: Callable[[ConfigDict, str], dict[str, Any]] | None = None
    stages: tuple[str, ...] = ()
    predict_file: PredictFile | None = None

    @property
    def trainable(self) -> bool:
        return self.make_model is not None
