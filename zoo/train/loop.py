"""The training loop and checkpoint evaluation, shared by every task.

Read top to bottom: mesh -> data -> model and optimizer -> state (fresh, resumed or initialised
from another run) -> jitted step over a checkpointable grain iterator -> logging, checkpoints,
periodic evaluation.
"""

from __future__ import annotations

import json
import os
import time

import grain
import jax
import ml_collections
from absl import logging
from tqdm import tqdm

from zoo.train import checkpoint as ckpt
from zoo.train import mesh as mesh_lib
from zoo.train import metric_writer
from zoo.train.optimizer import current_learning_rate, make_optimizer
from zoo.train.step import abstract_train_state, init_train_state, jit_train_step, make_predictor
from zoo.train.task import Task


def _is_main() -> bool:
    return jax.process_index() == 0


def prediction_dir(workdir: str, split: str, step: int) -> str:
    """Where the official submission files of one evaluation go: <workdir>/predictions/<split>_step<N>."""
    return os.path.join(os.path.abspath(workdir), "predictions", f"{split}_step{step}")


CONFIG_FILE = "config.json"


def save_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Keeps the run's config beside its checkpoints, so ensembles can rebuild its model."""
    if _is_main():
        with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
            f.write(config.to_json_best_effort(indent=2))


def _fresh_state(task: Task, config: ml_collections.ConfigDict, workdir: str, mesh):
    """The model, optimizer, a freshly initialised state and its shardings."""
    model = task.make_model(config, workdir)
    tx = make_optimizer(config, config.train.num_steps)
    state, shardings = init_train_state(model, tx, task.example_inputs(config), config.seed, mesh)
    return model, tx, state, shardings


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, task: Task) -> dict[str, float]:
    """Trains `task` as `config` says, in `workdir`; resumes if `workdir` holds checkpoints.

    Returns the metrics of the final evaluation on `config.eval.split`.
    """
    mesh_lib.maybe_initialize_distributed()
    mesh = mesh_lib.make_mesh()
    os.makedirs(workdir, exist_ok=True)
    per_process_batch = mesh_lib.check_batch_size(config.train.batch_size, mesh)
    num_steps = config.train.num_steps
    logging.info(
        "Task %s on %d device(s) (%s), %d process(es); global batch %d.",
        task.name, mesh.devices.size, jax.devices()[0].platform, jax.process_count(),
        config.train.batch_size,
    )

    save_config(config, workdir)
    data = task.make_train_data(config, workdir, per_process_batch)
    model, tx, state, shardings = _fresh_state(task, config, workdir, mesh)
    read_options = grain.ReadOptions(num_threads=data.read_threads, prefetch_buffer_size=2 * max(data.read_threads, 1))
    iterator = data.dataset.to_iter_dataset(read_options).__iter__()

    manager = ckpt.make_manager(
        workdir, save_every=config.train.checkpoint_every_steps, keep=config.train.keep_checkpoints
    )
    state, resumed_step = ckpt.restore_latest(manager, state, shardings, iterator)
    if resumed_step is None and config.init_from:
        state = ckpt.load_params(config.init_from, state, shardings,
                                 exclude=tuple(config.get("init_from_exclude", ()) or ()))
    start = int(jax.device_get(state.step))
    if start >= num_steps:
        logging.info("The checkpoint is already at step %d of %d: nothing to train.", start, num_steps)

    step_fn = jit_train_step(model, task.make_loss(config), tx, mesh, shardings)
    predictor = make_predictor(model, mesh, config.eval.batch_size)
    writer = metric_writer.MetricWriter(workdir)
    results: dict[str, float] = {}

    def run_evaluation(at_step: int) -> dict[str, float]:
        split = config.eval.split
        out = prediction_dir(workdir, split, at_step)
        found = task.evaluate(config, workdir, predictor(state), split, out)
        writer.write(at_step, found, split=split)
        if found:
            logging.info("Step %d, %s: %s", at_step, split,
                         ", ".join(f"{k} {v:.4f}" for k, v in sorted(found.items())))
        return found

    totals, pending, last_log, last_log_step = None, None, time.time(), start
    examples_per_epoch = max(data.num_examples, 1)
    with tqdm(total=num_steps, initial=start, unit="step", disable=not _is_main(),
              desc=f"train {task.name}", dynamic_ncols=True) as bar:
        for step in range(start, num_steps):
            batch = mesh_lib.global_batch(next(iterator), mesh)
            state, metrics = step_fn(state, batch)
            # Fetch the previous step's metrics while this one runs, so the host never stalls.
            if pending is not None:
                totals = metric_writer.accumulate(totals, jax.device_get(pending))
            pending = metrics
            bar.update(1)
            done = step + 1

            if done % config.train.log_every_steps == 0 or done == num_steps:
                totals = metric_writer.accumulate(totals, jax.device_get(pending))
                pending = None
                scalars = metric_writer.means(totals)
                now = time.time()
                scalars["steps_per_second"] = (done - last_log_step) / max(now - last_log, 1e-9)
                scalars["learning_rate"] = float(
                    current_learning_rate(config, num_steps, state.opt_state, done)
                )
                scalars["epoch"] = done * config.train.batch_size / examples_per_epoch
                writer.write(done, scalars)
                bar.set_postfix(loss=f"{scalars['loss']:.4f}", lr=f"{scalars['learning_rate']:.2e}")
                totals, last_log, last_log_step = None, now, done

            ckpt.save(manager, done, state, iterator, force=done == num_steps)
            if (config.eval.split and config.train.eval_every_steps
                    and done % config.train.eval_every_steps == 0 and done < num_steps):
                run_evaluation(done)

    if manager.latest_step() != int(jax.device_get(state.step)):
        ckpt.save(manager, int(jax.device_get(state.step)), state, iterator, force=True)
    manager.wait_until_finished()
    if config.eval.split:
        results = run_evaluation(int(jax.device_get(state.step)))
    writer.close()
    manager.close()
    return results


