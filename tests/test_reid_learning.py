"""Opt-in (ZOO_SLOW_TESTS=1, ~6 min on 2 CPU cores): the synthetic default trains a ReID model
that clearly beats an untrained one, as `python train.py --config configs/reid/osnet_ain.py` does.
"""

from __future__ import annotations

import os

import pytest

from configs.reid import osnet_ain
from zoo.tasks import reid
from zoo.train import mesh as mesh_lib
from zoo.train import train_and_evaluate
from zoo.train.evaluation import evaluate_variables
from zoo.train.optimizer import make_optimizer
from zoo.train.runs import read_config
from zoo.train.step import init_train_state


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_the_synthetic_default_beats_an_untrained_model_by_far(tmp_path):
    workdir = str(tmp_path / "run")
    trained = train_and_evaluate(osnet_ain.get_config(), workdir, reid.TASK).headline
    config = read_config(workdir)  # with the number of identities read from the data
    model = reid.make_model(config)
    state, _ = init_train_state(model, make_optimizer(config, 1), reid.example_inputs(config), config.seed,
                                mesh_lib.make_mesh())
    untrained = evaluate_variables(reid.TASK, config, workdir, state, "test", str(tmp_path / "untrained")).headline
    assert trained["mAP"] > untrained["mAP"] + 0.15, (trained, untrained)
    assert trained["rank-1"] > untrained["rank-1"] + 0.2, (trained, untrained)
