"""Synthetic camera calibrations and player detections for the synthetic SoccerNet-v2 games.

For every half, at the features' 2 fps: where the 22 players and the referee stand, what the
broadcast camera shows, and the two official files written from that
(`{half}_field_calib_ccbv.json`, `{half}_player_boundingbox_maskrcnn.json`, see
`zoo.formats.frame_detections`), in 398 x 224 images as the SoccerNet 224p videos.

The player layout carries the signal of the calibration paper's "patterned" classes: for a few
seconds before each such action the players take its typical layout, and they hold it for a few
seconds after it (`LAYOUT_TAIL_S`), as real players do while the ball comes in from a corner or
the referee books a player:

  Penalty           the taker at the penalty spot, the goalkeeper on his line, everyone else
                    outside the penalty area behind the ball;
  Corner            the taker at a corner flag, a crowd of both teams in the penalty area;
  Direct free-kick  a wall of 4-5 defenders 9.15 m from the ball on its line to the goal;
  Kick-off          both teams in their own halves, two players on the centre spot;
  Throw-in          the thrower just beyond a touch line, players of both teams near him;
  cards             players gathered around the referee.

Elsewhere the teams hold a 4-4-2 that follows a wandering ball. The camera stands behind the near
touch line and pans after the ball (slowly zooming); during close-ups (a few seconds at random,
and around every "not shown" action) it shows a few players large, and the calibration file then
holds a wrong camera with a low confidence, as CCBV's are on such frames.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence

import numpy as np

from zoo.formats.frame_detections import HalfCalibration, HalfPlayers
from zoo.geometry.camera import Camera, look_at, project
from zoo.synthetic.match_plan import FORMATION, KITS

IMAGE_SIZE = (224, 398)  # (height, width) of the SoccerNet 224p videos
HALF_LENGTH, HALF_WIDTH = 52.5, 34.0
TEAM_SIZE = 11
REFEREE = 22
PEOPLE = 23
PERSON_HEIGHT = 1.8
# Seconds before a patterned action at which its layout is complete, and after it, held.
LAYOUT_LEAD_S: Mapping[str, float] = types.MappingProxyType({
    "Penalty": 12.0, "Corner": 10.0, "Direct free-kick": 10.0, "Kick-off": 10.0, "Throw-in": 5.0,
    "Yellow card": 6.0, "Red card": 6.0, "Yellow->red card": 6.0,
})
# Seconds after the action for which the layout still holds. CALF's segmentation loss looks at
# the seconds after an action and leaves the seconds before it free (`zoo.losses.calf`), so a
# layout that ends on the action would give a calibration branch, which sees one frame at a
# time, nothing to learn from; real layouts do outlast the kick by a few seconds.
LAYOUT_TAIL_S: Mapping[str, float] = types.MappingProxyType({
    "Penalty": 3.0, "Corner": 4.0, "Direct free-kick": 3.0, "Kick-off": 5.0, "Throw-in": 3.0,
    "Yellow card": 8.0, "Red card": 8.0, "Yellow->red card": 8.0,
})
BLEND_S = 2.0  # players walk into (and out of) a layout over this time
CLOSE_UP_EVERY_S = 60.0  # a close-up starts about this often (outside layouts)
MISSED_DETECTION = 0.05


def _smooth(values: np.ndarray, frames: int) -> np.ndarray:
    """A centred moving average over `frames` along axis 0 (edges repeated)."""
    if frames <= 1:
        return values
    pad = [(frames // 2, frames - 1 - frames // 2)] + [(0, 0)] * (values.ndim - 1)
    padded = np.pad(values, pad, mode="edge")
    cumulative = np.cumsum(padded, axis=0)
    cumulative = np.concatenate([np.zeros_like(cumulative[:1]), cumulative])
    return (cumulative[frames:] - cumulative[:-frames]) / frames


def _ball_path(rng: np.random.Generator, num_frames: int, fps: int) -> np.ndarray:
    """A wandering ball: waypoints every 3-8 s, linearly joined and smoothed. [F, 2] metres."""
    times, points, t = [0.0], [rng.uniform([-20, -15], [20, 15])], 0.0
    while t < num_frames / fps:
        t += rng.uniform(3, 8)
        step = rng.normal(0, 18, 2)
        points.append(np.clip(points[-1] + step, [-48, -30], [48, 30]))
        times.append(t)
    times, points = np.array(times) * fps, np.array(points)
    frames = np.arange(num_frames)
    path = np.stack([np.interp(frames, times, points[:, i]) for i in range(2)], -1)
    return _smooth(path, 2 * fps)


def _team_shape(ball: np.ndarray, sign: float) -> np.ndarray:
    """A 4-4-2 following the ball for a team attacking towards x * sign: [F, 11, 2]."""
    fx, fy = np.array(FORMATION, np.float64).T
    ball_depth = HALF_LENGTH + sign * ball[:, 0]  # from the team's own goal line
    across = sign * ball[:, 1]
    depth = np.clip(0.8 * fx + 0.55 * (ball_depth[:, None] - 10), 3, 100)
    depth[:, 0] = np.clip(4 + 0.1 * (ball_depth - 10), 1, 14)
    side = np.clip(fy - HALF_WIDTH + 0.3 * across[:, None], -32, 32)
    side[:, 0] = 0.1 * across
    return np.stack([sign * (depth - HALF_LENGTH), sign * side], -1)


def _layout(rng, label: str, attack_sign: float, attackers: int, home: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The layout of a patterned action: (positions [23, 2], ball spot [2]).

    attack_sign: the direction the team with the ball attacks; attackers: its first index
    (0 home, 11 away); home: everyone's position at the start of the layout (kept for those the
    layout does not move).
    """
    positions = home.copy()
    s, defenders = attack_sign, TEAM_SIZE - attackers
    goal_x = s * HALF_LENGTH
    outfield_a = list(range(attackers + 1, attackers + TEAM_SIZE))
    outfield_d = list(range(defenders + 1, defenders + TEAM_SIZE))
    keeper_d = defenders
    if label == "Penalty":
        spot = np.array([goal_x - s * 11.0, 0.0])
        positions[attackers + 9] = spot - [s * 2.0, 0.0]
        positions[keeper_d] = [goal_x, 0.0]
        others = [p for p in outfield_a + outfield_d if p != attackers + 9]
        positions[others] = np.stack([
            goal_x - s * rng.uniform(17.5, 22.0, len(others)), rng.uniform(-22, 22, len(others))], -1)
        positions[REFEREE] = [goal_x - s * 15.0, 10.0]
    elif label == "Corner":
        corner_y = HALF_WIDTH * rng.choice([-1.0, 1.0])
        spot = np.array([goal_x - s * 0.5, corner_y - np.sign(corner_y) * 0.5])
        positions[attackers + 7] = spot + [s * 0.8, np.sign(corner_y) * 0.6]
        positions[keeper_d] = [goal_x - s * 1.0, 0.0]
        box = outfield_a[:6] + outfield_d[:8]
        positions[box] = np.stack([goal_x - s * rng.uniform(2, 14, len(box)), rng.uniform(-13, 13, len(box))], -1)
        positions[outfield_a[7:]] = np.stack([s * rng.uniform(-5, 10, 3), rng.uniform(-20, 20, 3)], -1)
        positions[REFEREE] = [goal_x - s * 20.0, -np.sign(corner_y) * 12.0]
    elif label == "Direct free-kick":
        distance, angle = rng.uniform(20, 30), np.deg2rad(rng.uniform(-35, 35))
        spot = np.array([goal_x - s * distance * np.cos(angle), distance * np.sin(angle)])
        to_goal = np.array([goal_x, 0.0]) - spot
        to_goal /= np.linalg.norm(to_goal)
        across = np.array([-to_goal[1], to_goal[0]])
        wall = outfield_d[:int(rng.integers(4, 6))]
        offsets = (np.arange(len(wall)) - (len(wall) - 1) / 2) * 0.7
        positions[wall] = spot + 9.15 * to_goal + offsets[:, None] * across
        positions[keeper_d] = [goal_x - s * 1.0, 0.3 * spot[1]]
        positions[attackers + 9] = spot - 2.0 * to_goal
        runners = outfield_a[:5]
        positions[runners] = np.stack([goal_x - s * rng.uniform(8, 18, 5), rng.uniform(-12, 12, 5)], -1)
        markers = outfield_d[len(wall):len(wall) + 5]
        positions[markers] = positions[runners[:len(markers)]] + rng.normal(0, 1.0, (len(markers), 2))
        positions[REFEREE] = spot + 12.0 * across
    elif label == "Kick-off":
        spot = np.zeros(2)
        for first, sign in ((attackers, s), (defenders, -s)):  # each team in its own half
            fx, fy = np.array(FORMATION, np.float64).T
            positions[first:first + TEAM_SIZE] = np.stack([sign * (0.85 * fx - HALF_LENGTH), fy - HALF_WIDTH], -1)
        positions[attackers + 9] = [-s * 0.4, 0.9]
        positions[attackers + 10] = [-s * 0.4, -0.9]
        positions[REFEREE] = [-s * 6.0, 9.0]
    elif label == "Throw-in":
        line_y = HALF_WIDTH * rng.choice([-1.0, 1.0])
        spot = np.array([rng.uniform(-45, 45), line_y])
        positions[attackers + 3] = spot + [0.0, np.sign(line_y) * 1.0]  # beyond the line
        near = outfield_a[4:8] + outfield_d[2:6]
        angle = rng.uniform(0, np.pi, len(near))
        radius = rng.uniform(5, 16, len(near))
        positions[near] = spot + np.stack([radius * np.cos(angle), -np.sign(line_y) * radius * np.sin(angle)], -1)
    else:  # cards: players gather around the referee where the foul was
        spot = rng.uniform([-40, -25], [40, 25])
        positions[REFEREE] = spot
        gathered = [int(p) for p in rng.choice(outfield_a + outfield_d, int(rng.integers(4, 7)), replace=False)]
        angle = rng.uniform(0, 2 * np.pi, len(gathered))
        radius = rng.uniform(1.2, 3.5, len(gathered))
        positions[gathered] = spot + np.stack([radius * np.cos(angle), radius * np.sin(angle)], -1)
    return positions, spot


