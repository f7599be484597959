"""Average-mAP of sparse spotting events: the computation every spotting metric shares.

`zoo.metrics.spotting` (Average-mAP, mAP@1) and `zoo.metrics.team_spotting` (Team mAP@1) turn
labels and predictions into `Events` and score them with `score_events`, which equals the
official `SoccerNet.Evaluation.ActionSpotting` computation on its dense vectors (the semantics
and the quirks reproduced are listed in `zoo.metrics.spotting`).

How it is fast: only the events are kept (no dense 14400-frame vectors); the greedy matching runs
one step per GT rank within runs of GTs whose windows overlap, each step vectorised over every
run of every (half, class, tolerance); the threshold sweep is a searchsorted plus cumulative sums.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.formats.spotting import position_frames

# Tolerances (seconds) of each official metric name.
METRICS: dict[str, tuple[int, ...]] = {
    "loose": tuple(range(5, 65, 5)),
    "tight": (1, 2, 3, 4, 5),
    "at1": (1,),
    "at2": (2,),
    "at3": (3,),
    "at4": (4,),
    "at5": (5,),
}
THRESHOLDS = np.linspace(0, 1, 200)
RECALL_POINTS = np.arange(11) / 10  # 11-point interpolation, as the official computes them
UNSHOWN_FACTOR = (17, 13)  # official a_mAP_unshown *= 17/13 (several tolerances only)
RESULT_KEYS = (
    "a_mAP",
    "a_mAP_per_class",
    "a_mAP_visible",
    "a_mAP_per_class_visible",
    "a_mAP_unshown",
    "a_mAP_per_class_unshown",
)

_MAX_CHUNK = 1 << 25  # (tolerance, prediction) cells matched at once, to bound memory


def vector_size(framerate: float) -> int:
    """Frames per half-game vector: 120 minutes at `framerate`."""
    size = 120 * 60 * framerate
    if size != int(size) or size <= 0:
        raise ValueError(f"120*60*framerate must be a positive integer, got framerate={framerate}")
    return int(size)


def metric_deltas(metric: str) -> tuple[int, ...]:
    """The tolerances (seconds) of an official metric name; ValueError for an unknown one."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; expected one of {list(METRICS)}")
    return METRICS[metric]


def prediction_frames(position_ms: np.ndarray, framerate: float, size: int) -> np.ndarray:
    """[N] frames of millisecond positions as the official computes them, clipped to the vector:
    min(int(framerate * (position / 1000)), size - 1)."""
    frames = position_frames(position_ms, framerate)
    if (frames < 0).any():
        raise ValueError("prediction positions must be >= 0")
    return np.minimum(frames, size - 1)


