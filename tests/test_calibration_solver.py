"""The batched camera solver recovers the true synthetic cameras, from exact annotations, from
keypoints, and with a share of wrong points; it says when it cannot.

Every solve runs on one compiled program (chunks of 16 images, 57 keypoint and 256 line-point
slots, the default settings), as the task uses it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.geometry import camera as camera_lib
from zoo.geometry.pitch import keypoints, sampled_pitch
from zoo.metrics import calibration as metric
from zoo.postprocess import camera_solver, plane_homography
from zoo.synthetic import calibration as synthetic

from tests.solver_program import CHUNK, SLOTS, compile_optimised

NUM = 32


def solve(observations):
    compile_optimised()
    return camera_solver.solve(observations, chunk=CHUNK, slots=SLOTS)


def reprojection_errors(truth, solved) -> np.ndarray:
    """Per image: the mean distance (960x540 pixels) between where the true and the solved camera
    put the pitch's markings seen in the image (inf where the solved camera loses them)."""
    points = sampled_pitch(0.5, 0.2).points
    true_px, true_front = camera_lib.project(truth, points)
    solved_px, solved_front = camera_lib.project(solved, points)
    seen = true_front & (true_px[..., 0] >= 0) & (true_px[..., 0] < 960) & (
        true_px[..., 1] >= 0) & (true_px[..., 1] < 540)
    distance = np.where(solved_front, np.linalg.norm(true_px - solved_px, axis=-1), np.inf)
    return np.array([distance[i][seen[i]].mean() if seen[i].any() else np.nan for i in range(len(seen))])


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(3)
    cameras, kinds = synthetic.sample_cameras(rng, NUM)
    annotations = [synthetic.annotate(cameras.select(i), rng) for i in range(NUM)]
    return cameras, kinds, annotations


@pytest.fixture(scope="module")
def from_lines(scenes):
    _, _, annotations = scenes
    return solve(camera_solver.observations_from_annotations(annotations, line_slots=SLOTS[1]))


def test_exact_annotations_give_the_true_cameras(scenes, from_lines):
    cameras, kinds, annotations = scenes
    elements = np.array([len(a) for a in annotations])
    errors = reprojection_errors(cameras, from_lines.cameras)
    enough = elements >= 4  # fewer lines cannot fix 10 parameters
    assert enough.sum() >= 20 and {"main", "distorted", "behind_goal"} <= set(kinds[enough])
    print(f"median reprojection error {np.median(errors[enough]):.3f} px over {enough.sum()} images")
    assert np.median(errors[enough]) < 1.0
    sure = from_lines.confidence >= 0.5
    assert sure[enough].mean() >= 0.8
    # The official metric on the solved cameras is near what the true cameras score.
    truth = metric.image_scores(cameras.select(sure), [a for a, s in zip(annotations, sure) if s])
    solved = metric.image_scores(from_lines.cameras.select(sure), [a for a, s in zip(annotations, sure) if s])
    assert solved.accuracy.mean() >= truth.accuracy.mean() - 0.03
    assert np.nanmax(errors[sure]) < 5.0  # a sure camera is a right camera


def test_too_few_lines_give_no_confidence(scenes, from_lines):
    _, _, annotations = scenes
    few = np.array([len(a) for a in annotations]) <= 2
    assert few.any()
    assert (from_lines.confidence[few] < 0.1).all()


def test_keypoints_and_outliers(scenes):
    """Detected keypoints plus lines, with 25% of the keypoints and 15% of the line points
    thrown anywhere in the image: the robust solver keeps the true cameras."""
    cameras, _, annotations = scenes
    rng = np.random.default_rng(4)
    pixels, in_front = camera_lib.project(cameras, keypoints())
    seen = in_front & (pixels[..., 0] >= 0) & (pixels[..., 0] <= 959) & (pixels[..., 1] >= 0) & (
        pixels[..., 1] <= 539)
    wrong = seen & (rng.random(seen.shape) < 0.25)
    pixels = np.where(wrong[..., None], rng.uniform([0, 0], [960, 540], pixels.shape), pixels)
    lines = camera_solver.observations_from_annotations(annotations, line_slots=SLOTS[1])
    bad = (rng.random(lines.line_weight.shape) < 0.15) & (lines.line_weight > 0)
    noisy_lines = lines._replace(line_pixel=np.where(
        bad[..., None], rng.uniform([0, 0], [960, 540], lines.line_pixel.shape), lines.line_pixel
    ).astype(np.float32))
    solution = solve(camera_solver.keypoint_observations(pixels, seen.astype(np.float32), noisy_lines))
    errors = reprojection_errors(cameras, solution.cameras)
    sure = solution.confidence >= 0.5
    assert wrong.sum() > 20 and bad.sum() > 20
    assert sure.sum() >= 20
    print(f"with outliers: median reprojection error {np.median(errors[sure]):.3f} px")
    assert np.median(errors[sure]) < 1.0
    assert (errors[sure] < 5.0).mean() >= 0.95


def test_chunks_and_padding_do_not_change_the_answer(scenes, from_lines):
    _, _, annotations = scenes
    alone = solve(camera_solver.observations_from_annotations(annotations[:3], line_slots=SLOTS[1]))
    np.testing.assert_allclose(alone.confidence, from_lines.confidence[:3], atol=1e-6)
    for got, want in zip(alone.cameras, from_lines.cameras.select(slice(0, 3))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="slots"):
        camera_solver.pad_observations(
            camera_solver.observations_from_annotations(annotations, line_slots=300), 57, 256)


@jax.jit
def decompose(homography, origin, axes):
    return plane_homography.camera_from_homography(
        homography, center=jnp.array([480.0, 270.0]), plane_origin=origin, plane_axes=axes,
        focal_range=(100.0, 1e5), default_focal=1000.0)


def test_a_plane_homography_decomposes_into_its_camera():
    """Pan, tilt, roll, position and focal length of an undistorted camera from its exact ground
    homography, and from a goal-line plane's."""
    cameras = camera_lib.sample_broadcast_cameras(np.random.default_rng(5), 3, distortion=0.0)
    cameras = cameras._replace(focal_length=np.repeat(cameras.focal_length[:, :1], 2, axis=1))
    for i in range(3):
        camera = cameras.select(i)
        for origin, axes in (([0.0, 0, 0], [[1.0, 0, 0], [0, 1.0, 0]]),
                             ([-52.5, 0, 0], [[0, 1.0, 0], [0, 0, 1.0]])):
            origin, axes = np.array(origin), np.array(axes)
            rotation = camera.rotation()
            homography = camera.intrinsic_matrix() @ np.stack(
                [rotation @ axes[0], rotation @ axes[1], rotation @ (origin - camera.position)], -1)
            found = decompose(jnp.asarray(homography, jnp.float32), jnp.asarray(origin, jnp.float32),
                              jnp.asarray(axes, jnp.float32))
            np.testing.assert_allclose(float(found["focal"]), camera.focal_length[0], rtol=1e-3)
            np.testing.assert_allclose(np.asarray(found["position"]), camera.position, atol=0.05)
            angles = np.rad2deg([float(found[k]) for k in ("pan", "tilt", "roll")])
            want = [camera.pan_degrees, camera.tilt_degrees, camera.roll_degrees]
            np.testing.assert_allclose(np.angle(np.exp(1j * np.deg2rad(angles - want))), 0.0, atol=1e-3)
