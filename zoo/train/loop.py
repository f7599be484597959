"""The training loop and checkpoint evaluation, shared by every task.

Read top to bottom: mesh -> config checks (this workdir's run, the task's rules) -> data (and the
sizes derived from it) -> model, optimizer, state (fresh, resumed or initialised from another run)
-> config.json -> compiled step over a checkpointable grain iterator -> logging, checkpoints,
periodic evaluation through the one evaluation path (`zoo.train.evaluation`).

The loop stops cleanly: Ctrl-C finishes the current step, saves it and says how to resume; a
non-finite loss stops the run before anything is saved from it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import grain
import jax
import ml_collections
from absl import logging

from zoo import progress
from zoo.data import tfds_sources
from zoo.errors import ConfigError, UserError
from zoo.train import checkpoint as ckpt
from zoo.train import evaluation
from zoo.train import mesh as mesh_lib
from zoo.train import metric_writer, runs
from zoo.train.optimizer import current_learning_rate, make_optimizer
from zoo.train.step import (REMAT, compute_dtype, init_train_state, jit_train_step, make_predictor,
                            parameter_count)
from zoo.train.task import Models, Scores, Stage, Task


class Interrupted(UserError):
    """Ctrl-C: the run stopped at the end of a step, saved, and resumes when rerun."""


class NonFiniteLoss(UserError):
    """The loss became NaN or infinite; nothing from that step on was saved."""


def _is_main() -> bool:
    return jax.process_index() == 0


def check_config(config: ml_collections.ConfigDict, task: Task, mesh) -> None:
    """The core's rules and the task's, once at start-up, each error naming its field."""
    train = config.train
    mesh_lib.check_batch_size(train.batch_size, mesh)
    compute_dtype(train.precision)  # validates the name
    if train.remat not in REMAT:
        raise ConfigError(f"train.remat={train.remat!r}; expected one of {REMAT}.")
    per_device = train.batch_size // mesh.devices.size
    if train.grad_accum_steps < 1 or per_device % train.grad_accum_steps:
        raise ConfigError(
            f"train.grad_accum_steps={train.grad_accum_steps} must divide the batch on each device "
            f"({train.batch_size} over {mesh.devices.size} devices = {per_device}).")
    if train.num_steps < 0:
        raise ConfigError(f"train.num_steps={train.num_steps}; expected 0 (no training) or more.")
    for field in ("log_every_steps", "checkpoint_every_steps", "keep_checkpoints"):
        if train[field] < 1:
            raise ConfigError(f"train.{field}={train[field]}; expected 1 or more.")
    runs.check_pipeline(config, task.stages)
    task.check_config(config)


class _StopRequest:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C stops at once)."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logging.warning("Ctrl-C: stopping after this step and saving it (Ctrl-C again to stop at once).")

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _derive(task: Task, config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Sizes read from the data (e.g. the number of identities), put into the config; a resumed
    run must find the same ones, or its data changed under it."""
    if task.derive_config is None:
        return {}
    derived = dict(task.derive_config(config, workdir))
    saved = runs.read_config(workdir)
    if saved is not None:
        old = runs.flatten(saved)
        changed = {k: (old.get(k), v) for k, v in derived.items() if old.get(k) != v}
        if changed:
            raise runs.RunConflictError(
                f"{workdir}: the data now gives " + ", ".join(f"{k}={v}" for k, (_, v) in changed.items())
                + ", but the run was made with " + ", ".join(f"{k}={o}" for k, (o, _) in changed.items())
                + ". The data changed under the run: use a new --workdir.")
    runs.set_fields(config, derived)
    return derived


