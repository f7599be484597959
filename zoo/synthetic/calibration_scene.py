"""A broadcast image of a football pitch seen by a given camera, lens distortion included.

The scene is traced backwards: every pixel is undistorted (OpenCV's iterative inverse of the
same rational / tangential / thin-prism model as `zoo.geometry.camera`), turned into a ray and
intersected with the ground (mown grass with the pitch markings, sampled from a top-view texture
at the level of detail the pixel covers) or with the stadium walls around the run-off
(advertising boards, then the crowd). Goals (posts, crossbar, net), players and the ball are then
drawn over it, projected with the full camera model, and the image gets a lighting change, a
shadow, blur, noise and a colour cast. Everything is a function of (camera, rng).

Colours are BGR (OpenCV). The camera is expressed for 960x540 images, as the official files are;
an image of another size is the same view (its pixels are the 960x540 ones scaled by
(w - 1) / 959 and (h - 1) / 539, as normalised annotations scale).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera
from zoo.geometry.pitch import GOAL_HEIGHT, GOAL_WIDTH, Pitch
from zoo.synthetic import reid as people

FULL_WIDTH, FULL_HEIGHT = 960, 540
# The stadium floor: run-off around the pitch up to the advertising boards (metres).
FLOOR_HALF_LENGTH, FLOOR_HALF_WIDTH = 58.0, 40.0
BOARD_HEIGHT = 0.9
TEXTURE_PX_PER_M = 20.0  # finest level of the top-view line texture
LINE_WIDTH_M = 0.12
GOAL_DEPTH_M = 2.0
PLAYER_HEIGHT_M = 1.85
BALL_RADIUS_M = 0.11
_REMAP_COLUMNS = 4096


def scaled_camera(camera: Camera, width: int, height: int) -> Camera:
    """The 960x540 camera expressed for a width x height image of the same view."""
    scale = np.array([(width - 1) / (FULL_WIDTH - 1), (height - 1) / (FULL_HEIGHT - 1)])
    return camera._replace(
        focal_length=np.asarray(camera.focal_length) * scale,
        principal_point=np.asarray(camera.principal_point) * scale,
    )


@functools.lru_cache(maxsize=1)
def _line_texture() -> tuple[np.ndarray, ...]:
    """Top-view line coverage [levels] of float32 [rows, cols] in [0, 1], finest first; texel
    (row, col) of level L covers the floor point (col, row) * 2^L / 20 m - the floor half size."""
    size = (
        int(2 * FLOOR_HALF_WIDTH * TEXTURE_PX_PER_M),
        int(2 * FLOOR_HALF_LENGTH * TEXTURE_PX_PER_M),
    )
    texture = np.zeros(size, np.uint8)
    shift = 4  # sub-pixel precision of OpenCV's drawing

    def texel(point) -> tuple[int, int]:
        return (
            int(round((point[0] + FLOOR_HALF_LENGTH) * TEXTURE_PX_PER_M * 16)),
            int(round((point[1] + FLOOR_HALF_WIDTH) * TEXTURE_PX_PER_M * 16)),
        )

    thickness = max(1, int(round(LINE_WIDTH_M * TEXTURE_PX_PER_M)))
    sampled = Pitch().sample(line_step=0.5, circle_step=0.2)
    for name, points in sampled.items():
        if name.startswith("Goal"):  # posts and crossbars stand above the ground
            continue
        polyline = np.array([texel(p) for p in points], np.int32)
        closed = name == "Circle central"
        cv2.polylines(texture, [polyline], closed, 255, thickness, cv2.LINE_AA, shift)
    for x in (-41.5, 0.0, 41.5):  # penalty marks and the centre spot
        cv2.circle(texture, texel((x, 0.0)), int(0.15 * TEXTURE_PX_PER_M * 16), 255, -1, cv2.LINE_AA,
                   shift)
    levels = [texture.astype(np.float32) / 255.0]
    for _ in range(5):
        levels.append(cv2.pyrDown(levels[-1]))
    return tuple(levels)


def _sample_lines(x: np.ndarray, y: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Line coverage in [0, 1] at floor points x, y [n], filtered over `footprint` metres."""
    levels = _line_texture()
    level = np.clip(np.log2(np.maximum(footprint * TEXTURE_PX_PER_M, 1e-6)), 0, len(levels) - 1)
    low = np.floor(level).astype(int)
    weight = (level - low).astype(np.float32)
    coverage = np.zeros(len(x), np.float32)
    for index, texture in enumerate(levels):
        near = (low == index) | (low + 1 == index)
        if not near.any():
            continue
        scale = TEXTURE_PX_PER_M / 2**index
        count = int(near.sum())
        rows = -(-count // _REMAP_COLUMNS)  # OpenCV maps are at most 32767 wide: fold them
        maps = np.full((2, rows * _REMAP_COLUMNS), -1.0, np.float32)
        maps[0, :count] = (x[near] + FLOOR_HALF_LENGTH) * scale
        maps[1, :count] = (y[near] + FLOOR_HALF_WIDTH) * scale
        sampled = cv2.remap(
            texture, maps[0].reshape(rows, -1), maps[1].reshape(rows, -1), cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        ).reshape(-1)[:count]
        blend = np.where(low[near] == index, 1.0 - weight[near], weight[near])
        coverage[near] += blend * sampled
    return coverage


def _rays(camera: Camera, width: int, height: int) -> np.ndarray:
    """World directions [height, width, 3] of the pixel rays (not normalised)."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([u, v], -1).reshape(-1, 1, 2)
    (fx, fy), (cx, cy) = camera.focal_length, camera.principal_point
    matrix = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    k = np.asarray(camera.radial_distortion)
    opencv_coefficients = np.concatenate(
        [k[:2], camera.tangential_distortion, k[2:], camera.thin_prism_distortion]
    )
    normalised = cv2.undistortPoints(
        pixels, matrix, opencv_coefficients, R=np.eye(3), P=np.eye(3),
        criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-7),
    ).reshape(height, width, 2)
    local = np.concatenate([normalised, np.ones((height, width, 1))], -1)
    return local @ camera.rotation()  # R^T d for every pixel: camera to world


def _hash_noise(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic pseudo-random value in [0, 1) per integer cell (i, j)."""
    h = (i.astype(np.int64) * 73856093) ^ (j.astype(np.int64) * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF) / 65536.0


def _background(camera: Camera, rng: np.random.Generator, width: int, height: int):
    """The traced scene: (image float32 [h, w, 3], ground x, y [h, w] with NaN off the floor)."""
    rays = _rays(camera, width, height)
    centre = np.asarray(camera.position)
    image = np.zeros((height, width, 3), np.float32)
    far = np.full((height, width), np.inf)
    # Walls that the camera is inside of (a camera in the stands does not see its own side).
    wall_hit = np.zeros((height, width), bool)
    wall_along = np.zeros((height, width))
    wall_height = np.zeros((height, width))
    wall_side = np.zeros((height, width), int)
    with np.errstate(divide="ignore", invalid="ignore"):
        for side, (axis, bound) in enumerate(
            ((0, FLOOR_HALF_LENGTH), (0, -FLOOR_HALF_LENGTH), (1, FLOOR_HALF_WIDTH),
             (1, -FLOOR_HALF_WIDTH))
        ):
            if (bound > 0 and centre[axis] >= bound) or (bound < 0 and centre[axis] <= bound):
                continue
            t = (bound - centre[axis]) / rays[..., axis]
            hit = centre + t[..., None] * rays
            other = 1 - axis
            other_bound = FLOOR_HALF_WIDTH if axis == 0 else FLOOR_HALF_LENGTH
            valid = (t > 0) & (np.abs(hit[..., other]) <= other_bound) & (hit[..., 2] <= 0) & (t < far)
            far = np.where(valid, t, far)
            wall_hit |= valid
            wall_along = np.where(valid, hit[..., other], wall_along)
            wall_height = np.where(valid, -hit[..., 2], wall_height)
            wall_side = np.where(valid, side, wall_side)
        t_ground = -centre[2] / rays[..., 2]
        ground = centre + t_ground[..., None] * rays
    on_floor = (
        (rays[..., 2] > 0)
        & (np.abs(ground[..., 0]) <= FLOOR_HALF_LENGTH)
        & (np.abs(ground[..., 1]) <= FLOOR_HALF_WIDTH)
        & (t_ground < far)
    )
    ground_x = np.where(on_floor, ground[..., 0], np.nan)
    ground_y = np.where(on_floor, ground[..., 1], np.nan)

    # Far away: the roof of the stands and the sky beyond.
    image[:] = np.array(rng.uniform(40, 90, 3), np.float32)

    # The crowd above the boards: cells of 0.45 m, each a spectator's colour, in tiers.
    seed = int(rng.integers(1 << 30))
    walls = wall_hit & ~on_floor
    cell_i = np.floor(wall_along[walls] / 0.45).astype(np.int64)
    cell_j = np.floor(wall_height[walls] / 0.55).astype(np.int64)
    crowd = np.stack([_hash_noise(cell_i, cell_j + 1000 * k, seed + wall_side[walls]) for k in range(3)], -1)
    shade = 0.35 + 0.4 * _hash_noise(cell_i, cell_j, seed + 7)[:, None]
    crowd = (60 + 170 * crowd) * shade
    # Advertising boards: 6 m panels, each in a sponsor's two colours with a band of "text".
    boards = wall_height[walls] < BOARD_HEIGHT
    palette = rng.uniform(20, 250, (8, 2, 3))
    panel = (np.floor(wall_along[walls] / 6.0).astype(int) + wall_side[walls] * 3) % len(palette)
    text = (np.abs(wall_height[walls] - 0.45) < 0.2) & (
        (np.floor(wall_along[walls] / 0.3) % 3) != 0
    )
    board = palette[panel, text.astype(int)]
    gap = (wall_height[walls] >= BOARD_HEIGHT) & (wall_height[walls] < BOARD_HEIGHT + 0.6)
    roof = wall_height[walls] > 18.0
    roof_colour = np.array(rng.uniform(30, 80, 3))
    wall_colour = np.where(boards[:, None], board, np.where(gap[:, None], 25.0, crowd))
    image[walls] = np.where(roof[:, None], roof_colour, wall_colour)
    # Spectators smaller than a pixel would alias into noise: soften the stands a little.
    softened = cv2.GaussianBlur(image, (0, 0), 0.8)
    image[walls & ~(wall_height < BOARD_HEIGHT + 0.6)] = softened[walls & ~(wall_height < BOARD_HEIGHT + 0.6)]

    # Grass: a base green, mowing stripes (along or across the pitch), grain and line paint.
    x, y = ground_x[on_floor], ground_y[on_floor]
    # Metres covered by one pixel, for the texture's level of detail.
    dx = np.stack(np.gradient(np.nan_to_num(ground_x)), -1)
    dy = np.stack(np.gradient(np.nan_to_num(ground_y)), -1)
    footprint = np.sqrt(np.maximum((dx**2).sum(-1), (dy**2).sum(-1)))[on_floor]
    footprint = np.minimum(footprint, 5.0)
    base = np.array([rng.uniform(30, 70), rng.uniform(100, 160), rng.uniform(35, 75)], np.float32)
    stripe_width = rng.uniform(4.0, 7.0)
    along = x if rng.random() < 0.8 else y
    stripes = (np.floor(along / stripe_width) % 2) * 2 - 1
    contrast = rng.uniform(0.03, 0.12)
    grain = _hash_noise(np.floor(x * 8), np.floor(y * 8), seed + 11) - 0.5
    grass = base * (1 + contrast * stripes + 0.08 * grain)[:, None]
    lines = _sample_lines(x, y, footprint)[:, None]
    paint = np.array(rng.uniform(205, 245, 3), np.float32)
    ground_colour = grass * (1 - lines) + paint * lines
    if rng.random() < 0.4:  # the shadow of the stands across the pitch
        normal = rng.normal(size=2)
        offset = rng.uniform(-30, 30)
        shadow = (x * normal[0] + y * normal[1]) / np.linalg.norm(normal) > offset
        ground_colour = np.where(shadow[:, None], ground_colour * rng.uniform(0.5, 0.8), ground_colour)
    image[on_floor] = ground_colour
    return image, ground_x, ground_y


def _draw_polyline(image, camera, points, colour, width_m, thickness_min=1):
    """Projects world points [n, 3] and draws them as an anti-aliased polyline of the object's
    width in metres (at least `thickness_min` pixels)."""
    pixels, in_front = camera_lib.project(camera, points)
    if not in_front.all() or not np.isfinite(pixels).all():
        return
    pixels = np.clip(pixels, -1e5, 1e5)  # OpenCV's fixed-point coordinates must fit in int32
    local = camera_lib.camera_coordinates(points, camera.rotation(), camera.position)
    depth = float(np.median(local[:, 2]))
    thickness = max(thickness_min, int(round(camera.focal_length[0] * width_m / depth)))
    if thickness > 200:
        return
    cv2.polylines(image, [np.round(pixels * 16).astype(np.int32)], False, colour, thickness,
                  cv2.LINE_AA, 4)


def _draw_goals(image, camera, rng):
    net = tuple(float(c) for c in rng.uniform(170, 230, 3))
    post = tuple(float(c) for c in rng.uniform(225, 250, 3))
    half = Pitch().length / 2
    for sign in (-1.0, 1.0):
        x0, x1 = sign * half, sign * (half + GOAL_DEPTH_M)
        ys = np.linspace(-GOAL_WIDTH / 2, GOAL_WIDTH / 2, 9)
        for yy in ys:  # the net: lines from the front frame to the back
            _draw_polyline(image, camera, np.array([[x0, yy, -GOAL_HEIGHT], [x1, yy, -GOAL_HEIGHT * 0.6],
                                                    [x1, yy, 0.0]]), net, 0.02)
        for z in np.linspace(-GOAL_HEIGHT * 0.6, 0.0, 4):
            _draw_polyline(image, camera, np.array([[x1, -GOAL_WIDTH / 2, z], [x1, GOAL_WIDTH / 2, z]]),
                           net, 0.02)
        for yy in (-GOAL_WIDTH / 2, GOAL_WIDTH / 2):
            ts = np.linspace(0, 1, 20)[:, None]
            _draw_polyline(image, camera, np.array([x0, yy, 0.0]) * (1 - ts)
                           + np.array([x0, yy, -GOAL_HEIGHT]) * ts, post, LINE_WIDTH_M)
        ts = np.linspace(0, 1, 30)[:, None]
        bar = np.array([x0, -GOAL_WIDTH / 2, -GOAL_HEIGHT]) * (1 - ts) + np.array(
            [x0, GOAL_WIDTH / 2, -GOAL_HEIGHT]) * ts
        _draw_polyline(image, camera, bar, post, LINE_WIDTH_M)


def _draw_players(image, camera, rng, ground_x, ground_y):
    """Players standing on random visible floor points, far ones first, and the ball."""
    visible = np.flatnonzero(np.isfinite(ground_x.ravel()))
    if not len(visible):
        return
    roster = people.game_roster(f"calibration/{rng.integers(1 << 30)}", seed=0)
    cast = roster["player"] + roster["goalkeeper"] + roster["main_referee"]
    count = int(rng.integers(0, 23))
    # Players bunch around the ball: pick a centre of play, then spread around it.
    centre = visible[rng.integers(len(visible))]
    spots = np.stack([ground_x.ravel()[centre], ground_y.ravel()[centre]])
    feet = spots + rng.normal(0, 12, (count, 2))
    feet = np.clip(feet, [-FLOOR_HALF_LENGTH + 1, -FLOOR_HALF_WIDTH + 1],
                   [FLOOR_HALF_LENGTH - 1, FLOOR_HALF_WIDTH - 1])
    foot_points = np.concatenate([feet, np.zeros((count, 1))], 1)
    head_points = foot_points + [0.0, 0.0, -PLAYER_HEIGHT_M]
    foot_px, front_f = camera_lib.project(camera, foot_points)
    head_px, front_h = camera_lib.project(camera, head_points)
    depth = camera_lib.camera_coordinates(foot_points, camera.rotation(), camera.position)[:, 2]
    h, w = image.shape[:2]
    for i in np.argsort(-depth):
        size = foot_px[i, 1] - head_px[i, 1]
        if not (front_f[i] and front_h[i]) or not (2 <= size <= 2 * h):
            continue
        cx, top = float(head_px[i, 0]), float(head_px[i, 1])
        if not (-size < cx < w + size and -size < top < h):
            continue
        person = cast[rng.integers(len(cast))]
        people.draw_figure(image, person, cx=cx, top=top, size=float(size),
                           facing=people.FACINGS[rng.integers(3)], stride=float(rng.uniform(-0.5, 0.5)))
    ball = np.array([[*(spots + rng.normal(0, 3, 2)), -BALL_RADIUS_M]])
    pixel, front = camera_lib.project(camera, ball)
    ball_depth = camera_lib.camera_coordinates(ball, camera.rotation(), camera.position)[0, 2]
    if front[0]:
        radius = camera.focal_length[0] * BALL_RADIUS_M / ball_depth
        if 0.5 < radius < 100:
            cv2.circle(image, tuple(int(round(c * 16)) for c in pixel[0]), int(round(radius * 16)),
                       (245, 245, 245), -1, cv2.LINE_AA, 4)


def render(camera: Camera, rng: np.random.Generator, *, width: int = FULL_WIDTH,
           height: int = FULL_HEIGHT) -> np.ndarray:
    """The image [height, width, 3] uint8 BGR that `camera` (for 960x540) sees, drawn with `rng`."""
    camera = scaled_camera(Camera(*(np.asarray(f, np.float64) for f in camera)), width, height)
    image, ground_x, ground_y = _background(camera, rng, width, height)
    image = np.clip(image, 0, 255).astype(np.uint8)  # OpenCV draws text on 8-bit images only
    _draw_goals(image, camera, rng)
    _draw_players(image, camera, rng, ground_x, ground_y)
    image = image.astype(np.float32)
    # Lighting: exposure and a colour cast, a vignette, then blur and sensor noise.
    image *= rng.uniform(0.75, 1.25) * rng.uniform(0.92, 1.08, 3).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius2 = ((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2
    image *= (1 - rng.uniform(0, 0.5) * radius2)[..., None]
    blur = rng.uniform(0, 1.2) * height / FULL_HEIGHT
    if blur > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    if rng.random() < 0.2:  # a fast pan: motion blur along a random direction
        length = int(rng.integers(3, 9))
        kernel = np.zeros((length, length), np.float32)
        angle = rng.uniform(0, np.pi)
        c = (length - 1) / 2
        d = np.array([np.cos(angle), np.sin(angle)]) * c
        cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))),
                 (int(round(c + d[0])), int(round(c + d[1]))), 1.0, 1)
        image = cv2.filter2D(image, -1, kernel / kernel.sum())
    image += rng.normal(0, rng.uniform(0, 4), image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)
