"""The parts of the ball-spotting recipe: clip augmentations, per-frame targets, losses, NMS."""

import jax.numpy as jnp
import numpy as np
import pytest

from zoo.data import clip_transforms as ct
from zoo.losses import frame_spotting as fs
from zoo.postprocess import frame_scores as fd
from zoo.postprocess.nms import soft_nms, window_nms


def _clip(num_frames=6, height=12, width=20, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros(num_frames, np.int32)
    teams = np.full(num_frames, -1, np.int32)
    labels[2], teams[2] = 3, 0
    labels[4], teams[4] = 1, 1
    return {
        "frames": rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8),
        "labels": labels, "teams": teams, "valid": np.ones(num_frames, bool),
    }


def test_flip_mirrors_frames_and_swaps_left_and_right_teams():
    clip = _clip()
    flipped = ct.horizontal_flip(clip)
    np.testing.assert_array_equal(flipped["frames"], clip["frames"][:, :, ::-1])
    np.testing.assert_array_equal(flipped["teams"], [-1, -1, 1, -1, 0, -1])
    np.testing.assert_array_equal(flipped["labels"], clip["labels"])
    again = ct.horizontal_flip(flipped)
    np.testing.assert_array_equal(again["frames"], clip["frames"])
    np.testing.assert_array_equal(again["teams"], clip["teams"])


def test_augment_with_flip_probability_one_swaps_teams_in_the_targets():
    clip = ct.ClipAugment(flip_p=1.0)(_clip(), np.random.default_rng(0))
    targets = fs.clip_targets(clip["labels"], clip["teams"], clip["valid"], num_classes=4, team_mode="joint")
    # class 2 (label 3) by the left team becomes class 2 by the right team: column 1 + 2*2 + 1.
    assert targets["class_targets"][2].argmax() == 6
    assert targets["class_targets"][4].argmax() == 1  # class 0, right -> left


def test_crops_take_one_window_for_every_frame():
    clip = _clip()
    cropped = ct.random_crop(clip, np.random.default_rng(3), (8, 10))
    assert cropped["frames"].shape == (6, 8, 10, 3)
    windows = np.lib.stride_tricks.sliding_window_view(clip["frames"][0], (8, 10, 3))[..., :, :, :]
    hits = np.argwhere((windows == cropped["frames"][0]).all(axis=(-3, -2, -1)))
    assert len(hits) >= 1
    top, left = hits[0][:2]
    np.testing.assert_array_equal(cropped["frames"], clip["frames"][:, top : top + 8, left : left + 10])
    centred = ct.center_crop(clip, (8, 10))
    np.testing.assert_array_equal(centred["frames"], clip["frames"][:, 2:10, 5:15])
    with pytest.raises(ValueError, match="larger than the frames"):
        ct.random_crop(clip, np.random.default_rng(0), (13, 10))


def test_camera_motion_and_colour_jitter_keep_shapes_and_treat_frames_alike():
    clip = _clip()
    clip["frames"][:] = clip["frames"][0]  # a still video
    still = ct.camera_motion(clip, np.random.default_rng(0), max_rotation_degrees=0, max_translation=0)
    np.testing.assert_array_equal(still["frames"], clip["frames"])
    moved = ct.camera_motion(clip, np.random.default_rng(0), max_rotation_degrees=10, max_translation=0.1)
    assert moved["frames"].shape == clip["frames"].shape and moved["frames"].dtype == np.uint8
    assert not np.array_equal(moved["frames"][0], moved["frames"][-1])  # the camera moves over the clip
    jittered = ct.clip_color_jitter(clip, np.random.default_rng(1), brightness=0.3, contrast=0.3,
                                    saturation=0.3, hue=0.05)
    assert not np.array_equal(jittered["frames"], clip["frames"])
    for t in range(1, 6):  # one colour change for the whole clip
        np.testing.assert_array_equal(jittered["frames"][t], jittered["frames"][0])


def test_augment_with_zero_probabilities_changes_nothing():
    clip = _clip()
    out = ct.ClipAugment(flip_p=0.0, camera_motion_p=0.0, color_jitter_p=0.0)(clip, np.random.default_rng(0))
    for key in clip:
        np.testing.assert_array_equal(out[key], clip[key])


def test_mixup_blends_frames_and_targets_with_the_same_weight():
    batch = {
        "frames": np.stack([np.zeros((2, 2, 2, 3), np.uint8), np.full((2, 2, 2, 3), 200, np.uint8)]),
        "class_targets": np.stack([np.eye(3, dtype=np.float32)[[0, 1]], np.eye(3, dtype=np.float32)[[2, 2]]]),
    }
    out = ct.mixup(batch, np.random.default_rng(5), alpha=0.2, target_keys=("class_targets",))
    rng = np.random.default_rng(5)
    lam, partner = rng.beta(0.2, 0.2, size=2), rng.permutation(2)
    for i in range(2):
        expected = lam[i] * batch["class_targets"][i] + (1 - lam[i]) * batch["class_targets"][partner[i]]
        np.testing.assert_allclose(out["class_targets"][i], expected, rtol=1e-6)
        pixel = np.rint(lam[i] * batch["frames"][i, 0, 0, 0, 0] + (1 - lam[i]) * batch["frames"][partner[i], 0, 0, 0, 0])
        assert out["frames"][i, 0, 0, 0, 0] == pixel
    np.testing.assert_allclose(out["class_targets"].sum(-1), 1.0, rtol=1e-6)


