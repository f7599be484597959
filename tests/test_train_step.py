"""The shared train step: data parallelism over 4 devices equals 1 device; donation; sharding."""

import jax
import ml_collections
import numpy as np
import pytest

from configs.action_spotting import netvlad_pp
from zoo.tasks import action_spotting
from zoo.train import mesh as mesh_lib
from zoo.train.optimizer import make_optimizer
from zoo.train.step import init_train_state, jit_train_step, make_predictor


def _config() -> ml_collections.ConfigDict:
    config = netvlad_pp.get_config("tiny")
    config.optimizer.clip_norm = 1.0
    return config


def _batches(num: int, batch: int, config) -> list[dict]:
    rng = np.random.default_rng(0)
    shape = action_spotting.example_inputs(config).shape[1:]
    out = []
    for _ in range(num):
        targets = (rng.random((batch, 18)) < 0.1).astype(np.float32)
        out.append({"inputs": rng.normal(size=(batch, *shape)).astype(np.float32), "targets": targets})
    return out


def _train(num_devices: int, batches, config):
    mesh = mesh_lib.make_mesh(num_devices)
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, num_steps=len(batches))
    state, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    step = jit_train_step(model, action_spotting.loss, tx, mesh, shardings)
    losses = []
    for batch in batches:
        state, metrics = step(state, mesh_lib.global_batch(batch, mesh))
        losses.append(float(metrics["loss"][0]))
    return state, losses


def test_four_devices_train_like_one():
    assert jax.device_count() == 4, "conftest.py should simulate 4 CPU devices"
    config = _config()
    batches = _batches(3, 8, config)
    state1, losses1 = _train(1, batches, config)
    state4, losses4 = _train(4, batches, config)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    assert losses1[-1] != losses1[0]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), state1.params, state4.params)
    assert int(state4.step) == 3


def test_batch_is_sharded_and_state_replicated():
    config = _config()
    mesh = mesh_lib.make_mesh(4)
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, num_steps=1)
    state, shardings = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    batch = mesh_lib.global_batch(_batches(1, 8, config)[0], mesh)
    assert len(batch["inputs"].addressable_shards) == 4
    assert batch["inputs"].addressable_shards[0].data.shape[0] == 2
    kernel = state.params["classifier"]["kernel"]
    assert kernel.sharding.is_fully_replicated
    step = jit_train_step(model, action_spotting.loss, tx, mesh, shardings)
    old_kernel = state.params["classifier"]["kernel"]
    state, _ = step(state, batch)
    assert old_kernel.is_deleted(), "the train state should be donated"
    assert state.params["classifier"]["kernel"].sharding.is_fully_replicated


def test_batch_size_must_split_over_devices():
    with pytest.raises(ValueError, match="multiple of 4"):
        mesh_lib.check_batch_size(10, mesh_lib.make_mesh(4))


def test_predictor_handles_any_length_and_matches_apply():
    config = _config()
    mesh = mesh_lib.make_mesh(4)
    model = action_spotting.make_model(config)
    tx = make_optimizer(config, num_steps=1)
    state, _ = init_train_state(model, tx, action_spotting.example_inputs(config), 0, mesh)
    inputs = _batches(1, 13, config)[0]["inputs"]  # 13: not a multiple of the batch or devices
    predict = make_predictor(model, mesh, batch_size=8)(state)
    out = predict(inputs)
    assert out.shape == (13, 18)
    expected = model.apply({"params": jax.device_get(state.params)}, inputs, train=False)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
