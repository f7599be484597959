"""Opt-in (ZOO_SLOW_TESTS=1, about 30 min on 2 busy CPU cores): on the synthetic default, the
baseline's recipe (captioner, then the spotter from its encoder) gives a pipeline whose METEOR@30
on the test split is far above an untrained pipeline's, and captions the ground-truth times
(oracle spots) better still."""

from __future__ import annotations

import os

import pytest

from configs.captioning import netvlad_lstm
from configs.captioning import spotter as spotter_config
from tests.captioning_runs import derive, renamed_params, train
from zoo.tasks import caption_spotting, captioning
from zoo.train import mesh as mesh_lib
from zoo.train.step import make_predictor
from zoo.train.task import Models, Shard, Stage


def pipeline_scores(config, spotter, workdir, captioner_parts, spotter_parts, output: str) -> dict:
    """Scores of the captioner + spotter on the test split, with spotted and with oracle times."""
    mesh = mesh_lib.make_mesh()
    (model, state), (spotter_model, spotter_state) = captioner_parts, spotter_parts
    models = Models(
        own=Stage("model", config, workdir, 0, (make_predictor(model, mesh, 64)(state),)),
        stages={"spotter": Stage("spotter", spotter, workdir, 0,
                                 (make_predictor(spotter_model, mesh, 256)(spotter_state),))})
    scores = {}
    for spots in ("spotter", "oracle"):
        evaluated = config.copy_and_resolve_references()
        evaluated.eval.spots, evaluated.pipeline.spotter = spots, "spotter"
        records = captioning.TASK.predict_split(evaluated, workdir, models, "test", Shard())
        folder = os.path.join(output, spots)
        captioning.TASK.write_submission(evaluated, records, folder)
        scores.update(captioning.TASK.score(evaluated, workdir, "test", folder, records).headline)
    return scores


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_the_synthetic_baseline_recipe_captions_far_better_than_an_untrained_pipeline(tmp_path):
    workdir = str(tmp_path)
    config = derive(captioning.TASK, netvlad_lstm.get_config(), workdir)
    spotter = spotter_config.get_config()
    mesh = mesh_lib.make_mesh()
    model, state, untrained, _, _ = train(captioning.TASK, config, workdir, mesh, config.train.num_steps,
                                          log_every=100)
    spotter_model, spotter_state, spotter_untrained, _, _ = train(
        caption_spotting.TASK, spotter, workdir, mesh, spotter.train.num_steps,
        initial=renamed_params(state.params, spotter), log_every=100)
    trained = pipeline_scores(config, spotter, workdir, (model, state), (spotter_model, spotter_state),
                              str(tmp_path / "trained"))
    before = pipeline_scores(config, spotter, workdir, (model, untrained), (spotter_model, spotter_untrained),
                             str(tmp_path / "untrained"))
    print({"trained": trained, "untrained": before})
    assert trained["METEOR@30"] > before["METEOR@30"] + 0.2, (trained, before)
    assert trained["oracle_METEOR@30"] > before["oracle_METEOR@30"] + 0.3, (trained, before)
    assert trained["oracle_METEOR@30"] >= trained["METEOR@30"]