def _windows(events: Sequence[dict], num_frames: int, fps: int) -> list[tuple[int, int, int, dict]]:
    """(blend start, layout start, layout end, event) of every patterned action, in time order.

    A layout never starts walking in before the previous action (of any class) has happened and
    the previous layout has ended, and it ends before the next action.
    """
    ordered = sorted(events, key=lambda e: int(e["position"]))
    frames = [int(fps * int(e["position"]) / 1000) for e in ordered]
    windows, busy_until = [], -1  # the previous action's frame, or the end of its layout
    for i, (event, frame) in enumerate(zip(ordered, frames)):
        if event["label"] in LAYOUT_LEAD_S:
            following = frames[i + 1] if i + 1 < len(frames) else num_frames
            start = max(frame - int(LAYOUT_LEAD_S[event["label"]] * fps), busy_until + 2, 0)
            blend_start = max(start - int(BLEND_S * fps), busy_until + 1, 0)
            end = max(min(frame + int(LAYOUT_TAIL_S[event["label"]] * fps), following - 1, num_frames - 1), frame)
            windows.append((blend_start, min(start, frame), min(end, num_frames - 1), event))
            busy_until = max(frame, end)
        else:
            busy_until = max(busy_until, frame)
    return windows


def half_scene(
    rng: np.random.Generator, events: Sequence[dict], num_frames: int, fps: int, home_sign: float
) -> dict[str, np.ndarray]:
    """Where everyone is, where the ball is and when the camera is on a close-up, per frame.

    home_sign: +1 if the home team attacks towards +x in this half.
    Returns {"positions": [F, 23, 2], "ball": [F, 2], "close_up": [F] bool}.
    """
    ball = _ball_path(rng, num_frames, fps)
    positions = np.concatenate([
        _team_shape(ball, home_sign), _team_shape(ball, -home_sign),
        np.clip(ball + [-10.0, 13.0], [-45, -32], [45, 32])[:, None]], axis=1)
    t = np.arange(num_frames)[:, None, None] / fps
    phase = rng.uniform(0, 2 * np.pi, (PEOPLE, 2))
    period = rng.uniform(5, 14, (PEOPLE, 2))
    positions = positions + rng.uniform(1.0, 2.5, (PEOPLE, 2)) * np.sin(2 * np.pi * t / period + phase)
    layout_frames = np.zeros(num_frames, bool)
    for blend_start, start, end, event in _windows(events, num_frames, fps):
        team = event.get("team")
        attackers = 0 if team == "home" else TEAM_SIZE if team == "away" else TEAM_SIZE * int(rng.integers(2))
        sign = home_sign if attackers == 0 else -home_sign
        layout, spot = _layout(rng, event["label"], sign, attackers, positions[start])
        # Walk into the layout, hold it (with a little fidgeting), walk back out.
        ramp_in = np.clip((np.arange(num_frames) - blend_start) / max(start - blend_start, 1), 0, 1)
        ramp_out = np.clip(1 - (np.arange(num_frames) - end) / (BLEND_S * fps), 0, 1)
        weight = np.minimum(ramp_in, ramp_out)[:, None, None]
        fidget = rng.normal(0, 0.3, (num_frames, PEOPLE, 2))
        positions = (1 - weight) * positions + weight * (layout + fidget)
        ball = (1 - weight[:, 0]) * ball + weight[:, 0] * spot
        layout_frames[blend_start:end + 1] = True
    close_up = np.zeros(num_frames, bool)
    frame = int(rng.exponential(CLOSE_UP_EVERY_S * fps))
    while frame < num_frames:
        length = int(rng.uniform(3, 8) * fps)
        if not layout_frames[frame:frame + length].any():
            close_up[frame:frame + length] = True
        frame += length + int(rng.exponential(CLOSE_UP_EVERY_S * fps))
    for event in events:  # "not shown": the camera was elsewhere
        if event["visibility"] == "not shown":
            frame = int(fps * int(event["position"]) / 1000)
            close_up[max(frame - 4 * fps, 0):frame + 4 * fps] = True
    return {"positions": positions, "ball": ball, "close_up": close_up}


