"""Per-class greedy NMS, all classes at once, equals the baseline's one-class loop."""

import numpy as np
import pytest

from zoo.postprocess.nms import greedy_nms


def _one_class(scores, window, threshold):
    """The baseline's loop for one column: take the maximum, blank around it, repeat."""
    remaining = scores.copy()
    kept = []
    while remaining.max() >= threshold:
        peak = int(np.argmax(remaining))
        kept.append((peak, remaining[peak]))
        start = int(np.maximum(-(window / 2) + peak, 0))
        stop = int(np.minimum(peak + int(window / 2), len(remaining)))
        remaining[start:stop] = -1
    return kept


@pytest.mark.parametrize("window, threshold", [(60, 0.0), (7, 0.3), (2, 0.5)])
def test_equals_the_baseline_loop_class_by_class(window, threshold):
    scores = np.random.default_rng(0).random((500, 5))
    scores[100:103, 2] = 0.99  # a plateau: the first maximum wins, as np.argmax
    frame, klass, score = greedy_nms(scores, window=window, threshold=threshold)
    for c in range(5):
        expected = _one_class(scores[:, c], window, threshold)
        got = [(int(f), s) for f, k, s in zip(frame, klass, score) if k == c]
        assert got == [(f, pytest.approx(s)) for f, s in expected]


def test_bad_windows_and_thresholds_are_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        greedy_nms(np.ones((10, 2)), window=1, threshold=0.0)
    with pytest.raises(ValueError, match="> -1"):
        greedy_nms(np.ones((10, 2)), window=4, threshold=-1)
