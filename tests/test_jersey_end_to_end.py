"""The jersey pipeline end to end through the core, on the tiny synthetic default, as the README
commands run it: a CTC recogniser trains with `train_and_evaluate` (train.py's path), the pipeline
config names that run and `evaluate_checkpoint` (evaluate.py's path) reads the test and challenge
tracklets batched across tracklets and writes the official submission, which the validator accepts
and the official evaluator scores as the zoo does; `python -m zoo.predict jersey` reads a folder of
crops the generator did not write, and bad folders or a missing stage are one-line errors naming
them. The pose and legibility stages, PARSeq and pseudo-labels: tests/test_jersey_stages.py
(ZOO_SLOW_TESTS=1)."""

from __future__ import annotations

import argparse
import json
import os
import zipfile

import cv2
import pytest

from configs.jersey import crnn as crnn_config
from configs.jersey import pipeline as pipeline_config
from tests.jersey_support import user_folder
from zoo import predict
from zoo.data import jersey_tracklets
from zoo.errors import UserError
from zoo.formats import jersey as formats
from zoo.formats.errors import FileFormatError
from zoo.formats.validate import validate
from zoo.metrics import jersey as jersey_metric
from zoo.tasks import get_task
from zoo.tasks.jersey import confidence_sweep
from zoo.train import evaluate_checkpoint, train_and_evaluate


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """(pipeline config, pipeline workdir, recogniser workdir, (test scores, output folder)): a
    2-step CRNN run and the pipeline that reads with it (fixed upper-body crops, no legibility
    filter: the recogniser alone), evaluated on test."""
    root = tmp_path_factory.mktemp("jersey")
    recogniser = str(root / "crnn")
    config = crnn_config.get_config("tiny")
    config.eval.split = ""  # scored in the slow tests; here only the pipeline evaluates
    train_and_evaluate(config, recogniser, get_task("jersey_recognition"))
    config = pipeline_config.get_config("tiny")
    config.data.manual_dir = jersey_tracklets.synthetic_root(recogniser)
    config.data.data_dir = os.path.join(recogniser, "tfds")
    config.pipeline.recogniser = recogniser
    config.eval.crop = "upper_body"
    config.eval.use_legibility = False
    config.eval.min_confidence = 0.01  # a 2-step recogniser is unsure: let numbers through
    workdir = str(root / "pipeline")
    return config, workdir, recogniser, evaluate_checkpoint(config, workdir, get_task("jersey"), "test",
                                                            get_task=get_task)


def test_evaluate_writes_the_official_submission_scored_as_the_official_evaluator(pipeline):
    official = pytest.importorskip("SoccerNet.Evaluation.JerseyNumber")
    config, workdir, recogniser, (scores, out) = pipeline
    task = get_task("jersey")
    truth_file = os.path.join(jersey_tracklets.synthetic_root(recogniser), "test", "test_gt.json")
    submission = os.path.join(out, "predictions.json")
    assert sorted(formats.read_predictions(submission)) == sorted(formats.read_groundtruth(truth_file))
    assert validate("jersey", submission, groundtruth=truth_file) == []
    assert scores.headline["Accuracy"] == official.evaluate(truth_file, submission)["Accuracy"]
    assert scores.details["groundtruth"] == truth_file
    with open(os.path.join(out, "tracklet_reads.json")) as f:
        reads = json.load(f)
    assert all(r["read"] == r["torso"] for r in reads.values() if not r["ball"])  # no filter: all read
    with zipfile.ZipFile(out + ".zip") as archive:
        assert archive.namelist() == ["predictions.json"]
    # the pose crop (the default) needs a pose run: one line naming the field to set
    with pytest.raises(UserError, match=r"config.pipeline.pose is empty.*--config.pipeline.pose="):
        evaluate_checkpoint(pipeline_config_with(config, crop="pose"), workdir + "_pose", task, "test",
                            get_task=get_task)


def pipeline_config_with(config, **eval_fields):
    config = config.copy_and_resolve_references()
    for key, value in eval_fields.items():
        config.eval[key] = value
    return config


