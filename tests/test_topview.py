"""Players on the pitch, top views and player graphs against hand-computed cases.

The camera of most cases hangs 50 m above the centre spot and looks straight down with a focal
length of 500 px on a 1000 x 600 image: the pitch point (x, y) is the pixel (500 + 10 x,
300 + 10 y), so the image shows x in [-50, 50] and y in [-30, 30].
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from zoo.formats.frame_detections import HalfCalibration, HalfPlayers
from zoo.geometry import topview
from zoo.geometry.camera import Camera, project

IMAGE = (600, 1000)


def _overhead() -> Camera:
    return Camera.create(pan_degrees=0.0, tilt_degrees=0.0, roll_degrees=0.0, position=[0.0, 0.0, -50.0],
                         focal_length=[500.0, 500.0], principal_point=[500.0, 300.0])


def _half(boxes_per_frame, confidence=None, colors=None, scores=None, camera=None, players_size=IMAGE):
    frames = len(boxes_per_frame)
    homography = np.repeat((camera or _overhead()).pitch_homography()[None], frames, 0)
    confidence = np.full(frames, 0.9, np.float32) if confidence is None else np.asarray(confidence, np.float32)
    boxes = np.asarray([b for frame in boxes_per_frame for b in frame], np.float32).reshape(-1, 4)
    n = len(boxes)
    colors = np.tile([[200.0, 20.0, 40.0]], (n, 1)) if colors is None else np.asarray(colors, np.float32)
    scores = np.full(n, 0.9) if scores is None else np.asarray(scores)
    return (HalfCalibration(IMAGE, homography, confidence),
            HalfPlayers(players_size, boxes, colors.astype(np.float32), scores.astype(np.float32),
                        np.array([len(f) for f in boxes_per_frame], np.int32)))


CENTRE_SPOT = [490.0, 250.0, 510.0, 300.0]  # feet at pixel (500, 300): pitch (0, 0)
UNDER_THE_EDGE = [480.0, 560.0, 520.0, 600.0]  # feet on the bottom edge of the image: pitch (0, 30)


def test_players_stand_where_their_feet_are():
    scene = topview.players_on_pitch(*_half([[CENTRE_SPOT, UNDER_THE_EDGE, [0.0, 40.0, 20.0, 100.0]]]))
    assert scene.mask[0, :3].all() and not scene.mask[0, 3:].any()
    np.testing.assert_allclose(scene.positions[0, :3], [[0, 0], [0, 30], [-49, -20]], atol=1e-4)
    np.testing.assert_allclose(scene.areas[0, :3], [1000, 1600, 1200])
    # The visible part of the pitch is the image rectangle: x in [-50, 50], y in [-30, 30].
    corners = scene.polygon[0][scene.polygon_mask[0]]
    np.testing.assert_allclose(sorted(map(tuple, corners)), [(-50, -30), (-50, 30), (50, -30), (50, 30)], atol=1e-4)
    np.testing.assert_allclose(scene.centre[0], [0, 0], atol=1e-5)


def test_colour_top_view_of_a_player_at_the_centre_spot_and_one_under_the_edge():
    scene = topview.players_on_pitch(*_half([[CENTRE_SPOT, UNDER_THE_EDGE]]))
    image = topview.render_topviews(scene, height=224, width=224, mode="colour", player_size=8)[0]
    # Centre spot -> (column, row) = 224 x (0.5, 0.5) = (112, 112): rows and columns 108-115.
    np.testing.assert_array_equal(image[108:116, 108:116], np.broadcast_to([200, 20, 40], (8, 8, 3)))
    assert not (image[107, 108:116] == [200, 20, 40]).all(-1).any()
    # y = 30 m -> row 224 x (0.95 x 30 / 68 + 0.5) = 205.9: rows 201-208 around column 112.
    np.testing.assert_array_equal(image[201:209, 108:116], np.broadcast_to([200, 20, 40], (8, 8, 3)))
    # The outline of the visible part runs along row 205 (the last row whose centre is inside,
    # y <= 30 m), white where no player covers it, from column 224 x (0.5 - 0.95 x 50 / 105) = 11.
    assert (image[205, 12:100] == 255).all() and (image[206, 12:100] == 0).all()
    assert (image[204, 30:100] != 255).any()  # one pixel thick
    # Pitch lines: the halfway line at column 112 far from the players, the touch line at row
    # 224 x 0.025 = 5.6.
    assert (image[20:100, 112] == 255).all() and (image[5, 40:180] == 255).all()


def test_binary_top_view_channels():
    scene = topview.players_on_pitch(*_half([[CENTRE_SPOT]]))
    image = topview.render_topviews(scene, height=32, width=64, mode="binary", player_size=2)[0]
    players, visible, lines = image[..., 0], image[..., 1], image[..., 2]
    # Centre spot -> (column 32, row 16): rows 15-16, columns 31-32.
    assert set(zip(*np.nonzero(players))) == {(15, 31), (15, 32), (16, 31), (16, 32)}
    # Visible: x in [-50, 50] -> columns with centres in [64 (0.5 - 0.4524), 64 (0.5 + 0.4524)] = [3.05, 60.95].
    assert (visible[16, 3:61] == 255).all() and (visible[16, :3] == 0).all() and (visible[16, 61:] == 0).all()
    assert lines[16, 32] == 255 and set(np.unique(image)) <= {0, 255}


def test_uncalibrated_frames_are_empty_and_their_graph_holds_one_zero_node():
    scene = topview.players_on_pitch(*_half([[CENTRE_SPOT], [CENTRE_SPOT], []], confidence=[0.9, 0.74, 0.9]))
    assert scene.calibrated.tolist() == [True, False, True]
    images = topview.render_topviews(scene, height=32, width=64, player_size=2)
    assert images[0].any() and not images[1].any() and images[2].any()
    nodes, positions, mask = topview.graph_nodes(scene)
    assert mask.sum(1).tolist() == [1, 1, 1]
    assert (nodes[1:] == 0).all() and (positions[1:] == 0).all()  # the published empty-frame node


def test_graph_nodes_and_edges_under_25_metres():
    boxes = [[490.0, 250.0, 510.0, 300.0], [690.0, 250.0, 710.0, 300.0], [190.0, 240.0, 210.0, 300.0]]
    colors = [[254.0, 0.0, 127.0], [0.0, 0.0, 0.0], [127.0, 127.0, 127.0]]
    scene = topview.players_on_pitch(*_half([boxes], colors=colors), max_players=4)
    nodes, positions, mask = topview.graph_nodes(scene, frame_centre=True)
    np.testing.assert_allclose(positions[0, :3], [[0, 0], [20, 0], [-30, 0]], atol=1e-4)
    np.testing.assert_allclose(nodes[0, 0], [1, -1, 0, 0.1, 0, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(nodes[0, 2], [0, 0, 0, 0.12, -0.6, 0, 0, 0], atol=1e-5)
    edges = topview.player_adjacency(positions[0], mask[0])
    # 0-1: 20 m (an edge); 0-2: 30 m and 1-2: 50 m (none); no self loops, padding never joins.
    assert set(zip(*np.nonzero(edges))) == {(0, 1), (1, 0)}
    assert (topview.graph_nodes(scene, frame_centre=False)[0][0, :3, 6:] == 0).all()


def test_frames_keep_their_best_scored_players_and_count_the_rest():
    scene = topview.players_on_pitch(
        *_half([[CENTRE_SPOT, UNDER_THE_EDGE, [0.0, 40.0, 20.0, 100.0]]], scores=[0.5, 0.9, 0.7]), max_players=2)
    np.testing.assert_allclose(scene.positions[0], [[0, 30], [-49, -20]], atol=1e-4)
    assert scene.dropped == 1


def test_boxes_of_another_image_size_are_scaled_and_missing_frames_count_as_uncalibrated():
    half = _half([[[245.0, 125.0, 255.0, 150.0]]], players_size=(300, 500))  # half the resolution
    scene = topview.players_on_pitch(*half, num_frames=3)
    np.testing.assert_allclose(scene.positions[0, 0], [0, 0], atol=1e-4)
    assert scene.calibrated.tolist() == [True, False, False] and not scene.mask[1:].any()


def test_a_view_with_the_horizon_keeps_the_ground_in_front_of_the_camera():
    camera = Camera.create(pan_degrees=0.0, tilt_degrees=80.0, roll_degrees=0.0, position=[0.0, 60.0, -12.0],
                           focal_length=[500.0, 500.0], principal_point=[500.0, 300.0])
    feet = project(camera, np.array([[5.0, 20.0, 0.0]]))[0][0]
    box = [feet[0] - 5, feet[1] - 30, feet[0] + 5, feet[1]]
    scene = topview.players_on_pitch(*_half([[box]], camera=camera))
    np.testing.assert_allclose(scene.positions[0, 0], [5, 20], atol=1e-3)
    polygon = scene.polygon[0][scene.polygon_mask[0]]
    assert 4 <= len(polygon) <= 5  # the rectangle cut by the horizon
    pixels, in_front = project(camera, np.concatenate([polygon, np.zeros((len(polygon), 1))], 1).astype(np.float64))
    assert in_front.all()
    assert (pixels[:, 0] > -1).all() and (pixels[:, 0] < 1001).all() and (pixels[:, 1] < 601).all()
    image = topview.render_topviews(scene, height=64, width=64, mode="binary", player_size=2)[0]
    column, row = np.floor(topview.topview_pixels(np.array([5.0, 20.0]), 64, 64)).astype(int)
    assert image[row, column, 1] == 255  # the player stands inside the visible part


def test_undistort_pixels_inverts_the_lens():
    camera = Camera.create(pan_degrees=10.0, tilt_degrees=75.0, roll_degrees=1.0, position=[0.0, 50.0, -15.0],
                           focal_length=[800.0, 800.0], principal_point=[480.0, 270.0],
                           radial_distortion=[-0.12, 0.02, 0, 0, 0, 0], tangential_distortion=[1e-3, -5e-4])
    points = np.array([[0.0, 0.0, 0.0], [20.0, 10.0, 0.0], [-15.0, 25.0, 0.0]])
    distorted, _ = project(camera, points)
    pinhole = camera._replace(radial_distortion=np.zeros(6), tangential_distortion=np.zeros(2))
    undistorted, _ = project(pinhole, points)
    np.testing.assert_allclose(topview.undistort_pixels(camera, distorted), undistorted, atol=1e-3)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from zoo.plots.topview import plot_topviews

    scene = topview.players_on_pitch(*_half([[CENTRE_SPOT, UNDER_THE_EDGE]] * 2))
    path = tmp_path / "views.png"
    plot_topviews(path, topview.render_topviews(scene, height=64, width=64, player_size=2), scene=scene)
    assert os.path.getsize(path) > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