def last_write_wins(keys: np.ndarray) -> np.ndarray:
    """Indices of the last occurrence of every distinct key, in increasing key order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
    return order[last]


class Events:
    """Sparse events of many half-games: one row per non-empty (half, frame, class) cell.

    `half` numbers halves over all games (2*game + half - 1). Labels carry +-1 values, predictions
    scores; predictions with a negative score are no predictions, as in the official code.
    """

    def __init__(self, num_classes: int, size: int):
        self.num_classes, self.size = num_classes, size
        self.gt = ([], [], [], [])  # half, frame, class, value
        self.pred = ([], [], [], [])  # half, frame, class, score

    @staticmethod
    def _add(columns, *arrays):
        for column, array in zip(columns, arrays):
            column.append(np.asarray(array).reshape(-1))

    def add_labels(self, half, frame, cls, value):
        self._add(self.gt, half, frame, cls, value)

    def add_predictions(self, half, frame, cls, score):
        self._add(self.pred, half, frame, cls, score)

    def cells(self, columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group, frame, value) of every cell after overwrites, sorted by group then frame.

        A group is one (half, class): group = half * num_classes + class.
        """
        if not columns[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        half, frame, cls = (np.concatenate(c).astype(np.int64) for c in columns[:3])
        values = np.concatenate(columns[3]).astype(np.float64)
        group = half * self.num_classes + cls
        keep = last_write_wins(group * self.size + frame)
        return group[keep], frame[keep], values[keep]


def _match(gt_key, pred_key, pred_score, half_windows):
    """Official greedy matching, for several tolerances at once.

    Args:
      gt_key, pred_key: sorted int64 keys group*stride + frame, where the stride keeps every
        window inside its group.
      pred_score: [P] score of each prediction.
      half_windows: [D] ints; a GT may match a prediction with |pred - gt| <= half_window.

    Returns:
      (tolerance index, prediction index) of every matched prediction (a true positive).
    """
    num_preds = len(pred_key)
    windows = np.asarray(half_windows, dtype=np.int64)[:, None]
    lo = np.searchsorted(pred_key, gt_key[None, :] - windows, side="left")
    hi = np.searchsorted(pred_key, gt_key[None, :] + windows, side="right")
    # GTs whose windows overlap (keys at most 2 * window apart) form a run that must be matched
    # one GT after the other, in time order; different runs share no candidate and are matched
    # in parallel. Step k takes the k-th GT of every run, of every tolerance.
    new_run = np.ones((len(windows), len(gt_key)), dtype=bool)
    new_run[:, 1:] = np.diff(gt_key)[None, :] > 2 * windows
    index = np.arange(len(gt_key))
    run_rank = index - np.maximum.accumulate(np.where(new_run, index, 0), axis=1)
    # Only (tolerance, GT) pairs with candidates do anything; order them by rank in their run.
    delta_of, gt_of = np.nonzero(hi > lo)
    rank_of = run_rank[delta_of, gt_of]
    order = np.argsort(rank_of, kind="stable")
    delta_of, gt_of, rank_of = delta_of[order], gt_of[order], rank_of[order]
    pair_lo, pair_hi = lo[delta_of, gt_of], hi[delta_of, gt_of]
    step_starts = np.searchsorted(rank_of, np.arange(rank_of.max(initial=-1) + 2))

    taken = np.zeros(len(windows) * num_preds + 1, dtype=bool)  # flat [D, P] + a padding cell
    scores = np.append(pred_score, -np.inf)  # score of the padding candidate
    matches = []
    # Within one step every pair belongs to a different (run, tolerance), so no two compete:
    # the steps replay the official GT-by-GT loop of every group in parallel.
    for start, stop in zip(step_starts[:-1], step_starts[1:]):
        if start == stop:
            continue
        first, last = pair_lo[start:stop], pair_hi[start:stop]
        candidates = first[:, None] + np.arange(int((last - first).max()))
        outside = candidates >= last[:, None]
        candidates[outside] = num_preds
        flat = delta_of[start:stop, None] * num_preds + candidates
        flat[outside] = len(taken) - 1
        free = ~outside & ~taken[flat]
        # argmax returns the first maximum: the earliest frame, like the official strict '>'.
        best = np.argmax(np.where(free, scores[candidates], -np.inf), axis=1)
        rows = np.nonzero(free[np.arange(len(best)), best])[0]
        chosen = flat[rows, best[rows]]
        taken[chosen] = True
        matches.append(chosen)
    chosen = np.concatenate(matches) if matches else np.zeros(0, np.int64)
    return chosen // max(num_preds, 1), chosen % max(num_preds, 1)


def _precision_recall(pred_class, pred_score, pred_closest, tp_delta, tp_pred, num_gt, shape):
    """Precision and recall at the 200 thresholds, for all / visible / unshown pools.

    Args:
      pred_class, pred_score, pred_closest: [P] class, score and nearest-GT value of predictions.
      tp_delta, tp_pred: tolerance and prediction index of every true positive.
      num_gt: [C] GT counts of the three pools.
      shape: (D, C).

    Returns:
      (precision, recall) of each pool, each [D, C, 200].
    """
    num_deltas, num_classes = shape
    num_bins = len(THRESHOLDS) + 1
    # bin b = number of thresholds <= score: the prediction counts at thresholds 0..b-1.
    cell = pred_class * num_bins + np.searchsorted(THRESHOLDS, pred_score, side="right")

    def above(counts):  # counts [..., num_bins] -> number with bin > k, for k = 0..199
        return np.cumsum(counts[..., ::-1], axis=-1)[..., ::-1][..., 1:]

    pools = (
        None,
        pred_closest > 0.5,  # nearest GT visible
        pred_closest < -0.5,  # nearest GT unshown, or no GT of the class in the half
    )
    outputs = []
    for pool, gt_count in zip(pools, num_gt):
        pool_cells = cell if pool is None else cell[pool]
        tp = slice(None) if pool is None else pool[tp_pred]
        num_pred = above(
            np.bincount(pool_cells, minlength=num_classes * num_bins).reshape(num_classes, num_bins)
        )
        true_pos = above(
            np.bincount(
                tp_delta[tp] * (num_classes * num_bins) + cell[tp_pred[tp]],
                minlength=num_deltas * num_classes * num_bins,
            ).reshape(num_deltas, num_classes, num_bins)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.nan_to_num(true_pos / num_pred)
            recall = np.nan_to_num(true_pos / gt_count[:, None])
        outputs.append((precision, recall))
    return outputs


def _mean_ap(precision: np.ndarray, recall: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """11-point interpolated AP: ([D] mAP, [D, C] AP per class) from [D, C, 200] curves."""
    ap = np.zeros(precision.shape[:-1])
    for point in RECALL_POINTS:
        # precision >= 0, so a 0 where recall < point leaves the maximum as the official takes it.
        ap += np.max(np.where(recall >= point, precision, 0.0), axis=-1)
    per_class = ap / 11
    return np.array([np.mean(row) for row in per_class]), per_class


def _trapezoid(values: np.ndarray) -> np.ndarray:
    """The official sum of (m_i + m_{i+1}) / 2 over tolerances, divided by their count - 1."""
    integral = np.zeros(values.shape[1:])
    for i in range(len(values) - 1):
        integral = integral + (values[i] + values[i + 1]) / 2
    return integral / (len(values) - 1)


def score_events(events: Events, *, framerate: float, metric: str) -> dict:
    """Average-mAP of sparse events: the official keys `RESULT_KEYS` (see `zoo.metrics.spotting`)."""
    deltas = metric_deltas(metric)
    num_classes, size = events.num_classes, events.size
    gt_group, gt_frame, gt_value = events.cells(events.gt)
    pred_group, pred_frame, pred_score = events.cells(events.pred)
    # After the overwrites, only cells with a score >= 0 are predictions (NaN is none).
    keep = pred_score >= 0
    pred_group, pred_frame, pred_score = pred_group[keep], pred_frame[keep], pred_score[keep]
    gt_class, pred_class = gt_group % num_classes, pred_group % num_classes

    # Official: |pred - gt| <= delta/2 with delta = seconds * framerate frames.
    half_windows = [math.floor(delta * framerate / 2) for delta in deltas]
    widest = max(half_windows)
    stride = size + widest + 1  # keys of different groups are more than a window apart
    gt_key = gt_group * stride + gt_frame  # sorted, as the cells are
    pred_key = pred_group * stride + pred_frame

    # Nearest GT ("closest"): GT i owns the frames from floor((f_{i-1} + f_i) / 2) (from 0 for the
    # first GT of its group) to the start of the next one.
    first_of_group = np.ones(len(gt_key), dtype=bool)
    first_of_group[1:] = gt_group[1:] != gt_group[:-1]
    region_start = gt_group * stride
    region_start[~first_of_group] += (gt_frame[:-1] + gt_frame[1:])[~first_of_group[1:]] // 2
    owner = np.searchsorted(region_start, pred_key, side="right") - 1
    owner_ok = np.maximum(owner, 0)
    has_owner = (owner >= 0) & (gt_group[owner_ok] == pred_group)
    pred_closest = np.where(has_owner, gt_value[owner_ok], -1.0)

    # Only predictions within the widest window of some GT can be matched.
    following = np.searchsorted(gt_key, pred_key, side="left")
    far = np.iinfo(np.int64).max // 4
    gt_padded = np.concatenate([[-far], gt_key, [far]])
    near = (gt_padded[following + 1] - pred_key <= widest) | (
        pred_key - gt_padded[following] <= widest
    )
    near_index = np.nonzero(near)[0]

    chunk = max(1, _MAX_CHUNK // max(1, len(near_index)))  # bounds the [D, P] bookkeeping
    tp_delta, tp_pred = [], []
    for i in range(0, len(deltas), chunk):
        delta_index, pred_index = _match(
            gt_key,
            pred_key[near_index],
            pred_score[near_index],
            half_windows[i : i + chunk],
        )
        tp_delta.append(delta_index + i)
        tp_pred.append(near_index[pred_index])

    num_visible = np.bincount(gt_class[gt_value > 0], minlength=num_classes)
    num_unshown = np.bincount(gt_class[gt_value < 0], minlength=num_classes)
    curves = _precision_recall(
        pred_class,
        pred_score,
        pred_closest,
        np.concatenate(tp_delta),
        np.concatenate(tp_pred),
        (num_visible + num_unshown, num_visible, num_unshown),
        (len(deltas), num_classes),
    )
    results = {}
    for suffix, (precision, recall) in zip(("", "_visible", "_unshown"), curves):
        m_ap, per_class = _mean_ap(precision, recall)
        if len(deltas) == 1:
            value, per_class = m_ap[0], per_class[0]
        else:
            value, per_class = _trapezoid(m_ap), _trapezoid(per_class)
            if suffix == "_unshown":
                value = value * UNSHOWN_FACTOR[0] / UNSHOWN_FACTOR[1]
        results[f"a_mAP{suffix}"] = float(value)
        results[f"a_mAP_per_class{suffix}"] = [float(v) for v in per_class]
    return {key: results[key] for key in RESULT_KEYS}
