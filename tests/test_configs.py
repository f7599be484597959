"""Every config and every variant builds, passes its checks and traces its model: a typo in a GPU
recipe (`baseline`, `pretrain`) fails here, on a CPU, in seconds."""

from __future__ import annotations

import glob
import os

import jax
import pytest

from zoo.cli import load_config_module
from zoo.tasks import get_task
from zoo.train import mesh as mesh_lib
from zoo.train.loop import check_config
from zoo.train.optimizer import make_optimizer
from zoo.train.runs import flatten, set_fields

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Sizes a task derives from its data when a run starts (Task.derive_config), for tracing only.
DERIVED = {"reid": {"model.num_classes": 243},
           "tracking_detector": {"model.num_classes": 5, "data.max_labels": 120},
           "captioning": {"data.vocabulary": ("<pad>", "<s>", "</s>", "<unk>", "goal"), "model.num_words": 5}}


def _config_files():
    return [p for p in sorted(glob.glob(os.path.join(REPO, "configs", "*", "*.py")))
            if os.path.basename(p) not in ("__init__.py", "common.py")]


def _configs():
    for path in _config_files():
        module = load_config_module(path)
        for variant in getattr(module, "VARIANTS", ()):
            yield pytest.param(path, variant, id=f"{os.path.relpath(path, REPO)}:{variant}")


def test_every_config_module_lists_its_variants():
    for path in _config_files():
        assert getattr(load_config_module(path), "VARIANTS", None), f"{path} has no VARIANTS"


@pytest.mark.parametrize(("path", "variant"), list(_configs()))
def test_config_builds_and_traces_its_model(path, variant):
    config = load_config_module(path).get_config(variant)
    task = get_task(config.task)
    given = flatten(config)
    set_fields(config, {k: v for k, v in DERIVED.get(config.task, {}).items() if not given[k]})  # as derive_config
    mesh = jax.make_mesh((1,), (mesh_lib.DATA_AXIS,), axis_types=(jax.sharding.AxisType.Auto,),
                         devices=jax.devices()[:1])
    check_config(config, task, mesh)
    if not task.trainable:
        return
    make_optimizer(config, config.train.num_steps)
    task.make_loss(config)
    model = task.make_model(config)
    inputs = task.example_inputs(config)
    variables = jax.eval_shape(lambda: model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                                                  inputs, train=False))
    assert jax.tree.leaves(variables["params"])
