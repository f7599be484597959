"""The tracking task end to end through the core, on a tiny synthetic SNMOT tree given as
`data.manual_dir` (the real-data path): a YOLOX detector run and a ReID run trained by
`train_and_evaluate` (one step each), then the pipeline through `evaluate_checkpoint` (evaluate.py's
path) in each mode (public det.txt, ground truth, detector + ReID), with official files, zips and
scores equal to the metric's and the official evaluator's; `python -m zoo.predict tracking` on a
video no run has seen and on a det.txt, with errors that name the file.

The default run keeps what costs no compile (association only, through `evaluate_checkpoint`);
the detector and ReID runs (train-step compiles: a minute on 2 cores) need ZOO_SLOW_TESTS=1."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import zipfile

import cv2
import numpy as np
import pytest

from configs.reid import osnet_ain
from configs.tracking import bytetrack, yolox_nano
from tests.quick_compiles import quick_compiles  # noqa: F401 (autouse fixture)
from zoo import predict
from zoo.errors import ConfigError, UserError
from zoo.formats import tracking as formats
from zoo.metrics import tracking as tracking_metric
from zoo.synthetic.tracking import write_soccernet_tracking, write_video
from zoo.tasks import get_task, predicting_tasks
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train.runs import read_config, set_fields

TRACKING, DETECTOR = get_task("tracking"), get_task("tracking_detector")
FRAMES, WIDTH, HEIGHT = 20, 192, 108
slow = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """One tiny official-layout tree (and its TFDS build) that every run of the module reads."""
    root = tmp_path_factory.mktemp("snmot")
    summary = write_soccernet_tracking(root / "tree", sequences_per_split={"train": 1, "test": 1, "challenge": 1},
                                       frames=FRAMES, width=WIDTH, height=HEIGHT)
    for name in summary["challenge"]:  # as distributed: no challenge labels
        shutil.rmtree(root / "tree" / "challenge" / name / "gt")
    return {"data.manual_dir": str(root / "tree"), "data.data_dir": str(root / "tfds")}


def _pipeline(tree, **fields):
    config = bytetrack.get_config("tiny")
    set_fields(config, {**tree, **{k if "." in k else f"tracking.{k}": v for k, v in fields.items()}})
    return config


@pytest.fixture(scope="module")
def detector_run(tree, tmp_path_factory):
    """YOLOX (a sliver of YOLOX-s) trained one step by the core; it keeps every box at evaluation
    (conf 0), so that an untrained detector still feeds the tracker."""
    config = yolox_nano.get_config("tiny")
    set_fields(config, {**tree, "train.num_steps": 1, "train.checkpoint_every_steps": 1,
                        "train.log_every_steps": 1, "eval.conf_thresh": 0.0})
    workdir = str(tmp_path_factory.mktemp("detector"))
    return workdir, train_and_evaluate(config, workdir, DETECTOR, get_task)


@pytest.fixture(scope="module")
def reid_run(tmp_path_factory):
    """A `python train.py --config configs/reid/osnet_ain.py:tiny` run, one step, no evaluation."""
    config = osnet_ain.get_config("tiny")
    set_fields(config, {"train.num_steps": 1, "train.checkpoint_every_steps": 1, "train.log_every_steps": 1,
                        "eval.split": ""})
    workdir = str(tmp_path_factory.mktemp("reid"))
    train_and_evaluate(config, workdir, get_task("reid"), get_task)
    return workdir


@pytest.fixture(scope="module")
def association_run(tree, tmp_path_factory):
    """`evaluate.py --config configs/tracking/bytetrack.py:tiny` on the public detections."""
    workdir = str(tmp_path_factory.mktemp("track"))
    scores, out = evaluate_checkpoint(_pipeline(tree), workdir, TRACKING, "test", get_task=get_task)
    return workdir, scores, out


def _check_official_files(scores, out, tree):
    gt_dir = os.path.join(tree["data.manual_dir"], "test")
    submission = os.path.join(out, formats.SUBMISSION_FILE)
    assert formats.validate_submission(submission, groundtruth=gt_dir) == []
    recomputed = tracking_metric.evaluate(gt_dir, submission)[tracking_metric.COMBINED]
    assert {k: scores.headline[k] for k in ("HOTA", "IDF1")} == {k: recomputed[k] for k in ("HOTA", "IDF1")}
    with zipfile.ZipFile(out + ".zip") as archive:  # the core's zip of the folder: the same files
        assert archive.namelist() == sorted(n for n in os.listdir(out) if n.endswith(".txt"))


@slow
def test_detector_run_writes_det_files_and_sizes_its_targets_from_the_data(detector_run, tree):
    workdir, scores = detector_run
    assert 0.0 <= scores.headline["mAP@0.5"] <= 1.0
    out = os.path.join(workdir, "predictions", "test_step1")
    sequence = os.listdir(os.path.join(tree["data.manual_dir"], "test"))[0]
    found = formats.read_mot(os.path.join(out, sequence, "det", "det.txt"), detections=True, seq_length=FRAMES)
    assert set(found.frame.tolist()) == set(range(1, FRAMES + 1))  # conf 0: boxes in every frame
    with zipfile.ZipFile(out + ".zip") as archive:
        assert archive.namelist() == [f"{sequence}/det/det.txt"]
    train_dir = os.path.join(tree["data.manual_dir"], "train")
    gt = formats.read_mot(os.path.join(train_dir, os.listdir(train_dir)[0], formats.GT_FILE), groundtruth=True)
    saved = read_config(workdir)
    assert saved.data.max_labels == 4 * np.bincount(gt.frame).max()  # mosaic: four frames' boxes
    assert saved.model.num_classes == 5


@pytest.mark.parametrize("fields", [{"detections": "groundtruth"},
                                    {"cmc": "sparse_flow", "kalman": "xywh", "link_tracklets": True,
                                     "interpolate_max_gap": 10}])
def test_association_only_modes_write_the_official_files(tree, tmp_path, fields):
    scores, out = evaluate_checkpoint(_pipeline(tree, **fields), str(tmp_path), TRACKING, "test", get_task=get_task)
    _check_official_files(scores, out, tree)
    assert scores.headline["HOTA"] > (0.6 if fields.get("detections") == "groundtruth" else 0.3), scores.headline


def test_evaluate_reruns_a_pipeline_from_its_workdir(association_run, tree):
    workdir, scores, out = association_run
    _check_official_files(scores, out, tree)
    assert scores.headline["HOTA"] > 0.3
    saved = read_config(workdir)  # `python evaluate.py --workdir W --split challenge`
    assert saved.tracking.detections == "public"
    found, challenge = evaluate_checkpoint(saved, workdir, TRACKING, "challenge", get_task=get_task)
    assert found is None  # no labels
    with zipfile.ZipFile(challenge + ".zip") as archive:
        assert archive.namelist() == sorted(f"{name}.txt" for name in os.listdir(os.path.join(tree["data.manual_dir"],
                                                                                             "challenge")))


def _args(checkpoint, **kw):
    values = {"task": "tracking", "checkpoint": checkpoint, "step": None, "video": None, "detections": None,
              "seqinfo": None, "render": None, "quiet": True}
    values.update(kw)
    return argparse.Namespace(**values)


@slow
def test_detection_and_association_with_a_reid_stage_and_on_an_unseen_video(detector_run, reid_run, tree, tmp_path):
    detector, _ = detector_run
    config = _pipeline(tree, detections="detector", use_appearance=True, link_tracklets=True, cmc="sparse_flow",
                       track_thresh=1e-6, low_thresh=0.0, new_track_thresh=1e-6,  # an untrained detector's scores
                       **{"pipeline.detector": detector, "pipeline.reid": reid_run})
    workdir = str(tmp_path / "pipeline")
    scores, out = evaluate_checkpoint(config, workdir, TRACKING, "test", get_task=get_task)
    _check_official_files(scores, out, tree)
    assert read_config(workdir).pipeline.reid == reid_run

    video = tmp_path / "unseen.mp4"
    write_video(video, frames=8, width=WIDTH, height=HEIGHT, seed=5)
    line = predict.run(_args(workdir, video=str(video), out=str(tmp_path / "t.txt"), render=str(tmp_path / "r.mp4")),
                       get_task, predicting_tasks())
    # (The untrained detector's boxes cover the frame and mask every corner out of the camera-motion
    # estimate, so its shot-change count says nothing here: only the summary's form is checked.)
    assert re.match(r"8 frames, \d+ shot changes, \d+ tracks", line) and str(tmp_path / "t.txt") in line
    tracks = formats.read_mot(tmp_path / "t.txt", seq_length=8)
    assert len(tracks.frame) and tracks.frame.max() <= 8
    assert cv2.VideoCapture(str(tmp_path / "r.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 8

    with pytest.raises(UserError, match="--config.pipeline.detector="):  # detector mode, no detector run
        evaluate_checkpoint(_pipeline(tree, detections="detector"), str(tmp_path / "x"), TRACKING, "test",
                            get_task=get_task)
    with pytest.raises(ConfigError, match="tracking.detections=detector"):  # a detector run left unused
        evaluate_checkpoint(_pipeline(tree, **{"pipeline.detector": detector}), str(tmp_path / "y"), TRACKING,
                            "test", get_task=get_task)


def test_predict_associates_a_det_file_and_names_bad_inputs(association_run, tree, tmp_path):
    workdir, _, _ = association_run
    seq = os.path.join(tree["data.manual_dir"], "test", os.listdir(os.path.join(tree["data.manual_dir"], "test"))[0])
    det, info = os.path.join(seq, "det", "det.txt"), os.path.join(seq, formats.SEQINFO_FILE)
    tasks = predicting_tasks()
    line = predict.run(_args(workdir, detections=det, seqinfo=info, out=str(tmp_path / "u.txt")), get_task, tasks)
    assert len(np.unique(formats.read_mot(tmp_path / "u.txt", seq_length=FRAMES).track_id)) >= 3, line

    bad = tmp_path / "det.txt"
    bad.write_text("1,-1,10,10,5,oops,0.9,-1,-1,-1\n")
    with pytest.raises(formats.TrackingFormatError, match="det.txt:line 1"):
        predict.run(_args(workdir, detections=str(bad), seqinfo=info, out=str(tmp_path / "x.txt")), get_task, tasks)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(UserError, match="corrupt.mp4"):
        predict.run(_args(workdir, video=str(corrupt), detections=det, seqinfo=info, out=str(tmp_path / "y.txt")),
                    get_task, tasks)
    video = tmp_path / "short.mp4"
    write_video(video, frames=2, width=WIDTH, height=HEIGHT, seed=3)
    with pytest.raises(UserError, match="give --detections"):  # association only, and no boxes given
        predict.run(_args(workdir, video=str(video), out=str(tmp_path / "z.txt")), get_task, tasks)


def test_official_evaluator_scores_the_zip_as_the_zoo(association_run, tree, tmp_path, monkeypatch):
    """SoccerNet.Evaluation.Tracking needs all 49 test sequences: the pipeline's sequences keep their
    ground truth and tracks, the others get a one-box ground truth and no tracks."""
    import contextlib
    import io
    import sys

    from zoo.formats import splits

    official = pytest.importorskip("SoccerNet.Evaluation.Tracking")
    _, _, out = association_run
    gt_dir = os.path.join(tree["data.manual_dir"], "test")
    ours = set(os.listdir(gt_dir))
    gt_zip, sequences = tmp_path / "gt.zip", {}
    with zipfile.ZipFile(gt_zip, "w") as archive:
        for name in splits.tracking_sequences("test"):
            if name in ours:
                for part in (formats.GT_FILE, formats.SEQINFO_FILE):
                    archive.write(os.path.join(gt_dir, name, part), f"test-evalAI/{name}/{part}")
            else:
                archive.writestr(f"test-evalAI/{name}/gt/gt.txt", "1,1,10,10,20,40,1,-1,-1,-1\n")
                archive.writestr(f"test-evalAI/{name}/seqinfo.ini", formats.format_seqinfo(formats.SeqInfo(1, name=name)))
                sequences[name] = formats.empty_rows()
    with zipfile.ZipFile(os.path.join(out, formats.SUBMISSION_FILE)) as archive:
        for name in ours:
            sequences[name] = formats.parse_mot(archive.read(f"{name}.txt").decode())
    submission = formats.write_submission(tmp_path / formats.SUBMISSION_FILE, sequences)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["evaluate"])
    with contextlib.redirect_stdout(io.StringIO()):
        reference = official.evaluate(str(gt_zip), str(submission), split="test")
    with zipfile.ZipFile(gt_zip) as archive:
        archive.extractall(tmp_path / "gt")
    zoo = tracking_metric.evaluate(tmp_path / "gt" / "test-evalAI", submission)[tracking_metric.COMBINED]
    for key in ("HOTA", "DetA", "AssA"):
        assert abs(reference[key] - zoo[key]) <= 1e-9, key
