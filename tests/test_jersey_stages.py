"""Opt-in (ZOO_SLOW_TESTS=1; about 3 CPU-minutes): every jersey stage on the tiny synthetic default
trains through `train_and_evaluate` and is scored on `valid`; the full pipeline (pose crops,
legibility filter, PARSeq) reads the test split batched across tracklets and writes the official
submission (valid, scored by the official evaluator as the zoo scores it); its ablation switches
run; pseudo-labels are written and trained on; `zoo.predict jersey` reads a folder of crops the
generator did not write. tests/test_jersey_end_to_end.py is the fast subset (one CTC stage, the
upper-body crop, through the same core)."""

from __future__ import annotations

import argparse
import os

import cv2
import numpy as np
import pytest

from configs.jersey import crnn as crnn_config
from configs.jersey import legibility as legibility_config
from configs.jersey import parseq as parseq_config
from configs.jersey import pipeline as pipeline_config
from configs.jersey import pose as pose_config
from configs.jersey import pseudo_labels as pseudo_config
from tests.jersey_support import SLOW, user_folder
from zoo.data import jersey_tracklets
from zoo.errors import UserError
from zoo.formats import jersey as formats
from zoo.formats.errors import FileFormatError
from zoo.formats.validate import validate
from zoo.tasks import get_task
from zoo.tasks import jersey as jersey_task
from zoo.train import mesh as mesh_lib
from zoo.train import train_and_evaluate
from zoo.train.evaluation import restore_stage
from zoo.train.task import Models, Shard

