"""The calibration metric equals the official evaluator: every key, and each step on its own."""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings

import numpy as np
import pytest

from zoo.formats import calibration as formats
from zoo.geometry.camera import Camera, look_at, sample_broadcast_cameras
from zoo.geometry.pitch import CIRCLE_CLASSES, MIRRORED_CLASS
from zoo.metrics import calibration as metric

official = pytest.importorskip("SoccerNet.Evaluation.CameraCalibration")
from SoccerNet.Evaluation import utils_calibration as official_utils  # noqa: E402

W, H = 960, 540


def camera_at(
    position, target, *, fov=30.0, roll=0.0, aspect=1.0, radial=None, tangential=None, prism=None
):
    position, target = np.asarray(position, float), np.asarray(target, float)
    pan, tilt = look_at(position, target)
    fx = (W / 2) / math.tan(math.radians(fov) / 2)
    return Camera.create(
        pan_degrees=pan,
        tilt_degrees=tilt,
        roll_degrees=roll,
        position=position,
        focal_length=[fx, fx * aspect],
        principal_point=[W / 2, H / 2],
        radial_distortion=radial,
        tangential_distortion=tangential,
        thin_prism_distortion=prism,
    )


def annotate(cameras: Camera, rng, *, noise=1.0):
    """Annotations as the annotators make them, from the true cameras [N]: the ends of each
    visible line (sometimes a point between), 5-12 points of each visible circle, plus noise."""
    polylines = metric.project_pitch(cameras)
    counts, classes = polylines.counts(), polylines.pitch.classes
    annotations = []
    for i in range(len(counts)):
        lines = {}
        for e, name in enumerate(classes):
            n = counts[i, e]
            if n == 0:
                continue
            start = polylines.starts[i * len(classes) + e]
            xy = np.stack([polylines.x[start : start + n], polylines.y[start : start + n]], -1)
            if name in CIRCLE_CLASSES:
                pick = rng.choice(n, min(n, int(rng.integers(5, 13))), replace=False)
            else:
                pick = [0, n - 1] if n > 1 else [0]
                if n > 2 and rng.random() < 0.3:
                    pick.insert(1, int(rng.integers(1, n - 1)))
            points = xy[pick] + rng.normal(0, noise, (len(pick), 2))
            lines[name] = points / [W - 1, H - 1]
        annotations.append(lines)
    return annotations


def perturbed(camera: Camera, rng, *, angle=0.2, focal=0.01, position=0.3) -> dict:
    document = camera.to_json()
    for key in ("pan_degrees", "tilt_degrees", "roll_degrees"):
        document[key] += float(rng.normal(0, angle))
    scale = 1 + float(rng.normal(0, focal))
    document["x_focal_length"] *= scale
    document["y_focal_length"] *= scale
    document["position_meters"] = [
        p + float(rng.normal(0, position)) for p in document["position_meters"]
    ]
    return document


def official_evaluate(gt_zip, prediction_zip, threshold):
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty means and 0/0 per-class values
        results = official.evaluate(str(gt_zip), str(prediction_zip), threshold=threshold)
    # The EvalAI script's extra key, computed as it computes it.
    results["finalScore"] = results["completeness"] * results["meanAccuracies"]
    return results


def assert_same(expected: dict, got: dict):
    assert set(got) == set(expected)
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert abs(got[key] - float(value)) <= 1e-9, (key, got[key], value)


def write_case(tmp_path, name, annotations, predictions):
    gt = formats.write_annotations(tmp_path / f"{name}_gt.zip", annotations, split="valid")
    pred = formats.write_cameras(tmp_path / f"{name}_pred.zip", predictions)
    return gt, pred


# ------------------------------------------------------------------------ whole-evaluator parity


