"""orbax checkpoints of the train state with the grain iterator state beside it.

Layout: `<workdir>/checkpoints/<step>/{state,dataset}`. orbax writes each checkpoint to a
temporary directory and renames it when complete, so a run killed mid-save leaves the previous
checkpoint intact and the partial one is ignored on restart.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import grain
import jax
import orbax.checkpoint as ocp
from flax import traverse_util
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


def _flat(tree) -> dict[tuple[str, ...], object]:
    return traverse_util.flatten_dict(dict(tree)) if tree else {}


def _loadable_subtree(
    state_dir: str, saved: dict, wanted: dict, collection: str, exclude: Sequence[str] = ()
) -> dict:
    """The part of `wanted` (abstract leaves) that the checkpoint holds, checked leaf by leaf.

    Every saved leaf must exist in the model with the same shape: anything else is an error that
    names the leaves. Model leaves the checkpoint lacks (e.g. a new classifier) stay fresh.
    Saved leaves whose '/'-joined path matches a regular expression of `exclude` are not loaded
    (e.g. the class head of a model pretrained on other classes).
    """
    patterns = [re.compile(p) for p in exclude]
    saved = {
        k: v for k, v in _flat(saved).items()
        if not any(p.search("/".join(k)) for p in patterns)
    }
    wanted = _flat(wanted)
    problems = [
        f"{'/'.join(k)}: checkpoint {tuple(v.shape)}, model "
        f"{tuple(wanted[k].shape) if k in wanted else 'missing'}"
        for k, v in sorted(saved.items())
        if k not in wanted or tuple(v.shape) != tuple(wanted[k].shape)
    ]
    if problems:
        raise ValueError(
            f"init_from={state_dir!r}: its {collection} do not fit this model: " + "; ".join(problems[:8])
            + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
        )
    fresh = sorted("/".join(k) for k in wanted.keys() - saved.keys())
    if fresh:
        logging.warning("init_from: %d %s leaves are not in %s and stay freshly initialised: %s%s",
                        len(fresh), collection, state_dir, ", ".join(fresh[:6]),
                        " ..." if len(fresh) > 6 else "")
    return traverse_util.unflatten_dict({k: wanted[k] for k in saved})


def _merge(fresh, loaded):
    merged = _flat(fresh)
    merged.update(_flat(loaded))
    return traverse_util.unflatten_dict(merged) if merged else fresh


def load_params(path: str, state: TrainState, shardings, exclude: Sequence[str] = ()) -> TrainState:
    """Initialises `state` from another checkpoint's params and model state (`init_from`).

    `path` is a run's workdir or checkpoints directory (its newest step is used), or one step
    directory (as `zoo.convert` writes for converted PyTorch weights). Params and model state
    (e.g. BatchNorm statistics) found there are loaded; optimizer state and step stay fresh, so a
    fine-tuning run starts its schedule at step 0. Each loaded leaf must fit the model; model
    leaves the checkpoint lacks (a new head) keep their fresh initialisation, with a warning.
    `exclude`: regular expressions of leaf paths ("head/Dense_0/kernel") to leave fresh
    (`config.init_from_exclude`), e.g. a class head pretrained on another class list.
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
    with ocp.PyTreeCheckpointer() as checkpointer:
        metadata = checkpointer.metadata(state_dir)
        tree = getattr(metadata, "item_metadata", metadata)
        tree = getattr(tree, "tree", tree)
        if not isinstance(tree, dict) or "params" not in tree:
            raise ValueError(f"init_from={state_dir!r}: the checkpoint has no 'params'.")
        target = {"params": _loadable_subtree(
            state_dir, tree["params"], abstract.params, "params", exclude)}
        if tree.get("model_state"):
            target["model_state"] = _loadable_subtree(
                state_dir, tree["model_state"], abstract.model_state, "model state", exclude)
        restored = checkpointer.restore(
            state_dir,
            args=ocp.args.PyTreeRestore(
                item=target,
                restore_args=ocp.checkpoint_utils.construct_restore_args(target),
                partial_restore=True,  # optimizer state, step and rng stay fresh
            ),
        )
    logging.info("Initialised params%s from %s.", " and model state" if "model_state" in target else "", state_dir)
    return state.replace(
        params=_merge(state.params, restored["params"]),
        model_state=_merge(state.model_state, restored.get("model_state", {})),
    )
