"""Players on the pitch from a camera and person boxes, and what the SoccerNet calibration paper
(Cioppa et al., CVPRW 2021) builds from them: top views and the player graph.

Two routes share the pitch-to-view map (`topview_pixels`), the lens inversion (`undistort`), the
outline of the visible part (`outline`) and the graph's edges (`player_adjacency`):

- calibration-aware CALF (`players_on_pitch`, `render_topviews`, `graph_nodes`): a homography
  per frame from the half's calibration file, the published inputs of the CALF branches; jax,
  batched over frames with padded players;
- the calibration task (`camera_players_on_pitch`, `top_views`, `player_graph`; see "Exact top
  views" below): a `Camera` per frame, exact under lens distortion; numpy.

They differ where each follows its source: the CALF route clips the image rectangle at the
horizon through the homography, draws the lines from sampled points, draws only whole player
squares and does not outline the visible part along the view's border; the camera route tests
every view cell against the distorted image, draws lines with OpenCV, clips squares at the view's
border and outlines the visible part along it too.

Every function of the CALF route works on whole halves at once: frames are a leading axis,
players are padded to `max_players` slots per frame with a mask.

Geometry. A frame's camera is a homography H from the pitch plane (x, y, 1), metres in the world
frame of `zoo.geometry.pitch` (origin at the centre spot, x along the length, +y towards the main
camera's touch line), to image pixels; a `zoo.geometry.camera.Camera` gives one with
`camera.pitch_homography()` (undistort pixels first with `undistort_pixels`). A player stands at
the bottom centre of his box, ((x1 + x2) / 2, y2), mapped to the pitch by H^-1. An image point is
in front of the camera when H^-1 u has the sign of det(H) in its third coordinate (for
H = s K [r1 r2 t] that sign is s's for every visible ground point); the visible part of the
pitch is the image rectangle clipped to that side of the horizon, mapped by H^-1: a convex
polygon of up to 8 vertices.

Top views (`render_topviews`), an image of H x W pixels in which the pitch takes 95 % of each
side, centred (the published `meter2radar`; its second +2.5 % offset, which shifts players and
cone against the field lines, is not reproduced):
  "colour":  black field, white pitch lines, the white 1-pixel outline of the visible polygon,
             each player an S x S square in his colour;
  "binary":  channel 0 the players (255), channel 1 the filled visible polygon, channel 2 the
             lines.
Frames whose calibration confidence is below the threshold (0.75) are all zero, as published.
The paper's feature route renders 224 x 224 views with 8 x 8 players; its image branch 64 x 32
"radar" views (width x height) with 2 x 2 players.

Player graph (`graph_nodes`): a node per player with 8 features, (colour / 127 - 1) x 3, box area
/ 10^4 (pixels^2), pitch x / 50, y / 50, and the pitch point under the image centre / 50 (x, y;
zeros unless `frame_centre`); edges join players less than 25 m apart (`player_adjacency`). A
frame without players (or not calibrated) holds one all-zero node, as published.
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from zoo.formats.frame_detections import CALIBRATION_THRESHOLD, HalfCalibration, HalfPlayers
from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera, distort
from zoo.geometry.pitch import CIRCLE_CLASSES, PITCH_LENGTH, PITCH_WIDTH, Pitch

MAX_PLAYERS = 30
PITCH_FILL = 0.95  # fraction of each side of a top view that the pitch covers
NODE_FEATURES = 8
EDGE_DISTANCE = 25.0  # metres
POLYGON_VERTICES = 8  # the image rectangle clipped by the horizon, two slots per edge
TOPVIEW_MODES = ("colour", "binary")


@dataclasses.dataclass(frozen=True)
class PlayersOnPitch:
    """Players of a half on the pitch, padded per frame.

    calibrated: [F] bool, the frame's camera is trusted (confidence >= threshold).
    positions: [F, P, 2] metres; colors: [F, P, 3] (0-255); areas: [F, P] box areas (pixels^2);
    mask: [F, P] real players (only in calibrated frames).
    polygon: [F, V, 2] metres, the visible part of the pitch (a convex polygon; unused vertex
    slots repeat a used one); polygon_mask: [F, V].
    centre: [F, 2] the pitch point under the image centre.
    dropped: players left out because a frame had more than P.
    """

    calibrated: np.ndarray
    positions: np.ndarray
    colors: np.ndarray
    areas: np.ndarray
    mask: np.ndarray
    polygon: np.ndarray
    polygon_mask: np.ndarray
    centre: np.ndarray
    dropped: int

    @property
    def num_frames(self) -> int:
        return len(self.calibrated)

    def frames(self, start: int, stop: int) -> PlayersOnPitch:
        """The frames [start, stop)."""
        return dataclasses.replace(self, **{
            f.name: getattr(self, f.name)[start:stop] for f in dataclasses.fields(self) if f.name != "dropped"})


def apply_homography(homography: np.ndarray, points: np.ndarray, *, xp=np) -> tuple:
    """Points [..., N, 2] through homographies [..., 3, 3]: (mapped [..., N, 2], w [..., N])."""
    ones = xp.ones(points.shape[:-1] + (1,), points.dtype)
    mapped = xp.einsum("...ij,...nj->...ni", homography, xp.concatenate([points, ones], axis=-1))
    w = mapped[..., 2]
    safe = xp.where(xp.abs(w) > 1e-12, w, 1e-12)
    return mapped[..., :2] / safe[..., None], w


def undistort_pixels(camera: Camera, pixels: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Pixels [..., N, 2] of a distorted camera -> the pixels of its undistorted pinhole.

    Inverts the camera's distortion by fixed-point iteration on normalised coordinates (OpenCV's
    `undistortPoints` scheme, `undistort`); exact to a fraction of a pixel for broadcast lenses.
    """
    f = np.asarray(camera.focal_length, np.float64)[..., None, :]
    c = np.asarray(camera.principal_point, np.float64)[..., None, :]
    return undistort(camera, pixels, iterations) * f + c