def test_broadcast_views_equal_official(tmp_path):
    """Threshold 5: distortion, missing predictions, circles only, mirrored labels, unknown
    lines, a camera looking away."""
    rng = np.random.default_rng(0)
    cameras = [
        camera_at([0, 60, -18], [0, 0, 0], fov=45, radial=[0.05, 0, 0, 0, 0, 0]),
        camera_at(
            [-10, 55, -15],
            [-40, 0, 0],
            fov=25,
            radial=[-0.1, 0.02, 0, 0.01, 0, 0],
            tangential=[1e-3, -5e-4],
        ),
        camera_at([5, 52, -12], [0, 4, 0], fov=18),
        camera_at([15, 58, -20], [42, -5, 0], fov=30, roll=1.0),
        camera_at([0, 62, -16], [-20, 10, 0], fov=35),
        camera_at([-5, 50, -14], [10, -10, 0], fov=28),
        camera_at([20, 65, -22], [30, 0, 0], fov=40),
        sample_broadcast_cameras(rng, 1, distortion=3.0).select(0),
        camera_at([0, 60, -18], [5, 0, 0], fov=50),
    ]
    truth = Camera.stack(cameras)
    annotations = annotate(truth, rng)
    annotations[2] = {k: v for k, v in annotations[2].items() if k in CIRCLE_CLASSES}
    annotations[3] = {MIRRORED_CLASS[k]: v for k, v in annotations[3].items()}
    annotations[4]["Line unknown"] = annotations[4][next(iter(annotations[4]))][:2]
    predictions = {}
    for i, camera in enumerate(cameras):
        if i in (5, 6):
            continue  # missed images
        predictions[f"{i:05d}"] = perturbed(camera, rng, angle=0.05 if i < 4 else 0.3)
    predictions["00008"]["pan_degrees"] += 180.0  # looks away from the pitch: all FN
    predictions["00007"]["radial_distortion"][0] = 0.0
    assert annotations[2] and all(k in CIRCLE_CLASSES for k in annotations[2])
    gt, pred = write_case(
        tmp_path, "a", {f"{i:05d}": a for i, a in enumerate(annotations)}, predictions
    )

    expected = official_evaluate(gt, pred, threshold=5)
    got = metric.evaluate(gt, pred)
    assert_same(expected, got)
    assert 0 < got["meanAccuracies"] < 1 and got["completeness"] == 7 / 9

    # The mirrored image keeps the mirrored labels, with the JaC of its unmirrored labels.
    scored = [f"{i:05d}" for i in (0, 1, 2, 3, 4, 7, 8)]
    read = formats.read_cameras(pred)
    scores = metric.image_scores(
        [read[s] for s in scored], [formats.read_annotations(gt)[s] for s in scored]
    )
    unmirrored = {MIRRORED_CLASS[k]: v for k, v in annotations[3].items()}
    plain = metric.image_scores([read["00003"]], [unmirrored])
    assert scores.mirrored[3] and not plain.mirrored[0]
    assert scores.accuracy[3] == plain.accuracy[0] > 0
    assert scores.tp[6] == 0 and scores.fp[6] == 0 and scores.fn[6] > 0  # looking away


