"""ByteTrack association (Zhang et al., ECCV 2022) with the BoT-SORT extras (Aharon et al. 2022).

Per frame, with detections split by score into high (> track_thresh) and low (low_thresh <
score < track_thresh):

  1. the confirmed and lost tracks are predicted one frame ahead by the Kalman filter (and, with
     camera-motion compensation, moved by the camera's motion since the last frame);
  2. first association: high detections against those tracks, cost 1 - IoU (times the detection
     score with `fuse_score`; with appearance, the minimum of that and half the cosine distance
     of the ReID embeddings, where close enough in both), Hungarian with `match_thresh`;
  3. second association: low detections against the tracks still tracked and unmatched, cost
     1 - IoU, threshold 0.5; tracks left unmatched become lost;
  4. tentative tracks (seen once) against the high detections left, threshold 0.7; unmatched
     tentative tracks are removed;
  5. a high detection left with score >= new_track_thresh starts a track (confirmed at once on
     the first frame, tentative otherwise);
  6. lost tracks unmatched for more than track_buffer frames (scaled to the frame rate) are
     removed, and of two tracks overlapping at IoU > 0.85 the younger is dropped.

The steps, thresholds and list bookkeeping are the original ByteTrack's, so the tracks equal it on
the same detections and settings (tests/test_bytetrack_parity.py compares with the packaged port
in `supervision`). The Kalman steps are vectorised over tracks (`zoo.postprocess.kalman`); the
assignment is scipy's `linear_sum_assignment` on costs clipped at the threshold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from zoo.postprocess.boxes import iou_matrix, tlwh_to_xyxy
from zoo.postprocess.kalman import KalmanFilter, mean_to_tlwh, tlwh_to_measurement

TRACKED, LOST, REMOVED = 1, 2, 3
SECOND_MATCH_THRESH = 0.5  # the original's fixed thresholds of steps 3 and 4
UNCONFIRMED_MATCH_THRESH = 0.7
DUPLICATE_IOU_DISTANCE = 0.15


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """How detections are associated. The defaults are the SoccerNet ByteTrack baseline's.

    track_thresh: detections above it are "high" (first association, can start tracks).
    low_thresh: detections above it (and below track_thresh) take part in the second association.
    new_track_thresh: the least score that starts a track (the original uses track_thresh + 0.1).
    match_thresh: the largest cost of a first-association match.
    track_buffer: frames (at 30 fps; scaled by frame_rate) a lost track waits to be found again.
    frame_rate: of the video.
    fuse_score: multiply the IoU by the detection score in the first association (the original
      does this except on MOT20).
    iou_pixel_offset: 1 for the original's inclusive-pixel IoU (cython_bbox), 0 for plain IoU.
    kalman: "xyah" (ByteTrack) or "xywh" (BoT-SORT).
    use_appearance: fuse ReID embeddings into the cost (BoT-SORT); detections then need features.
    appearance_thresh: cosine distance / 2 above which appearance cannot match.
    proximity_thresh: IoU distance above which appearance cannot match (BoT-SORT's gate).
    feature_momentum: exponential moving average of a track's embedding (BoT-SORT: 0.9).
    """

    track_thresh: float = 0.5
    low_thresh: float = 0.1
    new_track_thresh: float = 0.6
    match_thresh: float = 0.8
    track_buffer: int = 30
    frame_rate: float = 25.0
    fuse_score: bool = True
    iou_pixel_offset: float = 1.0
    kalman: str = "xyah"
    use_appearance: bool = False
    appearance_thresh: float = 0.25
    proximity_thresh: float = 0.5
    feature_momentum: float = 0.9

    @property
    def max_time_lost(self) -> int:
        return int(self.frame_rate / 30.0 * self.track_buffer)


@dataclasses.dataclass(eq=False)
class Track:
    """One track's state (mean [8] and covariance [8, 8] in the settings' Kalman layout)."""

    track_id: int
    mean: np.ndarray
    covariance: np.ndarray
    score: float
    start_frame: int
    frame: int  # last frame it was matched
    state: int = TRACKED
    activated: bool = False
    length: int = 0  # matches since it started or was found again
    feature: np.ndarray | None = None  # smoothed unit ReID embedding


@dataclasses.dataclass(frozen=True)
class FrameTracks:
    """The confirmed, tracked tracks after a frame: ids [n], boxes [n, 4] tlwh (the Kalman
    estimate, as the original reports), scores [n] (of the last matched detection)."""

    track_id: np.ndarray
    tlwh: np.ndarray
    score: np.ndarray


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[np.ndarray, list[int], list[int]]:
    """Minimum-cost matching where pairs costing more than `thresh` cannot match.

    Returns (matches [k, 2] of (row, column) in row order, unmatched rows, unmatched columns),
    the unmatched ones ascending.
    """
    rows, cols = cost.shape
    if not cost.size:
        return np.zeros((0, 2), np.int64), list(range(rows)), list(range(cols))
    clipped = np.where(cost > thresh, thresh + 1e-4, cost)
    row, col = linear_sum_assignment(clipped)
    keep = clipped[row, col] <= thresh
    matches = np.column_stack([row[keep], col[keep]]).astype(np.int64)
    unmatched_rows = sorted(set(range(rows)) - set(matches[:, 0].tolist()))
    unmatched_cols = sorted(set(range(cols)) - set(matches[:, 1].tolist()))
    return matches, unmatched_rows, unmatched_cols


def _joint(a: list[Track], b: list[Track]) -> list[Track]:
    """a, then the tracks of b whose id is not in a yet (in order)."""
    out, seen = list(a), {t.track_id for t in a}
    for t in b:
        if t.track_id not in seen:
            seen.add(t.track_id)
            out.append(t)
    return out


def _without(a: list[Track], b: list[Track]) -> list[Track]:
    drop = {t.track_id for t in b}
    return [t for t in a if t.track_id not in drop]


def _normalise(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), 1e-12)


class ByteTracker:
    """Online multi-object tracker: call `update` once per frame, in order."""

    def __init__(self, settings: TrackerSettings = TrackerSettings()):
        self.settings = settings
        self.kalman = KalmanFilter(settings.kalman)
        self.frame_id = 0
        self.next_id = 1
        self.tracked: list[Track] = []
        self.lost: list[Track] = []

    # ---- vectorised Kalman steps over a list of tracks

    def _predict(self, tracks: list[Track]) -> None:
        if not tracks:
            return
        mean = np.stack([t.mean for t in tracks])
        covariance = np.stack([t.covariance for t in tracks])
        size_velocity = [7] if self.settings.kalman == "xyah" else [6, 7]
        not_tracked = np.array([t.state != TRACKED for t in tracks])
        mean[np.ix_(not_tracked, size_velocity)] = 0.0  # a lost box keeps its size
        mean, covariance = self.kalman.predict(mean, covariance)
        for t, m, c in zip(tracks, mean, covariance):
            t.mean, t.covariance = m, c

    def _warp(self, tracks: list[Track], affine: np.ndarray) -> None:
        if not tracks:
            return
        mean, covariance = self.kalman.warp(
            np.stack([t.mean for t in tracks]), np.stack([t.covariance for t in tracks]), affine)
        for t, m, c in zip(tracks, mean, covariance):
            t.mean, t.covariance = m, c

    def _correct(self, tracks: list[Track], tlwh: np.ndarray, scores, features) -> None:
        """Kalman update of each track with its detection (rows of tlwh), then the bookkeeping."""
        if not tracks:
            return
        mean, covariance = self.kalman.update(
            np.stack([t.mean for t in tracks]), np.stack([t.covariance for t in tracks]),
            tlwh_to_measurement(tlwh, self.settings.kalman))
        for i, t in enumerate(tracks):
            t.mean, t.covariance = mean[i], covariance[i]
            t.frame = self.frame_id
            t.score = float(scores[i])
            if features is not None:
                t.feature = self._smoothed(t.feature, features[i])

    def _smoothed(self, feature, new):
        if feature is None:
            return _normalise(new)
        alpha = self.settings.feature_momentum
        return _normalise(alpha * feature + (1 - alpha) * new)

    # ---- costs

    def _boxes(self, tracks: list[Track]) -> np.ndarray:
        if not tracks:
            return np.zeros((0, 4))
        return tlwh_to_xyxy(mean_to_tlwh(np.stack([t.mean for t in tracks]), self.settings.kalman))

    def _cost(self, tracks: list[Track], det_tlwh, det_scores, det_features, *, fuse: bool) -> np.ndarray:
        s = self.settings
        iou = iou_matrix(self._boxes(tracks), tlwh_to_xyxy(det_tlwh), pixel_offset=s.iou_pixel_offset)
        distance = 1.0 - iou
        far = distance > s.proximity_thresh
        if fuse and s.fuse_score:
            distance = 1.0 - iou * np.asarray(det_scores)[None, :]
        if s.use_appearance and det_features is not None and len(tracks) and len(det_tlwh):
            track_features = np.stack([
                t.feature if t.feature is not None else np.zeros(det_features.shape[1]) for t in tracks])
            appearance = np.maximum(0.0, 1.0 - track_features @ det_features.T) / 2.0
            appearance[appearance > s.appearance_thresh] = 1.0
            appearance[far] = 1.0
            distance = np.minimum(distance, appearance)
        return distance

    # ---- one frame

    def update(
        self,
        tlwh: np.ndarray,
        scores: np.ndarray,
        features: np.ndarray | None = None,
        camera_motion: np.ndarray | None = None,
    ) -> FrameTracks:
        """Associates one frame's detections.

        tlwh: [n, 4] boxes (top-left x, y, width, height) in pixels; scores: [n].
        features: [n, d] ReID embeddings (used when settings.use_appearance).
        camera_motion: [2, 3] affine from the previous frame's pixels to this frame's (None: none).
        """
        s = self.settings
        self.frame_id += 1
        tlwh = np.asarray(tlwh, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        if features is not None:
            features = _normalise(np.asarray(features, np.float64).reshape(len(tlwh), -1))
        high = np.flatnonzero(scores > s.track_thresh)
        low = np.flatnonzero((scores > s.low_thresh) & (scores < s.track_thresh))
        high_features = None if features is None else features[high]

        unconfirmed = [t for t in self.tracked if not t.activated]
        confirmed = [t for t in self.tracked if t.activated]
        pool = _joint(confirmed, self.lost)
        self._predict(pool)
        if camera_motion is not None:
            self._warp(pool, camera_motion)
            self._warp(unconfirmed, camera_motion)

        activated, refound, lost, removed = [], [], [], []

        def match(tracks, pairs, det_index, feats):
            """Kalman-updates the matched tracks (one batch), then the original's bookkeeping."""
            chosen = [tracks[row] for row in pairs[:, 0]]
            found = [t.state != TRACKED for t in chosen]
            rows = det_index[pairs[:, 1]]
            self._correct(chosen, tlwh[rows], scores[rows], None if feats is None else feats[pairs[:, 1]])
            for track, refind in zip(chosen, found):
                track.state, track.activated = TRACKED, True
                if refind:  # found again after being lost
                    track.length = 0
                    refound.append(track)
                else:
                    track.length += 1
                    activated.append(track)

        # First association: high detections with confirmed and lost tracks.
        cost = self._cost(pool, tlwh[high], scores[high], high_features, fuse=True)
        matches, unmatched_pool, unmatched_high = linear_assignment(cost, s.match_thresh)
        match(pool, matches, high, high_features)

        # Second association: low detections with the tracked ones left (IoU only).
        remaining = [pool[i] for i in unmatched_pool if pool[i].state == TRACKED]
        cost = self._cost(remaining, tlwh[low], scores[low], None, fuse=False)
        matches, unmatched_remaining, _ = linear_assignment(cost, SECOND_MATCH_THRESH)
        match(remaining, matches, low, None)
        for i in unmatched_remaining:
            track = remaining[i]
            if track.state != LOST:
                track.state = LOST
                lost.append(track)

        # Tentative tracks with the high detections left.
        left = high[unmatched_high]
        left_features = None if features is None else features[left]
        cost = self._cost(unconfirmed, tlwh[left], scores[left], left_features, fuse=True)
        matches, unmatched_unconfirmed, unmatched_left = linear_assignment(cost, UNCONFIRMED_MATCH_THRESH)
        match(unconfirmed, matches, left, left_features)
        for i in unmatched_unconfirmed:
            unconfirmed[i].state = REMOVED
            removed.append(unconfirmed[i])

        # New tracks.
        starts = [left[i] for i in unmatched_left if scores[left[i]] >= s.new_track_thresh]
        if starts:
            mean, covariance = self.kalman.initiate(tlwh_to_measurement(tlwh[starts], s.kalman))
            for k, d in enumerate(starts):
                track = Track(self.next_id, mean[k], covariance[k], float(scores[d]), self.frame_id,
                              self.frame_id, activated=self.frame_id == 1)
                if features is not None:
                    track.feature = features[d]
                self.next_id += 1
                activated.append(track)

        # Lost for too long.
        for track in self.lost:
            if self.frame_id - track.frame > s.max_time_lost:
                track.state = REMOVED
                removed.append(track)

        tracked = [t for t in self.tracked if t.state == TRACKED]
        tracked = _joint(_joint(tracked, activated), refound)
        still_lost = _without(_without(self.lost, tracked) + lost, removed)
        self.tracked, self.lost = self._without_duplicates(tracked, still_lost)
        return self.output()

    def _without_duplicates(self, tracked: list[Track], lost: list[Track]):
        """Of a tracked and a lost track overlapping at IoU > 0.85, drops the one seen for less time."""
        iou = iou_matrix(self._boxes(tracked), self._boxes(lost), pixel_offset=self.settings.iou_pixel_offset)
        drop_tracked, drop_lost = set(), set()
        for p, q in zip(*np.nonzero(1.0 - iou < DUPLICATE_IOU_DISTANCE)):
            age_p = tracked[p].frame - tracked[p].start_frame
            age_q = lost[q].frame - lost[q].start_frame
            if age_p > age_q:
                drop_lost.add(int(q))
            else:
                drop_tracked.add(int(p))
        return ([t for i, t in enumerate(tracked) if i not in drop_tracked],
                [t for i, t in enumerate(lost) if i not in drop_lost])

    def output(self) -> FrameTracks:
        shown = [t for t in self.tracked if t.activated]
        if not shown:
            return FrameTracks(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0))
        return FrameTracks(
            np.array([t.track_id for t in shown], np.int64),
            mean_to_tlwh(np.stack([t.mean for t in shown]), self.settings.kalman),
            np.array([t.score for t in shown]),
        )


def keep_plausible(tracks: FrameTracks, *, min_box_area: float, aspect_ratio_thresh: float) -> FrameTracks:
    """The baseline's output filter: boxes larger than min_box_area and not wider than
    aspect_ratio_thresh times their height (a standing person is taller than wide)."""
    w, h = tracks.tlwh[:, 2], tracks.tlwh[:, 3]
    keep = (w * h > min_box_area) & ~(w / np.maximum(h, 1e-12) > aspect_ratio_thresh)
    return FrameTracks(tracks.track_id[keep], tracks.tlwh[keep], tracks.score[keep])


def run_sequence(
    detections: Sequence[tuple[np.ndarray, np.ndarray]],
    settings: TrackerSettings = TrackerSettings(),
    features: Sequence[np.ndarray] | None = None,
    camera_motion: Sequence[np.ndarray | None] | None = None,
) -> list[FrameTracks]:
    """Tracks a whole sequence: detections[t] = (tlwh [n, 4], scores [n]) of frame t + 1."""
    tracker = ByteTracker(settings)
    out = []
    for t, (tlwh, scores) in enumerate(detections):
        out.append(tracker.update(
            tlwh, scores,
            None if features is None else features[t],
            None if camera_motion is None else camera_motion[t]))
    return out
