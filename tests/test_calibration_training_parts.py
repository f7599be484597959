"""Heatmap targets, geometry-consistent augmentation and heatmap decoding: each undoes the other."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from configs.calibration import resnet_fpn as fpn
from zoo.data.pitch_transforms import PitchAugment, PitchSample, evaluation_resize
from zoo.geometry.pitch import CLASS_INDEX, KEYPOINT_INDEX, LINE_HEAD_CLASSES, keypoint_flip_index
from zoo.losses import pitch_heatmaps as targets
from zoo.postprocess import heatmap_points
from zoo.synthetic import calibration as synthetic
from zoo.synthetic.calibration_scene import render
from zoo.tasks import calibration as task

# Jitted as the task runs them (op by op, each small operation would compile on its own).
keypoint_peaks = jax.jit(heatmap_points.keypoint_peaks, static_argnames="threshold")
line_end_peaks = jax.jit(heatmap_points.line_end_peaks, static_argnames="threshold")
line_points = jax.jit(heatmap_points.line_points, static_argnames=("threshold", "count", "min_mass"))


def test_keypoint_targets_decode_to_their_points():
    points = np.array([[10.3, 7.6], [40.0, 20.5], [np.nan, np.nan], [70.0, 5.0]])  # last: outside
    maps = targets.keypoint_heatmaps(points, (30, 60), sigma=2.0)
    assert maps.shape == (30, 60, 5)
    np.testing.assert_allclose(maps.sum(-1)[maps[..., -1] > 0], 1.0, atol=1e-6)  # softmax-like
    assert maps[..., 2].max() == 0 and maps[..., 3].max() == 0
    found, score = keypoint_peaks(maps[None], threshold=0.5)
    np.testing.assert_allclose(np.asarray(found)[0, :2], points[:2], atol=0.15)
    np.testing.assert_array_equal(np.asarray(score)[0] > 0, [True, True, False, False])


def test_line_targets_decode_to_points_on_the_lines():
    line = np.array([[5.0, 25.0], [55.0, 8.0], [30.0, 16.5]])  # extremities, then a point
    maps = targets.line_heatmaps({3: line, 7: np.array([[20.0, 2.0], [24.0, 28.0]])}, 23, (30, 60), 2.0)
    assert maps.shape == (30, 60, 24)
    on_line = maps[np.round(line[:, 1]).astype(int), np.round(line[:, 0]).astype(int), 3]
    assert (on_line > 0.8).all() and maps[0, 59, 3] < 1e-3
    points, weight = line_points(maps[None], threshold=0.3, count=6)
    points, weight = np.asarray(points)[0], np.asarray(weight)[0]
    assert weight[3].sum() == 6 and weight[7].sum() >= 5 and weight[0].sum() == 0
    direction = (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    offset = points[3] - line[0]
    distance = np.abs(offset[:, 0] * direction[1] - offset[:, 1] * direction[0])
    assert distance.max() < 0.3
    ends = targets.line_end_heatmaps({3: line}, 23, (30, 60), 2.0)
    found, score = line_end_peaks(ends[None], threshold=0.5)
    got = np.sort(np.asarray(found)[0, 3], axis=0)
    np.testing.assert_allclose(got, np.sort(line[:2], axis=0), atol=0.2)
    assert (np.asarray(score)[0, 3] > 0).all() and (np.asarray(score)[0, 4] == 0).all()


def test_flip_swaps_mirrored_classes_and_moves_every_point():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (54, 96, 3), np.uint8)
    keypoints = rng.uniform([0, 0], [95, 53], (57, 2))
    lines = {CLASS_INDEX["Side line left"]: np.array([[3.0, 4.0], [20.0, 50.0]]),
             CLASS_INDEX["Goal left post left "]: np.array([[10.0, 10.0], [10.0, 30.0]])}
    sample = PitchSample(image, keypoints, lines)
    flip = PitchAugment((54, 96), flip=1.0, zoom=1.0, brightness=0, contrast=0, saturation=0, hue=0, noise=0)
    flipped = flip(sample, rng)
    np.testing.assert_array_equal(flipped.image, image[:, ::-1])
    left, right = KEYPOINT_INDEX["TL_PITCH_CORNER"], KEYPOINT_INDEX["TR_PITCH_CORNER"]
    np.testing.assert_allclose(flipped.keypoints[right], [95 - keypoints[left, 0], keypoints[left, 1]])
    assert set(flipped.lines) == {CLASS_INDEX["Side line right"], CLASS_INDEX["Goal right post right"]}
    np.testing.assert_allclose(flipped.lines[CLASS_INDEX["Side line right"]], [[92.0, 4.0], [75.0, 50.0]])
    again = flip(flipped, rng)
    np.testing.assert_allclose(again.keypoints, keypoints)
    np.testing.assert_array_equal(keypoint_flip_index()[KEYPOINT_INDEX["CENTER_MARK"]], KEYPOINT_INDEX["CENTER_MARK"])


def test_augmented_targets_follow_the_image():
    """After a random zoom, crop and flip, the line targets lie on the painted lines of the
    augmented image: white paint is where the targets are, not a few pixels beside them."""
    rng = np.random.default_rng(2)
    cameras, _ = synthetic.sample_cameras(rng, 6)
    config = fpn.get_config("tiny")
    config.data.image_size = (108, 192)
    augment = PitchAugment((108, 192), flip=0.5, zoom=1.3, brightness=0, contrast=0, saturation=0,
                           hue=0, noise=0)
    aligned, beside = [], []
    for i in range(6):
        camera = cameras.select(i)
        image = render(camera, np.random.default_rng(i), width=384, height=216)[..., ::-1]
        lines = synthetic.annotate(camera, np.random.default_rng(i))
        sample = augment(task.pitch_sample(image, lines, camera), np.random.default_rng(i))
        keypoint_maps, line_maps = task.heatmap_targets(config, sample)
        assert keypoint_maps.shape == (54, 96, 58) and line_maps.shape == (54, 96, 24)
        on = np.repeat(np.repeat(line_maps[..., :-1].max(-1) > 0.9, 2, 0), 2, 1)
        whiteness = sample.image.min(-1).astype(float)  # paint is bright in every channel
        aligned.append(whiteness[on])
        beside.append(whiteness[np.roll(on, (5, 5), (0, 1))])
    aligned, beside = np.concatenate(aligned), np.concatenate(beside)
    assert len(aligned) > 200
    assert aligned.mean() > beside.mean() + 15


def test_sample_from_a_camera_matches_the_annotation_scale():
    camera = synthetic.sample_cameras(np.random.default_rng(5), 1)[0].select(0)
    image = np.zeros((270, 480, 3), np.uint8)
    sample = task.pitch_sample(image, {"Side line top": np.array([[0.0, 0.5], [1.0, 0.25]])}, camera)
    np.testing.assert_allclose(sample.lines[CLASS_INDEX["Side line top"]], [[0, 134.5], [479, 67.25]])
    resized = evaluation_resize(sample, (54, 96))
    np.testing.assert_allclose(resized.lines[CLASS_INDEX["Side line top"]], [[0, 26.5], [95, 13.25]])
    assert len(LINE_HEAD_CLASSES) == 23


@pytest.mark.parametrize("weight", [0.0, 20.0])
def test_heatmap_loss_is_zero_on_its_targets_and_skips_unknown_keypoints(weight):
    import jax.numpy as jnp

    maps = targets.keypoint_heatmaps(np.array([[5.0, 5.0]]), (12, 16), 1.5)[None]
    loss = targets.heatmap_loss(jnp.asarray(maps), jnp.asarray(maps), jnp.ones(1), weight)
    assert float(loss[0]) == 0.0
    wrong = np.roll(maps, 3, axis=2)
    assert float(targets.heatmap_loss(jnp.asarray(wrong), jnp.asarray(maps), jnp.ones(1), weight)[0]) > 0
    assert float(targets.heatmap_loss(jnp.asarray(wrong), jnp.asarray(maps), jnp.zeros(1), weight)[0]) == 0


def test_positive_weight_raises_the_class_peaks_not_the_background():
    """An all-background prediction, the minimum plain MSE falls into: the weight adds
    w * target * error^2 on the class channels only (the background's target is ~1 everywhere)."""
    import jax.numpy as jnp

    maps = targets.keypoint_heatmaps(np.array([[5.0, 5.0], [11.0, 3.0]]), (12, 16), 1.5)[None]
    background = np.zeros_like(maps)
    background[..., -1] = 1.0
    plain = float(targets.heatmap_loss(jnp.asarray(background), jnp.asarray(maps), jnp.ones(1), 0.0)[0])
    weighted = float(targets.heatmap_loss(jnp.asarray(background), jnp.asarray(maps), jnp.ones(1), 20.0)[0])
    classes = maps[..., :-1]
    expected_extra = 20.0 * np.sum(classes * classes**2) / maps.size
    assert weighted - plain == pytest.approx(expected_extra, rel=1e-5)
