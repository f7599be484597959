"""The parts the two captioning stages train and infer with: spotting windows and their targets,
windows centred on spots, the token loss, sliding-window scores."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax

from zoo.data import caption_vocabulary
from zoo.data.windows import windows_at
from zoo.losses.sequence import token_cross_entropy
from zoo.losses.window_spotting import window_bce, window_targets
from zoo.postprocess.window_scores import spots, window_scores
from zoo.tasks.captioning import CaptionWindows


def test_window_targets_mark_the_window_of_each_event():
    indices, targets = window_targets(25, np.array([0, 11, 13, 24, 40]), np.array([1, 0, 1, 0, 1]), length=10,
                                      num_classes=2)
    assert indices.shape == (3, 10) and indices[2].tolist() == [20, 21, 22, 23, 24, 24, 24, 24, 24, 24]
    # Window 0: class 1; window 1: classes 0 and 1; window 2: class 0; frame 40 has no window.
    np.testing.assert_array_equal(targets, [[0, 0, 1], [0, 1, 1], [0, 1, 0]])
    _, empty = window_targets(5, np.zeros(0, np.int64), np.zeros(0, np.int64), length=10, num_classes=1)
    np.testing.assert_array_equal(empty, [[1, 0]])  # background only
    loss, metrics = window_bce(jnp.zeros((3, 3)), {"targets": targets})
    np.testing.assert_allclose(loss, np.log(2), rtol=1e-6)
    assert metrics["bce"][1] == 3


def test_windows_at_are_centred_and_repeat_the_ends():
    features = np.arange(10, dtype=np.float32)[:, None]
    windows = windows_at(features, np.array([0, 5, 9]), 4)
    np.testing.assert_array_equal(windows[..., 0], [[0, 0, 0, 1], [3, 4, 5, 6], [7, 8, 9, 9]])


def test_caption_windows_teacher_forcing_examples():
    ids = np.array([[1, 7, 8, 2, 0, 0], [1, 9, 2, 0, 0, 0]], np.int32)
    source = CaptionWindows([np.arange(20, dtype=np.float32)[:, None] * np.ones((1, 3))], np.array([0, 0]),
                            np.array([4, 19]), ids, length=6)
    example = source[1]
    np.testing.assert_array_equal(example["inputs"]["features"][:, 0], [16, 17, 18, 19, 19, 19])
    np.testing.assert_array_equal(example["inputs"]["tokens"], [1, 9, 2, 0, 0])
    np.testing.assert_array_equal(example["targets"], [9, 2, 0, 0, 0])
    np.testing.assert_array_equal(example["mask"], [1, 1, 0, 0, 0])
    assert len(source) == 2


def test_token_cross_entropy_averages_over_the_real_tokens_only():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 6)).astype(np.float32)
    targets = np.array([[3, caption_vocabulary.END, 0, 0], [4, 5, 3, caption_vocabulary.END]])
    mask = (targets != caption_vocabulary.PAD).astype(np.float32)
    loss, metrics = token_cross_entropy(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(mask))
    per_token = np.asarray(optax.softmax_cross_entropy_with_integer_labels(logits, targets))
    np.testing.assert_allclose(loss, per_token[mask == 1].mean(), rtol=1e-6)
    assert metrics["token_nll"][1] == 6
    correct = (logits.argmax(-1) == targets)[mask == 1].sum()
    np.testing.assert_allclose(metrics["token_accuracy"][0], correct)


def test_window_scores_in_chunks_equal_one_pass_and_spots_are_nms_peaks():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(50, 4)).astype(np.float32)
    weights = rng.normal(size=(4, 2)).astype(np.float32)

    def predictor(windows):  # logits of [background, comments] from the window's centre frame
        return windows[:, windows.shape[1] // 2] @ weights

    chunked = window_scores(predictor, features, length=5, chunk=7)
    np.testing.assert_allclose(chunked, window_scores(predictor, features, length=5, chunk=1000))
    np.testing.assert_allclose(chunked[:, 0], 1 / (1 + np.exp(-(features @ weights)[:, 1])), rtol=1e-6)
    frame, klass, score = spots(predictor, features, length=5, nms_window=10, threshold=0.5)
    assert (klass == 0).all() and (score >= 0.5).all() and score[0] == chunked.max()
    assert all(abs(a - b) >= 5 for i, a in enumerate(frame) for b in frame[:i])
