"""The ReID task's parts: samplers, augmentations, losses, re-ranking, ensembles."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from zoo.data import image_transforms as T
from zoo.data.samplers import ActionBatches, IdentityBatches
from zoo.losses import metric_learning
from zoo.tasks.reid import action_distances
from zoo.postprocess.reranking import k_reciprocal_rerank

# ----------------------------------------------------------------------------- samplers


def test_identity_batches_are_p_by_k_and_cover_every_identity_each_epoch():
    identity = np.repeat(np.arange(12), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
    plan = IdentityBatches(identity, identities=3, instances=4, seed=0)
    assert plan.batches_per_epoch == 4
    seen = []
    for batch in range(4):
        indices = plan[batch]
        assert indices.shape == (12,)
        ids = identity[indices].reshape(3, 4)
        assert (ids == ids[:, :1]).all(), "K consecutive examples of one identity"
        seen.extend(ids[:, 0])
    assert sorted(seen) == list(range(12))
    # An identity with >= K examples is sampled without replacement.
    for batch in range(4, 8):
        for group in plan[batch].reshape(3, 4):
            if (identity == identity[group[0]]).sum() >= 4:
                assert len(set(group.tolist())) == 4
    np.testing.assert_array_equal(plan[5], IdentityBatches(identity, identities=3, instances=4, seed=0)[5])
    assert not np.array_equal(plan[0], plan[4]), "each epoch is shuffled anew"


def test_identity_batches_need_enough_identities():
    with pytest.raises(ValueError, match="needs 8 identities"):
        IdentityBatches(np.arange(5), identities=8, instances=2, seed=0)


def test_action_batches_keep_actions_together():
    action = np.repeat(np.arange(10), 6)
    plan = ActionBatches(action, batch_size=12, seed=1)
    assert plan.batches_per_epoch == 5
    epoch = np.concatenate([plan[b] for b in range(5)])
    assert sorted(epoch.tolist()) == list(range(60)), "an epoch visits every example once"
    for b in range(5):
        # 12 examples of actions of 6 examples each, laid end to end: exactly two whole actions.
        assert len(np.unique(action[plan[b]])) == 2
    assert not np.array_equal(plan[0], plan[5])


# ----------------------------------------------------------------------------- augmentations


def _image(height=40, width=20):
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_augment_gives_normalised_images_of_the_configured_size_deterministically():
    augment = T.Augment(size=(64, 32), brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05)
    a = augment(_image(), np.random.default_rng(5))
    b = augment(_image(), np.random.default_rng(5))
    assert a.shape == (64, 32, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment(_image(), np.random.default_rng(6)))


def test_flip_pad_crop_erasing_and_normalize():
    image = _image()
    np.testing.assert_array_equal(T.random_flip(image, np.random.default_rng(0), p=1.0), image[:, ::-1])
    cropped = T.pad_crop(image, np.random.default_rng(0), padding=4)
    assert cropped.shape == image.shape
    normalised = T.normalize(image)
    np.testing.assert_allclose(normalised[0, 0], (image[0, 0] / 255.0 - T.IMAGENET_MEAN) / T.IMAGENET_STD, rtol=1e-6)
    erased = T.random_erasing(np.ones((64, 32, 3), np.float32), np.random.default_rng(0), p=1.0)
    hole = erased == 0
    assert 0.02 * 64 * 32 * 3 <= hole.sum() <= 0.4 * 64 * 32 * 3
    rows, cols = np.nonzero(hole[..., 0])
    assert hole[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all(), "one rectangle"
    assert T.resize(image, (64, 32)).shape == (64, 32, 3)


# ----------------------------------------------------------------------------- losses


def test_batch_hard_triplet_equals_a_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype(np.float32)
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    expected = []
    for i in range(8):
        d = np.linalg.norm(x[i] - x, axis=1)
        pos = d[labels == labels[i]].max()
        neg = d[labels != labels[i]].min()
        expected.append(max(pos - neg + 0.3, 0.0))
    got = metric_learning.batch_hard_triplet(jnp.asarray(x), jnp.asarray(labels), 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_supervised_infonce_equals_a_loop():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4))
    labels = np.array([0, 0, 1, 1, 1, 2])
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = []
    for i in range(6):
        others = [j for j in range(6) if j != i]
        logits = np.array([z[i] @ z[j] / 0.1 for j in others])
        log_prob = logits - np.log(np.exp(logits).sum())
        pos = [k for k, j in enumerate(others) if labels[j] == labels[i]]
        expected.append(-np.mean(log_prob[pos]) if pos else 0.0)
    got = metric_learning.supervised_infonce(jnp.asarray(x, jnp.float32), jnp.asarray(labels), 0.1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_smoothed_cross_entropy():
    logits = jnp.array([[2.0, 0.5, -1.0]])
    p = np.exp(np.array(logits[0])) / np.exp(np.array(logits[0])).sum()
    target = np.array([0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3])
    expected = -(target * np.log(p)).sum()
    np.testing.assert_allclose(metric_learning.smoothed_cross_entropy(logits, jnp.array([0]), 0.1), [expected], rtol=1e-5)


# ----------------------------------------------------------------------------- re-ranking


def _rerank_loops(dist, q, k1, k2, lam):
    """k-reciprocal re-ranking written step by step from the paper, one image at a time."""
    n = dist.shape[0]
    original = dist / dist.max(axis=1, keepdims=True)
    rank = np.argsort(original, axis=1, kind="stable")

    def reciprocal(i, k):
        forward = rank[i, : k + 1]
        return np.array([j for j in forward if i in rank[j, : k + 1]])

    V = np.zeros((n, n))
    for i in range(n):
        r = reciprocal(i, k1)
        expansion = list(r)
        for c in r:
            rc = reciprocal(c, int(np.around(k1 / 2)))
            if len(np.intersect1d(rc, r)) > 2 / 3 * len(rc):
                expansion.extend(rc)
        expansion = np.unique(expansion)
        w = np.exp(-original[i, expansion])
        V[i, expansion] = w / w.sum()
    V = np.stack([V[rank[i, :k2]].mean(axis=0) for i in range(n)])
    jaccard = np.zeros((q, n))
    for i in range(q):
        for j in range(n):
            m = np.minimum(V[i], V[j]).sum()
            jaccard[i, j] = 1 - m / (2 - m)
    return ((1 - lam) * jaccard + lam * original[:q])[:, q:]


def test_rerank_equals_the_step_by_step_algorithm():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 8))
    d = ((features[:, None] - features[None]) ** 2).sum(-1)
    q = 7
    got = k_reciprocal_rerank(d[:q, q:], d[:q, :q], d[q:, q:], k1=6, k2=3, lambda_value=0.3)
    np.testing.assert_allclose(got, _rerank_loops(d, q, 6, 3, 0.3), rtol=1e-10, atol=1e-12)


def test_rerank_with_lambda_one_keeps_the_original_order_and_clips_k():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(5, 3))
    d = ((features[:, None] - features[None]) ** 2).sum(-1)
    got = k_reciprocal_rerank(d[:2, 2:], d[:2, :2], d[2:, 2:], k1=20, k2=6, lambda_value=1.0)
    np.testing.assert_array_equal(np.argsort(got, axis=1), np.argsort(d[:2, 2:], axis=1))


# ----------------------------------------------------------------------------- ensembles


def test_ensemble_modes():
    rng = np.random.default_rng(2)
    q1, g1, q2, g2 = (rng.normal(size=(n, 4)) for n in (3, 5, 3, 5))
    single = action_distances([q1], [g1], [1.0], "concat", None)
    np.testing.assert_allclose(action_distances([q1, q1], [g1, g1], [1, 1], "concat", None), single, rtol=1e-12)
    np.testing.assert_allclose(action_distances([q1, q1], [g1, g1], [1, 1], "distance", None), single, rtol=1e-12)
    d1 = action_distances([q1], [g1], [1.0], "distance", None)
    d2 = action_distances([q2], [g2], [1.0], "distance", None)
    np.testing.assert_allclose(action_distances([q1, q2], [g1, g2], [3, 1], "distance", None), 0.75 * d1 + 0.25 * d2)
    # Concatenating weighted unit embeddings adds weighted squared distances too.
    np.testing.assert_allclose(action_distances([q1, q2], [g1, g2], [3, 1], "concat", None), 0.75 * d1 + 0.25 * d2)
    with pytest.raises(ValueError, match="ensemble mode"):
        action_distances([q1], [g1], [1.0], "vote", None)