def _pipeline(config, task: Task, get_task) -> dict[str, Stage]:
    if not any(config.get("pipeline", {}).values()):
        return {}
    if get_task is None:
        raise ValueError("config.pipeline names runs: pass get_task (zoo.tasks.get_task) to restore them.")
    return evaluation.restore_pipeline(config, task, get_task, mesh_lib.local_mesh())


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, task: Task,
                       get_task: evaluation.GetTask | None = None) -> Scores | None:
    """Trains `task` as `config` says, in `workdir`; resumes if `workdir` holds checkpoints.

    get_task: the task registry (`zoo.tasks.get_task`), needed only for pipeline stages.
    Returns the Scores of the final evaluation on `config.eval.split` (None without labels or
    without an eval split).
    """
    mesh_lib.maybe_initialize_distributed()
    mesh = mesh_lib.make_mesh()
    if not task.trainable:
        raise UserError(f"The {task.name} task is a pipeline of trained runs: run evaluate.py with its "
                        "config, not train.py.")
    check_config(config, task, mesh)
    runs.check_same_run(workdir, config)  # before anything in the workdir changes
    tfds_sources.forget_prepared()  # a run checks its data's sources once, at its start
    per_process_batch = config.train.batch_size // jax.process_count()
    num_steps = config.train.num_steps
    dtype = compute_dtype(config.train.precision)
    logging.info(
        "Task %s on %d device(s) (%s), %d process(es); global batch %d; %s compute%s.",
        task.name, mesh.devices.size, jax.devices()[0].platform, jax.process_count(),
        config.train.batch_size, "bf16" if dtype != jax.numpy.float32 else "fp32",
        f", {config.train.grad_accum_steps} micro-batches per step" if config.train.grad_accum_steps > 1 else "",
    )

    data = task.make_train_data(config, workdir, per_process_batch)
    derived = _derive(task, config, workdir)
    model = task.make_model(config)
    tx = make_optimizer(config, num_steps)
    state, shardings = init_train_state(model, tx, task.example_inputs(config), config.seed, mesh)
    logging.info("Model %s: %s parameters.", type(model).__name__, f"{parameter_count(state.params):,}")
    read_options = grain.ReadOptions(num_threads=data.read_threads,
                                     prefetch_buffer_size=2 * max(data.read_threads, 1))
    iterator = data.dataset.to_iter_dataset(read_options).__iter__()

    manager = ckpt.make_manager(workdir, save_every=config.train.checkpoint_every_steps,
                                keep=config.train.keep_checkpoints,
                                asynchronous=config.train.async_checkpoints)
    writer = None
    try:
        state, resumed_step = ckpt.restore_latest(manager, state, shardings, iterator)
        if resumed_step is None and config.init_from:
            state = ckpt.load_params(config.init_from, state, shardings,
                                     exclude=tuple(config.get("init_from_exclude", ()) or ()),
                                     rename=tuple(tuple(r) for r in config.get("init_from_rename", ()) or ()))
        start = int(jax.device_get(state.step))
        runs.save_config(config, workdir, derived)  # the run has started: this is its config
        writer = metric_writer.MetricWriter(workdir, resume_from=start if resumed_step is not None else None)
        if num_steps == 0 and resumed_step is None:
            # No training: the initial weights (or init_from's) become the run's step-0 checkpoint,
            # so they evaluate, predict and serve as a pipeline stage like any trained run's.
            ckpt.save(manager, 0, state, iterator, force=True)
            logging.info("train.num_steps=0: no training; saved the %s weights as step 0.",
                         f"init_from ({config.init_from})" if config.init_from else "initial")
        elif start >= num_steps:
            logging.info("The checkpoint is already at step %d of %d: nothing to train.", start, num_steps)

        step_fn = jit_train_step(model, task.make_loss(config), tx, mesh, shardings, dtype=dtype,
                                 accumulation=config.train.grad_accum_steps, remat=config.train.remat)
        eval_predictor = make_predictor(model, mesh_lib.local_mesh(), config.eval.batch_size, dtype=dtype)
        stages: dict[str, Stage] | None = None

        def run_evaluation(at_step: int, state) -> Scores | None:
            nonlocal stages
            if stages is None:
                stages = _pipeline(config, task, get_task)
            own = Stage("model", config, workdir, at_step, (eval_predictor(state),))
            split = config.eval.split
            scores = evaluation.evaluate_split(task, config, workdir, Models(own, stages), split,
                                               evaluation.prediction_dir(workdir, split, at_step), step=at_step)
            if scores is not None:
                writer.write(at_step, scores.headline, split=split)
                logging.info("Step %d, %s:\n%s", at_step, split, "\n".join(evaluation.format_scores(scores)))
            return scores

        state = _train(config, workdir, task, state, iterator, step_fn, manager, writer, mesh, start,
                       run_evaluation, examples_per_epoch=max(data.num_examples, 1))
        manager.wait_until_finished()
        return run_evaluation(int(jax.device_get(state.step)), state) if config.eval.split else None
    finally:
        with contextlib.suppress(Exception):  # never hide the error that got us here
            manager.wait_until_finished()
        manager.close()
        if writer is not None:
            writer.close()


