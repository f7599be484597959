# Over 600 lines: kept whole while the tracking task is written against its public names.
"""HOTA, CLEAR and Identity scores of SoccerNet tracking, equal to the official evaluator.

The specification is TrackEval's `MotChallenge2DBox` with the settings of
`SoccerNet.Evaluation.Tracking` (REFERENCE.md §7.2): one class, `pedestrian`; no preprocessing
(every tracker box counts, GT rows whose column 7 is 0 do not); similarity = box IoU; metrics
HOTA, CLEAR and Identity with THRESHOLD 0.5, plus TrackEval's always-on Count. Every key those
produce comes back under TrackEval's name, per sequence and for `COMBINED_SEQ` (TrackEval's
combination rules: counts summed, AssA/AssRe/AssPr weighted by HOTA_TP, LocA by HOTA_TP, CLEAR
and Identity rates recomputed from the summed counts).

HOTA's fields are arrays over the 19 alphas 0.05..0.95 (`ALPHAS`); in the results the name holds
their mean, which is what SoccerNet reports (`HOTA`, `DetA`, `AssA` on `COMBINED_SEQ`; the
challenge ranks by HOTA), and `per_alpha[name]` holds the array. TrackEval's own quirks are kept:
a sequence without tracker boxes (or without GT boxes) gets its early-return values (MOTA 0,
CLR_Frames 0, LocA 1, ...); CLR_Frames of such a sequence is 0 in the combined sum too.

How it stays exact while fast (every key equals TrackEval's bit for bit, not just to 1e-9):
  * IoUs: a pair of boxes whose x extents do not meet has IoU 0 in TrackEval's formula; the
    others (found with one broadcast over [frames, GT, tracker] blocks) get TrackEval's own
    operations in its order, elementwise over the whole sequence. Each frame's similarity matrix
    is thus known exactly as its non-zero entries.
  * HOTA's global alignment accumulates the same per-frame values in the same frame order: row
    sums use numpy's own `sum(axis=1)` on rows rebuilt with their zeros (its pairwise summation
    depends on the row length), column sums and the accumulation are sequential `bincount`s.
    The Hungarian cost matrices are therefore bit-identical to TrackEval's.
  * The per-frame Hungarian stays scipy's `linear_sum_assignment` on those full matrices (HOTA:
    -alignment x IoU; CLEAR: -(IoU + 1000 where the pair continues the previous matched frame's
    match), 0 below THRESHOLD - eps; Identity: TrackEval's fn + fp matrix with its 1e10 blocks),
    hence the same choice among ties. It is skipped only where the answer is forced: when no GT
    box and no tracker box of a frame has two candidate pairs (HOTA: IoU > 0 with a positive
    score; CLEAR: IoU >= THRESHOLD - eps), the candidates are positive and disjoint, so every
    optimal assignment holds all of them and nothing else that counts.
  * The alpha sweep, ID switches, fragmentations, MT/PT/ML and association counts are vectorised
    over the matches of a sequence; the float sums TrackEval builds match by match (LocA,
    MOTP_sum) are added in its order, and AssA/AssRe/AssPr sum the same dense [gt ids, tracker
    ids] matrices it sums.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from zoo.cli import user_errors
from zoo.formats import tracking as formats

ALPHAS = np.arange(0.05, 0.99, 0.05)  # TrackEval's HOTA array_labels, the very same floats
THRESHOLD = 0.5  # CLEAR and Identity IoU threshold of the SoccerNet evaluation
_EPS = np.finfo("float").eps

HOTA_ALPHA_FIELDS = (
    "HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA",
    "HOTA_TP", "HOTA_FN", "HOTA_FP",
)  # fmt: skip
HOTA_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")
CLEAR_INTEGER_FIELDS = (
    "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames",
)  # fmt: skip
CLEAR_FLOAT_FIELDS = (
    "MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA",
    "CLR_F1", "FP_per_frame", "MOTAL", "MOTP_sum",
)  # fmt: skip
IDENTITY_INTEGER_FIELDS = ("IDTP", "IDFN", "IDFP")
IDENTITY_FLOAT_FIELDS = ("IDF1", "IDR", "IDP")
COUNT_FIELDS = ("Dets", "GT_Dets", "IDs", "GT_IDs")  # and "Frames", per sequence only
COMBINED = "COMBINED_SEQ"


class Tracks(NamedTuple):
    """Boxes of one sequence, one entry per box (GT: only the boxes to evaluate)."""

    frame: np.ndarray  # [N] int, 1-based frame number
    track_id: np.ndarray  # [N] int >= 0, unique within a frame
    boxes: np.ndarray  # [N, 4] float64: x, y of the top-left corner, width, height


def tracks_from_frames(ids_per_frame: Sequence, boxes_per_frame: Sequence) -> Tracks:
    """`Tracks` from per-frame lists (frame i of the lists is frame i + 1): ids [n_t] and boxes
    [n_t, 4] (x, y, w, h) per frame, as an evaluation loop collects them."""
    if len(ids_per_frame) != len(boxes_per_frame):
        raise ValueError(f"{len(ids_per_frame)} id arrays but {len(boxes_per_frame)} box arrays")
    ids = [np.asarray(i).reshape(-1) for i in ids_per_frame]
    boxes = [np.asarray(b, np.float64).reshape(-1, 4) for b in boxes_per_frame]
    for t, (i, b) in enumerate(zip(ids, boxes)):
        if len(i) != len(b):
            raise ValueError(f"frame {t + 1}: {len(i)} ids but {len(b)} boxes")
    counts = [len(i) for i in ids]
    return Tracks(
        frame=np.repeat(np.arange(1, len(ids) + 1), counts),
        track_id=np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64),
        boxes=np.concatenate(boxes) if boxes else np.zeros((0, 4)),
    )


@dataclasses.dataclass(frozen=True)
class _Side:
    """GT or tracker boxes of a sequence grouped by frame (file order kept within a frame)."""

    frame: np.ndarray  # [N] int64, 0-based
    ids: np.ndarray  # [N] int64, relabelled 0..num_ids-1 in increasing original id
    boxes: np.ndarray  # [N, 4] float64
    count: np.ndarray  # [T] boxes per frame
    start: np.ndarray  # [T] index of each frame's first box
    num_ids: int


def _side(tracks: Any, num_frames: int, what: str) -> _Side:
    frame = np.asarray(tracks.frame).reshape(-1)
    track_id = np.asarray(tracks.track_id).reshape(-1)
    boxes = np.asarray(tracks.boxes, np.float64)
    n = len(frame)
    boxes = boxes.reshape(n, 4) if boxes.size or n else np.zeros((0, 4))
    if track_id.shape != (n,) or boxes.shape != (n, 4):
        raise ValueError(
            f"{what}: frame {frame.shape}, track_id {track_id.shape}, boxes {boxes.shape}; "
            "expected [N], [N], [N, 4]"
        )
    for name, values in (("frame", frame), ("track_id", track_id)):
        if n and values.dtype.kind not in "iu" and not np.array_equal(values, np.round(values)):
            raise ValueError(f"{what}: {name} must hold integers")
    frame, track_id = frame.astype(np.int64), track_id.astype(np.int64)
    if n and (frame.min() < 1 or frame.max() > num_frames):
        raise ValueError(
            f"{what}: frames must lie in 1..{num_frames}, got {frame.min()}..{frame.max()}"
        )
    if n and track_id.min() < 0:
        raise ValueError(f"{what}: track ids must be >= 0, got {track_id.min()}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{what}: boxes must be finite")
    if n and np.any(frame[1:] < frame[:-1]):  # files are usually written frame by frame
        order = np.argsort(frame, kind="stable")
        frame, track_id, boxes = frame[order], track_id[order], boxes[order]
    frame = frame - 1
    unique, ids = np.unique(track_id, return_inverse=True)
    ids = ids.reshape(-1)
    if n > 1:
        key = np.sort(frame * len(unique) + ids)
        twice = np.flatnonzero(key[1:] == key[:-1])
        if len(twice):
            f, i = divmod(int(key[twice[0]]), len(unique))
            raise ValueError(f"{what}: track id {unique[i]} appears twice in frame {f + 1}")
    count = np.bincount(frame, minlength=num_frames)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return _Side(frame, ids, np.ascontiguousarray(boxes), count, start, len(unique))


@dataclasses.dataclass(frozen=True)
class _Overlaps:
    """The (GT box, tracker box) pairs of a sequence with IoU > 0, in the order of TrackEval's
    per-frame similarity matrices (frame, then GT row, then tracker column). Every other pair of
    a frame has IoU exactly 0."""

    gt: np.ndarray  # [Q] GT box index
    tracker: np.ndarray  # [Q] tracker box index
    frame: np.ndarray  # [Q] 0-based frame
    similarity: np.ndarray  # [Q] IoU > 0


def _box_iou(gt_boxes: np.ndarray, tracker_boxes: np.ndarray) -> np.ndarray:
    """IoU of box pairs [Q, 4] x [Q, 4] (x, y, w, h) -> [Q], with TrackEval's operations in
    TrackEval's order (`_calculate_box_ious`), so that every value is bit-identical."""
    ax0, ay0 = gt_boxes[:, 0], gt_boxes[:, 1]
    ax1, ay1 = ax0 + gt_boxes[:, 2], ay0 + gt_boxes[:, 3]
    bx0, by0 = tracker_boxes[:, 0], tracker_boxes[:, 1]
    bx1, by1 = bx0 + tracker_boxes[:, 2], by0 + tracker_boxes[:, 3]
    intersection = np.maximum(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0) * np.maximum(
        np.minimum(ay1, by1) - np.maximum(ay0, by0), 0
    )
    area_gt = (ax1 - ax0) * (ay1 - ay0)
    area_tracker = (bx1 - bx0) * (by1 - by0)
    union = area_gt + area_tracker - intersection
    intersection[(area_gt <= 0 + _EPS) | (area_tracker <= 0 + _EPS) | (union <= 0 + _EPS)] = 0
    union[union <= 0 + _EPS] = 1
    return intersection / union


