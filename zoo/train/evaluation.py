"""The one evaluation path every task shares, and the restoring of trained runs for inference.

    records = task.predict_split(config, workdir, models, split, shard)   # each process, its shard
    -> gathered on process 0 -> task.write_submission (official files) -> zip
    -> task.score (labelled splits) -> <output_dir>/metrics.json -> headline numbers on every process

A trained run is restored for inference from its own config.json: its task builds the model,
and only params and model state are read (no optimizer, no data). Ensembles (`config.eval.ensemble`)
and pipeline stages (`config.pipeline.<name>`) are restored the same way.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
from absl import logging

from zoo.errors import UserError
from zoo.train import checkpoint as ckpt
from zoo.train import mesh as mesh_lib
from zoo.train import runs
from zoo.train.multihost import broadcast_from_main, gather_to_main
from zoo.train.step import abstract_variables, compute_dtype, make_predictor
from zoo.train.task import Models, Scores, Shard, Stage, Task

GetTask = Callable[[str], Task]
METRICS_FILE = "metrics.json"


@dataclasses.dataclass(frozen=True)
class Variables:
    """What a predictor binds: a model's params and model state."""

    params: Any
    model_state: Any


def prediction_dir(workdir: str, split: str, step: int | None) -> str:
    """Where one evaluation's submission files go: <workdir>/predictions/<split>_step<N>."""
    name = split if step is None else f"{split}_step{step}"
    return os.path.join(os.path.abspath(workdir), "predictions", name)


def predictor_for(task: Task, config: ml_collections.ConfigDict, variables, mesh, batch_size: int | None = None):
    """A Predictor of `task`'s model as `config` builds it, over `variables`, on `mesh`."""
    model = task.make_model(config)
    dtype = compute_dtype(config.train.precision)
    return make_predictor(model, mesh, batch_size or config.eval.batch_size, dtype=dtype)(variables)


def restore_variables(task: Task, config: ml_collections.ConfigDict, workdir: str, step: int | None, mesh):
    """(Variables, step) of a trained run, placed replicated on `mesh`."""
    model = task.make_model(config)
    params, model_state = abstract_variables(model, task.example_inputs(config))
    sharding = mesh_lib.replicated(mesh)
    place = lambda tree: jax.tree.map(  # noqa: E731
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)
    params, model_state, step = ckpt.restore_variables(workdir, step, place(params), place(model_state))
    return Variables(params, model_state), step


def _run_task(config: ml_collections.ConfigDict, get_task: GetTask, where: str, expected: str | None = None) -> Task:
    task = get_task(config.task)
    if expected is not None and config.task != expected:
        raise UserError(f"{where} is a {config.task} run; an ensemble member must be a {expected} run.")
    if not task.trainable:
        raise UserError(f"{where} is a {config.task} pipeline, not a trained model.")
    return task


def restore_stage(name: str, spec: str, get_task: GetTask, mesh, *, config=None, batch_size=None) -> Stage:
    """A trained run ("workdir" or "workdir:step") as a Stage, with the members of its ensemble.

    config: the config to rebuild the run's model with (default: its saved config.json).
    """
    workdir, step = runs.parse_run(spec)
    what = "config.pipeline." + name if name != "model" else "--workdir"
    config = config if config is not None else runs.require_config(workdir, what)
    task = _run_task(config, get_task, f"{what} {workdir}")
    variables, step = restore_variables(task, config, workdir, step, mesh)
    predictors = [predictor_for(task, config, variables, mesh, batch_size)]
    for member in config.eval.get("ensemble", ()) or ():
        member_workdir, member_step = runs.parse_run(member)
        member_config = runs.require_config(member_workdir, "config.eval.ensemble member")
        _run_task(member_config, get_task, member_workdir, expected=config.task)
        member_variables, _ = restore_variables(task, member_config, member_workdir, member_step, mesh)
        predictors.append(predictor_for(task, member_config, member_variables, mesh,
                                        batch_size or config.eval.batch_size))
    if len(predictors) > 1:
        logging.info("Stage %s: an ensemble of %d runs.", name, len(predictors))
    return Stage(name=name, config=config, workdir=os.path.abspath(workdir), step=step,
                 predictors=tuple(predictors))


def restore_pipeline(config: ml_collections.ConfigDict, task: Task, get_task: GetTask, mesh) -> dict[str, Stage]:
    """The runs named by config.pipeline, each restored from its own config.json."""
    runs.check_pipeline(config, task.stages)
    stages = {}
    for name, spec in sorted(config.get("pipeline", {}).items()):
        if spec:
            stages[name] = restore_stage(name, spec, get_task, mesh)
            logging.info("Pipeline stage %s: %s (%s, step %d).", name, stages[name].workdir,
                         stages[name].config.task, stages[name].step)
    return stages


def _zip_folder(output_dir: str, zip_path: str) -> None:
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in sorted(os.walk(output_dir)):
            for file in sorted(files):
                if file == METRICS_FILE and root == output_dir:
                    continue
                path = os.path.join(root, file)
                archive.write(path, os.path.relpath(path, output_dir))


def write_metrics(output_dir: str, split: str, step: int | None, scores: Scores) -> None:
    document = {"split": split, "step": step, "headline": scores.headline,
                "unavailable": scores.unavailable, **scores.details}
    with open(os.path.join(output_dir, METRICS_FILE), "w") as f:
        json.dump(document, f, indent=2, default=float, allow_nan=True)


def evaluate_split(task: Task, config: ml_collections.ConfigDict, workdir: str, models: Models, split: str,
                   output_dir: str, *, step: int | None = None) -> Scores | None:
    """Predicts `split` (each process its shard), writes the official files and the zip, scores them.

    Returns the Scores on every process (None for a split without labels).
    """
    started = time.time()
    shard = Shard(jax.process_index(), jax.process_count())
    records = task.predict_split(config, workdir, models, split, shard)
    gathered = gather_to_main(records)
    scores = None
    if gathered is not None:
        records = [record for part in gathered for record in part]
        if os.path.isdir(output_dir):  # an earlier evaluation of the same step: no stale files
            shutil.rmtree(output_dir)
        os.makedirs(output_dir)
        task.write_submission(config, records, output_dir)
        (task.zip_submission or _zip_folder)(output_dir, output_dir + ".zip")
        scores = task.score(config, workdir, split, output_dir, records)
        if scores is not None:
            write_metrics(output_dir, split, step, scores)
    scores = broadcast_from_main(scores)
    logging.info("Evaluated %s in %.1f s: %s.zip%s", split, time.time() - started, output_dir,
                 "" if scores is not None else " (no labels: nothing to score)")
    return scores


def evaluate_variables(task: Task, config: ml_collections.ConfigDict, workdir: str, variables, split: str,
                       output_dir: str, *, step: int = 0) -> Scores | None:
    """Evaluates given params and model state (e.g. an untrained model's, for a baseline figure)
    through the same path as a checkpoint."""
    mesh = mesh_lib.local_mesh()
    own = Stage("model", config, workdir, step, (predictor_for(task, config, variables, mesh),))
    return evaluate_split(task, config, workdir, Models(own, {}), split, output_dir, step=step)


def format_scores(scores: Scores) -> list[str]:
    """One line per headline number; a NaN is "n/a" with its reason."""
    lines = []
    for name, value in sorted(scores.headline.items()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            reason = scores.unavailable.get(name, "cannot be computed")
            lines.append(f"  {name:28s} n/a ({reason})")
        else:
            lines.append(f"  {name:28s} {value:.4f}")
    return lines