def _train(config, workdir, task, state, iterator, step_fn, manager, writer, mesh, start, run_evaluation, *,
           examples_per_epoch):
    """The steps from `start` to `config.train.num_steps`; returns the final state."""
    num_steps = config.train.num_steps
    totals, pending, last_log, last_log_step = None, None, time.time(), start
    last_saved = manager.latest_step()

    def check_finite(metrics, at_step):
        loss = float(metrics["loss"][0])
        if loss != loss or loss in (float("inf"), float("-inf")):
            raise NonFiniteLoss(
                f"The loss is {loss} at step {at_step}: training stopped. Nothing from that step on was "
                f"saved; the newest checkpoint (step {last_saved}) is intact and a rerun resumes from it. "
                "Lower config.optimizer.learning_rate or set config.optimizer.clip_norm.")

    def fetch(metrics, at_step):
        nonlocal totals
        metrics = jax.device_get(metrics)
        check_finite(metrics, at_step)
        totals = metric_writer.accumulate(totals, metrics)

    compiled = None
    with _StopRequest() as stop, progress.bar(total=num_steps, initial=start, unit="step",
                                              desc=f"train {task.name}") as bar:
        for step in range(start, num_steps):
            batch = mesh_lib.global_batch(next(iterator), mesh)
            if compiled is None:
                began = time.time()
                compiled = step_fn.lower(state, batch).compile()
                logging.info("Compiled the train step in %.1f s.", time.time() - began)
                last_log = time.time()
            state, metrics = compiled(state, batch)
            # Fetch the previous step's metrics while this one runs, so the host never stalls.
            if pending is not None:
                fetch(pending, step)
            pending = metrics
            bar.update(1)
            done = step + 1
            save_now = done % config.train.checkpoint_every_steps == 0 or done == num_steps or stop.requested
            if save_now or done % config.train.log_every_steps == 0:
                fetch(pending, done)  # this step's loss is checked before anything is saved from it
                pending = None
            if done % config.train.log_every_steps == 0 or done == num_steps:
                scalars = metric_writer.means(totals)
                now = time.time()
                scalars["steps_per_second"] = (done - last_log_step) / max(now - last_log, 1e-9)
                scalars["learning_rate"] = float(current_learning_rate(config, num_steps, state.opt_state, done))
                scalars["epoch"] = done * config.train.batch_size / examples_per_epoch
                writer.write(done, scalars)
                bar.set_postfix(loss=f"{scalars['loss']:.4f}", lr=f"{scalars['learning_rate']:.2e}")
                totals, last_log, last_log_step = None, now, done
            if save_now:
                ckpt.save(manager, done, state, iterator, force=True)
                last_saved = done
            if stop.requested:
                manager.wait_until_finished()
                raise Interrupted(
                    f"Interrupted at step {done} of {num_steps}; saved it to "
                    f"{ckpt.checkpoint_dir(workdir)}/{done}. Rerun the same command to resume.")
            if (config.eval.split and config.train.eval_every_steps
                    and done % config.train.eval_every_steps == 0 and done < num_steps):
                run_evaluation(done, state)
    return state


def evaluate_checkpoint(config: ml_collections.ConfigDict, workdir: str, task: Task, split: str,
                        step: int | None = None, get_task: evaluation.GetTask | None = None):
    """Evaluates a run's checkpoint (the newest, or `step`) on `split`: evaluate.py's path.

    A trained run predicts with its own model (and `config.eval.ensemble`); a pipeline task with
    the runs of `config.pipeline`, whose workdir then keeps the pipeline's config.json.
    Returns (Scores or None for a split without labels, the folder of the submission files).
    """
    mesh_lib.maybe_initialize_distributed()
    mesh = mesh_lib.local_mesh()
    check_config(config, task, mesh_lib.make_mesh())
    tfds_sources.forget_prepared()
    if task.trainable:
        if not ckpt.saved_steps(workdir):
            raise UserError(f"No checkpoint in {ckpt.checkpoint_dir(workdir)}: train first "
                            f"(python train.py --config ... --workdir {workdir}).")
        own = evaluation.restore_stage("model", workdir if step is None else f"{workdir}:{step}",
                                       get_task or (lambda name: task), mesh, config=config)
        step = own.step
    else:
        own = None
        runs.check_same_run(workdir, config)
    stages = _pipeline(config, task, get_task)
    out = evaluation.prediction_dir(workdir, split, step)
    if task.trainable and stages:
        # A trained run evaluated through other runs (captions on a spotter's spots) keeps the
        # files of its own evaluation at that step: these go beside them, named by the stages.
        out += "".join(f"_{name}-{os.path.basename(os.path.normpath(stage.workdir))}-step{stage.step}"
                       for name, stage in sorted(stages.items()))
    scores = evaluation.evaluate_split(task, config, workdir, Models(own, stages), split, out, step=step)
    if not task.trainable:  # only a pipeline that ran becomes the workdir's history
        runs.save_config(config, workdir, {})
    if scores is not None:
        writer = metric_writer.MetricWriter(workdir)
        writer.write(step or 0, scores.headline, split=f"evaluate_{split}")
        writer.close()
    return scores, out
