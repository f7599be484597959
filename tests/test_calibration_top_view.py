"""Players on the pitch, top views and the player graph (Cioppa et al. 2021) on hand-computed
cases: a player at the centre spot, a player at the bottom edge of the image, a camera looking
straight down, and three players on a line for the graph."""

from __future__ import annotations

import numpy as np

from zoo.geometry import camera as camera_lib
from zoo.geometry import topview
from zoo.geometry.camera import Camera


def broadcast_cameras() -> Camera:
    """Two main cameras looking at the centre spot, the second through a strongly distorting lens."""
    position = np.array([[0.0, 55.0, -15.0], [5.0, 60.0, -18.0]])
    pan, tilt = camera_lib.look_at(position, np.zeros(3))
    return Camera.create(pan_degrees=pan, tilt_degrees=tilt, roll_degrees=[0.0, 1.0], position=position,
                         focal_length=[[1200.0, 1200.0], [900.0, 905.0]], principal_point=[480.0, 270.0],
                         radial_distortion=[[0.0] * 6, [-0.25, 0.05, 0, 0, 0, 0]],
                         tangential_distortion=[[0, 0], [1e-3, -5e-4]])


def box_at(foot: np.ndarray, height: float = 60.0) -> np.ndarray:
    """A 20-pixel-wide box [..., 4] whose bottom centre is `foot` [..., 2]."""
    return np.stack([foot[..., 0] - 10, foot[..., 1] - height, foot[..., 0] + 10, foot[..., 1]], -1)


def test_a_player_at_the_centre_spot_is_placed_there_and_drawn_at_the_view_centre():
    cameras = broadcast_cameras()
    spot, _ = camera_lib.project(cameras, np.zeros((1, 3)))  # [2, 1, 2] pixels of the centre spot
    # The same player in a 1920x1080 frame (pixels scale by 1919 / 959).
    scale = np.array([1919 / 959, 1079 / 539])
    boxes = box_at(spot * scale)
    positions, placed = topview.camera_players_on_pitch(cameras, boxes, np.ones((2, 1), bool), (1920, 1080))
    assert placed.all()
    np.testing.assert_allclose(positions, 0.0, atol=1e-6)
    colours = np.array([[[200, 30, 40]], [[10, 20, 250]]], np.uint8)
    composition, channels = topview.top_views(cameras, positions, placed, colours)
    assert composition.shape == channels.shape == (2, 224, 224, 3)
    # The centre spot is at view pixel (112, 112): the square covers rows and columns 108..115.
    square = np.zeros((224, 224), bool)
    square[108:116, 108:116] = True
    for f in range(2):
        np.testing.assert_array_equal(channels[f, ..., 0] == 255, square)
        assert (composition[f][square] == colours[f, 0]).all()
        assert channels[f, 112, 112, 1] == 255  # the centre spot is seen
    # Lines: the halfway line is column 111 or 112 through the whole pitch height.
    lines = channels[0, ..., 2] == 255
    assert lines[20:200, 111:113].any(axis=1).all()
    assert not lines[:, :5].any() and not lines[:5].any()  # the margin is empty


def test_a_player_at_the_bottom_edge_stands_on_the_outline_of_the_visible_ground():
    cameras = broadcast_cameras()
    feet = np.array([[[480.0, 539.0], [100.0, 539.0]]] * 2)  # bottom edge of the 960x540 image
    positions, placed = topview.camera_players_on_pitch(cameras, box_at(feet), np.ones((2, 2), bool))
    assert placed.all()
    # Back on the image: the ground points project to the feet.
    ground = np.concatenate([positions, np.zeros((2, 2, 1))], -1)
    pixels, in_front = camera_lib.project(cameras, ground)
    assert in_front.all()
    np.testing.assert_allclose(pixels, feet, atol=1e-6)
    # Their view cells are on the border of the visible part (a seen cell next to an unseen one).
    visible = topview.visible_view(cameras)
    edge = topview.outline(visible)
    for f in range(2):
        for p in range(2):
            col, row = np.floor(topview.to_view(positions[f, p])).astype(int)
            assert edge[f, row - 1:row + 2, col - 1:col + 2].any(), (f, p)
    # The cameras see the centre, the first not the near side line (y = 34, 21 m from it; the
    # second's barrel lens widens its view to y = 35).
    assert visible[:, 112, 112].all() and not visible[0, 218:].any()


