"""The Task contract and pipelines, on the fake task of tests/fake_task.py (the template for new
tasks): train.py's and evaluate.py's paths, zoo.predict, shards, and a pipeline whose stage is
another run."""

from __future__ import annotations

import argparse
import json
import os
import zipfile

import numpy as np
import pytest

from tests import fake_task
from zoo import predict
from zoo.errors import ConfigError, UserError
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train.runs import read_config
from zoo.train.task import Models, Shard, Stage


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("regression"))
    config = fake_task.get_config()
    config.train.eval_every_steps = 20  # evaluations during training too
    scores = train_and_evaluate(config, workdir, fake_task.TASK, fake_task.TASKS.get)
    return workdir, scores


def test_a_task_trains_evaluates_and_writes_its_files_through_the_core(run):
    workdir, scores = run
    assert scores.headline["mse"] < 0.05
    out = os.path.join(workdir, "predictions", "test_step60")
    with zipfile.ZipFile(out + ".zip") as archive:
        assert archive.namelist() == ["predictions.json"]  # metrics.json stays out of the submission
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["headline"] == scores.headline and metrics["step"] == 60
    assert read_config(workdir).task == "regression"
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [r["step"] for r in rows if r["split"] == "train"] == [20, 40, 60]
    tests = [r for r in rows if r["split"] == "test"]
    assert [r["step"] for r in tests] == [20, 40, 60] and tests[0]["mse"] > tests[-1]["mse"]


def test_evaluate_uses_the_saved_config_and_gives_the_same_scores(run):
    workdir, scores = run
    again, out = evaluate_checkpoint(read_config(workdir), workdir, fake_task.TASK, "test",
                                     get_task=fake_task.TASKS.get)
    assert again.headline == scores.headline
    earlier, _ = evaluate_checkpoint(read_config(workdir), workdir, fake_task.TASK, "test", step=20,
                                     get_task=fake_task.TASKS.get)
    assert earlier.headline["mse"] > scores.headline["mse"]
    challenge, out = evaluate_checkpoint(read_config(workdir), workdir, fake_task.TASK, "challenge",
                                         get_task=fake_task.TASKS.get)
    assert challenge is None and os.path.isfile(out + ".zip")


def test_a_pipeline_predicts_with_the_run_its_config_names(run, tmp_path):
    workdir, scores = run
    config = fake_task.get_config("regression_pipeline")
    config.pipeline.regressor = f"{workdir}:60"
    pipeline_dir = str(tmp_path / "pipeline")
    found, out = evaluate_checkpoint(config, pipeline_dir, fake_task.PIPELINE, "test", get_task=fake_task.TASKS.get)
    assert found.headline == scores.headline
    assert read_config(pipeline_dir).pipeline.regressor == f"{workdir}:60"  # the pipeline's own history

    config.pipeline.regressor = ""
    with pytest.raises(UserError, match="config.pipeline.regressor is empty"):
        evaluate_checkpoint(config, str(tmp_path / "empty"), fake_task.PIPELINE, "test", get_task=fake_task.TASKS.get)
    assert not os.path.exists(tmp_path / "empty" / "config.json")  # a pipeline that never ran is no history
    with pytest.raises(ConfigError, match="does not use"):
        config.pipeline.detector = workdir
        evaluate_checkpoint(config, str(tmp_path / "other"), fake_task.PIPELINE, "test", get_task=fake_task.TASKS.get)
    with pytest.raises(UserError, match="pipeline of trained runs"):
        train_and_evaluate(fake_task.get_config("regression_pipeline"), str(tmp_path / "x"), fake_task.PIPELINE)


def test_zoo_predict_runs_a_run_or_a_pipeline_through_its_task(run, tmp_path):
    workdir, _ = run
    args = argparse.Namespace(task="regression", checkpoint=workdir, step=None, x="1,1,1", quiet=True)
    line = predict.run(args, fake_task.TASKS.get, fake_task.TASKS)
    assert float(line.split("=")[1].split()[0]) == pytest.approx(6.0, abs=0.2) and "step 60" in line

    config = fake_task.get_config("regression_pipeline")
    config.pipeline.regressor = workdir
    pipeline_dir = str(tmp_path / "pipeline")
    evaluate_checkpoint(config, pipeline_dir, fake_task.PIPELINE, "test", get_task=fake_task.TASKS.get)
    args = argparse.Namespace(task="regression_pipeline", checkpoint=pipeline_dir, step=None, x="0,0,1", quiet=True)
    assert float(predict.run(args, fake_task.TASKS.get, fake_task.TASKS).split("=")[1].split()[0]) == \
        pytest.approx(3.0, abs=0.2)

    wrong = argparse.Namespace(task="regression_pipeline", checkpoint=workdir, step=None, x="0,0,1", quiet=True)
    with pytest.raises(UserError, match="is a regression run, not regression_pipeline"):
        predict.run(wrong, fake_task.TASKS.get, fake_task.TASKS)
    parser = predict.build_parser(fake_task.TASKS)
    assert "Tasks that can predict: regression, regression_pipeline" in parser.format_help()


def test_shards_of_a_split_cover_it_once():
    predictor = lambda inputs: {"y": inputs["x"].sum(-1)}  # noqa: E731
    models = Models(Stage("model", fake_task.get_config(), "", 0, (predictor,)))
    parts = [fake_task.predict_split(None, "", models, "test", Shard(i, 3)) for i in range(3)]
    units = sorted(unit for part in parts for unit, _ in part)
    assert units == list(range(len(fake_task.TEST_X)))
    assert [len(p) for p in parts] == [4, 3, 3]
    np.testing.assert_allclose(dict(x for p in parts for x in p)[2], fake_task.TEST_X[2].sum(), rtol=1e-6)
