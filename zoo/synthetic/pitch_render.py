"""A broadcast-like view of a synthetic football match: how people and the ball move, and how it looks.

The world is in metres: x along the pitch (0 is the left goal line, 105 the right one), y across it
(0 is the far touchline, at the top of the image, 68 the near one). A match script (written by
`zoo.synthetic.ball`) says where every person must be at a few frames ("knots") on top of their
free motion, and where the ball is at each moment as a chain of moves: held at someone's feet,
head or hands, resting on a spot, rolling along the ground or flying through the air. This module
turns that script into per-frame positions, a ball track, a panning camera and video frames.

Looks, at the default 160x96 frame (everything scales with the frame height): a striped green
pitch with white lines, goals with nets and stands behind the far touchline; a camera that shows
80 m of the 105 m pitch and pans smoothly after the ball; people ~12 px tall (shirt, shorts, head;
legs apart when running); the ball a white disc of radius >= 2 px, drawn higher and larger with its
height above the ground, with a shadow on the ground below it.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

PITCH_LENGTH = 105.0
PITCH_WIDTH = 68.0
GOAL_HALF_WIDTH = 3.66
GOAL_DEPTH = 2.0
VIEW_LENGTH = 80.0  # metres of pitch length across the frame
CANVAS_MARGIN = 6.0  # metres of run-off drawn beyond each goal line
FOOT_REACH = 0.9  # metres from a player's feet point to the ball at his feet
HEAD_HEIGHT = 2.3
HANDS_HEIGHT = 1.1
THROW_HEIGHT = 3.4  # the ball held up above the head for a throw-in
RUN_SPEED = 6.0  # m/s at which people catch up with a scripted position
MIN_RAMP_S = 0.6  # the shortest time in which a person leaves or rejoins his free motion

# Poses (per person and frame).
NORMAL, ARMS_UP, LYING, YELLOW_CARD, RED_CARD, FLAG, BOARD = range(7)

# Colours are BGR (OpenCV).
GRASS = ((44, 128, 46), (52, 140, 55))  # alternate mowing stripes
LINE = (225, 232, 225)
BALL = (250, 250, 250)
SHADOW = (22, 70, 25)
SKIN = (110, 150, 200)
NET = (200, 205, 200)
YELLOW = (20, 225, 250)
RED = (30, 30, 220)
BOARD_GREEN = (40, 200, 40)


@dataclasses.dataclass(frozen=True)
class Spot:
    """Where the ball is: at a person's feet, head or hands, or at a fixed place on the ground."""

    person: int = -1  # -1: the fixed `point`
    point: tuple[float, float] = (0.0, 0.0)
    height: float = 0.0  # metres above the ground
    at_foot: bool = True  # a person's spot: ahead of the feet (True) or at the body (head, hands)


@dataclasses.dataclass(frozen=True)
class BallMove:
    """The ball over frames [start, end): kept at `src`, or travelling from `src` (evaluated at
    `start`) to `dst` (evaluated at `end`), rolling (slowing down) or through the air (constant
    horizontal speed, parabolic height peaking `apex` metres above the straight line)."""

    start: int
    end: int
    kind: str  # "hold", "roll" or "air"
    src: Spot
    dst: Spot | None = None
    apex: float = 0.0


