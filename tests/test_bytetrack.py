"""ByteTrack equals the original's steps on the same detections; the BoT-SORT pieces and the
post-processing do what they say.

The reference is the ByteTrack port in `supervision` 0.26.1 (MIT, the original's code with numpy
and scipy; test extra). One difference is patched out here: the port lists unmatched detections in
Python set order (`tuple(set(...) - set(...))`), the original in index order (`np.where` after
`lap.lapjv`), which decides the order new tracks get their ids. Both use plain IoU here
(`iou_pixel_offset=0`); the original's inclusive-pixel IoU is tested by hand below.
"""

import numpy as np
import pytest

from zoo.postprocess.boxes import box_nms, iou_matrix
from zoo.postprocess.bytetrack import ByteTracker, TrackerSettings, keep_plausible, linear_assignment
from zoo.postprocess.camera_motion import CameraMotion
from zoo.postprocess.kalman import KalmanFilter, mean_to_tlwh, tlwh_to_measurement
from zoo.postprocess.tracklets import SequenceTracks, interpolate_gaps, link_tracklets


def scene(seed, frames=120, objects=26):
    """Players and a ball moving with noise, missed detections, people leaving for a while,
    false alarms, shuffled detection order."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [1800, 1000], (objects, 2))
    vel = rng.normal(0, 4, (objects, 2))
    size = np.column_stack([rng.uniform(20, 40, objects), rng.uniform(50, 110, objects)])
    size[0] = (12, 12)
    out = []
    for t in range(frames):
        vel += rng.normal(0, 0.5, vel.shape)
        pos += vel
        visible = (rng.uniform(size=objects) > 0.08) & (((t // 30) % 3 != 1) | (np.arange(objects) % 5 != 0))
        boxes = np.column_stack([pos, size])[visible] + rng.normal(0, 2, (visible.sum(), 4)) * [1, 1, 0.5, 0.5]
        scores = np.clip(rng.beta(5, 1.5, visible.sum()), 0.01, 1)
        fp = rng.integers(0, 4)
        boxes = np.concatenate([boxes, np.column_stack([rng.uniform(0, 1800, (fp, 2)), rng.uniform(20, 60, (fp, 2))])])
        scores = np.concatenate([scores, rng.uniform(0.05, 0.7, fp)])
        order = rng.permutation(len(boxes))
        out.append((boxes[order], scores[order]))
    return out


@pytest.fixture
def reference(monkeypatch):
    sv = pytest.importorskip("supervision")
    matching = pytest.importorskip("supervision.tracker.byte_tracker.matching")
    original = matching.indices_to_matches

    def index_order(cost, indices, thresh):
        matches, a, b = original(cost, indices, thresh)
        return matches, tuple(sorted(a)), tuple(sorted(b))

    monkeypatch.setattr(matching, "indices_to_matches", index_order)
    return sv


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tracks_equal_the_packaged_bytetrack(reference, seed):
    ref = reference.ByteTrack(track_activation_threshold=0.5, lost_track_buffer=30, minimum_matching_threshold=0.8,
                              frame_rate=25, minimum_consecutive_frames=1)
    ours = ByteTracker(TrackerSettings(iou_pixel_offset=0.0, frame_rate=25))
    boxes_seen, ids_seen = 0, set()
    for t, (tlwh, scores) in enumerate(scene(seed)):
        want = ref.update_with_tensors(np.column_stack([tlwh[:, :2], tlwh[:, :2] + tlwh[:, 2:], scores]))
        got = ours.update(tlwh, scores)
        assert [s.external_track_id for s in want] == got.track_id.tolist(), f"frame {t + 1}"
        if want:
            np.testing.assert_allclose(np.array([s.tlwh for s in want]), got.tlwh, atol=2e-3)  # its boxes are float32
        boxes_seen += len(want)
        ids_seen |= set(got.track_id.tolist())
    assert boxes_seen > 2000 and len(ids_seen) > 30  # tracks were born, lost, found and removed


def test_inclusive_pixel_iou_and_assignment_threshold():
    a = np.array([[0, 0, 9, 9]])  # 10 x 10 pixels when corners are inclusive
    b = np.array([[5, 0, 14, 9]])
    assert iou_matrix(a, b, pixel_offset=1)[0, 0] == pytest.approx(50 / 150)
    assert iou_matrix(a, b)[0, 0] == pytest.approx(36 / 126)
    cost = np.array([[0.2, 0.9], [0.85, 0.3], [0.95, 0.99]])
    matches, rows, cols = linear_assignment(cost, 0.8)
    assert matches.tolist() == [[0, 0], [1, 1]] and rows == [2] and cols == []
    assert box_nms(np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]), np.array([0.5, 0.9, 0.1]),
                   0.5).tolist() == [1, 2]


@pytest.mark.parametrize("layout", ["xyah", "xywh"])
def test_kalman_warp_moves_boxes_with_the_camera(layout):
    kf = KalmanFilter(layout)
    tlwh = np.array([[100.0, 50.0, 20.0, 60.0]])
    mean, cov = kf.initiate(tlwh_to_measurement(tlwh, layout))
    zoom, shift = 1.2, np.array([7.0, -3.0])
    moved, _ = kf.warp(mean, cov, np.array([[zoom, 0, shift[0]], [0, zoom, shift[1]]]))
    want = np.concatenate([tlwh[0, :2] * zoom + shift, tlwh[0, 2:] * zoom])
    np.testing.assert_allclose(mean_to_tlwh(moved, layout)[0], want, atol=1e-9)
    updated, _ = kf.update(*kf.predict(mean, cov), tlwh_to_measurement(tlwh + [2, 0, 0, 0], layout))
    assert updated[0, 4] > 0  # a box moving right gets a rightward velocity


def test_appearance_keeps_identities_through_a_crossing():
    """Two people swap places behind each other: IoU alone swaps their ids, ReID keeps them."""
    frames, features = [], []
    for t in range(30):
        x = np.array([100.0 + 3 * t, 190.0 - 3 * t]) if t < 15 else np.array([190.0 - 3 * (t - 15) - 45, 100 + 3 * (t - 15) + 45])
        frames.append((np.column_stack([x, [50, 50], [20, 20], [60, 60]]), np.array([0.9, 0.9])))
        features.append(np.eye(2) if t < 15 else np.eye(2)[::-1])
    settings = TrackerSettings(use_appearance=True, appearance_thresh=0.25, proximity_thresh=0.9, match_thresh=0.9)
    tracker = ByteTracker(settings)
    first = last = None
    for t, ((tlwh, scores), feats) in enumerate(zip(frames, features)):
        out = tracker.update(tlwh, scores, feats)
        first = first or (dict(zip(out.track_id.tolist(), out.tlwh[:, 0].tolist())) if t == 1 else None)
        last = dict(zip(out.track_id.tolist(), out.tlwh[:, 0].tolist()))
    assert sorted(last) == sorted(first)  # no new identity; each kept its own feature
    assert len(set(last)) == 2


def _texture(seed=0, size=(160, 240)):
    rng = np.random.default_rng(seed)
    import cv2
    return cv2.GaussianBlur(rng.integers(0, 255, (*size, 3)).astype(np.uint8), (5, 5), 1.5)


@pytest.mark.parametrize("method", ["sparse_flow", "ecc"])
def test_camera_motion_finds_a_pan_and_zoom_and_survives_a_cut(method):
    import cv2
    big = _texture(size=(400, 600))
    zoom, shift = 1.03, (4.0, -2.0)
    first = big[100:260, 150:390].copy()
    affine = np.array([[zoom, 0, shift[0]], [0, zoom, shift[1]]])
    # The second frame sees the big picture through the first's window zoomed and shifted.
    second = cv2.warpAffine(big, np.array([[zoom, 0, shift[0] - 150 * zoom], [0, zoom, shift[1] - 100 * zoom]]),
                            (240, 160))
    motion = CameraMotion(method)
    np.testing.assert_allclose(motion(first), np.eye(2, 3))  # the first frame has no motion
    found = motion(second)
    assert not motion.shot_change
    np.testing.assert_allclose(found, affine, atol=0.05 if method == "ecc" else 0.2)
    cut = motion(_texture(seed=7)[:, :, ::-1] // 3)  # another shot: nothing in common
    assert motion.shot_change and np.array_equal(cut, np.eye(2, 3))


def test_keep_plausible_drops_wide_and_tiny_boxes():
    out = ByteTracker().update(np.array([[0, 0, 20, 40], [50, 0, 40, 10], [100, 0, 2, 3]]), np.array([0.9, 0.9, 0.9]))
    kept = keep_plausible(out, min_box_area=10, aspect_ratio_thresh=1.6)
    assert kept.tlwh.shape == (1, 4) and kept.tlwh[0, 2] == pytest.approx(20)


def test_linking_joins_a_continuing_track_and_interpolation_fills_its_gap():
    frame = np.r_[np.arange(1, 11), np.arange(16, 26), np.arange(1, 26)]
    ids = np.r_[np.full(10, 1), np.full(10, 2), np.full(25, 3)]
    x = np.r_[np.arange(1, 11) * 2.0, np.arange(16, 26) * 2.0, np.full(25, 300.0)]
    tlwh = np.column_stack([x, np.full(45, 10.0), np.full(45, 10.0), np.full(45, 30.0)])
    feats = np.r_[np.tile([1, 0], (20, 1)), np.tile([0, 1], (25, 1))].astype(float)
    tracks = SequenceTracks(frame, ids, tlwh, np.ones(45), feats)
    linked = link_tracklets(tracks, max_gap=10)
    assert set(linked.track_id[ids == 2].tolist()) == {1} and set(linked.track_id[ids == 3].tolist()) == {3}
    other_look = SequenceTracks(frame, ids, tlwh, np.ones(45), np.r_[np.tile([1, 0], (10, 1)), np.tile([0, 1], (35, 1))])
    assert set(link_tracklets(other_look, max_gap=10).track_id[ids == 2].tolist()) == {2}
    filled = interpolate_gaps(linked, max_gap=10)
    one = filled.frame[filled.track_id == 1]
    assert one.tolist() == list(range(1, 26))
    np.testing.assert_allclose(filled.tlwh[(filled.track_id == 1) & (filled.frame == 13), 0], 26.0)
    assert len(interpolate_gaps(linked, max_gap=3).frame) == 45
