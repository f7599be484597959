"""The 57 pitch keypoints, their flips, and synthetic calibration annotations that score as exact."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.geometry import camera as camera_lib
from zoo.geometry import pitch as pitch_lib
from zoo.metrics import calibration as metric
from zoo.synthetic import calibration as synthetic

# The published keypoint list (PnLCalib / No Bells Just Whistles, utils_keypoints.py): pitch
# coordinates with the origin at the top-left corner, rounded to 2 decimals; channel 52 is 61.5
# there, where the centre circle passes at 61.65.
PUBLISHED = [
    [0., 0.], [52.5, 0.], [105., 0.], [0., 13.84], [16.5, 13.84], [88.5, 13.84], [105., 13.84],
    [0., 24.84], [5.5, 24.84], [99.5, 24.84], [105., 24.84], [0., 30.34], [0., 30.34], [105., 30.34],
    [105., 30.34], [0., 37.66], [0., 37.66], [105., 37.66], [105., 37.66], [0., 43.16], [5.5, 43.16],
    [99.5, 43.16], [105., 43.16], [0., 54.16], [16.5, 54.16], [88.5, 54.16], [105., 54.16], [0., 68.],
    [52.5, 68.], [105., 68.], [16.5, 26.68], [52.5, 24.85], [88.5, 26.68], [16.5, 41.31], [52.5, 43.15],
    [88.5, 41.31], [19.99, 32.29], [43.68, 31.53], [61.31, 31.53], [85., 32.29], [19.99, 35.7],
    [43.68, 36.46], [61.31, 36.46], [85., 35.7], [11., 34.], [16.5, 34.], [20.15, 34.], [46.03, 27.53],
    [58.97, 27.53], [43.35, 34.], [52.5, 34.], [61.5, 34.], [46.03, 40.47], [58.97, 40.47], [84.85, 34.],
    [88.5, 34.], [94., 34.],
]


def test_keypoints_are_the_published_channels():
    world = pitch_lib.keypoints()
    assert world.shape == (57, 3) == (pitch_lib.NUM_KEYPOINTS, 3)
    assert len(set(pitch_lib.KEYPOINT_NAMES)) == 57
    published = np.array(PUBLISHED) - [52.5, 34.0]
    error = np.abs(world[:, :2] - published)
    error[51] = np.abs(error[51] - [0.15, 0.0])  # the published typo
    assert error.max() < 0.015
    # Goal-post tops stand 2.44 m above the ground (z points down), every other point is on it.
    tops = [pitch_lib.KEYPOINT_INDEX[n] for n in ("L_GOAL_TR_POST", "R_GOAL_TL_POST", "L_GOAL_TL_POST", "R_GOAL_TR_POST")]
    np.testing.assert_allclose(world[tops, 2], -2.44)
    assert np.count_nonzero(world[:, 2]) == 4
    # Tangent points: on their circle, and the tangent line is perpendicular to the radius.
    name = pitch_lib.KEYPOINT_INDEX
    touch, centre, through = (world[name[n]] for n in (
        "TL_PENALTY_ARC_TANGENT_POINT", "L_PENALTY_MARK", "L_PENALTY_AREA_TR_CORNER"))
    assert np.linalg.norm(touch - centre) == pytest.approx(9.15)
    assert np.dot(touch - centre, through - touch) == pytest.approx(0.0, abs=1e-9)


def test_flips_mirror_the_pitch_across_the_halfway_line():
    world = pitch_lib.keypoints()
    flip = pitch_lib.keypoint_flip_index()
    np.testing.assert_array_equal(flip[flip], np.arange(57))
    np.testing.assert_allclose(world[flip], world * [-1.0, 1.0, 1.0], atol=1e-9)
    lines = pitch_lib.line_flip_index()
    np.testing.assert_array_equal(lines[lines], np.arange(len(pitch_lib.LINE_CLASSES)))
    names = dict(zip(pitch_lib.LINE_CLASSES, (pitch_lib.LINE_CLASSES[i] for i in lines)))
    assert names["Goal left post left "] == "Goal right post right"  # not the point reflection's
    assert names["Side line top"] == "Side line top" and names["Circle left"] == "Circle right"
    assert pitch_lib.LINE_HEAD_CLASSES == tuple(
        c for c in pitch_lib.LINE_CLASSES if "Circle" not in c and "unknown" not in c)
    assert len(pitch_lib.LINE_HEAD_CLASSES) == 23


def test_synthetic_cameras_mix_the_broadcast_shots_without_folding_lenses():
    cameras, kinds = synthetic.sample_cameras(np.random.default_rng(0), 40)
    assert set(kinds) == {"main", "close_up", "behind_goal", "distorted"}
    assert not synthetic.folding_lenses(cameras).any()
    assert np.abs(cameras.radial_distortion[kinds == "distorted", 0]).max() > 0.2
    assert (np.abs(cameras.position[kinds == "behind_goal", 0]) > 52.5).all()
    # A lens that folds back: strong pincushion with a negative r^4 term.
    folding = cameras.select(slice(0, 1))._replace(radial_distortion=np.array([[0.2, -0.2, 0, 0, 0, 0.0]]))
    assert synthetic.folding_lenses(folding).all()


def test_annotations_are_official_and_exact():
    """Normalised points in [0, 1] on the projected elements; the true cameras score JaC@5 = 1
    (all but the rare image where the evaluator's 0.9 m chords leave the curve)."""
    rng = np.random.default_rng(1)
    cameras, _ = synthetic.sample_cameras(rng, 24)
    annotations = [synthetic.annotate(cameras.select(i), rng) for i in range(24)]
    for lines in annotations:
        for name, points in lines.items():
            assert name in pitch_lib.CLASS_INDEX
            assert ((points >= 0) & (points <= 1)).all() and len(points) >= 2
    scores = metric.image_scores(cameras, annotations)
    seen = ~scores.empty
    assert seen.sum() >= 18 and (scores.fn == 0).all()
    assert (scores.accuracy[seen] == 1.0).mean() >= 0.9
    # Straight-line points lie on the projected element (distortion included).
    lines = annotations[int(np.flatnonzero(seen)[0])]
    camera = cameras.select(int(np.flatnonzero(seen)[0]))
    for name, points in lines.items():
        if name not in pitch_lib.STRAIGHT_ELEMENTS:
            continue
        a, b = pitch_lib.Pitch().straight_elements()[name]
        dense, _ = camera_lib.project(camera, a + np.linspace(0, 1, 20001)[:, None] * (b - a))
        pixels = points * [959, 539]
        distance = np.min(np.linalg.norm(pixels[:, None] - dense[None], axis=-1), axis=1)
        assert distance.max() < 0.05, name