# Frame blocks padded to the largest frame are used while they hold at most this many cells.
_PADDING_FACTOR, _PADDING_SLACK = 4, 65536


def _by_frame(side: _Side, values: np.ndarray, fill: float) -> np.ndarray:
    """[T, most boxes in a frame] values of each frame's boxes in order, `fill` after them."""
    out = np.full((len(side.count), int(side.count.max(initial=0))), fill)
    out[side.frame, np.arange(len(side.ids)) - side.start[side.frame]] = values
    return out


def _x_overlapping_pairs(gt: _Side, tracker: _Side) -> tuple[np.ndarray, np.ndarray]:
    """(GT box, tracker box) of every pair of a frame whose x extents overlap, in matrix order
    (frame, GT row, tracker column). Any other pair has intersection 0 in TrackEval's formula,
    hence IoU 0."""
    gt_x0, tracker_x0 = gt.boxes[:, 0], tracker.boxes[:, 0]
    gt_x1, tracker_x1 = gt_x0 + gt.boxes[:, 2], tracker_x0 + tracker.boxes[:, 2]
    num_pairs = int(np.sum(gt.count * tracker.count))
    padded = len(gt.count) * int(gt.count.max(initial=0)) * int(tracker.count.max(initial=0))
    if padded <= _PADDING_FACTOR * num_pairs + _PADDING_SLACK:
        # Frames as [T, G, K] blocks; padding (x0 = inf, x1 = -inf) never overlaps.
        x_overlap = np.minimum(
            _by_frame(gt, gt_x1, -np.inf)[:, :, None],
            _by_frame(tracker, tracker_x1, -np.inf)[:, None, :],
        )
        x_overlap -= np.maximum(
            _by_frame(gt, gt_x0, np.inf)[:, :, None],
            _by_frame(tracker, tracker_x0, np.inf)[:, None, :],
        )
        frame, row, col = np.nonzero(x_overlap > 0)
        return gt.start[frame] + row, tracker.start[frame] + col
    # A few frames far more crowded than the rest: list the pairs instead of padding.
    width = tracker.count[gt.frame]
    pair_gt = np.repeat(np.arange(len(gt.ids)), width)
    first_pair = np.cumsum(width) - width
    pair_tracker = np.arange(num_pairs) - np.repeat(first_pair - tracker.start[gt.frame], width)
    x_overlap = np.minimum(gt_x1[pair_gt], tracker_x1[pair_tracker])
    x_overlap -= np.maximum(gt_x0[pair_gt], tracker_x0[pair_tracker])
    candidates = np.flatnonzero(x_overlap > 0)
    return pair_gt[candidates], pair_tracker[candidates]