pytestmark = SLOW


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny stage runs sharing one synthetic tree (the pose run writes it, as the default does),
    trained and scored on `valid` by the core, restored as pipeline stages."""
    root = tmp_path_factory.mktemp("jersey_runs")
    stages, scores = {}, {}
    pose_workdir = str(root / "pose")
    for name, module in (("pose", pose_config), ("legibility", legibility_config),
                         ("recogniser", parseq_config), ("crnn", crnn_config)):
        config = module.get_config("tiny")
        if name != "pose":  # the tree and dataset the pose run wrote
            config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
            config.data.data_dir = os.path.join(pose_workdir, "tfds")
        scores[name] = train_and_evaluate(config, str(root / name), get_task(config.task))
        stages[name] = restore_stage(name, str(root / name), get_task, mesh_lib.local_mesh())
    return root, pose_workdir, stages, scores


def _pipeline_config(pose_workdir, variant_updates=(), recogniser="recogniser"):
    """The tiny pipeline config over the runs' data; the runs themselves are handed to the task
    as `Models` (the core restores them from these names)."""
    config = pipeline_config.get_config("tiny")
    config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
    config.data.data_dir = os.path.join(pose_workdir, "tfds")
    root = os.path.dirname(pose_workdir)
    for stage, run in (("pose", "pose"), ("legibility", "legibility"), ("recogniser", recogniser)):
        config.pipeline[stage] = os.path.join(root, run)
    config.eval.min_confidence = 0.01  # an untrained recogniser is unsure: let numbers through
    for key, value in variant_updates:
        config.eval[key] = value
    get_task("jersey").check_config(config)
    return config


def test_stages_train_and_score(runs):
    root, _, stages, scores = runs
    for name, found in scores.items():
        assert found is not None and all(np.isfinite(v) or np.isnan(v) for v in found.headline.values()), name
        assert os.listdir(os.path.join(root, name, "predictions", "valid_step2")), name
    assert {"pck@0.1", "torso_iou"} <= set(scores["pose"].headline) and "auc" in scores["legibility"].headline
    for name in ("recogniser", "crnn"):  # exact number probabilities: texts are disjoint events
        config = stages[name].config
        read = stages[name].predictor({"images": np.zeros((2, *config.data.crop_size, 3), np.float32),
                                       "tokens": np.zeros((2, 4), np.int32)})
        assert read["number_log_probs"].shape == (2, 100)
        assert np.all(np.exp(read["number_log_probs"]).sum(-1) <= 1 + 1e-5)


def test_pipeline_writes_a_valid_submission_scored_as_the_official_evaluator(runs, tmp_path):
    official = pytest.importorskip("SoccerNet.Evaluation.JerseyNumber")
    _, pose_workdir, stages, _ = runs
    config = _pipeline_config(pose_workdir)
    task = get_task("jersey")
    without_legibility = Models(own=None, stages={k: stages[k] for k in ("pose", "recogniser")})
    with pytest.raises(UserError, match="config.pipeline.legibility is empty"):
        task.predict_split(config, pose_workdir, without_legibility, "test", Shard())
    no_filter = _pipeline_config(pose_workdir, (("use_legibility", False),))
    jersey_task.check_models(no_filter, without_legibility)  # the no-filter ablation needs no legibility run
    models = Models(own=None, stages={k: stages[k] for k in ("pose", "legibility", "recogniser")})
    # two processes' shards, gathered, give every tracklet once
    records = [r for i in range(2) for r in task.predict_split(config, pose_workdir, models, "test", Shard(i, 2))]
    truth_file = os.path.join(jersey_tracklets.synthetic_root(pose_workdir), "test", "test_gt.json")
    truth = formats.read_groundtruth(truth_file)
    assert sorted(r["tracklet"] for r in records) == sorted(truth)
    out = str(tmp_path / "test")
    task.write_submission(config, records, out)
    submission = os.path.join(out, "predictions.json")
    assert validate("jersey", submission, groundtruth=truth_file) == []
    scores = task.score(config, pose_workdir, "test", out, records)
    assert scores.headline["Accuracy"] == official.evaluate(truth_file, submission)["Accuracy"]
    assert scores.details["groundtruth"] == truth_file
    task.zip_submission(out, str(tmp_path / "test.zip"))
    # the ablations: a fixed upper-body crop, no legibility filter, CTC instead of PARSeq
    for updates, recogniser in (((("crop", "upper_body"),), "recogniser"), ((("use_legibility", False),), "crnn")):
        variant = _pipeline_config(pose_workdir, updates, recogniser)
        models = Models(own=None, stages={"pose": stages["pose"], "legibility": stages["legibility"],
                                          "recogniser": stages[recogniser]})
        found = task.predict_split(variant, pose_workdir, models, "test", Shard())
        assert len(found) == len(truth)
        if dict(updates).get("use_legibility") is False:  # every crop with a torso is read
            assert all(r["read"] == r["torso"] for r in found)


def test_pseudo_labels_train_the_legibility_classifier(runs, tmp_path):
    _, pose_workdir, stages, _ = runs
    config = pseudo_config.get_config("tiny")
    config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
    config.data.data_dir = os.path.join(pose_workdir, "tfds")
    config.eval.confidence = 0.0  # an untrained recogniser: label on agreement alone
    config.eval.keypoint_threshold = 0.0  # an untrained pose model: take its torso boxes anyway
    task = get_task("jersey_pseudo_labels")
    models = Models(own=None, stages={"pose": stages["pose"], "recogniser": stages["recogniser"]})
    records = task.predict_split(config, pose_workdir, models, "train", Shard())
    task.write_submission(config, records, str(tmp_path))
    labels = jersey_tracklets.read_crop_labels(tmp_path / "crop_labels.json")
    assert len(labels) == len(records) and all(set(v) >= {"legible", "text", "torso_box"} for v in labels.values())
    assert task.score(config, pose_workdir, "train", str(tmp_path), records) is not None
    # the legibility task trains on the file: a batch of crops with the file's labels
    legibility = legibility_config.get_config("tiny")
    legibility.data.manual_dir = config.data.manual_dir
    legibility.data.data_dir = config.data.data_dir
    legibility.data.labels = str(tmp_path / "crop_labels.json")
    legibility.data.balanced = False
    data = get_task("jersey_legibility").make_train_data(legibility, str(tmp_path), 4)
    batch = data.dataset[0]
    assert batch["inputs"].shape == (4, 32, 32, 3) and set(np.unique(batch["legible"])) <= {0.0, 1.0}


def test_predict_reads_a_folder_the_generator_did_not_write(runs, tmp_path):
    _, pose_workdir, stages, _ = runs
    task = get_task("jersey")
    parser = argparse.ArgumentParser()
    task.predict_file.add_arguments(parser)
    folder = user_folder(tmp_path, crops=4)
    out, sheet = tmp_path / "numbers.json", tmp_path / "sheet.png"
    args = parser.parse_args(["--tracklets", str(folder), "--out", str(out), "--contact-sheet", str(sheet)])
    models = Models(own=None, stages={k: stages[k] for k in ("pose", "legibility", "recogniser")})
    summary = task.predict_file.run(_pipeline_config(pose_workdir), models, args)
    assert "Read 2 tracklets" in summary and str(out) in summary
    numbers = formats.read_predictions(out)
    assert sorted(numbers) == ["away keeper", "home 10"] and all(formats.is_jersey_number(v) for v in numbers.values())
    assert cv2.imread(str(sheet)) is not None
    # bad folders are named
    (folder / "empty player").mkdir()
    with pytest.raises(FileFormatError, match="empty player: a tracklet folder with no image"):
        task.predict_file.run(_pipeline_config(pose_workdir), models, parser.parse_args(
            ["--tracklets", str(folder), "--out", str(out)]))
    with pytest.raises(FileFormatError, match="nope: no such folder"):
        task.predict_file.run(_pipeline_config(pose_workdir), models, parser.parse_args(
            ["--tracklets", str(tmp_path / "nope"), "--out", str(out)]))