def test_predict_reads_a_folder_the_generator_did_not_write(pipeline, tmp_path, capsys):
    _, workdir, _, _ = pipeline  # evaluate.py wrote the pipeline's config.json there
    folder = user_folder(tmp_path)
    out, sheet = tmp_path / "numbers.json", tmp_path / "sheet.png"
    assert predict.main(["jersey", "--checkpoint", workdir, "--tracklets", str(folder), "--out", str(out),
                         "--contact-sheet", str(sheet), "--quiet"]) == 0
    assert "Read 2 tracklets" in capsys.readouterr().out
    numbers = formats.read_predictions(out)
    assert sorted(numbers) == ["away keeper", "home 10"] and all(formats.is_jersey_number(v) for v in numbers.values())
    assert cv2.imread(str(sheet)) is not None
    # bad folders are named, before any model is restored
    check = get_task("jersey").predict_file.check_args
    with pytest.raises(UserError, match="give a .json file"):
        check(argparse.Namespace(tracklets=str(folder), out=str(tmp_path / "n.txt")))
    (folder / "empty player").mkdir()
    for tracklets, message in ((folder, "empty player: a tracklet folder with no image"),
                               (tmp_path / "nope", "nope: no such folder")):
        with pytest.raises(FileFormatError, match=message):
            check(argparse.Namespace(tracklets=str(tracklets), out=str(out)))


def test_pipeline_metric_matches_a_plain_count(tmp_path):
    """The headline accuracy is the share of tracklets whose number is right."""
    records = [{"tracklet": "0", "number": 5, "label": 5, "ball": False, "crops": 3, "read": 2, "outliers": 0,
                "best": 5, "confidence": 0.9},
               {"tracklet": "1", "number": -1, "label": 7, "ball": False, "crops": 3, "read": 0, "outliers": 1,
                "best": None, "confidence": None},
               {"tracklet": "2", "number": -1, "label": -1, "ball": True, "crops": 2, "read": 0, "outliers": 0,
                "best": None, "confidence": None}]
    task = get_task("jersey")
    config = pipeline_config.get_config("tiny")
    task.write_submission(config, records, str(tmp_path))
    scores = task.score(config, str(tmp_path), "valid", str(tmp_path), records)
    assert scores.headline["Accuracy"] == pytest.approx(2 / 3)
    assert scores.details["legibility"]["legible_as_illegible"] == 1
    assert jersey_metric.evaluate(tmp_path / "valid_gt.json", tmp_path / "predictions.json")["correct"] == 2


def test_confidence_sweep_rescores_the_vote_at_every_threshold(tmp_path):
    """What accuracy each eval.min_confidence would give, from the records alone (to choose it on valid)."""
    def record(tracklet, label, best, confidence, ball=False):
        return {"tracklet": tracklet, "number": -1, "label": label, "best": best, "confidence": confidence,
                "ball": ball, "crops": 4, "read": 0 if best is None else 2, "outliers": 0}

    records = [record("0", 9, 9, 0.3),      # right up to 0.30, -1 (wrong) above
               record("1", 12, 21, 0.2),    # misread: wrong whatever the threshold
               record("2", -1, 4, 0.15),    # a -1 tracklet misread: right only above 0.15
               record("3", -1, None, None, ball=True),  # a ball: -1, right
               record("4", 30, 30, 0.95)]   # right up to 0.95
    sweep = confidence_sweep(records)
    assert sweep["0.05"] == sweep["0.15"] == 3 / 5
    assert sweep["0.20"] == sweep["0.30"] == 4 / 5
    assert sweep["0.35"] == sweep["0.95"] == 3 / 5
    assert sweep["1.00"] == 2 / 5
    config = pipeline_config.get_config("tiny")
    task = get_task("jersey")
    task.write_submission(config, records, str(tmp_path))
    scores = task.score(config, str(tmp_path), "valid", str(tmp_path), records)
    assert scores.details["min_confidence_sweep"] == sweep
    assert scores.details["best_min_confidence"] == 0.20  # the lowest of the best
