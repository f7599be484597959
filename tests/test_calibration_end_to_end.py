"""The calibration task end to end on its tiny synthetic default: `train_and_evaluate` (data,
training targets from cameras solved on the annotations, two training steps, the final
evaluation) and `evaluate_checkpoint` on the test split, as train.py and evaluate.py run them; then
predict_split / write_submission / score with an oracle network, whose official files the zoo's
validator accepts and the official evaluator scores as the zoo does; and `zoo.predict
calibration` from line annotations (with players and top views), images and a video.

The oracle returns the training targets of each image, so that decoding, the solver and the
official files are checked on meaningful detections. That training beats an untrained network
takes minutes: benchmarks/learning.py (docs/calibration.md has the table).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import warnings
import zipfile

import cv2
import numpy as np
import pytest

import zoo.predict
import zoo.tasks
from configs.calibration import resnet_fpn
from soccernet_datasets.soccernet_calibration.soccernet_calibration_dataset_builder import annotation_of
from zoo.data.image_transforms import normalize
from zoo.data.pitch_transforms import evaluation_resize
from zoo.errors import UserError
from zoo.formats import calibration as formats
from zoo.geometry import topview
from zoo.geometry.camera import Camera
from zoo.metrics import calibration as metric
from zoo.synthetic import calibration as synthetic
from zoo.tasks import calibration as task
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train.task import Models, Shard, Stage

from tests.solver_program import compile_optimised

official = pytest.importorskip("SoccerNet.Evaluation.CameraCalibration")


class OraclePredictor:
    """Returns, for each image, the training targets of the split's image nearest to it (so the
    re-encoded frames of a video find theirs): a stand-in for a well-trained network, so that
    decoding, the solver and the official files are checked with meaningful detections (and no
    model compile)."""

    def __init__(self, config, workdir, split):
        source = task._source(config, workdir, split)
        cameras = synthetic.read_true_cameras(task.synthetic_root(workdir), split)
        self.inputs, self.maps = [], []
        for i in range(len(source)):
            record = source[i]
            idx = record["image_id"].decode()
            image = task.decode_jpeg(record["image"])
            sample = task.pitch_sample(image, annotation_of(record), cameras[idx])
            sample = evaluation_resize(sample, task.image_size(config))
            self.inputs.append(normalize(sample.image))
            self.maps.append(task.heatmap_targets(config, sample))
        self.inputs = np.stack(self.inputs)

    def __call__(self, inputs):
        distance = np.abs(np.asarray(inputs)[:, None] - self.inputs[None]).mean(axis=(2, 3, 4))
        found = [self.maps[i] for i in np.argmin(distance, axis=1)]
        return {"keypoints": np.stack([k for k, _ in found]), "lines": np.stack([m for _, m in found])}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run through the core: (config, workdir, final scores on valid)."""
    workdir = str(tmp_path_factory.mktemp("calibration_run"))
    config = resnet_fpn.get_config("tiny")
    config.train.num_steps = 2
    config.train.checkpoint_every_steps = 2
    config.train.log_every_steps = 1
    compile_optimised(task.solver_config(config))
    return config, workdir, train_and_evaluate(config, workdir, task.TASK)


@pytest.fixture(scope="module")
def run(trained):
    """The run's directory (data built, training targets solved) and an oracle model."""
    config, workdir, _ = trained
    oracle = OraclePredictor(config, workdir, "valid")
    return config, workdir, Models(own=Stage("model", config, workdir, 0, (oracle,)))


def test_train_and_evaluate_then_evaluate_checkpoint(trained):
    config, workdir, scores = trained
    assert {"final_score", "completeness"} <= set(scores.headline)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    losses = [r for r in rows if "keypoint_loss" in r or "loss" in r]
    assert losses and all(np.isfinite(r.get("loss", 0.0)) for r in losses)
    batch = task.TASK.make_train_data(config, workdir, config.train.batch_size).dataset[0]
    assert batch["inputs"].shape == (4, 72, 128, 3)
    assert batch["keypoint_target"].shape == (4, 36, 64, 58) and batch["line_target"].shape == (4, 36, 64, 24)
    test_scores, out = evaluate_checkpoint(config, workdir, task.TASK, "test")
    assert set(test_scores.headline) == set(scores.headline)
    truth = task.groundtruth_dir(config, workdir, "test")
    # The upload: valid, if short of cameras (two training steps make an unsure model).
    problems = formats.validate_submission(out + ".zip", groundtruth=truth)
    assert all("no camera" in p.message for p in problems), problems
    cameras = [n for n in os.listdir(out) if formats.CAMERA_NAME.fullmatch(n)]
    assert test_scores.headline["completeness"] == pytest.approx(
        len(cameras) / len(formats.read_annotations(truth)))


