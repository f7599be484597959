"""Helpers of the jersey tests: train a stage task for a few steps through the core's public
pieces (init_train_state, jit_train_step, make_predictor) and wrap it as a `Stage`, as the core
will once `train.py` runs the new Task contract."""

from __future__ import annotations

import grain
import jax
import pytest

from zoo.train.mesh import global_batch, make_mesh
from zoo.train.optimizer import make_optimizer
from zoo.train.step import init_train_state, jit_train_step, make_predictor
from zoo.train.task import Stage


def train_stage(task, config, workdir: str, *, steps: int, name: str = "model", tx=None):
    """(Stage with the trained predictor, the list of per-step metrics)."""
    mesh = make_mesh()
    model = task.make_model(config)
    tx = tx or make_optimizer(config, max(steps, 1))
    state, shardings = init_train_state(model, tx, task.example_inputs(config), config.seed, mesh)
    history = []
    if steps:
        train_data = task.make_train_data(config, workdir, config.train.batch_size)
        iterator = iter(train_data.dataset.to_iter_dataset(grain.ReadOptions(num_threads=0)))
        step = jit_train_step(model, task.make_loss(config), tx, mesh, shardings)
        for _ in range(steps):
            state, metrics = step(state, global_batch(next(iterator), mesh))
            history.append(jax.device_get(metrics))
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    return Stage(name=name, config=config, workdir=workdir, step=steps, predictors=(predictor,)), history


@pytest.fixture(autouse=True, scope="module")
def quick_compiles():
    """XLA without most optimisations, for test modules that compile far more than they compute
    (import it into the module)."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)
