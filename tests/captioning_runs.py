"""Training the two dense-captioning stages through their task functions, for the end-to-end and
learning tests: the core's train step on the task's data, and the baseline's encoder transfer
(what `init_from` with `init_from_rename` / `init_from_exclude` does in the core)."""

from __future__ import annotations

import re

import grain
import jax
import ml_collections
from flax import traverse_util

from zoo.train import mesh as mesh_lib
from zoo.train.optimizer import make_optimizer
from zoo.train.step import init_train_state, jit_train_step


def derive(task, config: ml_collections.ConfigDict, workdir: str) -> ml_collections.ConfigDict:
    """The config with the task's derived fields filled (as the core saves them into config.json)."""
    config.update_from_flattened_dict(task.derive_config(config, workdir))
    return config


def renamed_params(params, config: ml_collections.ConfigDict) -> dict:
    """'/'-joined paths of `params` that config.init_from_exclude keeps, renamed by
    config.init_from_rename -> values."""
    renamed = {}
    for path, value in traverse_util.flatten_dict(jax.device_get(params), sep="/").items():
        if any(re.search(pattern, path) for pattern in config.init_from_exclude):
            continue
        for pattern, replacement in config.init_from_rename:
            path = re.sub(pattern, replacement, path)
        renamed[path] = value
    return renamed


def train(task, config, workdir: str, mesh, steps: int, *, initial: dict | None = None, log_every: int = 0):
    """`steps` train steps of `task` from a fresh state (params in `initial`, '/'-joined paths, replaced).

    Returns (model, trained state, the freshly initialised state (before `initial` and training),
    the last step's metrics as means, the first batch).
    """
    model = task.make_model(config)
    tx = make_optimizer(config, steps)
    state, shardings = init_train_state(model, tx, task.example_inputs(config), config.seed, mesh)
    untrained = jax.tree.map(lambda x: x.copy(), state)  # the train step donates (consumes) its state
    if initial is not None:
        flat = traverse_util.flatten_dict(jax.device_get(state.params), sep="/")
        if not set(initial) <= set(flat):
            raise ValueError(f"no such params in the model: {sorted(set(initial) - set(flat))}")
        flat.update(initial)
        state = state.replace(params=jax.device_put(traverse_util.unflatten_dict(flat, sep="/"), shardings.params))
    step = jit_train_step(model, task.make_loss(config), tx, mesh, shardings)
    data = task.make_train_data(config, workdir, config.train.batch_size)
    batches = iter(data.dataset.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=2)))
    first = None
    for i in range(steps):
        batch = jax.tree.map(lambda x: jax.make_array_from_process_local_data(mesh_lib.batch_sharded(mesh), x),
                             next(batches))
        first = batch if first is None else first
        state, metrics = step(state, batch)
        if log_every and (i + 1) % log_every == 0:
            print(task.name, i + 1, {k: round(float(s / c), 4) for k, (s, c) in metrics.items()}, flush=True)
    return model, state, untrained, {k: float(s / c) for k, (s, c) in metrics.items()}, first