def test_a_camera_looking_straight_down_sees_a_rectangle():
    # 30 m above the centre spot, looking down (tilt 0), 960 px focal: sees 30 x 16.875 m.
    camera = Camera.create(pan_degrees=[0.0], tilt_degrees=[0.0], roll_degrees=[0.0],
                           position=[[0.0, 0.0, -30.0]], focal_length=[960.0, 960.0],
                           principal_point=[479.5, 269.5])
    visible = topview.visible_view(camera)[0]
    rows, cols = np.nonzero(visible)
    seen = topview.from_view(np.stack([[cols.min(), rows.min()], [cols.max() + 1, rows.max() + 1]]))
    half = np.array([959 / 2 * 30 / 960, 539 / 2 * 30 / 960])
    cell = np.array([105 / 0.95 / 224, 68 / 0.95 / 224])  # metres per view pixel
    assert (np.abs(seen - [-half, half]) <= cell).all(), (seen, half)
    assert visible.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    outline = topview.outline(visible[None])[0]
    assert outline.sum() == 2 * np.ptp(rows) + 2 * np.ptp(cols)


def test_players_off_the_ground_and_invalid_boxes_are_not_placed():
    cameras = broadcast_cameras()
    feet = np.array([[[480.0, 0.0], [480.0, 400.0]]] * 2)  # above the horizon, on the ground
    horizon_camera = Camera(*(np.asarray(f).copy() for f in cameras))
    horizon_camera.tilt_degrees[:] = 95.0  # looking slightly up: the top row sees the sky
    positions, placed = topview.camera_players_on_pitch(horizon_camera, box_at(feet),
                                                        np.array([[True, True], [True, False]]))
    np.testing.assert_array_equal(placed, [[False, True], [False, False]])
    assert np.isnan(positions[~placed]).all() and np.isfinite(positions[placed]).all()


def test_player_graph_links_players_closer_than_25_metres():
    positions = np.array([[[0.0, 0.0], [20.0, 0.0], [50.0, 0.0], [0.0, 24.9]]])
    placed = np.array([[True, True, True, False]])
    colours = np.array([[[255, 0, 0], [0, 0, 255], [255, 0, 0], [0, 255, 0]]], np.uint8)
    boxes = np.array([[[0, 0, 10, 30], [0, 0, 20, 40], [5, 5, 10, 10], [0, 0, 1, 1]]], np.float64)
    nodes, adjacency = topview.player_graph(positions, placed, colours, boxes)
    np.testing.assert_array_equal(adjacency[0], [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(nodes[0, :3], [[1, 0, 0, 0, 0, 300], [0, 0, 1, 20, 0, 800], [1, 0, 0, 50, 0, 25]])
    np.testing.assert_array_equal(nodes[0, 3], 0.0)


def test_undistort_inverts_the_lens():
    cameras = camera_lib.sample_broadcast_cameras(np.random.default_rng(0), 8, distortion=2.0)
    rng = np.random.default_rng(1)
    xy = rng.uniform(-0.4, 0.4, (8, 50, 2))
    distorted = np.stack(camera_lib.distort(xy[..., 0], xy[..., 1], cameras.radial_distortion,
                                            cameras.tangential_distortion, cameras.thin_prism_distortion), -1)
    pixels = distorted * cameras.focal_length[:, None] + cameras.principal_point[:, None]
    np.testing.assert_allclose(topview.undistort(cameras, pixels), xy, atol=1e-9)