def evaluate_checkpoint(
    config: ml_collections.ConfigDict, workdir: str, task: Task, split: str, step: int | None = None
) -> tuple[dict[str, float], str]:
    """Evaluates a run's checkpoint (the newest, or `step`) on `split`.

    With `config.eval.ensemble` naming other runs ("workdir" or "workdir:step"), their models
    (rebuilt from each run's saved config.json) are evaluated together with this one, as the
    task combines them.

    Returns the official metrics (empty for unlabelled splits) and the folder holding the
    submission files.
    """
    mesh_lib.maybe_initialize_distributed()
    mesh = mesh_lib.make_mesh()
    model, state, step = restore_for_inference(task, config, workdir, step, mesh)
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    members = list(config.eval.get("ensemble", ()) or ())
    if members:
        predictor = [predictor]
        for member in members:
            member_workdir, _, member_step = member.partition(":")
            member_config = _member_config(config, member_workdir)
            member_model, member_state, _ = restore_for_inference(
                task, member_config, member_workdir, int(member_step) if member_step else None, mesh)
            predictor.append(make_predictor(member_model, mesh, config.eval.batch_size)(member_state))
        logging.info("Evaluating an ensemble of %d runs: %s", len(predictor), [workdir, *members])
    out = prediction_dir(workdir, split, step)
    found = task.evaluate(config, workdir, predictor, split, out)
    if found:
        writer = metric_writer.MetricWriter(workdir)
        writer.write(step, found, split=f"evaluate_{split}")
        writer.close()
    return found, out


def _member_config(config: ml_collections.ConfigDict, member_workdir: str) -> ml_collections.ConfigDict:
    """An ensemble member's model (and optimizer, to restore its state) come from its own saved
    config; data and evaluation, input size included, from this one."""
    path = os.path.join(member_workdir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Ensemble member {member_workdir!r} has no {CONFIG_FILE}: it must be a workdir of train.py."
        )
    with open(path) as f:
        saved = ml_collections.ConfigDict(json.load(f))
    member = ml_collections.ConfigDict(config.to_dict())
    member.model = saved.model
    member.optimizer = saved.optimizer  # the optimizer state's structure must match its checkpoint
    member.seed = saved.seed
    return member


def restore_for_inference(task: Task, config, workdir: str, step: int | None, mesh):
    """The model, its state and the step, restored from a run's checkpoint (the newest, or `step`)."""
    missing = FileNotFoundError(
        f"No checkpoint in {ckpt.checkpoint_dir(workdir)}: train first "
        f"(python train.py --config ... --workdir {workdir})."
    )
    if not os.path.isdir(ckpt.checkpoint_dir(workdir)):  # checked first: the manager would create it
        raise missing
    model = task.make_model(config, workdir)
    tx = make_optimizer(config, config.train.num_steps)
    # Shapes only: restoring needs no initialised parameters (and OSNet's initialiser takes
    # seconds to compile on a CPU).
    abstract, _ = abstract_train_state(model, tx, task.example_inputs(config), config.seed, mesh)
    manager = ckpt.make_manager(workdir, save_every=1, keep=config.train.keep_checkpoints)
    available = manager.all_steps()
    if not available:
        raise missing
    step = max(available) if step is None else step
    if step not in available:
        raise ValueError(f"No checkpoint for step {step} in {ckpt.checkpoint_dir(workdir)}; have {sorted(available)}.")
    restored = manager.restore(
        step,
        args=ckpt.ocp.args.Composite(state=ckpt.ocp.args.StandardRestore(abstract)),
    )
    manager.close()
    return model, restored["state"], step