def _overlaps(gt: _Side, tracker: _Side) -> _Overlaps:
    g, k = _x_overlapping_pairs(gt, tracker)
    similarity = _box_iou(gt.boxes[g], tracker.boxes[k])
    positive = similarity > 0
    g, k = g[positive], k[positive]
    return _Overlaps(g, k, gt.frame[g], similarity[positive])


def _row_sums(gt: _Side, tracker: _Side, overlaps: _Overlaps) -> np.ndarray:
    """[N_gt] each GT box's `similarity.sum(1)` as numpy computes it on TrackEval's matrix. A row
    with at most one non-zero sums to it exactly; others are rebuilt with their zeros and summed
    by numpy itself (its pairwise summation depends on the row length, so rows of equal length
    are summed together)."""
    sums = np.bincount(overlaps.gt, weights=overlaps.similarity, minlength=len(gt.ids))
    per_row = np.bincount(overlaps.gt, minlength=len(gt.ids))
    several = per_row[overlaps.gt] > 1
    g, k, values = overlaps.gt[several], overlaps.tracker[several], overlaps.similarity[several]
    width = tracker.count[gt.frame[g]]
    column = k - tracker.start[gt.frame[g]]
    for length in np.unique(width):
        of_length = np.flatnonzero(width == length)
        rows = g[of_length]  # non-decreasing: overlaps are in matrix order
        first = np.concatenate([[True], rows[1:] != rows[:-1]])
        block = np.zeros((int(first.sum()), length))
        block[np.cumsum(first) - 1, column[of_length]] = values[of_length]
        sums[rows[first]] = block.sum(axis=1)
    return sums


def _forced_frames(gt: _Side, tracker: _Side, candidate_gt, candidate_tracker) -> np.ndarray:
    """[T] bool: frames where no box is in two candidate pairs."""
    shared = np.zeros(len(gt.count), bool)
    per_gt = np.bincount(candidate_gt, minlength=len(gt.ids))
    per_tracker = np.bincount(candidate_tracker, minlength=len(tracker.ids))
    shared[gt.frame[per_gt > 1]] = True
    shared[tracker.frame[per_tracker > 1]] = True
    return ~shared


