"""Opt-in (ZOO_SLOW_TESTS=1, about 30 min on 2 busy CPU cores): on the synthetic default, the
baseline's recipe run as users run it (train the captioner, train the spotter from its encoder,
evaluate the pipeline) gives a METEOR@30 on the test split far above an untrained pipeline's, and
captions the ground-truth times (oracle spots) better still."""

from __future__ import annotations

import os

import pytest

from configs.captioning import netvlad_lstm
from configs.captioning import spotter as spotter_config
from zoo.data import soccernet_caption as caption_data
from zoo.tasks import caption_spotting, captioning, get_task
from zoo.train import evaluation, runs
from zoo.train import mesh as mesh_lib
from zoo.train.loop import evaluate_checkpoint, train_and_evaluate
from zoo.train.optimizer import make_optimizer
from zoo.train.step import init_train_state
from zoo.train.task import Models, Stage


def untrained_predictor(task, config):
    """The predictor of `task`'s model freshly initialised with config.seed."""
    model = task.make_model(config)
    state, _ = init_train_state(model, make_optimizer(config, 1), task.example_inputs(config), config.seed,
                                mesh_lib.make_mesh())
    return evaluation.predictor_for(task, config, state, mesh_lib.local_mesh())


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_the_synthetic_baseline_recipe_captions_far_better_than_an_untrained_pipeline(tmp_path):
    captioner_dir, spotter_dir = str(tmp_path / "captioner"), str(tmp_path / "spotter")
    oracle = train_and_evaluate(netvlad_lstm.get_config(), captioner_dir, captioning.TASK, get_task).headline
    spotter = spotter_config.get_config()
    spotter.init_from = captioner_dir
    spotter.data.manual_dir = caption_data.synthetic_root(captioner_dir)  # the same games, built once
    spotter.data.data_dir = os.path.join(captioner_dir, "tfds")
    spotter.eval.split = ""
    train_and_evaluate(spotter, spotter_dir, caption_spotting.TASK, get_task)
    config = runs.read_config(captioner_dir)
    config.pipeline.spotter = spotter_dir
    trained, _ = evaluate_checkpoint(config, captioner_dir, captioning.TASK, "test", get_task=get_task)

    spotter = runs.read_config(spotter_dir)
    models = Models(own=Stage("model", config, captioner_dir, 0, (untrained_predictor(captioning.TASK, config),)),
                    stages={"spotter": Stage("spotter", spotter, spotter_dir, 0,
                                             (untrained_predictor(caption_spotting.TASK, spotter),))})
    before = evaluation.evaluate_split(captioning.TASK, config, captioner_dir, models, "test",
                                       str(tmp_path / "untrained"))
    config.eval.spots = "oracle"
    before_oracle = evaluation.evaluate_split(captioning.TASK, config, captioner_dir, Models(own=models.own), "test",
                                              str(tmp_path / "untrained_oracle"))
    trained, before = trained.headline, {**before.headline, **before_oracle.headline}
    print({"trained": trained, "oracle": oracle, "untrained": before})
    assert trained["METEOR@30"] > before["METEOR@30"] + 0.2, (trained, before)
    assert oracle["oracle_METEOR@30"] > before["oracle_METEOR@30"] + 0.3, (oracle, before)
    assert oracle["oracle_METEOR@30"] >= trained["METEOR@30"]