def offset_track(
    knot_frames: Sequence[int],
    knot_offsets: np.ndarray,
    frames: np.ndarray,
    fps: float,
    start: float = -np.inf,
    end: float = np.inf,
) -> np.ndarray:
    """A person's displacement from his free motion, given the displacements at the knots.

    Between knots close in time the displacement changes linearly (a run at constant speed);
    before, after and between distant knots it ramps from and back to zero (smoothstep) over
    `max(MIN_RAMP_S, |offset| / RUN_SPEED)` seconds. A ramp that would cross `start` or `end` (the
    camera cuts around the knots) is dropped: the person is already (or still) displaced there.

    Args:
      knot_frames: `[K]` increasing frames, all in [start, end).
      knot_offsets: `[K, 2]` metres.
      frames: `[F]` frames to evaluate, all in [start, end).
    Returns:
      `[F, 2]` metres.
    """
    frames = np.asarray(frames, np.float64)
    if len(knot_frames) == 0:
        return np.zeros((len(frames), 2))
    ramps = [max(MIN_RAMP_S * fps, float(np.hypot(*o)) / RUN_SPEED * fps) for o in knot_offsets]
    if knot_frames[0] - ramps[0] >= start:
        xs, ys, is_zero = [knot_frames[0] - ramps[0]], [np.zeros(2)], [True]
    else:
        xs, ys, is_zero = [], [], []
    for i, (f, o) in enumerate(zip(knot_frames, knot_offsets)):
        if i and f - knot_frames[i - 1] > ramps[i - 1] + ramps[i]:
            xs += [knot_frames[i - 1] + ramps[i - 1], f - ramps[i]]
            ys += [np.zeros(2), np.zeros(2)]
            is_zero += [True, True]
        xs.append(float(f))
        ys.append(np.asarray(o, np.float64))
        is_zero.append(False)
    if knot_frames[-1] + ramps[-1] < end:
        xs.append(knot_frames[-1] + ramps[-1])
        ys.append(np.zeros(2))
        is_zero.append(True)
    xs, ys, is_zero = np.array(xs), np.array(ys), np.array(is_zero)
    if len(xs) == 1:
        return np.repeat(ys, len(frames), axis=0)
    right = np.clip(np.searchsorted(xs, frames, side="right"), 1, len(xs) - 1)
    left = right - 1
    u = np.clip((frames - xs[left]) / np.maximum(xs[right] - xs[left], 1e-9), 0.0, 1.0)
    ramp = is_zero[left] | is_zero[right]
    u = np.where(ramp, u * u * (3 - 2 * u), u)
    # Before the first and after the last point the offset stays as it is there (zero after a
    # ramp, the knot's offset where a cut dropped the ramp).
    return ys[left] + (ys[right] - ys[left]) * u[:, None]


def feet_points(positions: np.ndarray, attack: np.ndarray, cuts: Sequence[int], fps: float) -> np.ndarray:
    """Where the ball sits when a person has it at his feet: `FOOT_REACH` ahead of him, ahead
    meaning his running direction blended with his team's attacking direction (so it turns
    smoothly as he starts or stops).

    Args:
      positions: `[T, N, 2]` metres.
      attack: `[N]` +1 / -1 (the x direction each person's team attacks), 0 for officials.
      cuts: frames where the camera cuts (people may jump there; no velocity across them).
    Returns:
      `[T, N, 2]` metres.
    """
    velocity = np.zeros_like(positions)
    velocity[1:] = (positions[1:] - positions[:-1]) * fps
    for cut in cuts:
        if 0 < cut < len(positions):
            velocity[cut] = velocity[cut + 1] if cut + 1 < len(positions) else 0.0
    velocity[0] = velocity[1] if len(positions) > 1 else 0.0
    ahead = velocity.copy()
    ahead[..., 0] += 1.5 * attack[None, :]
    norm = np.linalg.norm(ahead, axis=-1, keepdims=True)
    return positions + FOOT_REACH * ahead / np.maximum(norm, 1e-6)


def _spot_at(spot: Spot, frame: int, positions: np.ndarray, feet: np.ndarray) -> np.ndarray:
    frame = min(frame, len(positions) - 1)
    if spot.person < 0:
        return np.array([spot.point[0], spot.point[1], spot.height])
    xy = feet[frame, spot.person] if spot.at_foot else positions[frame, spot.person]
    return np.array([xy[0], xy[1], spot.height])