def test_hard_geometry_equals_official(tmp_path):
    """Threshold 10: cameras on the pitch (points behind them), very wide and strongly distorted
    lenses, roll and non-square pixels, an image with nothing annotated nor detected (the mean of
    JaC becomes float64), one with nothing annotated but lines detected."""
    rng = np.random.default_rng(1)
    cameras = [
        camera_at([-10, 5, -1.8], [52.5, 0, -1], fov=70),
        camera_at([-50, 36, -6], [0, -10, 0], fov=100, radial=[-0.3, 0.08, -0.01, 0, 0, 0]),
        camera_at([0, 60, -20], [0, 200, -100], fov=30),
        camera_at(
            [8, 55, -14],
            [-30, 5, 0],
            fov=35,
            tangential=[0.02, -0.015],
            prism=[0.01, -0.004, 0.008, 0.002],
        ),
        camera_at(
            [30, 48, -10],
            [45, 0, 0],
            fov=40,
            roll=8.0,
            aspect=1.04,
            radial=[0.2, -0.05, 0, 0.1, 0, 0],
        ),
        camera_at([0, 58, -15], [-10, 0, 0], fov=45),
    ]
    truth = Camera.stack(cameras)
    annotations = annotate(truth, rng, noise=3.0)
    annotations[2] = {"Side line top": np.zeros((0, 2))}  # annotated class without points
    annotations[5] = {}
    predictions = {f"{i:05d}": perturbed(c, rng) for i, c in enumerate(cameras)}
    predictions["00002"] = cameras[2].to_json()
    gt, pred = write_case(
        tmp_path, "b", {f"{i:05d}": a for i, a in enumerate(annotations)}, predictions
    )

    expected = official_evaluate(gt, pred, threshold=10)
    got = metric.evaluate(gt, pred, threshold=10)
    assert_same(expected, got)

    scores = metric.image_scores(
        formats.read_cameras(pred).values(), formats.read_annotations(gt).values(), threshold=10
    )
    assert scores.empty[2] and type(expected["meanAccuracies"]) is np.float64
    assert scores.fp[5] > 0 and scores.tp[5] == scores.fn[5] == 0
    # The on-pitch camera has pitch points behind it, and sees others.
    _, _, in_front = metric.evaluator_projection(
        Camera.stack([cameras[0]]), metric.sampled_pitch().points
    )
    assert not in_front.all() and in_front.any() and scores.tp[0] + scores.fp[0] > 0


def test_no_prediction_equals_official(tmp_path):
    rng = np.random.default_rng(2)
    annotations = annotate(sample_broadcast_cameras(rng, 3), rng)
    gt, pred = write_case(
        tmp_path,
        "c",
        {f"{i:05d}": a for i, a in enumerate(annotations)},
        {"99999": perturbed(sample_broadcast_cameras(rng, 1).select(0), rng)},
    )
    expected = official_evaluate(gt, pred, threshold=5)
    got = metric.evaluate(gt, pred)
    assert_same(expected, got)
    assert (
        got["completeness"] == 0
        and math.isnan(got["meanAccuracies"])
        and math.isnan(got["finalScore"])
    )


# ----------------------------------------------------------------------------- step-by-step parity


def stress_cameras(rng, num):
    """Broadcast cameras, cameras standing on the pitch, strongly distorted lenses, and a camera
    looking straight down on a goal post's foot (the post's other points are behind it: the
    post's polyline has one vertex)."""
    broadcast = sample_broadcast_cameras(rng, num, distortion=1.0)
    wild = sample_broadcast_cameras(rng, num, distortion=6.0)
    on_pitch = [
        camera_at(
            [rng.uniform(-45, 45), rng.uniform(-30, 30), -rng.uniform(1, 4)],
            [rng.uniform(-60, 60), rng.uniform(-40, 40), rng.uniform(-3, 0)],
            fov=rng.uniform(40, 110),
            roll=rng.uniform(-5, 5),
        )
        for _ in range(num)
    ]
    above_post = camera_at([-52.45, 3.7, -1.5], [-52.5, 3.66, 0], fov=100)
    return (
        [batch.select(i) for batch in (broadcast, wild) for i in range(num)]
        + on_pitch
        + [above_post]
    )