def official_scores(truth_folder, predictions, tmp_path, threshold=5):
    truth_zip = formats.write_annotations(tmp_path / "truth.zip", formats.read_annotations(truth_folder),
                                          split="valid")
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = official.evaluate(str(truth_zip), str(predictions), threshold=threshold)
    results["finalScore"] = results["completeness"] * results["meanAccuracies"]
    return results


def test_keypoint_targets_come_from_solved_annotation_cameras(run):
    config, workdir, _ = run
    ids, cameras, confidence = task.target_cameras(config, workdir, "train")
    truth = synthetic.read_true_cameras(task.synthetic_root(workdir), "train")
    sure = confidence >= config.data.min_target_confidence
    assert sure.sum() >= 3
    for i in np.flatnonzero(sure):
        np.testing.assert_allclose(cameras.select(i).position, truth[ids[i]].position, atol=1.0)


def test_predict_write_and_score_a_split(run, tmp_path):
    config, workdir, models = run
    records = task.TASK.predict_split(config, workdir, models, "valid", Shard())
    truth = task.groundtruth_dir(config, workdir, "valid")
    annotations = formats.read_annotations(truth)
    assert sorted(r["image_id"] for r in records) == sorted(annotations)
    out = tmp_path / "submission"
    task.TASK.write_submission(config, records, str(out))
    written = sorted(os.listdir(out))
    assert written and all(formats.CAMERA_NAME.fullmatch(n) for n in written)
    sure = {r["image_id"] for r in records if r["confidence"] >= config.eval.min_confidence}
    assert written == sorted(f"camera_{i}.json" for i in sure)
    problems = formats.validate_submission(out, groundtruth=truth)
    assert all("ground-truth images have no camera" in p.message for p in problems), problems
    scores = task.TASK.score(config, workdir, "valid", str(out), records)
    zipped = tmp_path / "submission.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for name in written:
            archive.write(out / name, name)
    expected = official_scores(truth, zipped, tmp_path)
    assert scores.details["threshold_5"]["finalScore"] == pytest.approx(expected["finalScore"], abs=1e-9)
    assert scores.headline["JaC@5"] == pytest.approx(expected["meanAccuracies"], abs=1e-9)
    assert scores.headline["final_score"] > 0.5, scores.headline
    # Nothing sure: no camera file, completeness 0, JaC unavailable.
    unsure = [{**r, "confidence": 0.0} for r in records]
    task.TASK.write_submission(config, unsure, str(tmp_path / "none"))
    scores = task.TASK.score(config, workdir, "valid", str(tmp_path / "none"), unsure)
    assert scores.headline["completeness"] == 0.0 and scores.headline["final_score"] == 0.0
    assert "JaC@5" in scores.unavailable and "final_score" not in scores.unavailable  # 0 is its value


def predict_args(**kwargs) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    task.PREDICT_FILE.add_arguments(parser)
    argv = []
    for key, value in kwargs.items():
        argv += [f"--{key.replace('_', '-')}", *([value] if isinstance(value, str) else value)]
    return parser.parse_args(argv)