def ball_track(moves: Sequence[BallMove], positions: np.ndarray, feet: np.ndarray) -> np.ndarray:
    """The ball at every frame: `[T, 3]` (x, y, height) metres. The moves must tile [0, T)."""
    frames = len(positions)
    ball = np.full((frames, 3), np.nan)
    expected = 0
    for move in moves:
        if move.start != expected or move.end <= move.start:
            raise ValueError(f"ball moves must tile the frames in order; got {move} after frame {expected}")
        expected = move.end
        t = np.arange(move.start, move.end)
        if move.kind == "hold":
            if move.src.person < 0:
                ball[t] = _spot_at(move.src, 0, positions, feet)
            else:
                xy = feet[t, move.src.person] if move.src.at_foot else positions[t, move.src.person]
                ball[t, :2] = xy
                ball[t, 2] = move.src.height
            continue
        start = _spot_at(move.src, move.start, positions, feet)
        end = _spot_at(move.dst, move.end, positions, feet)
        u = (t - move.start) / (move.end - move.start)
        # A rolling ball slows down (1.5x the mean speed at the kick, 0.5x at the end).
        s = u * (1.5 - 0.5 * u) if move.kind == "roll" else u
        ball[t, :2] = start[:2] + (end[:2] - start[:2]) * s[:, None]
        ball[t, 2] = start[2] + (end[2] - start[2]) * u + 4 * move.apex * u * (1 - u)
    if expected != frames:
        raise ValueError(f"ball moves end at frame {expected}, the footage has {frames} frames")
    return ball


@dataclasses.dataclass(frozen=True)
class View:
    """The frame geometry: metres to pixels."""

    width: int
    height: int

    @property
    def scale(self) -> float:  # sprite size relative to the 96-pixel-high default
        return self.height / 96

    @property
    def sx(self) -> float:  # pixels per metre along the pitch
        return self.width / VIEW_LENGTH

    @property
    def top(self) -> int:  # pixel row of the far touchline
        return round(0.14 * self.height)

    @property
    def sy(self) -> float:  # pixels per metre across the pitch (a raised camera foreshortens it)
        return (self.height - self.top - round(0.08 * self.height)) / PITCH_WIDTH

    @property
    def lift(self) -> float:  # pixels per metre of height above the ground
        return 1.6 * self.sy

    @property
    def camera_range(self) -> tuple[float, float]:
        half = VIEW_LENGTH / 2
        return half - CANVAS_MARGIN + 2, PITCH_LENGTH - half + CANVAS_MARGIN - 2

    def canvas_width(self) -> int:
        return int(np.ceil((PITCH_LENGTH + 2 * CANVAS_MARGIN) * self.sx)) + 1

    def canvas_u(self, x):
        return (np.asarray(x) + CANVAS_MARGIN) * self.sx

    def v(self, y):
        return self.top + np.asarray(y) * self.sy

    def crop_left(self, camera_x: float) -> int:
        """The canvas column of the frame's left edge when the camera centres on `camera_x`."""
        return round((camera_x - VIEW_LENGTH / 2 + CANVAS_MARGIN) * self.sx)


def camera_track(ball_x: np.ndarray, cuts: Sequence[int], fps: float, view: View) -> np.ndarray:
    """The camera's x centre per frame: the ball's x smoothed over ~1 s within each shot, clamped
    so that the frame never leaves the canvas. `[T]` metres."""
    lo, hi = view.camera_range
    out = np.empty_like(ball_x)
    sigma = 0.7 * fps
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(ball_x)), len(ball_x)]
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        padded = np.pad(np.clip(ball_x[a:b], lo, hi), radius, mode="edge")
        out[a:b] = np.convolve(padded, kernel, mode="valid")
    return np.clip(out, lo, hi)


def _line(img, view, p, q, colour=LINE):
    shift = 4
    a = (round(view.canvas_u(p[0]) * 16), round(view.v(p[1]) * 16))
    b = (round(view.canvas_u(q[0]) * 16), round(view.v(q[1]) * 16))
    cv2.line(img, a, b, colour, 1, cv2.LINE_AA, shift)


