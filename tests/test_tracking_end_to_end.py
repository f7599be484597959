"""The tracking pipeline end to end on a tiny synthetic SNMOT tree: association only (public
detections and ground-truth boxes, with CMC and post-processing), detection + association with a
freshly initialised tiny YOLOX after one train step, and a ReID stage; official files, zip and
scores; `zoo.predict tracking` on a video and on a det.txt, with clear errors."""

import argparse
import os

import cv2
import jax
import numpy as np
import pytest

from configs.tracking import bytetrack, yolox_nano
from tests.quick_compiles import quick_compiles  # noqa: F401 (autouse fixture)
from zoo.errors import UserError
from zoo.formats import tracking as formats
from zoo.metrics import tracking as tracking_metric
from zoo.models.reid_head import ReidModel
from zoo.tasks import get_task
from zoo.train.mesh import global_batch, make_mesh
from zoo.train.optimizer import make_optimizer
from zoo.train.state import TrainState
from zoo.train.step import init_train_state, jit_train_step, make_predictor
from zoo.train.task import Models, Shard, Stage

TRACKING, DETECTOR = get_task("tracking"), get_task("tracking_detector")



@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tracking"))


def _config(reid="", **tracking):
    config = bytetrack.get_config("tiny")
    config.pipeline.reid = reid
    config.data.synthetic.frames = 20
    config.data.synthetic.width, config.data.synthetic.height = 192, 108
    for key, value in tracking.items():
        config.tracking[key] = value
    TRACKING.check_config(config)
    return config


def _evaluate(config, workdir, models, out):
    records = TRACKING.predict_split(config, workdir, models, "test", Shard())
    TRACKING.write_submission(config, records, out)
    return records, TRACKING.score(config, workdir, "test", out, records)


@pytest.mark.parametrize("tracking", [{}, {"detections": "groundtruth"},
                                      {"cmc": "sparse_flow", "kalman": "xywh", "link_tracklets": True,
                                       "interpolate_max_gap": 10}])
def test_association_only_writes_the_official_files(workdir, tmp_path, tracking):
    config = _config(**tracking)
    records, scores = _evaluate(config, workdir, Models(own=None), str(tmp_path))
    gt_dir = os.path.join(workdir, "synthetic_soccernet_tracking", "test")
    zip_path = tmp_path / formats.SUBMISSION_FILE
    assert formats.validate_submission(zip_path, groundtruth=gt_dir) == []
    recomputed = tracking_metric.evaluate(gt_dir, zip_path)[tracking_metric.COMBINED]
    assert scores.headline["HOTA"] == recomputed["HOTA"] and scores.headline["IDF1"] == recomputed["IDF1"]
    floor = 0.6 if tracking.get("detections") == "groundtruth" else 0.3
    assert scores.headline["HOTA"] > floor, scores.headline
    TRACKING.zip_submission(str(tmp_path), str(tmp_path / "again.zip"))
    assert formats.validate_submission(tmp_path / "again.zip", groundtruth=gt_dir) == []


def test_detector_trains_and_drives_the_pipeline_with_reid(workdir, tmp_path):
    config = yolox_nano.get_config("tiny")
    config.data.synthetic = _config().data.synthetic  # the same tree as the tracking tests
    for key, value in DETECTOR.derive_config(config, workdir).items():
        config.model[key.split(".")[1]] = value
    DETECTOR.check_config(config)
    data = DETECTOR.make_train_data(config, workdir, config.train.batch_size)
    model, mesh = DETECTOR.make_model(config), make_mesh()
    tx = make_optimizer(config, 1)
    state, shardings = init_train_state(model, tx, DETECTOR.example_inputs(config), 0, mesh)
    batch = data.dataset[0]
    assert batch["inputs"].shape == (4, 64, 96, 3) and batch["mask"].any()
    if os.environ.get("ZOO_SLOW_TESTS"):  # the train step's compile takes a minute on 2 busy cores
        step = jit_train_step(model, DETECTOR.make_loss(config), tx, mesh, shardings)
        state, metrics = step(state, global_batch(batch, mesh))
        assert np.isfinite(float(metrics["loss"][0])) and float(metrics["foreground_per_gt"][0]) > 0
    detector = Stage("detector", config, workdir, 1, (make_predictor(model, mesh, 4)(state),))
    records = DETECTOR.predict_split(config, workdir, Models(own=detector), "test", Shard())
    DETECTOR.write_submission(config, records, str(tmp_path / "det"))
    scores = DETECTOR.score(config, workdir, "test", str(tmp_path / "det"), records)
    assert 0.0 <= scores.headline["mAP@0.5"] <= 1.0
    name = records[0]["sequence"]
    assert formats.read_mot(tmp_path / "det" / name / "det" / "det.txt", detections=True) is not None

    reid_config = bytetrack.get_config("tiny")  # a ReID run's fields the pipeline reads
    reid_config.data.height, reid_config.data.width = 32, 16
    reid_config.eval.feature = "bn"
    reid_model = ReidModel(backbone="osnet_ain_x0_25", num_classes=4)
    variables = jax.jit(lambda: reid_model.init(jax.random.key(0), np.zeros((1, 32, 16, 3), np.float32), train=False))()
    reid_state = TrainState(params=variables["params"], model_state={"batch_stats": variables["batch_stats"]},
                            opt_state=None, step=0, rng=None)
    # As the core hands stages over: a predictor padding every call to one batch size (one compile).
    reid = Stage("reid", reid_config, workdir, 0, (make_predictor(reid_model, mesh, 16)(reid_state),))
    pipeline = _config(reid="runs/reid", use_appearance=True, link_tracklets=True)
    pipeline.tracking.track_thresh = pipeline.tracking.low_thresh = 0.001  # an untrained detector
    pipeline.tracking.new_track_thresh = 0.002
    _, track_scores = _evaluate(pipeline, workdir, Models(own=None, stages={"detector": detector, "reid": reid}),
                                str(tmp_path / "tracks"))
    assert set(track_scores.headline) == {"HOTA", "DetA", "AssA", "MOTA", "IDF1"}