def undistort(camera: Camera, pixels: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Undistorted normalised coordinates [..., N, 2] of pixels [..., N, 2] (OpenCV's full model,
    inverted by fixed-point iteration, as cv2.undistortPoints does)."""
    pixels = np.asarray(pixels, np.float64)
    centre = np.asarray(camera.principal_point, np.float64)[..., None, :]
    focal = np.asarray(camera.focal_length, np.float64)[..., None, :]
    target = (pixels - centre) / focal
    xy = target.copy()
    lens = [np.asarray(f, np.float64) for f in
            (camera.radial_distortion, camera.tangential_distortion, camera.thin_prism_distortion)]
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging (unsure) lens gives NaN
        for _ in range(iterations):
            distorted = np.stack(distort(xy[..., 0], xy[..., 1], *lens), -1)
            xy = xy + (target - distorted)
    return xy


def _clip_rectangle(inverse: np.ndarray, front_sign: np.ndarray, height: int, width: int):
    """The image rectangle clipped to the part in front of the camera, per frame.

    Returns pixel vertices [F, 8, 2] (two slots per rectangle edge: its start if in front, the
    horizon crossing if the edge crosses it) and their mask [F, 8].
    """
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    _, w = apply_homography(inverse, np.broadcast_to(corners, inverse.shape[:-2] + (4, 2)))
    side = w * front_sign[:, None]  # > 0: in front
    # A margin in front of the horizon keeps the clipped vertices at a finite distance.
    margin = 1e-3 * np.abs(w).max(axis=1, keepdims=True)
    inside = side > margin
    nxt = np.roll(np.arange(4), -1)
    start, end = corners, corners[nxt]
    s0, s1 = side, side[:, nxt]
    crossing = inside != inside[:, nxt]
    t = np.clip((margin - s0) / np.where(s1 != s0, s1 - s0, 1.0), 0.0, 1.0)
    crossing_point = start[None] + t[..., None] * (end - start)[None]
    vertices = np.stack([np.broadcast_to(start, crossing_point.shape), crossing_point], axis=2).reshape(-1, 8, 2)
    mask = np.stack([inside, crossing], axis=2).reshape(-1, 8)
    return vertices, mask


def players_on_pitch(
    calibration: HalfCalibration,
    players: HalfPlayers,
    *,
    num_frames: int | None = None,
    threshold: float = CALIBRATION_THRESHOLD,
    max_players: int = MAX_PLAYERS,
) -> PlayersOnPitch:
    """Places the detected players of a half on the pitch, in one vectorised pass.

    Args:
      calibration, players: the half's files (`zoo.formats.frame_detections`); boxes are scaled
        to the calibration's image size when the two files give different sizes.
      num_frames: frames of the result (the features' count); frames missing from a file count
        as not calibrated / without players, frames beyond it are left out.
      threshold: minimum calibration confidence of a frame to be used.
      max_players: player slots per frame; a frame with more detections keeps the highest scores
        (the file order on ties) and the rest are counted in `dropped`.
    """
    f = num_frames if num_frames is not None else calibration.num_frames
    homography = np.tile(np.eye(3), (f, 1, 1))
    confidence = np.zeros(f, np.float32)
    n = min(f, calibration.num_frames)
    homography[:n], confidence[:n] = calibration.homography[:n], calibration.confidence[:n]
    calibrated = confidence >= threshold
    determinant = np.linalg.det(homography)
    calibrated &= np.isfinite(determinant) & (np.abs(determinant) > 0)
    homography = np.where(calibrated[:, None, None], homography, np.eye(3))
    inverse = np.linalg.inv(homography)
    height, width = calibration.image_size
    # The bottom centre of the image looks at the ground in broadcast views: its side of the
    # horizon is "in front" whatever the scale and sign conventions of the file.
    _, w_bottom = apply_homography(inverse, np.tile([[width / 2, height]], (f, 1, 1)))
    front_sign = np.where(w_bottom[:, 0] >= 0, 1.0, -1.0)

    # Detections -> padded slots, best scores first.
    frame = players.frame_index
    keep = frame < f
    frame, boxes = frame[keep], players.boxes[keep].astype(np.float64)
    colors, scores = players.colors[keep], players.scores[keep]
    boxes = boxes * np.tile([width / players.image_size[1], height / players.image_size[0]], 2)
    order = np.lexsort((np.arange(len(frame)), -scores, frame))
    frame, boxes, colors = frame[order], boxes[order], colors[order]
    first = np.searchsorted(frame, np.arange(f))
    slot = np.arange(len(frame)) - first[frame]
    fits = slot < max_players
    dropped = int((~fits & calibrated[frame]).sum())
    frame, slot, boxes, colors = frame[fits], slot[fits], boxes[fits], colors[fits]

    feet = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=-1)
    on_pitch, w = apply_homography(inverse[frame], feet[:, None, :])
    in_front = w[:, 0] * front_sign[frame] > 0
    positions = np.zeros((f, max_players, 2), np.float32)
    padded_colors = np.zeros((f, max_players, 3), np.float32)
    areas = np.zeros((f, max_players), np.float32)
    mask = np.zeros((f, max_players), bool)
    positions[frame, slot] = on_pitch[:, 0]
    padded_colors[frame, slot] = colors
    areas[frame, slot] = np.abs((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    mask[frame, slot] = calibrated[frame] & in_front

    vertices, vertex_mask = _clip_rectangle(inverse, front_sign, height, width)
    polygon, _ = apply_homography(inverse, vertices)
    vertex_mask &= calibrated[:, None]
    # Used vertices first, in order, then the first one repeated: every edge of the list is an
    # edge of the polygon or has zero length.
    order = np.argsort(~vertex_mask, axis=1, kind="stable")
    polygon = np.take_along_axis(polygon, order[..., None], axis=1)
    vertex_mask = np.take_along_axis(vertex_mask, order, axis=1)
    polygon = np.where(vertex_mask[..., None], polygon, polygon[:, :1])
    centre, _ = apply_homography(inverse, np.tile([[width / 2, height / 2]], (f, 1, 1)))
    return PlayersOnPitch(
        calibrated=calibrated, positions=positions, colors=padded_colors, areas=areas, mask=mask,
        polygon=polygon.astype(np.float32), polygon_mask=vertex_mask,
        centre=np.where(calibrated[:, None], centre[:, 0], 0.0).astype(np.float32), dropped=dropped)


# ------------------------------------------------------------------------------------- top views


def topview_pixels(points, height: int, width: int, *, xp=np):
    """Pitch points [..., 2] (metres) -> top-view coordinates [..., 2] (column, row) in pixels: the
    pitch's centre at the view's centre, its length and width over 95 % of the view's sides."""
    x, y = points[..., 0], points[..., 1]
    column = width * (PITCH_FILL * x / PITCH_LENGTH + 0.5)
    row = height * (PITCH_FILL * y / PITCH_WIDTH + 0.5)
    return xp.stack([column, row], axis=-1)


def outline(mask, *, view_border: bool = True, xp=np):
    """[..., h, w] bool: the cells of a mask with a 4-neighbour outside it; with `view_border`,
    the view's edge counts as outside too."""
    widths = [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)]
    padded = xp.pad(mask, widths) if view_border else xp.pad(mask, widths, mode="edge")
    interior = (padded[..., :-2, 1:-1] & padded[..., 2:, 1:-1]
                & padded[..., 1:-1, :-2] & padded[..., 1:-1, 2:])
    return mask & ~interior


@functools.lru_cache(maxsize=8)
def pitch_lines(height: int, width: int, step: float = 0.05) -> np.ndarray:
    """The pitch lines on the ground as a [height, width] bool image (read-only, cached)."""
    elements = Pitch().sample(line_step=step, circle_step=step)
    points = np.concatenate([
        p for name, p in elements.items()
        if name in CIRCLE_CLASSES or np.all(p[:, 2] == 0)  # goal posts and crossbars stand up
    ])[:, :2]
    pixels = np.floor(topview_pixels(points, height, width)).astype(np.int64)
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
    image = np.zeros((height, width), bool)
    image[pixels[inside, 1], pixels[inside, 0]] = True
    image.flags.writeable = False
    return image


def _inside_polygon(polygon: jax.Array, mask: jax.Array, height: int, width: int) -> jax.Array:
    """[F, H, W] bool: pixel centres inside each frame's convex polygon [F, V, 2] (top-view px)."""
    rows, columns = jnp.mgrid[0:height, 0:width]
    centres = jnp.stack([columns + 0.5, rows + 0.5], -1).astype(jnp.float32)  # [H, W, 2]
    a, b = polygon, jnp.roll(polygon, -1, axis=1)
    # Signed area tells the orientation; every edge must see the point on the inner side.
    area = jnp.sum(a[..., 0] * b[..., 1] - b[..., 0] * a[..., 1], axis=1)
    edge = (b - a)[:, :, None, None, :]
    offset = centres[None, None] - a[:, :, None, None, :]
    cross = edge[..., 0] * offset[..., 1] - edge[..., 1] * offset[..., 0]  # [F, V, H, W]
    inner = cross * jnp.sign(area)[:, None, None, None] >= 0
    return jnp.all(inner, axis=1) & (jnp.abs(area) > 0)[:, None, None] & mask.any(axis=1)[:, None, None]


@functools.partial(jax.jit, static_argnames=("height", "width", "mode", "player_size"))
def _render(positions, colors, mask, polygon, polygon_mask, calibrated, lines, *, height, width, mode, player_size):
    f, p = mask.shape
    polygon_px = topview_pixels(polygon, height, width, xp=jnp)
    visible = _inside_polygon(polygon_px, polygon_mask, height, width)
    white = jnp.uint8(255)
    if mode == "colour":
        # The outline: visible pixels with a 4-neighbour outside (the image border is not an edge).
        white_pixels = outline(visible, view_border=False, xp=jnp) | lines[None]
        images = jnp.where(white_pixels[..., None], white, jnp.uint8(0))
        images = jnp.broadcast_to(images, (f, height, width, 3))
        values = jnp.clip(jnp.round(colors), 0, 255).astype(jnp.uint8)  # [F, P, 3]
    else:
        images = jnp.stack([
            jnp.zeros((f, height, width), jnp.uint8),
            jnp.where(visible, white, jnp.uint8(0)),
            jnp.broadcast_to(jnp.where(lines, white, jnp.uint8(0)), (f, height, width)),
        ], axis=-1)
        values = jnp.full((f, p, 3), 255, jnp.uint8)
    # Players: S x S squares at the floor of their top-view position, drawn only when whole.
    centre = jnp.floor(topview_pixels(positions, height, width, xp=jnp)).astype(jnp.int32)  # [F, P, 2]
    half = player_size // 2
    whole = (mask & (centre[..., 0] - half >= 0) & (centre[..., 0] + half < width)
             & (centre[..., 1] - half >= 0) & (centre[..., 1] + half < height))
    offsets = jnp.arange(player_size) - half
    rows = centre[..., 1][..., None, None] + offsets[:, None]  # [F, P, S, 1]
    columns = centre[..., 0][..., None, None] + offsets[None, :]  # [F, P, 1, S]
    rows = jnp.where(whole[..., None, None], rows, height)  # out of range: dropped by the scatter
    frames = jnp.arange(f)[:, None, None, None]
    shape = (f, p, player_size, player_size)
    index = (jnp.broadcast_to(frames, shape), jnp.broadcast_to(rows, shape), jnp.broadcast_to(columns, shape))
    if mode == "colour":
        square_values = jnp.broadcast_to(values[:, :, None, None, :], shape + (3,))
        images = images.at[index].set(square_values, mode="drop")
    else:
        images = images.at[index + (0,)].set(jnp.broadcast_to(values[:, :, None, None, 0], shape), mode="drop")
    return jnp.where(calibrated[:, None, None, None], images, jnp.uint8(0))


def render_topviews(
    scene: PlayersOnPitch,
    *,
    height: int = 224,
    width: int = 224,
    mode: str = "colour",
    player_size: int = 8,
    block: int = 64,
) -> np.ndarray:
    """The top views of every frame of `scene`: uint8 [F, height, width, 3] (see module doc).

    Frames are drawn `block` at a time (the last block padded), so halves of any length share one
    compiled renderer.
    """
    if mode not in TOPVIEW_MODES:
        raise ValueError(f"Unknown top-view mode {mode!r}; expected one of {TOPVIEW_MODES}.")
    arrays = (scene.positions, scene.colors, scene.mask, scene.polygon, scene.polygon_mask, scene.calibrated)
    lines = pitch_lines(height, width)
    images = []
    for start in range(0, scene.num_frames, block):
        part = [a[start:start + block] for a in arrays]
        valid = len(part[0])
        part = [np.concatenate([a, np.zeros((block - valid,) + a.shape[1:], a.dtype)]) for a in part]
        images.append(np.asarray(_render(*part, lines, height=height, width=width, mode=mode,
                                         player_size=player_size))[:valid])
    return np.concatenate(images) if images else np.zeros((0, height, width, 3), np.uint8)


# ---------------------------------------------------------------------------------- player graph


def player_adjacency(positions, mask, max_distance: float = EDGE_DISTANCE, *, xp=np):
    """Edges of the player graphs: [..., P, P] bool, two distinct real players closer than
    `max_distance` metres. positions [..., P, 2], mask [..., P]."""
    difference = positions[..., :, None, :] - positions[..., None, :, :]
    close = xp.sqrt(xp.sum(difference * difference, axis=-1)) < max_distance
    p = positions.shape[-2]
    return close & mask[..., :, None] & mask[..., None, :] & ~xp.eye(p, dtype=bool)


def graph_nodes(scene: PlayersOnPitch, *, frame_centre: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The player graph's nodes of every frame: (features [F, P, 8], positions [F, P, 2],
    mask [F, P]). A frame without players gets one all-zero node at the centre spot.

    frame_centre: fill the last two features with the pitch point under the image centre (the
    official `calibration_cone` flag); zeros otherwise, as in the published resGCN-14 run.
    """
    f, p = scene.mask.shape
    centre = np.broadcast_to(scene.centre[:, None, :] if frame_centre else np.zeros((f, 1, 2)), (f, p, 2))
    features = np.concatenate([
        scene.colors / 127.0 - 1.0, scene.areas[..., None] / 1e4, scene.positions / 50.0, centre / 50.0,
    ], axis=-1)
    features = np.where(scene.mask[..., None], features, 0.0).astype(np.float32)
    positions = np.where(scene.mask[..., None], scene.positions, 0.0).astype(np.float32)
    mask = scene.mask.copy()
    mask[~mask.any(axis=1), 0] = True  # the published zero node of an empty frame
    return features, positions, mask


# ------------------------------------------------------------- exact top views (calibration task)
# Cameras are `zoo.geometry.camera.Camera` with batch shape [frames] in the evaluator's 960x540
# pixels, boxes (x1, y1, x2, y2) in pixels of an image of `image_size` (width, height); numpy.
# A player stands on the ground plane (z = 0) at the bottom centre of his box, found by removing
# the lens distortion from that pixel and meeting its ray with the ground. Views are
# VIEW_SIZE x VIEW_SIZE with the pitch over 95 % of each side; the paper draws its players 2.5 %
# of the view right of and below its lines (its pitch-to-view map adds a 2.5 % margin twice); here
# lines, players and the visible part share one map. The visible part is exact under lens
# distortion: a top-view cell is seen when its centre projects inside the 960x540 image, in front
# of the camera, and inside the undistorted image border (beyond it a strongly distorting lens
# folds far ground back into the image). Nodes of `player_graph`: r, g, b in [0, 1], x, y metres,
# box area in pixels.

VIEW_SIZE = 224  # pixels per side of a top view
SQUARE = 8  # side of a player's square in the view, pixels
CAMERA_SIZE = (960, 540)  # the pixels cameras are expressed in (the evaluator's)


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


def camera_players_on_pitch(camera: Camera, boxes: np.ndarray, valid: np.ndarray,
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
    """Top-view pixels (column, row) [..., 2] of pitch points (x, y) metres [..., 2] in a square
    view (`topview_pixels` in float64)."""
    return topview_pixels(np.asarray(points, np.float64), size, size)


def from_view(pixels: np.ndarray, size: int = VIEW_SIZE) -> np.ndarray:
    """Pitch points (x, y) metres [..., 2] of top-view pixels (column, row) [..., 2]."""
    extent = np.array([PITCH_LENGTH, PITCH_WIDTH])
    return (np.asarray(pixels, np.float64) / size - 0.5) * extent / PITCH_FILL


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
    with np.errstate(over="ignore", invalid="ignore"):  # far ground through a lens: masked below
        return _visible(camera, ground, size)


def _visible(camera: Camera, ground: np.ndarray, size: int) -> np.ndarray:
    pixels, in_front = camera_lib.project(camera, ground)
    width, height = CAMERA_SIZE
    inside = ((pixels[..., 0] >= 0) & (pixels[..., 0] <= width - 1)
              & (pixels[..., 1] >= 0) & (pixels[..., 1] <= height - 1))
    # Beyond the undistorted image border a distorting lens can fold far ground back inside.
    rotation = camera.rotation()
    local = camera_lib.camera_coordinates(ground, rotation, camera.position)
    with np.errstate(divide="ignore"):
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

    positions [F, P, 2] metres and placed [F, P] bool (from `camera_players_on_pitch`), colours
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
                 max_distance: float = EDGE_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
    """(nodes [F, P, 6] float32: r, g, b in [0, 1], x, y metres, box area in pixels (0 for
    players not placed); adjacency [F, P, P] bool: two placed players, distinct, less than
    `max_distance` metres apart)."""
    placed = np.asarray(placed, bool)
    boxes = np.asarray(boxes, np.float64)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    where = np.nan_to_num(np.asarray(positions, np.float64))
    nodes = np.concatenate([np.asarray(colours, np.float64) / 255.0, where, area[..., None]], -1)
    nodes = np.where(placed[..., None], nodes, 0.0).astype(np.float32)
    return nodes, player_adjacency(where, placed, max_distance)
