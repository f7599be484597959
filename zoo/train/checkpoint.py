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


def make_manager(workdir: str, *, save_every: int, keep: int, asynchronous: bool = True) -> ocp.CheckpointManager:
    """A manager that saves every `save_every` steps and keeps the latest `keep` checkpoints.

    Asynchronous saves copy the state off the devices and write it in a background thread while
    training goes on; the loop waits only before the next save and at the end
    (`wait_until_finished`). A run killed mid-write still leaves the previous checkpoint intact.
    """
    return ocp.CheckpointManager(
        checkpoint_dir(workdir),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, save_interval_steps=save_every, create=True,
            enable_async_checkpointing=asynchronous,
        ),
    )


def saved_steps(workdir: str) -> list[int]:
    """The steps with a complete checkpoint in a run's workdir (orbax's temporary folders excluded)."""
    folder = checkpoint_dir(workdir)
    return sorted(ocp.utils.checkpoint_steps(folder)) if os.path.isdir(folder) else []


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


def _renamed(saved: dict, rename: Sequence[tuple[str, str]]) -> dict:
    """Saved leaves under new paths: each (regex, replacement) of `rename` is applied in turn to
    the '/'-joined path (`config.init_from_rename`, e.g. (("^encoder/", "backbone/"),))."""
    if not rename:
        return saved
    out = {}
    for key, value in saved.items():
        path = "/".join(key)
        for pattern, replacement in rename:
            path = re.sub(pattern, replacement, path)
        new_key = tuple(path.split("/"))
        if new_key in out:
            raise ValueError(f"init_from_rename maps two checkpoint leaves onto {path!r}.")
        out[new_key] = value
    return out


def _loadable_subtree(
    folder: str, saved: dict, wanted: dict, collection: str, exclude: Sequence[str] = (),
    rename: Sequence[tuple[str, str]] = (),
) -> tuple[dict, dict]:
    """The part of `wanted` (abstract leaves) that the checkpoint holds, checked leaf by leaf.

    Every saved leaf must exist in the model with the same shape: anything else is an error that
    names the leaves. Model leaves the checkpoint lacks (e.g. a new classifier) stay fresh.
    Saved leaves whose '/'-joined path matches a regular expression of `exclude` are not loaded
    (e.g. the class head of a model pretrained on other classes).
    """
    patterns = [re.compile(p) for p in exclude]
    original = {
        k: v for k, v in _flat(saved).items()
        if not any(p.search("/".join(k)) for p in patterns)
    }
    saved = _renamed(original, rename)
    # Where each renamed leaf is read from in the checkpoint.
    source_of = dict(zip(saved, original))
    wanted = _flat(wanted)
    problems = [
        f"{'/'.join(k)}: checkpoint {tuple(v.shape)}, model "
        f"{tuple(wanted[k].shape) if k in wanted else 'missing'}"
        for k, v in sorted(saved.items())
        if k not in wanted or tuple(v.shape) != tuple(wanted[k].shape)
    ]
    if problems:
        raise ValueError(
            f"init_from={folder!r}: its {collection} do not fit this model: " + "; ".join(problems[:8])
            + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
        )
    fresh = sorted("/".join(k) for k in wanted.keys() - saved.keys())
    if fresh:
        logging.warning("init_from: %d %s leaves are not in %s and stay freshly initialised: %s%s",
                        len(fresh), collection, folder, ", ".join(fresh[:6]),
                        " ..." if len(fresh) > 6 else "")
    target = traverse_util.unflatten_dict({source_of[k]: wanted[k] for k in saved}) if saved else {}
    return target, {source_of[k]: k for k in saved}


def _merge(fresh, loaded):
    merged = _flat(fresh)
    merged.update(_flat(loaded))
    return traverse_util.unflatten_dict(merged) if merged else fresh


def state_dir(path: str, step: int | None = None, *, what: str = "init_from") -> tuple[str, int | None]:
    """The orbax `state` folder of a run's workdir, its checkpoints folder or one step folder.

    Returns (folder, step): the newest step unless `step` is given (None for a bare step folder
    such as `zoo.convert` writes).
    """
    path = os.path.abspath(path)
    if os.path.isdir(os.path.join(path, CHECKPOINT_DIR)):
        path = os.path.join(path, CHECKPOINT_DIR)
    if step is None and os.path.isdir(os.path.join(path, "state")):
        return os.path.join(path, "state"), None
    steps = sorted(ocp.utils.checkpoint_steps(path)) if os.path.isdir(path) else []
    if not steps:
        raise FileNotFoundError(
            f"{what}={path!r}: no orbax checkpoint there (expected a run's workdir, its "
            f"'{CHECKPOINT_DIR}' folder or one step folder with a 'state' subfolder).")
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise FileNotFoundError(f"{what}={path!r}: no checkpoint for step {step}; it has steps {steps}.")
    return os.path.join(path, str(step), "state"), step


