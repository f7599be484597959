"""Players on the pitch, top views and the player graph of broadcast frames.

The three representations of player localisation of Cioppa et al., "Camera Calibration and Player
Localization in SoccerNet-v2 and Investigation of their Representations for Action Spotting"
(CVPRW 2021), from a camera per frame and player boxes:

- positions: each player stands on the ground plane (z = 0) at the bottom centre of its box,
  found by removing the lens distortion from that pixel and meeting its ray with the ground;
- top views [frames, 224, 224, 3] uint8 with the pitch (105 x 68 m) scaled to 95 % of each side
  and centred: the colour composition (black field, white lines, the white outline of the part
  of the ground the camera sees, players as 8x8 squares of their kit colour) and the binary
  channels (players, the filled visible part, lines);
- the player graph: a node per player (kit colour, pitch position, box area) and an edge between
  two players less than 25 m apart.

The paper draws its players 2.5 % of the view right of and below its lines (its pitch-to-view
map adds a 2.5 % margin twice); here lines, players and the visible part share one map.

The visible part is exact under lens distortion: a top-view cell is seen when its centre
projects inside the 960x540 image, in front of the camera, and inside the undistorted image
border (beyond it a strongly distorting lens folds far ground back into the image).

Vectorised over frames (numpy); cameras are `zoo.geometry.camera.Camera` with batch shape
[frames] in the evaluator's 960x540 pixels, boxes (x1, y1, x2, y2) in pixels of an image of
`image_size` (width, height).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera
from zoo.geometry.pitch import PITCH_LENGTH, PITCH_WIDTH, Pitch

VIEW_SIZE = 224  # pixels per side of a top view
FIELD_SHARE = 0.95  # of each side of the view the pitch covers
SQUARE = 8  # side of a player's square in the view, pixels
GRAPH_DISTANCE = 25.0  # metres: players closer than this share an edge
CAMERA_SIZE = (960, 540)  # the pixels cameras are expressed in (the evaluator's)


def undistort(camera: Camera, pixels: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Undistorted normalised coordinates [F, P, 2] of pixels [F, P, 2] (OpenCV's full model,
    inverted by fixed-point iteration, as cv2.undistortPoints does)."""
    pixels = np.asarray(pixels, np.float64)
    centre = np.asarray(camera.principal_point, np.float64)[..., None, :]
    focal = np.asarray(camera.focal_length, np.float64)[..., None, :]
    target = (pixels - centre) / focal
    xy = target.copy()
    lens = [np.asarray(f, np.float64) for f in
            (camera.radial_distortion, camera.tangential_distortion, camera.thin_prism_distortion)]
    for _ in range(iterations):
        distorted = np.stack(camera_lib.distort(xy[..., 0], xy[..., 1], *lens), -1)
        xy = xy + (target - distorted)
    return xy