def _frame_ordered_sum(values: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """values [..., M] summed as TrackEval adds per-frame match values: Python `sum` over each
    frame's matches in order, then frame totals one after another (both sequential, so this is
    bit-identical). frame [M] non-decreasing. Returns [...]."""
    count = values.shape[-1]
    if count == 0:
        return np.zeros(values.shape[:-1])
    by_match = np.ascontiguousarray(np.moveaxis(values, -1, 0))  # [M, ...]
    starts = np.flatnonzero(np.concatenate([[True], frame[1:] != frame[:-1]]))
    lengths = np.diff(np.concatenate([starts, [count]]))
    longest_first = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[longest_first], lengths[longest_first]
    per_frame = by_match[starts]  # [F, ...] each frame's first match, longest frames first
    for position in range(1, int(lengths[0])):  # then each frame's next match, in order
        longer = int(np.searchsorted(-lengths, -position, side="left"))  # frames with more
        per_frame[:longer] += by_match[starts[:longer] + position]
    per_frame = per_frame[np.argsort(longest_first, kind="stable")]  # back to frame order
    return np.moveaxis(np.cumsum(per_frame, axis=0)[-1:], 0, -1)[..., 0]  # frames one by one


def _frame_starts(frame: np.ndarray, num_frames: int) -> np.ndarray:
    """[T + 1] where each frame's entries start in an array sorted by frame."""
    return np.searchsorted(frame, np.arange(num_frames + 1))


class _FrameMatrices:
    """The full [GT boxes, tracker boxes] matrices of some frames, laid end to end in one flat
    buffer, for scipy's Hungarian to run on each as TrackEval runs it on its per-frame matrix."""

    def __init__(self, gt: _Side, tracker: _Side, frames: np.ndarray):
        self.gt, self.tracker = gt, tracker
        sizes = gt.count[frames] * tracker.count[frames]
        self.offset = np.zeros(len(gt.count), np.int64)
        self.offset[frames] = np.cumsum(sizes) - sizes
        self.size = int(sizes.sum())

    def cells(self, gt_box: np.ndarray, tracker_box: np.ndarray) -> np.ndarray:
        """Flat buffer index of (GT box, tracker box) pairs of the frames held."""
        frame = self.gt.frame[gt_box]
        row, col = gt_box - self.gt.start[frame], tracker_box - self.tracker.start[frame]
        return self.offset[frame] + row * self.tracker.count[frame] + col

    def fill(self, overlaps: _Overlaps, select: np.ndarray, values: np.ndarray) -> np.ndarray:
        """A buffer, zero but `values` at the selected overlap pairs (all in frames held)."""
        buffer = np.zeros(self.size)
        buffer[self.cells(overlaps.gt[select], overlaps.tracker[select])] = values
        return buffer

    def matrix(self, t: int, buffer: np.ndarray) -> np.ndarray:
        rows, cols = self.gt.count[t], self.tracker.count[t]
        return buffer[self.offset[t] : self.offset[t] + rows * cols].reshape(rows, cols)

    def shapes(self, frames: np.ndarray) -> list[tuple[int, int, int]]:
        """(buffer offset, rows, cols) of each frame's matrix."""
        return list(
            zip(
                self.offset[frames].tolist(),
                self.gt.count[frames].tolist(),
                self.tracker.count[frames].tolist(),
            )
        )

    def gather(self, frames: np.ndarray, chosen: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(GT boxes, tracker boxes, buffer cells) of per-frame (rows, cols) choices."""
        if not chosen:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        lengths = [len(rows) for rows, _ in chosen]
        frame = np.repeat(frames, lengths)
        rows = np.concatenate([r for r, _ in chosen])
        cols = np.concatenate([c for _, c in chosen])
        cells = self.offset[frame] + rows * self.tracker.count[frame] + cols
        return self.gt.start[frame] + rows, self.tracker.start[frame] + cols, cells


def _hota(gt: _Side, tracker: _Side, overlaps: _Overlaps) -> dict:
    similarity = overlaps.similarity
    col_sums = np.bincount(overlaps.tracker, weights=similarity, minlength=len(tracker.ids))
    row_sums = _row_sums(gt, tracker, overlaps)
    denominator = col_sums[overlaps.tracker] + row_sums[overlaps.gt] - similarity
    sim_iou = np.zeros_like(similarity)
    np.divide(similarity, denominator, out=sim_iou, where=denominator > 0 + _EPS)

    # Global alignment: per (gt id, tracker id), sim_iou accumulated in frame order, as TrackEval
    # (pairs with IoU 0 add 0, which changes nothing).
    gt_ids, tracker_ids = gt.ids[overlaps.gt], tracker.ids[overlaps.tracker]
    key = gt_ids * tracker.num_ids + tracker_ids
    potential = np.bincount(key, weights=sim_iou, minlength=gt.num_ids * tracker.num_ids)
    potential = potential.reshape(gt.num_ids, tracker.num_ids)
    gt_id_count = np.bincount(gt.ids, minlength=gt.num_ids).astype(np.float64)[:, None]
    tracker_id_count = np.bincount(tracker.ids, minlength=tracker.num_ids).astype(np.float64)
    tracker_id_count = tracker_id_count[None, :]
    alignment = potential / (gt_id_count + tracker_id_count - potential)
    score = alignment.reshape(-1)[key] * similarity

    # Matching: forced where the candidate pairs (IoU > 0, positive score) are disjoint.
    forced = _forced_frames(gt, tracker, overlaps.gt, overlaps.tracker)
    forced[overlaps.frame[~(score > 0)]] = False
    in_forced = forced[overlaps.frame]
    solve = np.flatnonzero((gt.count > 0) & (tracker.count > 0) & ~forced)
    matrices = _FrameMatrices(gt, tracker, solve)
    entries = np.flatnonzero(~in_forced)
    entry_cells = matrices.cells(overlaps.gt[entries], overlaps.tracker[entries])  # ascending
    cost = np.zeros(matrices.size)
    cost[entry_cells] = score[entries]
    np.negative(cost, out=cost)  # TrackEval minimises -score (its zeros are -0.0 too)
    chosen = [
        linear_sum_assignment(cost[o : o + rows * cols].reshape(rows, cols))
        for o, rows, cols in matrices.shapes(solve)
    ]
    chosen_gt, chosen_tracker, chosen_cell = matrices.gather(solve, chosen)
    # The assignment also pads with IoU-0 pairs, which fail every alpha: keep the others.
    where = np.searchsorted(entry_cells, chosen_cell)
    overlapping = where < len(entry_cells)
    overlapping[overlapping] = entry_cells[where[overlapping]] == chosen_cell[overlapping]
    chosen_gt, chosen_tracker = chosen_gt[overlapping], chosen_tracker[overlapping]
    chosen_similarity = similarity[entries[where[overlapping]]]
    match_gt = np.concatenate([overlaps.gt[in_forced], chosen_gt])
    match_tracker = np.concatenate([overlaps.tracker[in_forced], chosen_tracker])
    match_similarity = np.concatenate([similarity[in_forced], chosen_similarity])
    order = np.argsort(match_gt, kind="stable")  # frame by frame, rows ascending: TrackEval's
    match_gt, match_tracker, match_similarity = (
        match_gt[order],
        match_tracker[order],
        match_similarity[order],
    )

    # Alpha sweep: a match counts at alpha when its IoU >= alpha - eps.
    passes = match_similarity[None, :] >= (ALPHAS - _EPS)[:, None]  # [A, M]
    tp = passes.sum(axis=1).astype(np.float64)
    loc_sum = _frame_ordered_sum(np.where(passes, match_similarity, 0.0), gt.frame[match_gt])
    levels = passes.sum(axis=0)  # a match counts for the alphas below its level
    num_alphas = len(ALPHAS)
    match_key = gt.ids[match_gt] * tracker.num_ids + tracker.ids[match_tracker]
    cells = gt.num_ids * tracker.num_ids
    histogram = np.bincount(levels * cells + match_key, minlength=(num_alphas + 1) * cells)
    histogram = histogram.reshape(num_alphas + 1, gt.num_ids, tracker.num_ids)
    # TrackEval's dense [gt ids, tracker ids] match counts per alpha: matches of level > alpha.
    matches_counts = np.cumsum(histogram[::-1], axis=0)[::-1][1:].astype(np.float64)
    res = {
        "HOTA_TP": tp,
        "HOTA_FN": len(gt.ids) - tp,
        "HOTA_FP": len(tracker.ids) - tp,
        "AssA": np.zeros(num_alphas),
        "AssRe": np.zeros(num_alphas),
        "AssPr": np.zeros(num_alphas),
    }
    for a, matches_count in enumerate(matches_counts):
        ass_a = matches_count / np.maximum(1, gt_id_count + tracker_id_count - matches_count)
        ass_re = matches_count / np.maximum(1, gt_id_count)
        ass_pr = matches_count / np.maximum(1, tracker_id_count)
        per_tp = np.maximum(1, tp[a])
        res["AssA"][a] = np.sum(matches_count * ass_a) / per_tp
        res["AssRe"][a] = np.sum(matches_count * ass_re) / per_tp
        res["AssPr"][a] = np.sum(matches_count * ass_pr) / per_tp
    res["LocA"] = np.maximum(1e-10, loc_sum) / np.maximum(1e-10, tp)
    return _hota_final(res)


def _hota_empty(num_gt_dets: int, num_tracker_dets: int) -> dict:
    """TrackEval's early return for a sequence without tracker (or without GT) boxes."""
    res = {field: np.zeros(len(ALPHAS)) for field in HOTA_ALPHA_FIELDS}
    if num_tracker_dets == 0:
        res["HOTA_FN"] = num_gt_dets * np.ones(len(ALPHAS))
    else:
        res["HOTA_FP"] = num_tracker_dets * np.ones(len(ALPHAS))
    res["LocA"] = np.ones(len(ALPHAS))
    res.update({"HOTA(0)": 0, "LocA(0)": 1.0, "HOTALocA(0)": 0})
    return res


def _hota_final(res: dict) -> dict:
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["HOTA(0)"] = res["HOTA"][0]
    res["LocA(0)"] = res["LocA"][0]
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    return res


def _clear_matches(gt: _Side, tracker: _Side, overlaps: _Overlaps):
    """CLEAR's matches frame by frame, as TrackEval: pairs below THRESHOLD - eps score 0, the
    others their IoU, + 1000 when they continue a match of the previous frame TrackEval matched
    in. Returns (GT box, tracker box, IoU) of the matches, sorted by GT box."""
    valid = ~(overlaps.similarity < THRESHOLD - _EPS)
    g, k = overlaps.gt[valid], overlaps.tracker[valid]
    frame, similarity = overlaps.frame[valid], overlaps.similarity[valid]
    forced = _forced_frames(gt, tracker, g, k)
    in_forced = forced[frame]
    both = np.flatnonzero((gt.count > 0) & (tracker.count > 0))  # frames TrackEval matches in
    solve = both[~forced[both]]
    matrices = _FrameMatrices(gt, tracker, solve)
    solved_entries = ~in_forced
    plain = matrices.fill(
        _Overlaps(g, k, frame, similarity), solved_entries, similarity[solved_entries]
    )
    cost = -plain
    start = _frame_starts(frame, len(gt.count))
    previous_of = dict(zip(both[1:].tolist(), both[:-1].tolist()))
    solved: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    previous_tracker = np.full(gt.num_ids, -1)  # tracker id matched in the previous such frame
    chosen = []
    for t in solve.tolist():
        previous = previous_of.get(t)
        if previous is None:
            before_gt = before_tracker = np.zeros(0, np.int64)
        elif previous in solved:
            before_gt, before_tracker = solved[previous]
        else:
            e = slice(start[previous], start[previous + 1])
            before_gt, before_tracker = g[e], k[e]
        previous_tracker[gt.ids[before_gt]] = tracker.ids[before_tracker]
        e = slice(start[t], start[t + 1])
        continues = tracker.ids[k[e]] == previous_tracker[gt.ids[g[e]]]
        previous_tracker[gt.ids[before_gt]] = -1
        matrix = matrices.matrix(t, cost)
        if continues.any():
            matrix = matrix.copy()
            rows = g[e][continues] - gt.start[t]
            matrix[rows, k[e][continues] - tracker.start[t]] = -(1000 + similarity[e][continues])
        r, c = linear_sum_assignment(matrix)
        matched = -matrix[r, c] > 0 + _EPS
        r, c = r[matched], c[matched]
        solved[t] = (gt.start[t] + r, tracker.start[t] + c)
        chosen.append((r, c))
    chosen_gt, chosen_tracker, chosen_cell = matrices.gather(solve, chosen)
    match_gt = np.concatenate([g[in_forced], chosen_gt])
    order = np.argsort(match_gt, kind="stable")
    return (
        match_gt[order],
        np.concatenate([k[in_forced], chosen_tracker])[order],
        np.concatenate([similarity[in_forced], plain[chosen_cell]])[order],
    )


def _clear(gt: _Side, tracker: _Side, overlaps: _Overlaps) -> dict:
    match_box, match_tracker_box, match_similarity = _clear_matches(gt, tracker, overlaps)
    both = (gt.count > 0) & (tracker.count > 0)
    ordinal = np.cumsum(both) - 1  # index of each frame among the frames TrackEval matches in
    match_gt = gt.ids[match_box]
    match_tracker = tracker.ids[match_tracker_box]
    match_time = ordinal[gt.frame[match_box]]
    order = np.lexsort((match_time, match_gt))
    g, k, time = match_gt[order], match_tracker[order], match_time[order]
    same_gt = g[1:] == g[:-1]
    # An ID switch: a GT id matched to another tracker id than at its previous match, however
    # long ago. A fragment starts where a GT id is matched but was not in the previous frame.
    id_switches = int(np.sum(same_gt & (k[1:] != k[:-1])))
    starts = 1 + int(np.sum(~same_gt | (time[1:] != time[:-1] + 1))) if len(g) else 0
    fragments = starts - len(np.unique(g))

    gt_id_count = np.bincount(gt.ids, minlength=gt.num_ids)
    matched_count = np.bincount(match_gt, minlength=gt.num_ids)
    present = gt_id_count > 0
    tracked_ratio = matched_count[present] / gt_id_count[present]
    mostly = int(np.sum(np.greater(tracked_ratio, 0.8)))
    partly = int(np.sum(np.greater_equal(tracked_ratio, 0.2))) - mostly
    tp = len(match_box)
    res = {
        "CLR_TP": tp,
        "CLR_FN": len(gt.ids) - tp,
        "CLR_FP": len(tracker.ids) - tp,
        "IDSW": id_switches,
        "MT": mostly,
        "PT": partly,
        "ML": gt.num_ids - mostly - partly,
        "Frag": fragments,
        "CLR_Frames": len(gt.count),
        "MOTP_sum": float(_frame_ordered_sum(match_similarity, gt.frame[match_box])),
    }
    return _clear_final(res)


def _clear_empty(num_gt_dets: int, num_tracker_dets: int, num_gt_ids: int) -> dict:
    res = {field: 0 for field in CLEAR_INTEGER_FIELDS + CLEAR_FLOAT_FIELDS}
    if num_tracker_dets == 0:
        res.update(CLR_FN=num_gt_dets, ML=num_gt_ids)
    else:
        res["CLR_FP"] = num_tracker_dets
    res["MLR"] = 1.0
    return res


def _clear_final(res: dict) -> dict:
    tp, fn, fp, idsw = res["CLR_TP"], res["CLR_FN"], res["CLR_FP"], res["IDSW"]
    num_gt_ids = res["MT"] + res["ML"] + res["PT"]
    res["MTR"] = res["MT"] / np.maximum(1.0, num_gt_ids)
    res["MLR"] = res["ML"] / np.maximum(1.0, num_gt_ids)
    res["PTR"] = res["PT"] / np.maximum(1.0, num_gt_ids)
    res["CLR_Re"] = tp / np.maximum(1.0, tp + fn)
    res["CLR_Pr"] = tp / np.maximum(1.0, tp + fp)
    res["MODA"] = (tp - fp) / np.maximum(1.0, tp + fn)
    res["MOTA"] = (tp - fp - idsw) / np.maximum(1.0, tp + fn)
    res["MOTP"] = res["MOTP_sum"] / np.maximum(1.0, tp)
    res["sMOTA"] = (res["MOTP_sum"] - fp - idsw) / np.maximum(1.0, tp + fn)
    res["CLR_F1"] = tp / np.maximum(1.0, tp + 0.5 * fn + 0.5 * fp)
    res["FP_per_frame"] = fp / np.maximum(1.0, res["CLR_Frames"])
    safe_log_idsw = np.log10(idsw) if idsw > 0 else idsw
    res["MOTAL"] = (tp - fp - safe_log_idsw) / np.maximum(1.0, tp + fn)
    return res


def _identity(gt: _Side, tracker: _Side, overlaps: _Overlaps) -> dict:
    num_gt, num_tracker = gt.num_ids, tracker.num_ids
    hit = np.greater_equal(overlaps.similarity, THRESHOLD)  # no eps here, as in TrackEval
    potential = np.bincount(
        gt.ids[overlaps.gt[hit]] * num_tracker + tracker.ids[overlaps.tracker[hit]],
        minlength=num_gt * num_tracker,
    ).reshape(num_gt, num_tracker)
    gt_id_count = np.bincount(gt.ids, minlength=num_gt).astype(np.float64)
    tracker_id_count = np.bincount(tracker.ids, minlength=num_tracker).astype(np.float64)
    # TrackEval's cost matrices: GT ids x (tracker ids + one "unmatched" column per GT id), and
    # tracker ids' "unmatched" rows; 1e10 forbids the off-diagonal unmatched entries.
    size = num_gt + num_tracker
    fn_mat = np.zeros((size, size))
    fp_mat = np.zeros((size, size))
    fp_mat[num_gt:, :num_tracker] = 1e10
    fn_mat[:num_gt, num_tracker:] = 1e10
    fn_mat[:num_gt, :num_tracker] = gt_id_count[:, None]
    fn_mat[np.arange(num_gt), num_tracker + np.arange(num_gt)] = gt_id_count
    fp_mat[:num_gt, :num_tracker] = tracker_id_count[None, :]
    fp_mat[num_gt + np.arange(num_tracker), np.arange(num_tracker)] = tracker_id_count
    fn_mat[:num_gt, :num_tracker] -= potential
    fp_mat[:num_gt, :num_tracker] -= potential
    rows, cols = linear_sum_assignment(fn_mat + fp_mat)
    idfn = int(fn_mat[rows, cols].sum())
    idfp = int(fp_mat[rows, cols].sum())
    res = {"IDFN": idfn, "IDFP": idfp, "IDTP": int(gt_id_count.sum()) - idfn}
    return _identity_final(res)


def _identity_final(res: dict) -> dict:
    tp, fn, fp = res["IDTP"], res["IDFN"], res["IDFP"]
    res["IDR"] = tp / np.maximum(1.0, tp + fn)
    res["IDP"] = tp / np.maximum(1.0, tp + fp)
    res["IDF1"] = tp / np.maximum(1.0, tp + 0.5 * fp + 0.5 * fn)
    return res


def _flatten(res: dict) -> dict:
    """TrackEval's fields as one dict: alpha arrays averaged under their name, arrays in
    `per_alpha`, counts as int, the rest as float."""
    out: dict[str, Any] = {}
    for field in HOTA_ALPHA_FIELDS:
        out[field] = float(np.mean(res[field]))
    for field in HOTA_FIELDS + CLEAR_FLOAT_FIELDS + IDENTITY_FLOAT_FIELDS:
        out[field] = float(res[field])
    for field in CLEAR_INTEGER_FIELDS + IDENTITY_INTEGER_FIELDS + COUNT_FIELDS:
        out[field] = int(res[field])
    if "Frames" in res:
        out["Frames"] = int(res["Frames"])
    out["per_alpha"] = {field: np.asarray(res[field], np.float64) for field in HOTA_ALPHA_FIELDS}
    return out


def sequence_scores(groundtruth: Any, tracker: Any, num_frames: int) -> dict:
    """Every HOTA, CLEAR, Identity and Count key of one sequence (see the module docstring).

    groundtruth, tracker: `Tracks` (or `zoo.formats.tracking.MotRows`; GT `MotRows` are first
      reduced to the rows TrackEval evaluates, column 7 != 0); frames in 1..num_frames, ids
      integers >= 0 and unique within a frame. Within a frame, box order is the file order: it
      decides the Hungarian's choice among equally good matchings, as in TrackEval.
    num_frames: the sequence length (seqLength).
    Returns a flat dict: HOTA's alpha fields averaged over `ALPHAS` under their names, the arrays
    under `per_alpha`, and every other field as TrackEval names it. Raises ValueError for bad
    input.
    """
    if isinstance(groundtruth, formats.MotRows):
        keep = groundtruth.gt_evaluated
        groundtruth = Tracks(
            groundtruth.frame[keep], groundtruth.track_id[keep], groundtruth.boxes[keep]
        )
    if (
        isinstance(num_frames, bool)
        or not isinstance(num_frames, (int, np.integer))
        or num_frames < 1
    ):
        raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
    gt = _side(groundtruth, int(num_frames), "ground truth")
    tr = _side(tracker, int(num_frames), "tracker")
    res: dict[str, Any] = {
        "Dets": len(tr.ids),
        "GT_Dets": len(gt.ids),
        "IDs": tr.num_ids,
        "GT_IDs": gt.num_ids,
        "Frames": int(num_frames),
    }
    if len(tr.ids) == 0 or len(gt.ids) == 0:
        res.update(_hota_empty(len(gt.ids), len(tr.ids)))
        res.update(_clear_empty(len(gt.ids), len(tr.ids), gt.num_ids))
        res.update({field: 0 for field in IDENTITY_INTEGER_FIELDS + IDENTITY_FLOAT_FIELDS})
        if len(tr.ids) == 0:
            res["IDFN"] = len(gt.ids)
        else:
            res["IDFP"] = len(tr.ids)
        return _flatten(res)
    overlaps = _overlaps(gt, tr)
    res.update(_hota(gt, tr, overlaps))
    res.update(_clear(gt, tr, overlaps))
    res.update(_identity(gt, tr, overlaps))
    return _flatten(res)


def combine_sequences(per_sequence: Mapping[str, dict]) -> dict:
    """`COMBINED_SEQ` from `sequence_scores` results, with TrackEval's combination rules."""
    if not per_sequence:
        raise ValueError("no sequence to combine")
    seqs = [per_sequence[name] for name in sorted(per_sequence)]
    alpha = {f: [s["per_alpha"][f] for s in seqs] for f in HOTA_ALPHA_FIELDS}
    res: dict[str, Any] = {f: sum(alpha[f]) for f in ("HOTA_TP", "HOTA_FN", "HOTA_FP")}
    weight = np.maximum(1.0, res["HOTA_TP"])
    for field in ("AssRe", "AssPr", "AssA"):
        res[field] = sum(a * tp for a, tp in zip(alpha[field], alpha["HOTA_TP"])) / weight
    loc = sum(a * tp for a, tp in zip(alpha["LocA"], alpha["HOTA_TP"]))
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])
    _hota_final(res)
    for field in CLEAR_INTEGER_FIELDS + IDENTITY_INTEGER_FIELDS + COUNT_FIELDS:
        res[field] = sum(s[field] for s in seqs)
    res["MOTP_sum"] = sum(s["MOTP_sum"] for s in seqs)
    _clear_final(res)
    _identity_final(res)
    return _flatten(res)