def test_polylines_equal_official():
    cameras = stress_cameras(np.random.default_rng(3), 12)
    polylines = metric.project_pitch(Camera.stack(cameras))
    counts, classes = polylines.counts(), polylines.pitch.classes
    single_vertex = skipped_behind = 0
    _, _, in_front = metric.evaluator_projection(Camera.stack(cameras), polylines.pitch.points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the official divides by zero behind the camera
        for i, camera in enumerate(cameras):
            expected = official_utils.get_polylines(camera.to_json(), W, H, sampling_factor=0.9)
            assert set(expected) == {c for e, c in enumerate(classes) if counts[i, e]}
            for e, name in enumerate(classes):
                if name not in expected:
                    continue
                start = polylines.starts[i * len(classes) + e]
                got = np.stack(
                    [
                        polylines.x[start : start + counts[i, e]],
                        polylines.y[start : start + counts[i, e]],
                    ],
                    -1,
                )
                want = np.array([[p["x"], p["y"]] for p in expected[name]])
                np.testing.assert_array_equal(got, want, err_msg=f"camera {i} {name!r}")
                single_vertex += len(want) == 1
                element = polylines.pitch.element == e
                skipped_behind += not in_front[i, element].all()
    assert single_vertex > 0 and skipped_behind > 0  # the rare paths were exercised


def test_projection_fast_path_equals_exact_path(monkeypatch):
    """Fast powers plus recomputation of doubtful roundings give the all-libm-pow result, which
    equals the official point-by-point projection."""
    cameras = Camera.stack(stress_cameras(np.random.default_rng(4), 10))
    points = metric.sampled_pitch().points
    with np.errstate(all="ignore"):
        u, v, in_front = metric.evaluator_projection(cameras, points)
        monkeypatch.setattr(
            metric, "_float32_rounding_at_risk", lambda value, size: np.ones(value.shape, bool)
        )
        exact_u, exact_v, _ = metric.evaluator_projection(cameras, points)
    np.testing.assert_array_equal(u[in_front], exact_u[in_front])
    np.testing.assert_array_equal(v[in_front], exact_v[in_front])

    rng = np.random.default_rng(5)
    checked = 0
    for i in range(len(cameras.pan_degrees)):
        camera = official_utils.Camera(W, H)
        camera.from_json_parameters(cameras.select(i).to_json())
        for p in rng.choice(len(points), 60, replace=False):
            projected = camera.project_point(points[p])
            assert (projected[2] != 0) == in_front[i, p]
            if in_front[i, p]:
                assert (projected[0], projected[1]) == (u[i, p], v[i, p])
                checked += 1
    assert checked > 500


def test_point_to_polyline_distances_equal_official():
    """Random polylines, points on vertices and at the perpendicular of segment ends (where the
    foot lands on an end), repeated vertices and one-vertex polylines."""
    rng = np.random.default_rng(6)
    points_x, points_y, expected, polylines_xy = [], [], [], []
    for trial in range(60):
        n = int(rng.integers(1, 8))
        vertices = np.cumsum(rng.normal(0, 40, (n, 2)), axis=0) + [480, 270]
        if n > 2 and trial % 4 == 0:
            vertices[2] = vertices[1]  # a zero-length segment
        vertices = vertices.astype(np.float32).astype(np.float64)
        polylines_xy.append(vertices)
        queries = [vertices[rng.integers(n)], vertices[rng.integers(n)] + rng.normal(0, 6, 2)]
        if n > 1:  # on the normal through a segment end
            a, b = vertices[0], vertices[1]
            normal = np.array([-(b - a)[1], (b - a)[0]])
            queries.append(a + normal * rng.uniform(-0.2, 0.2))
        for q in queries:
            points_x.append(q[0])
            points_y.append(q[1])
            polyline = [{"x": x, "y": y} for x, y in vertices]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zero-length segments divide by zero
                expected.append(
                    official_utils.distance_to_polyline({"x": q[0], "y": q[1]}, polyline)
                )
    # One query per point, each against its own polyline.
    owners = np.repeat(np.arange(len(polylines_xy)), [2 + (len(p) > 1) for p in polylines_xy])
    lengths = np.array([len(p) for p in polylines_xy])
    polylines = metric.Polylines(
        x=np.concatenate([p[:, 0] for p in polylines_xy]),
        y=np.concatenate([p[:, 1] for p in polylines_xy]),
        starts=np.concatenate([[0], np.cumsum(lengths)]),
        pitch=metric.sampled_pitch(),
    )
    with np.errstate(all="ignore"):
        got = metric._point_distances(
            np.array(points_x),
            np.array(points_y),
            np.arange(len(points_x)),
            np.ones(len(points_x), np.int64),
            owners,
            polylines,
        )
    np.testing.assert_array_equal(got, np.array(expected))


# --------------------------------------------------------------------------------- known values


def test_known_counts_and_layouts(tmp_path):
    """Exact annotations of two lines plus one line out of view: TP 2, FN 1, and every other
    detected element a FP; every layout of the same files gives the same scores."""
    camera = camera_at([0, 60, -18], [-35, 0, 0], fov=40)
    polylines = metric.project_pitch(Camera.stack([camera]))
    counts, classes = polylines.counts()[0], polylines.pitch.classes
    annotation = {}
    for name in ("Big rect. left main", "Side line top"):
        e = classes.index(name)
        start = polylines.starts[e]
        xy = np.stack(
            [polylines.x[start : start + counts[e]], polylines.y[start : start + counts[e]]], -1
        )
        annotation[name] = xy[[0, -1]] / [W - 1, H - 1]
    annotation["Side line right"] = np.array([[0.5, 0.5], [0.6, 0.6]])  # not in view: a FN
    assert counts[classes.index("Side line right")] == 0
    scores = metric.image_scores([camera], [annotation])
    detected = int((counts > 0).sum())
    assert (scores.tp[0], scores.fn[0], scores.fp[0]) == (2, 1, detected - 2)
    assert scores.accuracy[0] == np.float32(2) / np.float32(detected + 1)

    document = camera.to_json()
    results = []
    for name, split in (
        ("flat.zip", None),
        ("split.zip", "valid"),
        ("folder", None),
        ("split_folder", "valid"),
    ):
        pred = formats.write_cameras(
            tmp_path / name, {"00001": document, "00002": document}, split=split
        )
        for gt in (
            formats.write_annotations(
                tmp_path / f"gt_{name}.zip", {"00001": annotation}, split="valid"
            ),
            formats.write_annotations(tmp_path / f"gt_{name}", {"00001": annotation}),
        ):
            results.append(metric.evaluate(gt, pred))
    for result in results[1:]:
        np.testing.assert_equal(result, results[0])  # nan (0/0 per-class values) equals nan
    assert results[0]["meanAccuracies"] == float(scores.accuracy[0])
    assert (
        results[0]["Side line rightRecall"] == 0 and results[0]["Big rect. left mainPrecision"] == 1
    )


def test_bad_prediction_files(tmp_path):
    rng = np.random.default_rng(7)
    annotations = {"00001": annotate(sample_broadcast_cameras(rng, 1), rng)[0]}
    gt = formats.write_annotations(tmp_path / "gt.zip", annotations, split="valid")
    good = sample_broadcast_cameras(rng, 1)
    document = good.select(0).to_json()
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "camera_00001.json").write_text(json.dumps(document))
    (pred / "camera_00002.json").write_text("{broken")  # no ground truth: never opened
    assert metric.evaluate(gt, pred)["completeness"] == 1.0
    del document["radial_distortion"]
    (pred / "camera_00001.json").write_text(json.dumps(document))
    with pytest.raises(
        formats.CalibrationFormatError, match=r"camera_00001\.json: missing key 'radial_distortion'"
    ):
        metric.evaluate(gt, pred)


def test_command_line_prints_a_table(tmp_path, capsys):
    rng = np.random.default_rng(8)
    truth = sample_broadcast_cameras(rng, 2)
    annotations = annotate(truth, rng)
    gt, pred = write_case(
        tmp_path,
        "cli",
        {"00001": annotations[0], "00002": annotations[1]},
        {"00001": perturbed(truth.select(0), rng)},
    )
    assert metric.main([str(gt), str(pred), "--threshold", "10", "--per-class"]) == 0
    out = capsys.readouterr().out
    results = metric.evaluate(gt, pred, threshold=10)
    assert f"| completeness (%) | {100 * results['completeness']:.2f} |" in out
    assert f"| JaC@10 (%) | {100 * results['meanAccuracies']:.2f} |" in out
    assert "| class | precision (%) |" in out
