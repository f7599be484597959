"""CALF's targets and losses against the published definitions (and a PyTorch reference)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.formats.spotting import CLASSES_V2
from zoo.losses import calf


def _published_shifts(events_mask: np.ndarray, k: np.ndarray) -> np.ndarray:
    num_frames, num_classes = events_mask.shape
    out = np.empty((num_frames, num_classes))
    for c in range(num_classes):
        k0, k1, k2, k3 = k[:, c]
        where = list(np.flatnonzero(events_mask[:, c]))
        for j in range(num_frames):
            if not where:
                out[j, c] = k0
            elif len(where) == 1:
                out[j, c] = j - where[0]
            else:
                padded = [-k3, *where, num_frames - k0]
                s1 = j - [e for e in padded if j >= e][-1]
                s2 = j - next(e for e in padded if j < e)
                if s1 < k2:
                    value = s1
                elif s1 < k3:
                    if s2 <= k0 or (s1 - k2) / (k3 - k2) < (k1 - s2) / (k1 - k0):
                        value = s1
                    else:
                        value = s2
                else:
                    value = s2
                out[j, c] = value
    return out


def test_published_k_parameters_and_class_split():
    k = calf.k_parameters(CLASSES_V2, framerate=2)
    assert k.shape == (4, 17)
    assert k[:, CLASSES_V2.index("Goal")].tolist() == [-40, -20, 120, 180]  # seconds x 2 fps
    assert k[:, CLASSES_V2.index("Shots on target")].tolist() == [-10, -6, 6, 10]
    assert (k[0] < k[1]).all() and (k[1] < 0).all() and (k[2] > 0).all() and (k[3] > k[2]).all()
    assert set(calf.PATTERNED_CLASSES) | set(calf.FUZZY_CLASSES) == set(CLASSES_V2)
    assert not set(calf.PATTERNED_CLASSES) & set(calf.FUZZY_CLASSES)
    # The official K_V2_VISUAL / K_V2_NONVISUAL are the subsets' columns of K_V2.
    assert calf.k_parameters(calf.PATTERNED_CLASSES, 1)[:, 2].tolist() == [-31, -15, 15, 31]  # Throw-in
    with pytest.raises(ValueError, match="Unknown class subset"):
        calf.class_subset("visual")


def test_frame_shifts_follow_the_published_rule():
    rng = np.random.default_rng(0)
    k = calf.k_parameters(CLASSES_V2[:6], framerate=2)
    events = np.zeros((400, 6), bool)
    events[[30, 90, 95, 300], 0] = True  # several events, two close together
    events[200, 1] = True  # a single event
    events[rng.integers(0, 400, 12), 3] = True  # shots: short K, many events
    events[[0, 399], 4] = True  # events at both ends
    shifts = calf.frame_shifts(events, k)
    np.testing.assert_array_equal(shifts, _published_shifts(events, k))
    assert (shifts[:, 2] == k[0, 2]).all()  # no event: far before everywhere
    assert (shifts[events] == 0).all()


def test_spotting_targets_fill_slots_in_frame_then_class_order():
    shifts = np.full((20, 3), -5.0, np.float32)
    shifts[12, 2] = shifts[4, 1] = shifts[12, 0] = 0
    targets, left_out = calf.spotting_targets(shifts, num_detections=4)
    assert left_out == 0
    np.testing.assert_allclose(targets[:, :2], [[1, 4 / 20], [1, 12 / 20], [1, 12 / 20], [0, 0]])
    assert targets[:3, 2:].argmax(-1).tolist() == [1, 0, 2] and targets[3, 2:].sum() == 0
    _, left_out = calf.spotting_targets(shifts, num_detections=2)
    assert left_out == 1


@pytest.fixture(scope="module")
def reference(torch):
    from tests import torch_calf_reference

    return torch_calf_reference


def test_context_aware_loss_equals_the_published_six_cases(reference, torch):
    rng = np.random.default_rng(1)
    k = calf.k_parameters(calf.PATTERNED_CLASSES, framerate=2)
    shifts = rng.uniform(-260, 260, (3, 50, 8)).astype(np.float32)
    shifts[0, :5] = -1  # masked chunk borders: no loss
    shifts[1, :4] = k  # exactly on each class's zone boundaries K0..K3
    score = rng.uniform(0.01, 0.99, (3, 50, 8)).astype(np.float32)
    loss = jax.jit(calf.context_aware_loss)
    ours = float(loss(jnp.asarray(shifts), jnp.asarray(score), jnp.asarray(k)))
    theirs = float(reference.context_aware_loss(torch.from_numpy(shifts), torch.from_numpy(score),
                                                [torch.from_numpy(k[i]) for i in range(4)]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert float(loss(jnp.full_like(shifts, -1.0), jnp.asarray(score), jnp.asarray(k))) == 0.0
    # Saturated scores keep the loss and its gradient finite.
    grad = jax.jit(jax.grad(loss, argnums=1))(jnp.asarray(shifts), jnp.asarray(np.round(score)), jnp.asarray(k))
    assert np.isfinite(np.asarray(grad)).all()


def _targets(rng, batch, slots, classes):
    targets = np.zeros((batch, slots, 2 + classes), np.float32)
    for b in range(batch):
        n = int(rng.integers(0, slots + 1))
        targets[b, :n, 0] = 1
        targets[b, :n, 1] = np.sort(rng.uniform(0.2, 0.8, n))
        targets[b, np.arange(n), 2 + rng.integers(0, classes, n)] = 1
    return targets


def test_matching_equals_the_published_iterative_scheme(reference, torch):
    rng = np.random.default_rng(2)
    targets = _targets(rng, 16, 7, 5)
    predictions = rng.uniform(0, 1, (16, 7, 7)).astype(np.float32)
    predictions[3, :, 1] = 0.5  # ties everywhere
    matched = np.asarray(jax.jit(calf.match_predictions)(jnp.asarray(targets), jnp.asarray(predictions)))
    permutation = reference.matching_permutation(torch.from_numpy(targets), torch.from_numpy(predictions)).numpy()
    batched = reference.batched_matching_permutation(torch.from_numpy(targets), torch.from_numpy(predictions)).numpy()
    np.testing.assert_array_equal(permutation, batched)
    np.testing.assert_array_equal(matched, np.take_along_axis(predictions, permutation[..., None], 1))
    assert all(sorted(p) == list(range(7)) for p in permutation)  # one to one


def test_spotting_loss_equals_the_reference_and_ignores_the_matching_in_gradients(reference, torch):
    rng = np.random.default_rng(3)
    targets = _targets(rng, 6, 5, 4)
    predictions = rng.uniform(0, 1, (6, 5, 6)).astype(np.float32)
    loss = jax.jit(jax.value_and_grad(
        lambda t, p: calf.spotting_loss(t, p, lambda_coord=5.0, lambda_noobj=0.5), argnums=1))
    ours, grad = loss(jnp.asarray(targets), jnp.asarray(predictions))
    theirs = float(reference.spotting_loss(torch.from_numpy(targets), torch.from_numpy(predictions)))
    np.testing.assert_allclose(float(ours), theirs, rtol=1e-6)
    assert np.isfinite(np.asarray(grad)).all() and np.abs(np.asarray(grad)).sum() > 0
    perfect = targets.copy()
    perfect[..., 1] = np.where(targets[..., 0] > 0, targets[..., 1], 0.9)  # empty slots far from actions
    assert float(loss(jnp.asarray(targets), jnp.asarray(perfect))[0]) == 0.0
