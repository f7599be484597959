"""orbax checkpoints of the train state with the grain iterator state beside it.

Layout: `<workdir>/checkpoints/<step>/{state,dataset}`. orbax writes each checkpoint to a
temporary directory and renames it when complete, so a run killed mid-save leaves the previous
checkpoint intact and the partial one is ignored on restart.
"""

from __future__ import annotations

import os

import grain
import jax
import orbax.checkpoint as ocp
from absl import logging

from zoo.train.state import TrainState

CHECKPOINT_DIR = "checkpoints"


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), CHECKPOINT_DIR)


def make_manager(workdir: str, *, save_every: int, keep: int) -> ocp.CheckpointManager:
    """A manager that saves every `save_every` steps and keeps the latest `keep` checkpoints."""
    return ocp.CheckpointManager(
        checkpoint_dir(workdir),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, save_interval_steps=save_every, create=True,
            enable_async_checkpointing=False,
        ),
    )


def save(manager: ocp.CheckpointManager, step: int, state: TrainState, iterator, *, force: bool = False) -> bool:
    """Saves state and iterator at `step` if the interval says so (or `force`); returns whether."""
    args = {"state": ocp.args.StandardSave(state)}
    if iterator is not None:
        args["dataset"] = grain.checkpoint.CheckpointSave(iterator)
    return manager.save(step, args=ocp.args.Composite(**args), force=force)


def abstract_like(state: TrainState, shardings) -> TrainState:
    """ShapeDtypeStructs carrying the target shardings, for restoring onto this run's mesh."""
    return jax.tree.map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), state, shardings
    )


def restore_latest(manager: ocp.CheckpointManager, state: TrainState, shardings, iterator):
    """Restores the newest checkpoint into (state, iterator); returns (state, step or None)."""
    step = manager.latest_step()
    if step is None:
        return state, None
    args = {"state": ocp.args.StandardRestore(abstract_like(state, shardings))}
    if iterator is not None:
        args["dataset"] = grain.checkpoint.CheckpointRestore(iterator)
    restored = manager.restore(step, args=ocp.args.Composite(**args))
    logging.info("Resumed from %s/%d.", manager.directory, step)
    return restored["state"], step


def _check_params_fit(state_dir: str, metadata, params) -> None:
    """Names the params whose shapes differ (or that one side lacks) before anything is read."""
    tree = getattr(metadata, "item_metadata", metadata)
    tree = getattr(tree, "tree", tree)
    if not isinstance(tree, dict) or "params" not in tree:
        raise ValueError(f"init_from={state_dir!r}: the checkpoint has no 'params'.")
    saved = {jax.tree_util.keystr(k): tuple(v.shape) for k, v in jax.tree_util.tree_leaves_with_path(tree["params"])}
    wanted = {jax.tree_util.keystr(k): tuple(v.shape) for k, v in jax.tree_util.tree_leaves_with_path(params)}
    problems = [f"{name}: checkpoint {saved.get(name, 'missing')}, model {wanted.get(name, 'missing')}"
                for name in sorted(saved.keys() | wanted.keys()) if saved.get(name) != wanted.get(name)]
    if problems:
        raise ValueError(
            f"init_from={state_dir!r}: its params do not fit this model: " + "; ".join(problems[:8])
            + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
        )


def load_params(path: str, state: TrainState, shardings) -> TrainState:
    """Replaces the params of `state` by those of another run's checkpoint (`init_from`).

    `path` is either a run's workdir or checkpoints directory (its newest step is used), or one
    step directory. Only params are read: optimizer state, step and model state stay fresh, so a
    fine-tuning run starts its schedule at step 0. Shapes must match the model of this config.
    """
    path = os.path.abspath(path)
    if os.path.isdir(os.path.join(path, CHECKPOINT_DIR)):
        path = os.path.join(path, CHECKPOINT_DIR)
    state_dir = os.path.join(path, "state")
    if not os.path.isdir(state_dir):
        steps = ocp.utils.checkpoint_steps(path) if os.path.isdir(path) else []
        if not steps:
            raise FileNotFoundError(
                f"init_from={path!r}: no orbax checkpoint there (expected a run's workdir, its "
                f"'{CHECKPOINT_DIR}' folder or one step folder with a 'state' subfolder)."
            )
        state_dir = os.path.join(path, str(max(steps)), "state")
    abstract = abstract_like(state, shardings)
    target = {"params": abstract.params}
    with ocp.PyTreeCheckpointer() as checkpointer:
        _check_params_fit(state_dir, checkpointer.metadata(state_dir), abstract.params)
        try:
            restored = checkpointer.restore(
                state_dir,
                args=ocp.args.PyTreeRestore(
                    item=target,
                    restore_args=ocp.checkpoint_utils.construct_restore_args(target),
                    partial_restore=True,  # params only: optimizer state, step and rng stay fresh
                ),
            )
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"init_from={state_dir!r}: its params do not fit this model: {error}"
            ) from error
    logging.info("Initialised params from %s.", state_dir)
    return state.replace(params=restored["params"])