def test_targets_expand_labels_and_point_displacements_at_the_nearest_event():
    labels = np.zeros(12, np.int32)
    teams = np.full(12, -1, np.int32)
    labels[3], teams[3] = 2, 1
    labels[8] = 1
    valid = np.ones(12, bool)
    valid[-1] = False
    targets = fs.clip_targets(labels, teams, valid, num_classes=3, team_mode="head",
                              label_expansion=1, radius=2)
    np.testing.assert_array_equal(targets["class_targets"].argmax(-1), [0, 0, 2, 2, 2, 0, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(targets["displacement"][1:11], [2, 1, 0, -1, -2, 2, 1, 0, -1, -2])
    np.testing.assert_array_equal(targets["displacement_mask"], [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(targets["team_mask"], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(targets["team_targets"][2:5], [1, 1, 1])
    np.testing.assert_array_equal(targets["frame_mask"][-2:], [1, 0])
    with pytest.raises(ValueError, match="team for every event"):
        fs.clip_targets(labels, teams, valid, num_classes=3, team_mode="joint")


def test_weighted_cross_entropy_matches_its_definition_and_focal_reduces_to_it():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 4)).astype(np.float32)
    targets = rng.dirichlet(np.ones(4), size=(2, 5)).astype(np.float32)
    mask = np.ones((2, 5), np.float32)
    mask[1, 4] = 0
    total, count = fs.weighted_cross_entropy(jnp.asarray(logits), targets, mask, foreground_weight=5.0)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    weights = np.array([1, 5, 5, 5], np.float32)
    expected = (-(weights * targets * log_p).sum(-1) * mask).sum()
    np.testing.assert_allclose(float(total), expected, rtol=1e-5)
    assert float(count) == 9
    focal, _ = fs.weighted_cross_entropy(jnp.asarray(logits), targets, mask, foreground_weight=5.0, focal_gamma=2.0)
    assert 0 < float(focal) < float(total)


def test_loss_combines_the_heads_with_their_weights():
    rng = np.random.default_rng(1)
    outputs = {"class_logits": jnp.asarray(rng.normal(size=(1, 4, 3)), jnp.float32),
               "displacement": jnp.asarray([[0.5, 0.0, 0.0, 1.0]], jnp.float32),
               "team_logits": jnp.asarray([[0.0, 2.0, 0.0, 0.0]], jnp.float32)}
    batch = {"class_targets": np.eye(3, dtype=np.float32)[[[0, 1, 0, 0]]],
             "frame_mask": np.ones((1, 4), np.float32),
             "displacement": np.array([[1.0, 0, 0, 0]], np.float32),
             "displacement_mask": np.array([[1.0, 1, 0, 0]], np.float32),
             "team_targets": np.array([[0, 1.0, 0, 0]], np.float32),
             "team_mask": np.array([[0, 1.0, 0, 0]], np.float32)}
    loss = fs.make_loss(foreground_weight=5, focal_gamma=0, displacement_weight=1, team_weight=2)
    total, metrics = loss(outputs, batch)
    ce = float(metrics["class_loss"][0]) / 4
    displacement = (0.5 ** 2 + 0) / 2
    team = float(np.log1p(np.exp(-2.0)))
    np.testing.assert_allclose(float(total), ce + displacement + 2 * team, rtol=1e-5)


def test_team_head_scores_split_each_class_between_left_and_right():
    logits = np.log(np.array([[[0.5, 0.3, 0.2]]]))
    scores = fd.frame_scores({"class_logits": logits, "team_logits": np.array([[0.0]])},
                             num_classes=2, team_mode="head")
    np.testing.assert_allclose(scores, [[[0.15, 0.15, 0.1, 0.1]]])
    joint = fd.frame_scores({"class_logits": logits}, num_classes=1, team_mode="joint")
    np.testing.assert_allclose(joint, [[[0.3, 0.2]]])


def test_shift_by_displacement_moves_scores_to_the_event():
    scores = np.array([[0.1], [0.9], [0.2], [0.0]])
    shifted = fd.shift_by_displacement(scores, np.array([2.2, 1.0, 0.0, -5.0]))
    np.testing.assert_allclose(shifted[:, 0], [0.0, 0.0, 0.9, 0.0])  # clipped at the clip start


def _reference_nms(scores, window, threshold, soft):
    """Per class, a list of candidate events processed one by one (the baselines' formulation)."""
    kept = []
    for klass in range(scores.shape[1]):
        events = [[f, scores[f, klass]] for f in range(len(scores)) if scores[f, klass] >= threshold]
        while events:
            best = max(events, key=lambda e: e[1])  # the first maximum in frame order
            if best[1] < threshold:
                break
            kept.append((best[0], klass, best[1]))
            near = [e for e in events if abs(e[0] - best[0]) <= window]
            if soft:
                for e in near:
                    e[1] *= abs(e[0] - best[0]) ** 2 / window ** 2
                events.remove(best)
            else:
                events = [e for e in events if e not in near]
    kept.sort(key=lambda k: (k[0], k[1]))
    return kept


@pytest.mark.parametrize("soft", [False, True])
def test_window_and_soft_nms_match_the_list_formulation(soft):
    rng = np.random.default_rng(7)
    for trial in range(20):
        scores = rng.random((rng.integers(1, 60), 3)) ** 3
        scores[rng.random(scores.shape) < 0.3] = 0.5  # ties
        window, threshold = int(rng.integers(1, 8)), float(rng.choice([0.01, 0.2]))
        nms = soft_nms if soft else window_nms
        frame, klass, score = nms(scores, window=window, threshold=threshold)
        expected = _reference_nms(scores, window, threshold, soft)
        assert list(zip(frame.tolist(), klass.tolist())) == [(f, c) for f, c, _ in expected], trial
        np.testing.assert_allclose(score, [s for _, _, s in expected])