def pitch_positions(camera: Camera, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground points (x, y) metres [F, P, 2] of pixels [F, P, 2] (960x540), and [F, P] bool: the
    ray meets the ground in front of the camera."""
    xy = undistort(camera, pixels)
    ray = np.concatenate([xy, np.ones_like(xy[..., :1])], -1)  # camera frame, depth 1
    rotation = np.asarray(camera.rotation(), np.float64)  # world -> camera
    direction = np.einsum("fji,fpj->fpi", rotation, ray)  # R^T ray
    position = np.asarray(camera.position, np.float64)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = -position[..., 2] / direction[..., 2]
    on_ground = np.isfinite(distance) & (distance > 0)
    ground = position[..., :2] + np.where(on_ground, distance, 0.0)[..., None] * direction[..., :2]
    return np.where(on_ground[..., None], ground, np.nan), on_ground


def players_on_pitch(camera: Camera, boxes: np.ndarray, valid: np.ndarray,
                     image_size: tuple[int, int] = CAMERA_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Pitch positions (x, y) metres [F, P, 2] of player boxes [F, P, 4] (x1, y1, x2, y2 in pixels
    of an image of `image_size` = (width, height)), and [F, P] bool: a valid box whose foot is on
    the ground (NaN positions otherwise). The foot is the bottom centre of the box."""
    boxes = np.asarray(boxes, np.float64)
    width, height = image_size
    scale = np.array([(CAMERA_SIZE[0] - 1) / (width - 1), (CAMERA_SIZE[1] - 1) / (height - 1)])
    feet = np.stack([(boxes[..., 0] + boxes[..., 2]) / 2, boxes[..., 3]], -1) * scale
    positions, on_ground = pitch_positions(camera, feet)
    placed = np.asarray(valid, bool) & on_ground
    return np.where(placed[..., None], positions, np.nan), placed


def to_view(points: np.ndarray, size: int = VIEW_SIZE) -> np.ndarray:
    """Top-view pixels (column, row) [..., 2] of pitch points (x, y) metres [..., 2]: the pitch's
    centre at the view's centre, its length and width over 95 % of the view's sides."""
    extent = np.array([PITCH_LENGTH, PITCH_WIDTH])
    return size * (0.5 + FIELD_SHARE * np.asarray(points, np.float64) / extent)


def from_view(pixels: np.ndarray, size: int = VIEW_SIZE) -> np.ndarray:
    """Pitch points (x, y) metres [..., 2] of top-view pixels (column, row) [..., 2]."""
    extent = np.array([PITCH_LENGTH, PITCH_WIDTH])
    return (np.asarray(pixels, np.float64) / size - 0.5) * extent / FIELD_SHARE


@functools.lru_cache(maxsize=4)
def lines_view(size: int = VIEW_SIZE) -> np.ndarray:
    """[size, size] bool: the pitch lines (every ground element; goals stand above the goal
    lines) drawn one pixel wide."""
    canvas = np.zeros((size, size), np.uint8)
    for name, points in Pitch().sample(0.25, 0.1).items():
        if name.startswith("Goal"):
            continue
        # cv2 draws with 4 bits of sub-pixel precision; pixel centres sit at integer + 0.5.
        polyline = np.round((to_view(points[:, :2], size) - 0.5) * 16).astype(np.int32)
        cv2.polylines(canvas, [polyline], name.startswith("Circle central"), 1, 1, cv2.LINE_8, 4)
    mask = canvas.astype(bool)
    mask.flags.writeable = False
    return mask


def visible_view(camera: Camera, size: int = VIEW_SIZE) -> np.ndarray:
    """[F, size, size] bool: the top-view cells whose centre the camera sees on the ground."""
    cells = (np.arange(size) + 0.5)
    grid = np.stack(np.meshgrid(cells, cells, indexing="xy"), -1).reshape(-1, 2)  # (col, row)
    ground = np.concatenate([from_view(grid, size), np.zeros((len(grid), 1))], -1)
    pixels, in_front = camera_lib.project(camera, ground)
    width, height = CAMERA_SIZE
    inside = ((pixels[..., 0] >= 0) & (pixels[..., 0] <= width - 1)
              & (pixels[..., 1] >= 0) & (pixels[..., 1] <= height - 1))
    # Beyond the undistorted image border a distorting lens can fold far ground back inside.
    rotation = camera.rotation()
    local = camera_lib.camera_coordinates(ground, rotation, camera.position)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = local[..., :2] / local[..., 2:]
    border = _border_pixels()
    undistorted = undistort(camera, np.broadcast_to(border, (*camera.batch_shape, *border.shape)))
    low, high = undistorted.min(axis=-2), undistorted.max(axis=-2)  # [F, 2]
    within = np.all((normalised >= low[:, None] - 1e-9) & (normalised <= high[:, None] + 1e-9), -1)
    return (in_front & inside & within).reshape(-1, size, size)


def _border_pixels(per_side: int = 64) -> np.ndarray:
    """[4 * per_side, 2] pixels along the border of the 960x540 image."""
    width, height = CAMERA_SIZE
    t = np.linspace(0.0, 1.0, per_side)
    return np.concatenate([
        np.stack([t * (width - 1), np.zeros_like(t)], -1),
        np.stack([t * (width - 1), np.full_like(t, height - 1)], -1),
        np.stack([np.zeros_like(t), t * (height - 1)], -1),
        np.stack([np.full_like(t, width - 1), t * (height - 1)], -1),
    ])


def outline(mask: np.ndarray) -> np.ndarray:
    """[..., h, w] bool: the cells of a mask with a 4-neighbour outside it (or the view's edge)."""
    padded = np.pad(mask, [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)])
    interior = (padded[..., :-2, 1:-1] & padded[..., 2:, 1:-1]
                & padded[..., 1:-1, :-2] & padded[..., 1:-1, 2:])
    return mask & ~interior