def _args(**kw):
    values = {"video": None, "detections": None, "seqinfo": None, "render": None, "quiet": True}
    values.update(kw)
    return argparse.Namespace(**values)


def test_predict_tracks_a_video_and_a_det_file(workdir, tmp_path):
    config = _config(cmc="sparse_flow")
    TRACKING.predict_split(config, workdir, Models(own=None), "test", Shard())  # writes the tree
    seq = next(iter(sorted((p for p in os.scandir(os.path.join(workdir, "synthetic_soccernet_tracking", "test"))),
                           key=lambda p: p.name)))
    frames = [cv2.imread(os.path.join(seq.path, "img1", f)) for f in sorted(os.listdir(os.path.join(seq.path, "img1")))]
    video = str(tmp_path / "match.mp4")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 25, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    predict = TRACKING.predict_file
    det, info = os.path.join(seq.path, "det", "det.txt"), os.path.join(seq.path, "seqinfo.ini")
    summary = predict.run(config, Models(own=None), _args(video=video, detections=det, seqinfo=info,
                                                          out=str(tmp_path / "t.txt"), render=str(tmp_path / "r.mp4")))
    assert f"{len(frames)} frames" in summary
    rows = formats.read_mot(tmp_path / "t.txt", seq_length=len(frames))
    assert len(np.unique(rows.track_id)) >= 3
    assert cv2.VideoCapture(str(tmp_path / "r.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == len(frames)
    plain = _config()
    summary = predict.run(plain, Models(own=None), _args(detections=det, seqinfo=info, out=str(tmp_path / "u.txt")))
    assert "tracks" in summary

    bad = tmp_path / "det.txt"
    bad.write_text("1,-1,10,10,5,oops,0.9,-1,-1,-1\n")
    with pytest.raises(formats.TrackingFormatError, match="det.txt:line 1"):
        predict.run(plain, Models(own=None), _args(detections=str(bad), seqinfo=info, out=str(tmp_path / "x.txt")))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(UserError, match="corrupt.mp4"):
        predict.run(config, Models(own=None), _args(video=str(corrupt), detections=det, seqinfo=info,
                                                    out=str(tmp_path / "y.txt")))
    with pytest.raises(UserError, match="no detector"):
        predict.run(plain, Models(own=None), _args(video=video, out=str(tmp_path / "z.txt")))


def test_official_evaluator_scores_the_zip_as_the_zoo(workdir, tmp_path, monkeypatch):
    """SoccerNet.Evaluation.Tracking needs all 49 test sequences: the pipeline's sequences keep their
    ground truth and tracks, the others get a one-box ground truth and no tracks."""
    import contextlib
    import io
    import sys
    import zipfile

    from zoo.formats import splits

    official = pytest.importorskip("SoccerNet.Evaluation.Tracking")
    config = _config(cmc="sparse_flow")
    records, _ = _evaluate(config, workdir, Models(own=None), str(tmp_path / "ours"))
    gt_dir = os.path.join(workdir, "synthetic_soccernet_tracking", "test")
    ours = {r["sequence"] for r in records}
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
    with zipfile.ZipFile(tmp_path / "ours" / formats.SUBMISSION_FILE) as archive:
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