def _saved_tree(checkpointer, folder: str) -> dict:
    metadata = checkpointer.metadata(folder)
    tree = getattr(metadata, "item_metadata", metadata)
    tree = getattr(tree, "tree", tree)
    if not isinstance(tree, dict) or "params" not in tree:
        raise ValueError(f"{folder}: the checkpoint has no 'params'.")
    return tree


def _restore(checkpointer, folder: str, target: dict) -> dict:
    return checkpointer.restore(folder, args=ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target),
        partial_restore=True))  # the optimizer state, step and rng are not read


def _moved(restored: dict, destination: dict) -> dict:
    """Restored leaves (keyed by checkpoint path) under the model's paths."""
    flat = _flat(restored)
    return traverse_util.unflatten_dict({destination[k]: v for k, v in flat.items()}) if flat else {}


def load_params(path: str, state: TrainState, shardings, exclude: Sequence[str] = (),
                rename: Sequence[tuple[str, str]] = ()) -> TrainState:
    """Initialises `state` from another checkpoint's params and model state (`init_from`).

    `path` is a run's workdir or checkpoints directory (its newest step is used), or one step
    directory (as `zoo.convert` writes for converted PyTorch weights). Params and model state
    (e.g. BatchNorm statistics) found there are loaded; optimizer state and step stay fresh, so a
    fine-tuning run starts its schedule at step 0. Each loaded leaf must fit the model; model
    leaves the checkpoint lacks (a new head) keep their fresh initialisation, with a warning.
    `exclude`: regular expressions of leaf paths ("head/Dense_0/kernel") to leave fresh
    (`config.init_from_exclude`), e.g. a class head pretrained on another class list.
    `rename`: (regex, replacement) pairs applied to the checkpoint's leaf paths before they are
    matched to the model (`config.init_from_rename`), e.g. a captioner's encoder into a spotter.
    """
    folder, _ = state_dir(path)
    abstract = abstract_like(state, shardings)
    with ocp.PyTreeCheckpointer() as checkpointer:
        tree = _saved_tree(checkpointer, folder)
        target, destination = {}, {}
        for collection, wanted in (("params", abstract.params), ("model_state", abstract.model_state)):
            if tree.get(collection):
                target[collection], destination[collection] = _loadable_subtree(
                    folder, tree[collection], wanted, collection.replace("_", " "), exclude, rename)
        restored = _restore(checkpointer, folder, target)
    logging.info("Initialised params%s from %s.", " and model state" if "model_state" in target else "", folder)
    return state.replace(
        params=_merge(state.params, _moved(restored["params"], destination["params"])),
        model_state=_merge(state.model_state, _moved(restored.get("model_state", {}),
                                                     destination.get("model_state", {}))),
    )


def restore_variables(workdir: str, step: int | None, abstract_params, abstract_model_state):
    """A run's params and model state for inference (no optimizer state), onto the shardings of
    the abstract leaves. Every leaf of the model must be in the checkpoint with its shape.

    Returns (params, model_state, step).
    """
    folder, step = state_dir(workdir, step, what="checkpoint")
    with ocp.PyTreeCheckpointer() as checkpointer:
        tree = _saved_tree(checkpointer, folder)
        target = {"params": abstract_params}
        if abstract_model_state:
            target["model_state"] = abstract_model_state
        for collection, wanted in target.items():
            saved, expected = _flat(tree.get(collection, {})), _flat(wanted)
            problems = [f"{'/'.join(k)}: model {tuple(v.shape)}, checkpoint "
                        f"{tuple(saved[k].shape) if k in saved else 'missing'}"
                        for k, v in sorted(expected.items())
                        if k not in saved or tuple(saved[k].shape) != tuple(v.shape)]
            if problems:
                raise ValueError(f"{folder}: the checkpoint does not fit the model its config.json describes: "
                                 + "; ".join(problems[:6]) + (" ..." if len(problems) > 6 else ""))
        restored = _restore(checkpointer, folder, target)
    return restored["params"], restored.get("model_state", {}), step