def player_squares(positions: np.ndarray, placed: np.ndarray, size: int = VIEW_SIZE):
    """Where the players' squares fall: (frame, row, column, player) index arrays of every
    square pixel inside the view, players in order (a later player covers an earlier one)."""
    frames, players = placed.shape
    centre = np.floor(to_view(np.nan_to_num(positions), size)).astype(np.int64)  # [F, P, 2]
    offsets = np.arange(SQUARE) - SQUARE // 2
    rows = centre[..., 1, None, None] + offsets[:, None]  # [F, P, S, 1]
    cols = centre[..., 0, None, None] + offsets[None, :]  # [F, P, 1, S]
    rows, cols = np.broadcast_arrays(rows, cols)
    frame = np.broadcast_to(np.arange(frames)[:, None, None, None], rows.shape)
    player = np.broadcast_to(np.arange(players)[None, :, None, None], rows.shape)
    keep = placed[..., None, None] & (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    return frame[keep], rows[keep], cols[keep], player[keep]


def top_views(camera: Camera, positions: np.ndarray, placed: np.ndarray, colours: np.ndarray,
              size: int = VIEW_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(composition [F, size, size, 3] uint8 RGB, channels [F, size, size, 3] uint8 0/255).

    positions [F, P, 2] metres and placed [F, P] bool (from `players_on_pitch`), colours
    [F, P, 3] uint8 RGB kit colours. Composition: black, white lines and outline of the visible
    ground, players' squares in colour. Channels: 0 players, 1 the visible ground (filled),
    2 lines.
    """
    placed = np.asarray(placed, bool)
    visible = visible_view(camera, size)
    lines = np.broadcast_to(lines_view(size), visible.shape)
    frame, row, col, player = player_squares(np.asarray(positions), placed, size)
    composition = np.zeros((*visible.shape, 3), np.uint8)
    composition[lines | outline(visible)] = 255
    composition[frame, row, col] = np.asarray(colours, np.uint8)[frame, player]
    channels = np.zeros((*visible.shape, 3), np.uint8)
    channels[frame, row, col, 0] = 255
    channels[..., 1] = np.where(visible, 255, 0)
    channels[..., 2] = np.where(lines, 255, 0)
    return composition, channels


def player_graph(positions: np.ndarray, placed: np.ndarray, colours: np.ndarray, boxes: np.ndarray,
                 max_distance: float = GRAPH_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
    """(nodes [F, P, 6] float32: r, g, b in [0, 1], x, y metres, box area in pixels (0 for
    players not placed); adjacency [F, P, P] bool: two placed players, distinct, less than
    `max_distance` metres apart)."""
    placed = np.asarray(placed, bool)
    boxes = np.asarray(boxes, np.float64)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    where = np.nan_to_num(np.asarray(positions, np.float64))
    nodes = np.concatenate([np.asarray(colours, np.float64) / 255.0, where, area[..., None]], -1)
    nodes = np.where(placed[..., None], nodes, 0.0).astype(np.float32)
    distance = np.linalg.norm(where[:, :, None] - where[:, None, :], axis=-1)
    pairs = placed[:, :, None] & placed[:, None, :] & ~np.eye(placed.shape[1], dtype=bool)
    return nodes, pairs & (distance < max_distance)