def _cameras(rng, ball: np.ndarray, close_up: np.ndarray, fps: int) -> Camera:
    """The broadcast camera of every frame: behind the near touch line, after the ball."""
    f = len(ball)
    height, width = IMAGE_SIZE
    position = np.array([rng.uniform(-5, 5), HALF_WIDTH + rng.uniform(16, 26), -rng.uniform(12, 20)])
    target = _smooth(ball, int(1.5 * fps)) * [1.0, 0.7]
    pan, tilt = look_at(np.broadcast_to(position, (f, 3)), np.concatenate([target, np.zeros((f, 1))], -1))
    fov = 40 + 8 * np.sin(2 * np.pi * np.arange(f) / (fps * rng.uniform(40, 90)) + rng.uniform(0, 6))
    fov = np.where(close_up, 9.0, fov)
    focal = (width / 2) / np.tan(np.deg2rad(fov) / 2)
    return Camera.create(
        pan_degrees=pan, tilt_degrees=tilt, roll_degrees=np.zeros(f), position=np.broadcast_to(position, (f, 3)),
        focal_length=np.stack([focal, focal], -1), principal_point=np.broadcast_to([width / 2, height / 2], (f, 2)))


def half_detections(
    rng: np.random.Generator, scene: Mapping[str, np.ndarray], shirts: np.ndarray, fps: int
) -> tuple[HalfCalibration, HalfPlayers]:
    """The calibration and detection files of a half from its scene.

    shirts: [23, 3] RGB colours of everyone.
    """
    positions, close_up = scene["positions"], scene["close_up"]
    f = len(positions)
    height, width = IMAGE_SIZE
    cameras = _cameras(rng, scene["ball"], close_up, fps)
    feet = np.concatenate([positions, np.zeros((f, PEOPLE, 1))], -1)
    heads = feet - [0.0, 0.0, PERSON_HEIGHT]
    (foot_px, foot_front), (head_px, head_front) = project(cameras, feet), project(cameras, heads)
    tall = foot_px[..., 1] - head_px[..., 1]
    half_width = 0.2 * tall
    boxes = np.stack([foot_px[..., 0] - half_width, head_px[..., 1], foot_px[..., 0] + half_width, foot_px[..., 1]], -1)
    boxes = boxes + rng.normal(0, 0.7, boxes.shape)
    detected = (
        foot_front & head_front & (tall > 2)
        & (foot_px[..., 0] >= 0) & (foot_px[..., 0] < width)
        & (foot_px[..., 1] >= 0) & (foot_px[..., 1] < height + 0.25 * tall)  # feet may be just out of the picture
        & (rng.uniform(size=(f, PEOPLE)) > MISSED_DETECTION))
    boxes = np.clip(boxes, 0, [width - 1, height - 1, width - 1, height - 1])
    frame, person = np.nonzero(detected)
    colors = np.clip(shirts[person] + rng.normal(0, 8, (len(person), 3)), 0, 255)
    players = HalfPlayers(
        image_size=IMAGE_SIZE, boxes=boxes[frame, person].astype(np.float32), colors=colors.astype(np.float32),
        scores=rng.uniform(0.6, 1.0, len(person)).astype(np.float32),
        counts=np.bincount(frame, minlength=f).astype(np.int32))

    homography = cameras.pitch_homography()
    confidence = rng.uniform(0.78, 0.99, f)
    # On close-ups CCBV is lost: a wrong camera with a low confidence.
    wrong = Camera.create(
        pan_degrees=cameras.pan_degrees + rng.uniform(-25, 25, f),
        tilt_degrees=cameras.tilt_degrees + rng.uniform(-5, 5, f), roll_degrees=np.zeros(f),
        position=cameras.position, focal_length=cameras.focal_length * rng.uniform(0.3, 1.0, (f, 1)),
        principal_point=cameras.principal_point)
    homography = np.where(close_up[:, None, None], wrong.pitch_homography(), homography)
    confidence = np.where(close_up, rng.uniform(0.05, 0.7, f), confidence)
    homography = homography / homography[:, 2:, 2:]
    return HalfCalibration(IMAGE_SIZE, homography, confidence.astype(np.float32)), players


def team_colours(rng: np.random.Generator) -> np.ndarray:
    """Shirt colours (RGB) of the 23 people: two kits that differ clearly, the referee in black."""
    names = list(KITS)
    home = names[int(rng.integers(len(names)))]
    far = [n for n in names if np.abs(np.subtract(KITS[n], KITS[home])).sum() > 220]
    away = far[int(rng.integers(len(far)))]
    shirts = np.zeros((PEOPLE, 3))
    shirts[:TEAM_SIZE] = KITS[home][::-1]  # KITS are BGR
    shirts[TEAM_SIZE:2 * TEAM_SIZE] = KITS[away][::-1]
    shirts[REFEREE] = (20, 20, 20)
    return shirts