def _rect_lines(img, view, x0, y0, x1, y1):
    for p, q in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        _line(img, view, p, q)


def pitch_canvas(view: View, rng: np.random.Generator) -> np.ndarray:
    """The static background the camera pans over: stands, advertising boards, the pitch with
    its markings and both goals. `[height, canvas_width, 3]` uint8."""
    width = view.canvas_width()
    img = np.empty((view.height, width, 3), np.uint8)
    # Grass with mowing stripes every 5.25 m (twenty across the pitch), beyond the lines too.
    stripe = np.floor((np.arange(width) / view.sx - CANVAS_MARGIN) / (PITCH_LENGTH / 20)).astype(int) % 2
    img[:] = np.array(GRASS, np.uint8)[stripe][None]
    # Stands behind the far touchline: a dark band speckled with spectators, then the boards.
    stands = max(int(view.v(-2.5)), 1)
    crowd = rng.integers(40, 90, size=(stands, width, 1)).astype(np.uint8).repeat(3, axis=2)
    spectators = rng.random((stands, width)) < 0.35
    crowd[spectators] = rng.integers(60, 230, size=(int(spectators.sum()), 3))
    # Softened: a sharp speckle costs the encoder more bits than all the players together.
    img[:stands] = cv2.GaussianBlur(crowd, (0, 0), 1.2)
    board_colours = np.array([(200, 80, 20), (240, 240, 240), (30, 30, 200), (20, 200, 230)], np.uint8)
    boards = (np.arange(width) // max(int(12 * view.sx), 1)) % len(board_colours)
    img[max(stands - 2, 0):stands] = board_colours[boards][None]
    # Markings.
    L, W = PITCH_LENGTH, PITCH_WIDTH
    _rect_lines(img, view, 0, 0, L, W)
    _line(img, view, (L / 2, 0), (L / 2, W))
    centre = (round(view.canvas_u(L / 2) * 16), round(view.v(W / 2) * 16))
    axes = (round(9.15 * view.sx * 16), round(9.15 * view.sy * 16))
    cv2.ellipse(img, centre, axes, 0, 0, 360, LINE, 1, cv2.LINE_AA, 4)
    for x0, sign in ((0.0, 1), (L, -1)):
        _rect_lines(img, view, x0, W / 2 - 20.16, x0 + sign * 16.5, W / 2 + 20.16)
        _rect_lines(img, view, x0, W / 2 - 9.16, x0 + sign * 5.5, W / 2 + 9.16)
        spot = (round(view.canvas_u(x0 + sign * 11)), round(view.v(W / 2)))
        img[spot[1], spot[0]] = LINE
        # The goal: a net behind the line, posts and bar in white.
        x1 = x0 - sign * GOAL_DEPTH
        u0, u1 = sorted((round(view.canvas_u(x0)), round(view.canvas_u(x1))))
        v0, v1 = round(view.v(W / 2 - GOAL_HALF_WIDTH)), round(view.v(W / 2 + GOAL_HALF_WIDTH))
        net = img[v0 - 3:v1 + 1, u0:u1 + 1]
        net[::2] = NET
        net[:, ::2] = NET
        _rect_lines(img, view, min(x0, x1), W / 2 - GOAL_HALF_WIDTH, max(x0, x1), W / 2 + GOAL_HALF_WIDTH)
        # Corner flags.
        for y in (0.0, W):
            u, v = round(view.canvas_u(x0)), round(view.v(y))
            img[max(v - 3, 0):v, u] = YELLOW
    return img


def crowd_texture(view: View, rng: np.random.Generator) -> np.ndarray:
    """A close shot of the stands, shown while the game is not: `[height, 2 * width, 3]` uint8."""
    size = (view.height // 4 + 1, view.width // 2 + 1)
    faces = rng.integers(30, 230, size=(*size, 3)).astype(np.uint8)
    texture = cv2.resize(faces, (view.width * 2, view.height), interpolation=cv2.INTER_NEAREST)
    return cv2.GaussianBlur(texture, (3, 3), 0)


@dataclasses.dataclass(frozen=True)
class Footage:
    """Everything needed to draw one continuous video."""

    positions: np.ndarray  # [T, N, 2] metres
    poses: np.ndarray  # [T, N] int8 pose codes
    ball: np.ndarray  # [T, 3] metres
    camera_x: np.ndarray  # [T] metres
    crowd: np.ndarray  # [T] bool: the camera shows the stands, not the game
    shirts: np.ndarray  # [N, 3] uint8 BGR
    shorts: np.ndarray  # [N, 3] uint8 BGR

    @property
    def frames(self) -> int:
        return len(self.positions)


class Broadcast:
    """Draws frames of a match as a TV camera would show it."""

    def __init__(self, view: View, rng: np.random.Generator):
        self.view = view
        self.canvas = pitch_canvas(view, rng)
        self.crowd = crowd_texture(view, rng)
        s = view.scale
        self.body = (max(round(4 * s), 3), max(round(5 * s), 3))  # shirt width, height
        self.legs = max(round(3 * s), 2)
        self.head = max(round(3 * s), 2)
        self.ball_radius = max(2.0, 2.0 * s)
        self._prepared = None  # (footage, per-frame drawing data) of the footage drawn last

    def pixels(self, xy: np.ndarray, camera_x: float) -> tuple[np.ndarray, np.ndarray]:
        """Frame pixel coordinates (float) of world points `[..., 2]`."""
        u = self.view.canvas_u(xy[..., 0]) - self.view.crop_left(camera_x)
        return u, self.view.v(xy[..., 1])

    def _prepare(self, footage: Footage) -> dict:
        """Everything per frame that does not need drawing, for all frames at once."""
        if self._prepared is not None and self._prepared[0] is footage:
            return self._prepared[1]
        view = self.view
        left = np.round((footage.camera_x - VIEW_LENGTH / 2 + CANVAS_MARGIN) * view.sx).astype(int)
        u = np.round(view.canvas_u(footage.positions[..., 0]) - left[:, None]).astype(int)
        v = np.round(view.v(footage.positions[..., 1])).astype(int)
        speed = np.zeros(u.shape, bool)
        speed[1:] = np.linalg.norm(np.diff(footage.positions, axis=0), axis=-1) > 0.08  # > 2 m/s at 25 fps
        stride = speed & ((np.arange(footage.frames) // 3) % 2 == 1)[:, None]
        prepared = {
            "left": left.tolist(), "u": u.tolist(), "v": v.tolist(), "stride": stride.tolist(),
            "order": np.argsort(v, axis=1, kind="stable").tolist(), "poses": footage.poses.tolist(),
            "shirts": [tuple(int(c) for c in colour) for colour in footage.shirts],
            "shorts": [tuple(int(c) for c in colour) for colour in footage.shorts],
        }
        self._prepared = (footage, prepared)
        return prepared

    def frame(self, footage: Footage, t: int) -> np.ndarray:
        """Frame `t` of the footage: `[height, width, 3]` uint8 BGR."""
        view = self.view
        if footage.crowd[t]:
            left = (t // 2) % view.width
            return np.ascontiguousarray(self.crowd[:, left:left + view.width])
        p = self._prepare(footage)
        left = p["left"][t]
        img = self.canvas[:, left:left + view.width].copy()
        u, v, poses, stride = p["u"][t], p["v"][t], p["poses"][t], p["stride"][t]
        for i in p["order"][t]:
            if -6 <= u[i] <= view.width + 6:
                self._person(img, u[i], v[i], p["shirts"][i], p["shorts"][i], poses[i], stride[i])
        self._ball(img, footage.ball[t], float(footage.camera_x[t]))
        return img

    def _person(self, img, u, v, shirt, shorts, pose, stride):
        bw, bh = self.body
        lh, hd = self.legs, self.head
        x0 = u - bw // 2
        rectangle = cv2.rectangle
        if pose == LYING:
            rectangle(img, (x0 - 2, v - 2), (x0 + bw + 2, v), shirt, -1)
            rectangle(img, (x0 + bw + 3, v - 2), (x0 + bw + 4, v), SKIN, -1)
            return
        body_top = v - lh - bh
        if stride:  # legs apart
            rectangle(img, (x0, v - lh), (x0, v - 1), shorts, -1)
            rectangle(img, (x0 + bw - 1, v - lh), (x0 + bw - 1, v - 1), shorts, -1)
        else:
            rectangle(img, (x0 + 1, v - lh), (x0 + bw - 2, v - 1), shorts, -1)
        rectangle(img, (x0, body_top), (x0 + bw - 1, v - lh - 1), shirt, -1)
        hx = u - hd // 2
        rectangle(img, (hx, body_top - hd), (hx + hd - 1, body_top - 1), SKIN, -1)
        if pose == ARMS_UP:
            for ax in (x0 - 1, x0 + bw):
                rectangle(img, (ax, body_top - hd - 2), (ax, body_top + 1), SKIN, -1)
        elif pose in (YELLOW_CARD, RED_CARD, FLAG, BOARD):
            ax = x0 + bw
            rectangle(img, (ax, body_top - hd - 1), (ax, body_top + 1), SKIN, -1)
            top = body_top - hd - 5
            if pose == BOARD:
                rectangle(img, (ax - 3, top - 1), (ax + 1, top + 3), BOARD_GREEN, -1)
                rectangle(img, (ax + 2, top - 1), (ax + 5, top + 3), RED, -1)
            else:
                colour = RED if pose == RED_CARD else YELLOW
                rectangle(img, (ax, top), (ax + 2, top + 3), colour, -1)

    def rise(self, height: float) -> float:
        """Pixels above its shadow of a ball `height` metres up. People are drawn larger than the
        pitch scale, so up to head height the ball rises with the sprites (at a header it is at
        the head); above that with the pitch's foreshortening."""
        head_row = self.legs + self.body[1] + self.head / 2
        low = min(max(height, 0.0), HEAD_HEIGHT)
        return head_row * low / HEAD_HEIGHT + self.view.lift * max(height - HEAD_HEIGHT, 0.0)

    def _ball(self, img, ball, camera_x):
        x, y, h = (float(c) for c in ball)
        u = float(self.view.canvas_u(x)) - self.view.crop_left(camera_x)
        v = float(self.view.v(y))
        radius = self.ball_radius + 0.2 * self.view.scale * max(h, 0.0)
        if h > 0.25:
            axes = (round(radius * 16), round(max(radius * 0.45, 1.0) * 16))
            cv2.ellipse(img, (round(u * 16), round(v * 16)), axes, 0, 0, 360, SHADOW, -1,
                        cv2.LINE_AA, 4)
        centre = (round(u * 16), round((v - 1 - self.rise(h)) * 16))
        cv2.circle(img, centre, round(radius * 16), BALL, -1, cv2.LINE_AA, 4)

    def frames(self, footage: Footage) -> Iterator[np.ndarray]:
        for t in range(footage.frames):
            yield self.frame(footage, t)


# MPEG-4 Part 2 is the codec the pip OpenCV wheels can both write and read back in .mp4 and
# .mkv containers (no H.264 encoder ships with them); frame counts and seeks come back exact.
FOURCC = "mp4v"


def write_video(path: str | os.PathLike, frames: Iterator[np.ndarray], size: tuple[int, int], fps: float) -> int:
    """Writes frames (`[height, width, 3]` uint8 BGR) to a video file; returns how many."""
    writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*FOURCC), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {FOURCC} video to {path}")
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    return count