def evaluate_arrays(sequences: Mapping[str, tuple]) -> dict[str, dict]:
    """Scores of sequences held in memory: name -> (groundtruth, tracker, num_frames) as for
    `sequence_scores`. Returns {"COMBINED_SEQ": ..., name: ...} like `evaluate`."""
    per_sequence = {name: sequence_scores(*sequences[name]) for name in sorted(sequences)}
    return {COMBINED: combine_sequences(per_sequence), **per_sequence}


def _sequence_list(gt_dir: pathlib.Path, seqmap: Any) -> tuple[str, ...]:
    if seqmap is None:
        sequences = formats.list_sequences(gt_dir)
        if not sequences:
            raise FileNotFoundError(f"{gt_dir}: no <sequence>/{formats.SEQINFO_FILE} in the folder")
        return sequences
    if isinstance(seqmap, (str, os.PathLike)):
        return formats.read_seqmap(seqmap)
    sequences = tuple(seqmap)
    if len(set(sequences)) != len(sequences):
        raise ValueError("a sequence is listed twice")
    return sequences


def evaluate(
    gt_dir: str | os.PathLike,
    tracker_dir: str | os.PathLike,
    *,
    seqmap: str | os.PathLike | Sequence[str] | None = None,
) -> dict[str, dict]:
    """Score a tracker on the official layout, as the SoccerNet evaluator does.

    gt_dir: a folder of `<seq>/gt/gt.txt` + `<seq>/seqinfo.ini` (seqLength required).
    tracker_dir: a folder of `<seq>.txt` or the submission zip (`soccernet_mot_results.zip`, files
      at its root); files of sequences not evaluated are ignored, as officially.
    seqmap: the sequences to evaluate: a seqmap file (`name` header, one per line, e.g. the
      official `SNMOT-test.txt`) or a list of names; default every sequence folder of gt_dir.
    Returns {"COMBINED_SEQ": scores, "<seq>": scores, ...} (sequences sorted), scores as
    `sequence_scores` gives them. Raises FileNotFoundError for a missing sequence file and
    `zoo.formats.tracking.TrackingFormatError` for a bad one.
    """
    gt_dir = pathlib.Path(gt_dir)
    sequences = _sequence_list(gt_dir, seqmap)
    groundtruth = {seq: formats.read_groundtruth(gt_dir / seq) for seq in sequences}
    results = formats.read_results(
        tracker_dir, {seq: info.seq_length for seq, (info, _) in groundtruth.items()}
    )
    return evaluate_arrays(
        {seq: (rows, results[seq], info.seq_length) for seq, (info, rows) in groundtruth.items()}
    )


