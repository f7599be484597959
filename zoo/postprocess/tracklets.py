"""Offline post-processing of a sequence's tracks, as the 2023 SoccerNet winners used it.

`link_tracklets` joins a track that ends to one that starts a little later when they are the same
person by motion and appearance: the first box of the later one must lie near where the earlier
one was heading (its last velocity, extrapolated over the gap, within `max_distance` box heights)
and, when ReID embeddings are given, their mean embeddings must be close (cosine distance below
`appearance_thresh`). Among the candidate pairs a Hungarian assignment picks one successor per
track, so chains form but never branch. `interpolate_gaps` then fills the frames a track was
missed in (up to `max_gap`) with linearly interpolated boxes, as ByteTrack's interpolation does.

Tracks are flat arrays of one box per row: frame [N] (1-based), track_id [N], tlwh [N, 4],
score [N], and optionally features [N, d].
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclasses.dataclass(frozen=True)
class SequenceTracks:
    """A sequence's tracked boxes, one per row (see the module docstring)."""

    frame: np.ndarray
    track_id: np.ndarray
    tlwh: np.ndarray
    score: np.ndarray
    features: np.ndarray | None = None

    def sorted(self) -> SequenceTracks:
        order = np.lexsort((self.track_id, self.frame))
        return SequenceTracks(self.frame[order], self.track_id[order], self.tlwh[order], self.score[order],
                              None if self.features is None else self.features[order])


def interpolate_gaps(tracks: SequenceTracks, max_gap: int) -> SequenceTracks:
    """Adds linearly interpolated boxes in every gap of at most `max_gap` missing frames of a
    track (score: the lower of the two ends). Features are not interpolated (left out)."""
    frames, ids, boxes, scores = [tracks.frame], [tracks.track_id], [tracks.tlwh], [tracks.score]
    for track in np.unique(tracks.track_id):
        rows = np.flatnonzero(tracks.track_id == track)
        rows = rows[np.argsort(tracks.frame[rows], kind="stable")]
        f = tracks.frame[rows]
        for a, b in zip(rows[:-1][np.diff(f) > 1], rows[1:][np.diff(f) > 1]):
            gap = int(tracks.frame[b] - tracks.frame[a] - 1)
            if gap > max_gap:
                continue
            u = (np.arange(1, gap + 1) / (gap + 1))[:, None]
            frames.append(tracks.frame[a] + np.arange(1, gap + 1))
            ids.append(np.full(gap, track))
            boxes.append(tracks.tlwh[a] + u * (tracks.tlwh[b] - tracks.tlwh[a]))
            scores.append(np.full(gap, min(tracks.score[a], tracks.score[b])))
    return SequenceTracks(np.concatenate(frames).astype(np.int64), np.concatenate(ids).astype(np.int64),
                          np.concatenate(boxes), np.concatenate(scores)).sorted()


@dataclasses.dataclass(frozen=True)
class _Tracklet:
    track_id: int
    start: int
    end: int
    first: np.ndarray  # tlwh at start
    last: np.ndarray  # tlwh at end
    velocity: np.ndarray  # centre pixels per frame over the last frames
    feature: np.ndarray | None  # mean unit embedding


def _tracklets(tracks: SequenceTracks, velocity_frames: int) -> list[_Tracklet]:
    out = []
    for track in np.unique(tracks.track_id):
        rows = np.flatnonzero(tracks.track_id == track)
        rows = rows[np.argsort(tracks.frame[rows], kind="stable")]
        centres = tracks.tlwh[rows, :2] + tracks.tlwh[rows, 2:] / 2
        tail = rows[-velocity_frames:]
        span = tracks.frame[tail[-1]] - tracks.frame[tail[0]]
        k = len(tail)
        velocity = (centres[-1] - centres[-k]) / span if span > 0 else np.zeros(2)
        feature = None
        if tracks.features is not None:
            mean = tracks.features[rows].mean(axis=0)
            feature = mean / max(float(np.linalg.norm(mean)), 1e-12)
        out.append(_Tracklet(int(track), int(tracks.frame[rows[0]]), int(tracks.frame[rows[-1]]),
                             tracks.tlwh[rows[0]], tracks.tlwh[rows[-1]], velocity, feature))
    return out


def link_tracklets(
    tracks: SequenceTracks,
    *,
    max_gap: int = 50,
    max_distance: float = 1.5,
    appearance_thresh: float = 0.3,
    motion_weight: float = 0.2,
    velocity_frames: int = 10,
) -> SequenceTracks:
    """Relabels tracks so that a track continuing an earlier one gets its id (see the module
    docstring). Costs: cosine distance of the mean embeddings (0 without features) plus
    motion_weight x the distance in box heights between the extrapolated end and the start."""
    tracklets = _tracklets(tracks, velocity_frames)
    n = len(tracklets)
    if n < 2:
        return tracks
    big = 1e6
    cost = np.full((n, n), big)
    for i, a in enumerate(tracklets):
        for j, b in enumerate(tracklets):
            gap = b.start - a.end
            if not 0 < gap <= max_gap:
                continue
            predicted = a.last[:2] + a.last[2:] / 2 + a.velocity * gap
            start = b.first[:2] + b.first[2:] / 2
            height = max((a.last[3] + b.first[3]) / 2, 1.0)
            distance = float(np.linalg.norm(predicted - start)) / height
            if distance > max_distance:
                continue
            appearance = 0.0
            if a.feature is not None and b.feature is not None:
                appearance = max(0.0, 1.0 - float(a.feature @ b.feature))
                if appearance > appearance_thresh:
                    continue
            cost[i, j] = appearance + motion_weight * distance
    rows, cols = linear_sum_assignment(cost)
    successor = {int(r): int(c) for r, c in zip(rows, cols) if cost[r, c] < big}
    predecessor = {c: r for r, c in successor.items()}
    relabel = {}
    for i, tracklet in enumerate(tracklets):
        if i in predecessor:
            continue  # labelled from the head of its chain
        j = i
        while True:
            relabel[tracklets[j].track_id] = tracklet.track_id
            if j not in successor:
                break
            j = successor[j]
    ids = np.array([relabel[int(t)] for t in tracks.track_id], np.int64)
    return dataclasses.replace(tracks, track_id=ids)
