"""Opt-in (ZOO_SLOW_TESTS=1, ~25 s of compilation on 2 CPU cores): the calibration network trains
through the core's step on the task's data and loss, and its predictor's outputs are heatmaps the
task decodes (tiny ResNet-FPN on the tiny synthetic data).

The fast suite checks the parts: the loss and targets (test_calibration_training_parts.py), the
network against PyTorch (test_convert_hrnet.py), and everything after the network
(test_calibration_end_to_end.py)."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

from configs.calibration import resnet_fpn
from zoo.synthetic import calibration as synthetic
from zoo.tasks import calibration as task
from zoo.train import mesh as mesh_lib
from zoo.train.optimizer import make_optimizer
from zoo.train.step import init_train_state, jit_train_step, make_predictor


@pytest.fixture(scope="module")
def fast_compiles():
    """Compile time is most of this module (a few steps of a tiny network): skip XLA's slower
    optimisations here, and only here (nothing else compiles while it is set)."""
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", False)


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_train_steps_and_predictor(tmp_path, fast_compiles, monkeypatch):
    config = resnet_fpn.get_config("tiny")
    config.data.synthetic.images_per_split = {"train": 4}
    workdir = str(tmp_path)

    def no_cameras(config, workdir, split="train"):
        """No camera from the training annotations (the solver is checked elsewhere): every
        image trains its lines only."""
        count = len(task._source(config, workdir, split))
        cameras = synthetic.sample_cameras(np.random.default_rng(0), count)[0]
        return [str(i) for i in range(count)], cameras, np.zeros(count)

    monkeypatch.setattr(task, "target_cameras", no_cameras)
    data = task.TASK.make_train_data(config, workdir, config.train.batch_size)
    mesh = mesh_lib.make_mesh()
    model = task.TASK.make_model(config)
    tx = make_optimizer(config, 10)
    state, shardings = init_train_state(model, tx, task.TASK.example_inputs(config), config.seed, mesh)
    step = jit_train_step(model, task.TASK.make_loss(config), tx, mesh, shardings)
    batch = mesh_lib.global_batch(data.dataset[0], mesh)
    losses = []
    for _ in range(3):  # the same batch: the loss must fall
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss"][0]))
        assert float(metrics["keypoint_loss"][1]) == 0.0  # no trusted keypoint targets
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    outputs = predictor(np.asarray(data.dataset[1]["inputs"]))
    assert outputs["keypoints"].shape == (4, 36, 64, 58) and outputs["lines"].shape == (4, 36, 64, 24)
    np.testing.assert_allclose(outputs["keypoints"].sum(-1), 1.0, rtol=1e-5)
    observations = task.observations_of(config, outputs, task.image_size(config))
    assert observations.point_pixel.shape == (4, 57, 2) and observations.line_pixel.shape == (4, 23 * 8, 2)