SUMMARY_COLUMNS = ("HOTA", "DetA", "AssA", "LocA", "MOTA", "IDF1", "IDSW", "Frag", "MT", "ML")


def format_table(results: Mapping[str, dict], columns: Sequence[str] = SUMMARY_COLUMNS) -> str:
    """A text table of `evaluate` results: one row per sequence, then COMBINED; rates in %."""
    header = f"{'sequence':<16}" + "".join(f"{c:>9}" for c in columns)
    lines = [header]

    def row(name: str, scores: dict) -> str:
        cells = []
        for c in columns:
            value = scores[c]
            cells.append(f"{value:>9d}" if isinstance(value, int) else f"{100 * value:>9.3f}")
        return f"{name:<16}" + "".join(cells)

    for name, scores in results.items():
        if name != COMBINED:
            lines.append(row(name, scores))
    lines.append(row("COMBINED", results[COMBINED]))
    return "\n".join(lines)


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.tracking",
        description="SoccerNet tracking HOTA / CLEAR / Identity (equal to TrackEval with the "
        "SoccerNet settings).",
    )
    parser.add_argument("gt_dir", help="folder of <seq>/gt/gt.txt and <seq>/seqinfo.ini")
    parser.add_argument("tracker_dir", help="folder of <seq>.txt, or soccernet_mot_results.zip")
    parser.add_argument("--seqmap", default=None, help="seqmap file (default: every GT sequence)")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    results = evaluate(args.gt_dir, args.tracker_dir, seqmap=args.seqmap)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