def test_predict_from_line_annotations(run, tmp_path):
    """`python -m zoo.predict calibration --lines valid/ --out cameras.zip`: the solver alone,
    on the official annotation files, with overlays from the images beside them."""
    config, workdir, _ = run
    valid = os.path.join(task.synthetic_root(workdir), "valid")
    # Through the CLI's own parser and dispatch: --lines needs no --checkpoint, --image does.
    tasks = zoo.tasks.predicting_tasks()
    parse = zoo.predict.build_parser(tasks).parse_args
    with pytest.raises(UserError, match="needs --checkpoint"):
        zoo.predict.run(parse(["calibration", "--image", "a.jpg", "--out", "x"]), zoo.tasks.get_task, tasks)
    args = parse(["calibration", "--lines", valid, "--out", str(tmp_path / "cameras.zip"),
                  "--overlay", str(tmp_path / "overlay")])
    summary = zoo.predict.run(args, zoo.tasks.get_task, tasks)
    assert "images calibrated" in summary
    assert formats.validate_submission(tmp_path / "cameras.zip") == []
    results = metric.evaluate(valid, tmp_path / "cameras.zip")
    truth = metric.evaluate(valid, formats.write_cameras(
        tmp_path / "truth.zip", synthetic.read_true_cameras(task.synthetic_root(workdir), "valid")))
    assert results["meanAccuracies"] >= truth["meanAccuracies"] - 0.05
    overlays = sorted(os.listdir(tmp_path / "overlay"))
    ids = sorted(formats.read_annotations(valid))
    assert overlays == sorted([f"{i}.png" for i in ids] + [f"{i}_top.png" for i in ids])
    assert cv2.imread(str(tmp_path / "overlay" / f"{ids[0]}.png")).shape == (108, 192, 3)
    assert cv2.imread(str(tmp_path / "overlay" / f"{ids[0]}_top.png")).shape == (448, 904, 3)

    # Players: feet at the image centre (192x108 pixels) land where the written camera puts them.
    boxes = {i: [[86, 20, 106, 53.5, 255, 0, 0], [0, 0, 10, 10]] for i in ids[:2]}
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    args = predict_args(lines=valid, out=str(tmp_path / "again"), boxes=str(tmp_path / "boxes.json"),
                        players=str(tmp_path / "players.json"), min_confidence="0")
    task.PREDICT_FILE.run(None, None, args)
    players = json.loads((tmp_path / "players.json").read_text())
    assert sorted(players) == ids and players[ids[-1]]["players"] == []
    camera = Camera.from_json(json.loads((tmp_path / "again" / f"camera_{ids[0]}.json").read_text()))
    expected, _ = topview.camera_players_on_pitch(Camera.stack([camera]), np.array([[[86, 20, 106, 53.5]]]),
                                                  np.ones((1, 1), bool), (192, 108))
    np.testing.assert_allclose(players[ids[0]]["players"][0]["pitch_xy"], expected[0, 0], rtol=1e-4, atol=1e-3)
    (tmp_path / "bad.json").write_text(json.dumps({ids[0]: [[1, 2, 3]]}))
    with pytest.raises(UserError, match="bad.json: image .*each box must be"):
        task.PREDICT_FILE.run(None, None, predict_args(lines=valid, out=str(tmp_path / "x"),
                                                       boxes=str(tmp_path / "bad.json"), players="p.json"))


def test_predict_images_with_a_model(run, tmp_path):
    config, workdir, models = run
    valid = os.path.join(task.synthetic_root(workdir), "valid")
    images = sorted(os.path.join(valid, n) for n in os.listdir(valid) if n.endswith(".jpg"))[:2]
    args = predict_args(image=images, out=str(tmp_path / "cameras"), overlay=str(tmp_path / "overlay"),
                        min_confidence="0")
    summary = task.PREDICT_FILE.run(config, models, args)
    assert "2 of 2 images calibrated" in summary
    assert len(os.listdir(tmp_path / "cameras")) == 2 and len(os.listdir(tmp_path / "overlay")) == 4
    with pytest.raises(UserError, match="need --checkpoint"):
        task.PREDICT_FILE.run(None, None, predict_args(image=images, out=str(tmp_path / "x")))


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_predict_a_video_with_a_model(run, tmp_path):
    config, workdir, models = run
    valid = os.path.join(task.synthetic_root(workdir), "valid")
    images = sorted(os.path.join(valid, n) for n in os.listdir(valid) if n.endswith(".jpg"))[:2]
    video = str(tmp_path / "clip.mp4")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 25, (192, 108))
    for path in images * 3:
        writer.write(cv2.imread(path))
    writer.release()
    args = predict_args(video=video, every="2", out=str(tmp_path / "video.zip"))
    assert "3 of 3 images calibrated" in task.PREDICT_FILE.run(config, models, args)
