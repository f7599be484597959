"""How a synthetic football match unfolds: a planner that scripts who does what, when and where.

A half is planned action by action (passes, runs, lofted balls, headers, shots, tackles, set pieces,
cards...). Each action pins the people involved to places at given frames ("knots") and chains a
ball move (`zoo.synthetic.pitch_render.BallMove`); everyone else keeps his place in the team shape,
which follows the ball, with a slow wander. Actions are labelled with internal kinds ("pass",
"shot_on", "throw_in", ...) that each dataset maps to its classes (`LABELS_BALL`, `LABELS_V2`).

Two styles: "ball" is open play full of passes and runs with attacks and set pieces woven in (the
12 ball-spotting classes, every one of them in every game of the default length); "v2" is a run
of incidents and set pieces (the 17 SoccerNet-v2 classes, every one in every game).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import types
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from zoo.synthetic import pitch_render as pr
from zoo.synthetic.pitch_render import BallMove, Spot

# People: two teams of 11 (index 0 of each is the goalkeeper), then the officials and substitutes.
TEAM_SIZE = 11
PLAYERS = 2 * TEAM_SIZE
REFEREE, LINESMAN, FOURTH_OFFICIAL, SUBSTITUTES = 22, 23, 24, (25, 26)
PEOPLE = 27
# A 4-4-2 for a team attacking +x: (metres from its own goal line, metres across).
FORMATION = ((4, 34), (17, 10), (15, 26), (15, 42), (17, 58), (33, 12), (31, 27), (31, 41),
             (33, 56), (48, 27), (48, 41))
KITS = {  # BGR, picked so that any two differ clearly in hue or brightness
    "red": (40, 40, 215), "blue": (200, 80, 20), "yellow": (30, 220, 245), "sky": (240, 190, 110),
    "orange": (20, 130, 250), "purple": (150, 40, 140), "maroon": (40, 25, 110),
}  # no white: the ball is the white thing on the pitch
OFFICIALS_KIT = (20, 20, 20)

MIN_GAP_S = 0.6  # labelled events are at least this far apart
CENTRE_LAG_S = 1.5  # the teams' shape follows the ball with this delay
SCENES_PER_MINUTE = 4.0  # set pieces and attacks per minute in the ball versions
SCENE_BUDGET_S = 14.0  # the longest a scene (build-up, action, restart) may take
NOT_SHOWN_FRACTION = 0.04

# Internal action kinds -> the label each dataset gives them (absent: not labelled there).
LABELS_BALL = types.MappingProxyType({
    "kickoff": "PASS", "pass": "PASS", "drive": "DRIVE", "high_pass": "HIGH PASS",
    "goal_kick": "HIGH PASS", "clearance": "HIGH PASS", "header": "HEADER", "cross": "CROSS",
    "corner": "CROSS", "shot_on": "SHOT", "shot_off": "SHOT", "goal": "GOAL", "out": "OUT",
    "throw_in": "THROW IN", "block": "BALL PLAYER BLOCK", "tackle": "PLAYER SUCCESSFUL TACKLE",
    "free_kick_direct": "FREE KICK", "free_kick_indirect": "FREE KICK",
})
LABELS_BALL_2023 = types.MappingProxyType({"kickoff": "PASS", "pass": "PASS", "drive": "DRIVE"})
LABELS_V2 = types.MappingProxyType({
    "penalty": "Penalty", "kickoff": "Kick-off", "goal": "Goal", "substitution": "Substitution",
    "offside": "Offside", "shot_on": "Shots on target", "shot_off": "Shots off target",
    "clearance": "Clearance", "out": "Ball out of play", "throw_in": "Throw-in", "foul": "Foul",
    "free_kick_indirect": "Indirect free-kick", "free_kick_direct": "Direct free-kick",
    "corner": "Corner", "yellow": "Yellow card", "red": "Red card", "yellow_red": "Yellow->red card",
})
# Scenes every game gets at least once (spread over its halves), and the odds of the extra ones.
BALL_SCENES = ("goal", "block", "cross", "throw", "tackle", "free_kick", "high")
# The rare ball classes come from scenes (a goal, a free kick, a throw-in, a cross...): weighted up,
# so that a test split of an hour holds a few dozen of each and its mAP is steady over seeds.
BALL_EXTRA_SCENES = types.MappingProxyType({
    "wide": 2.0, "save": 2.0, "throw": 3.0, "tackle": 2.0, "high": 2.0, "cross": 2.0, "block": 1.5,
    "corner": 1.0, "free_kick": 3.0, "goal": 3.0})
V2_SCENES = ("goal", "wide", "save", "clearance", "substitution", "direct", "yellow", "red",
             "yellow_red", "corner", "offside", "penalty")
V2_EXTRA_SCENES = types.MappingProxyType({
    "throw": 3.0, "indirect": 3.0, "corner": 2.0, "save": 2.0, "wide": 2.0, "clearance": 2.0,
    "yellow": 1.0, "goal": 0.5})


def team_of(player: int) -> int:
    """The team (0 home, 1 away) of a player index."""
    if not 0 <= player < PLAYERS:
        raise ValueError(f"{player} is not a player index (0-{PLAYERS - 1})")
    return player // TEAM_SIZE


def keyed_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the keys (not on what else is written)."""
    words = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / max(float(np.hypot(*v)), 1e-9)


def _rotate(v, degrees) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])


@dataclasses.dataclass
class Event:
    """An action in the footage: its frame, internal kind and acting person."""

    frame: int
    kind: str
    person: int
    crossing: tuple[int, str] | None = None  # (ball move, line) when the frame is where the ball crosses it
    visible: bool = True


@dataclasses.dataclass(frozen=True)
class Half:
    """One planned half: what the camera shows and what happens."""

    footage: pr.Footage
    events: list[Event]
    left_team: int  # the team (0 home, 1 away) that defends the left goal


class _Planner:
    """Plans one half of a match, action by action, as knots for people and moves for the ball."""

    def __init__(self, rng, frames, fps, left_team, kickoff_team, style, labels, events_per_minute, scenes):
        self.rng, self.T, self.fps = rng, frames, fps
        self.left, self.kickoff_team, self.style, self.labels = left_team, kickoff_team, style, labels
        self.events_per_minute = events_per_minute
        self.scenes = scenes  # [(frame, name)] in time order
        self.gap = round(MIN_GAP_S * fps)
        self.knots: list[dict[int, tuple[float, float]]] = [{} for _ in range(PEOPLE)]
        self.centre = [(0.0, 52.5, 34.0)]  # (frame, x, y) knots of where the team shapes centre
        self._centre_arrays = None
        self.cuts: list[int] = []
        self.moves: list[BallMove] = []
        self.events: list[Event] = []
        self.poses: list[tuple[int, int, int, int]] = []  # (person, start, end, pose)
        self.since, self.spot, self.owner, self.ready = 0, Spot(point=(52.5, 34.0)), -1, 0
        self.last_event = -10**9
        self.corner_kick = False  # the next cross is a corner kick
        self.wander_amp = rng.uniform(1.0, 2.5, (PEOPLE, 2))
        self.wander_period = rng.uniform(5.0, 14.0, (PEOPLE, 2, 2))
        self.wander_phase = rng.uniform(0, 2 * np.pi, (PEOPLE, 2, 2))
        self.wander_amp[PLAYERS:] = 0.0
        self.wander_amp[REFEREE] = 3.0

    # ---- time, teams, positions --------------------------------------------------------------

    def s(self, seconds: float) -> int:
        return round(seconds * self.fps)

    @staticmethod
    def team(p: int) -> int:
        return team_of(p) if 0 <= p < PLAYERS else -1

    def attack(self, team: int) -> float:
        return 1.0 if team == self.left else -1.0

    def goal_x(self, team: int) -> float:
        """The x of the goal `team` attacks."""
        return pr.PITCH_LENGTH if team == self.left else 0.0

    def keeper(self, team: int) -> int:
        return team * TEAM_SIZE

    def outfield(self, team: int) -> list[int]:
        return list(range(team * TEAM_SIZE + 1, (team + 1) * TEAM_SIZE))

    def centre_at(self, frames: np.ndarray) -> np.ndarray:
        if self._centre_arrays is None:
            self._centre_arrays = tuple(np.array(c) for c in zip(*self.centre))
        f, x, y = self._centre_arrays
        return np.stack([np.interp(frames, f, x), np.interp(frames, f, y)], axis=-1)

    def free_motion(self, p: int, frames) -> np.ndarray:
        """Where person `p` would be without any script: his place in the team shape, which
        follows the ball, plus a slow wander. `[F, 2]` metres."""
        frames = np.atleast_1d(np.asarray(frames, np.float64))
        c = self.centre_at(frames)
        if p < PLAYERS:
            team, slot = self.team(p), p % TEAM_SIZE
            fx, fy = FORMATION[slot]
            sign = self.attack(team)
            ball_depth = c[:, 0] if sign > 0 else pr.PITCH_LENGTH - c[:, 0]  # from own goal line
            across = (c[:, 1] - 34.0) * sign
            if slot == 0:
                depth = np.clip(4 + 0.1 * (ball_depth - 10), 1, 14)
                side = 34 + 0.1 * across
            else:
                depth = np.clip(0.8 * fx + 0.55 * (ball_depth - 10), 3, 100)
                side = np.clip(fy + 0.3 * across, 2, 66)
            x = depth if sign > 0 else pr.PITCH_LENGTH - depth
            y = side if sign > 0 else pr.PITCH_WIDTH - side
            xy = np.stack([x, y], axis=-1)
        elif p == REFEREE:
            # The referee keeps an eye on play from a few metres away, never on the ball.
            xy = np.stack([np.clip(c[:, 0] - 10, 8, 97), np.clip(c[:, 1] + 13, 4, 66)], axis=-1)
        elif p == LINESMAN:
            xy = np.stack([np.clip(c[:, 0] + 10, 53, 102), np.full(len(frames), 69.3)], axis=-1)
        elif p == FOURTH_OFFICIAL:
            xy = np.tile([52.5, 70.8], (len(frames), 1))
        else:
            xy = np.tile([47.0 if p == SUBSTITUTES[0] else 58.0, 71.3], (len(frames), 1))
        t = frames[:, None, None] / self.fps
        wave = np.sin(2 * np.pi * t / self.wander_period[p] + self.wander_phase[p]).sum(-1) / 2
        return xy + wave * self.wander_amp[p]

    def _shot_bounds(self, frame: float) -> tuple[float, float]:
        i = bisect.bisect_right(self.cuts, frame)
        return (self.cuts[i - 1] if i else -np.inf), (self.cuts[i] if i < len(self.cuts) else np.inf)

    def pos(self, p: int, frame: int) -> np.ndarray:
        """The planned position of `p` at `frame` given the knots so far: `[2]` metres."""
        start, end = self._shot_bounds(frame)
        knots = sorted((f, xy) for f, xy in self.knots[p].items() if start <= f < end)
        frames = [f for f, _ in knots]
        free = self.free_motion(p, [frame, *frames])  # [1 + K, 2]
        if not knots:
            return free[0]
        offsets = np.array([xy for _, xy in knots]) - free[1:]
        return free[0] + pr.offset_track(frames, offsets, np.array([frame]), self.fps, start, end)[0]

    def pin(self, p: int, frame: int, xy) -> np.ndarray:
        xy = (float(np.clip(xy[0], -1.5, 106.5)), float(np.clip(xy[1], -1.5, 71.5)))
        self.knots[p][int(frame)] = xy
        return np.array(xy)

    def hold_still(self, p: int, start: int, end: int, xy=None) -> np.ndarray:
        """Pins `p` at one place from `start` to `end`."""
        xy = self.pos(p, start) if xy is None else xy
        for f in range(start, end + 1, max(self.s(0.5), 1)):
            self.pin(p, f, xy)
        return self.pin(p, end, xy)

    def touch(self, frame: int, xy) -> None:
        """The ball is played at `xy`: the team shapes follow after `CENTRE_LAG_S`."""
        x = float(np.clip(xy[0], 0, pr.PITCH_LENGTH))
        y = float(np.clip(xy[1], 0, pr.PITCH_WIDTH))
        knot = (frame + self.s(CENTRE_LAG_S), x, y)
        self.centre.insert(bisect.bisect(self.centre, knot), knot)
        self._centre_arrays = None

    def cut(self, frame: int, centre) -> None:
        """A camera cut (after a goal, for a set piece): the play restarts elsewhere."""
        before = tuple(self.centre_at(np.array([frame - 1.0]))[0])
        self._centre_arrays = None
        self.centre = [c for c in self.centre if c[0] < frame - 1] + [
            (frame - 1.0, *before), (float(frame), float(centre[0]), float(centre[1]))]
        self.cuts.append(frame)

    def nearest(self, candidates: Sequence[int], xy, frame: int) -> int:
        distances = [np.hypot(*(self.free_motion(q, [frame])[0] - xy)) for q in candidates]
        return candidates[int(np.argmin(distances))]

    def ball_estimate(self, frame: int) -> np.ndarray:
        if self.spot.person >= 0:
            p = self.spot.person
            return self.pos(p, frame) + (pr.FOOT_REACH * self.attack(self.team(p)), 0.0)
        return np.array(self.spot.point)

    # ---- the ball and the events ---------------------------------------------------------------

    def release(self, frame: int, kind: str, dst: Spot, frames: int, apex: float = 0.0) -> int:
        """The ball leaves its current spot at `frame` and reaches `dst` `frames` later."""
        if frame > self.since:
            self.moves.append(BallMove(self.since, frame, "hold", self.spot))
        elif frame < self.since:
            raise AssertionError(f"ball released at {frame} before it arrived at {self.since}")
        self.moves.append(BallMove(frame, frame + frames, kind, self.spot, dst, apex))
        self.since = self.ready = frame + frames
        if dst.person >= 0:
            self.spot = dst
            self.owner = dst.person if dst.person < PLAYERS else -1
        else:
            self.spot = Spot(point=dst.point, height=dst.height)
            self.owner = -1
        return self.since

    def place(self, frame: int, point) -> None:
        """At a cut the ball appears on a spot (a kick-off, a set piece)."""
        if frame > self.since:
            self.moves.append(BallMove(self.since, frame, "hold", self.spot))
        self.since = self.ready = frame
        self.spot, self.owner = Spot(point=(float(point[0]), float(point[1]))), -1

    def collect(self, p: int, frame: int) -> None:
        """`p` walks to the ball lying on the ground and takes it at his feet."""
        point = np.array(self.spot.point)
        self.pin(p, frame, point - (pr.FOOT_REACH * self.attack(self.team(p)), 0))
        self.release(frame, "roll", Spot(person=p), max(self.s(0.2), 1))

    def emit(self, frame: int, kind: str, person: int, crossing=None) -> None:
        if frame < self.last_event + self.gap:
            raise AssertionError(f"{kind} at frame {frame} is too close to the event at {self.last_event}")
        self.events.append(Event(frame, kind, person, crossing))
        self.last_event = frame

    def labelled(self) -> int:
        return sum(e.kind in self.labels for e in self.events)

    def next_kick(self, earliest: int = 0) -> int:
        """When the holder plays the ball next: after a hold that keeps the event rate."""
        if self.style == "v2":
            hold = self.s(self.rng.uniform(0.4, 1.6))
        else:
            gap_s = 60.0 / self.events_per_minute
            surplus = self.labelled() - self.since / self.fps / gap_s
            mean = np.clip(max(gap_s - 1.0, 0.1) * math.exp(0.35 * surplus), 0.1, 4.0)
            hold = self.s(self.rng.uniform(0.5, 1.5) * mean)
        return max(self.ready, self.since + hold, self.last_event + self.gap, earliest)

    def kick_from(self, frame: int) -> np.ndarray:
        """Pins the holder where he is when he plays the ball; returns where the ball is."""
        if self.spot.person >= 0:
            at = self.pin(self.spot.person, frame, self.pos(self.spot.person, frame))
            if self.spot.at_foot:
                return at + (pr.FOOT_REACH * self.attack(self.team(self.spot.person)), 0.0)
            return at
        return np.array(self.spot.point)

    def flight(self, distance: float, speed: float, minimum: int | None = None) -> int:
        return max(round(distance / speed * self.fps), self.gap + 1 if minimum is None else minimum)

    def receiver(self, p: int, frame: int, near: float, far: float, forward: float = 0.5) -> int:
        """A team-mate of `p` between `near` and `far` metres away, preferably ahead of him."""
        team = self.team(p)
        here = self.pos(p, frame)
        candidates, weights = [], []
        for q in self.outfield(team):
            if q == p:
                continue
            d = self.free_motion(q, [frame + self.s(1.0)])[0] - here
            dist = float(np.hypot(*d))
            if near <= dist <= far:
                candidates.append(q)
                weights.append(math.exp(forward * d[0] * self.attack(team) / 10))
        if not candidates:
            others = [q for q in self.outfield(team) if q != p]
            return self.nearest(others, here, frame)
        weights = np.array(weights) / sum(weights)
        return candidates[int(self.rng.choice(len(candidates), p=weights))]

    # ---- actions -------------------------------------------------------------------------------

    def ground_pass(self, receiver=None, target=None, kind="pass", k=None) -> None:
        p = self.owner
        k = self.next_kick() if k is None else k
        origin = self.kick_from(k)
        receiver = self.receiver(p, k, 8, 28) if receiver is None else receiver
        if target is None:
            target = self.pos(receiver, k + self.s(1.0)) + 1.5 * _unit(origin - self.pos(receiver, k))
        speed = self.rng.uniform(13, 17)
        frames = self.flight(np.hypot(*(target - origin)), speed)
        self.pin(receiver, k + frames, target)
        self.touch(k, origin)
        self.touch(k + frames, target)
        self.emit(k, kind, p)
        self.release(k, "roll", Spot(person=receiver), frames)

    def drive(self, towards=None, k=None) -> None:
        p = self.owner
        e = self.next_kick(earliest=self.since + 2) if k is None else k
        start = self.kick_from(e) - (pr.FOOT_REACH * self.attack(self.team(p)), 0)
        # A sprint with the ball: the fastest people on the pitch, legs going.
        speed, seconds = self.rng.uniform(6.5, 8.0), self.rng.uniform(1.2, 2.0)
        if towards is None:
            direction = _rotate((self.attack(self.team(p)), 0.0), self.rng.uniform(-45, 45))
            length = speed * seconds
        else:
            direction = _unit(np.asarray(towards) - start)
            length = min(float(np.hypot(*(np.asarray(towards) - start))), speed * 2.5)
        end = np.clip(start + direction * length, (4, 4), (101, 64))
        frames = max(self.flight(np.hypot(*(end - start)), speed), self.s(1.0))
        self.pin(p, e + frames, end)
        self.emit(e, "drive", p)
        self.touch(e + frames, end)
        self.ready = e + frames

    def lofted_pass(self, receiver=None, header=False, kind="high_pass", near=25, far=50, apex=None,
                    target=None) -> int:
        """A high ball to a team-mate; returns the receiver (who heads it on if `header`)."""
        p = self.owner
        k = self.next_kick()
        origin = self.kick_from(k)
        receiver = self.receiver(p, k, near, far, forward=0.3) if receiver is None else receiver
        if target is None:
            target = self.pos(receiver, k + self.s(2.0))
        frames = self.flight(np.hypot(*(target - origin)), self.rng.uniform(14, 17), self.s(1.2))
        self.pin(receiver, k + frames, target)
        self.touch(k, origin)
        self.touch(k + frames, target)
        self.emit(k, kind, p)
        apex = self.rng.uniform(6, 11) if apex is None else apex
        dst = Spot(person=receiver, height=pr.HEAD_HEIGHT, at_foot=False) if header else Spot(person=receiver)
        self.release(k, "air", dst, frames, apex)
        return receiver

    def header_on(self) -> None:
        """The ball is at the head of its holder: he heads it to a team-mate."""
        p, e = self.spot.person, self.since
        self.emit(e, "header", p)
        receiver = self.receiver(p, e, 8, 20)
        target = self.pos(receiver, e + self.s(1.0))
        frames = self.flight(np.hypot(*(target - self.pos(p, e))), 11.0)
        self.pin(receiver, e + frames, target)
        self.touch(e + frames, target)
        self.release(e, "air", Spot(person=receiver), frames, apex=1.0)

    def header_clear(self) -> None:
        """A defender heads the ball away, high and long, to a team-mate."""
        p, e = self.spot.person, self.since
        self.emit(e, "header", p)
        receiver = self.receiver(p, e, 15, 35, forward=1.0)
        target = self.pos(receiver, e + self.s(1.5))
        frames = self.flight(np.hypot(*(target - self.pos(p, e))), 13.0, self.s(1.0))
        self.pin(receiver, e + frames, target)
        self.touch(e + frames, target)
        self.release(e, "air", Spot(person=receiver), frames, apex=self.rng.uniform(4, 7))

    def shot(self, outcome: str, kind="shot_on", k=None, apex=None, shooter=None) -> None:
        """Strikes the ball at the opponents' goal. Outcomes: goal, save, wide, block. A set-piece
        `shooter` kicks the ball from its spot (the set piece is the event, not the shot)."""
        p = self.spot.person if shooter is None else shooter
        team = self.team(p)
        opponents = 1 - team
        header = self.spot.person >= 0 and not self.spot.at_foot
        k = (self.since if header else self.next_kick()) if k is None else k
        origin = self.kick_from(k)
        sign, gx = self.attack(team), self.goal_x(team)
        speed = self.rng.uniform(12, 15) if header else self.rng.uniform(22, 27)
        apex = (self.rng.uniform(0.3, 1.5) if not header else 0.5) if apex is None else apex
        keeper = self.keeper(opponents)
        if shooter is None:
            self.emit(k, "header" if header else kind, p)
        self.touch(k, origin)
        if outcome == "goal":
            y = 34 + self.rng.uniform(-2.8, 2.8)
            net = np.array([gx + sign * 1.5, y])
            # The ball must cross the line at least MIN_GAP after the kick.
            fraction = abs(gx - origin[0]) / max(abs(net[0] - origin[0]), 1e-6)
            frames = self.flight(np.hypot(*(net - origin)), speed, math.ceil((self.gap + 3) / fraction))
            self.pin(keeper, k + frames, (gx - sign * 0.6, 34 - 2.5 * np.sign(y - 34 + 1e-6)))
            self.release(k, "air", Spot(point=tuple(net), height=0.6), frames, apex)
            self.crossing_event("goal", p, len(self.moves) - 1, "goal", k, origin, net, gx)
            self.kickoff(opponents, self.since + self.s(2.0))
        elif outcome == "save":
            catch = np.array([gx - sign * 1.0, 34 + self.rng.uniform(-2.5, 2.5)])
            frames = self.flight(np.hypot(*(catch - origin)), speed)
            self.pin(keeper, k + frames, catch)
            self.release(k, "air", Spot(person=keeper, height=pr.HANDS_HEIGHT, at_foot=False), frames, apex)
            self.hold_still(keeper, k + frames, k + frames + self.s(1.2), catch)
            self.ready = k + frames + self.s(1.2)
            self.lofted_pass(kind="goal_kick", near=30, far=50)
        elif outcome == "wide":
            y = 34 + self.rng.choice([-1, 1]) * self.rng.uniform(5.5, 9)
            end = np.array([gx + sign * 2.5, y])
            # The ball must cross the line at least MIN_GAP after the kick.
            fraction = abs(gx - origin[0]) / max(abs(end[0] - origin[0]), 1e-6)
            frames = self.flight(np.hypot(*(end - origin)), speed, math.ceil((self.gap + 3) / fraction))
            self.release(k, "air", Spot(point=tuple(end)), frames, apex)
            self.crossing_event("out", p, len(self.moves) - 1, "goal_line", k, origin, end, gx)
            self.goal_kick(opponents, self.since + self.s(1.2))
        elif outcome == "block":
            blocker_frames = max(self.gap + 1, self.s(self.rng.uniform(0.65, 0.8)))
            direction = _unit((gx - origin[0], 34 - origin[1]))
            contact = origin + direction * min(speed * blocker_frames / self.fps, abs(gx - origin[0]) - 6)
            speed = float(np.hypot(*(contact - origin))) * self.fps / blocker_frames
            blocker = self.nearest(self.outfield(opponents), contact, k + blocker_frames)
            self.block(blocker, k, contact, direction, blocker_frames)
        else:
            raise ValueError(outcome)

    def block(self, blocker: int, k: int, contact, direction, frames: int) -> None:
        """The ball, kicked at `k` along `direction`, stops dead at `blocker` and bounces back."""
        c = k + frames
        self.pin(blocker, c, contact + direction * 0.6)
        self.release(k, "air", Spot(point=tuple(contact), height=0.4), frames, 0.3)
        self.emit(c, "block", blocker)
        rebound = contact - _rotate(direction, self.rng.uniform(-40, 40)) * self.rng.uniform(5, 9)
        rebound = np.clip(rebound, (2, 2), (103, 66))
        candidates = [q for q in range(PLAYERS) if q not in (blocker, 0, TEAM_SIZE)]
        picker = self.nearest(candidates, rebound, c + self.s(1.0))
        back = self.s(self.rng.uniform(0.8, 1.2))
        self.pin(picker, c + back, rebound)
        self.touch(c + back, rebound)
        self.release(c, "roll", Spot(person=picker), back)

    def crossing_event(self, kind, person, move, line, k, origin, end, line_x=None) -> None:
        """An event at the frame where the ball crosses a line (found once everything moves)."""
        if line in ("goal", "goal_line"):
            fraction = abs(line_x - origin[0]) / max(abs(end[0] - origin[0]), 1e-6)
        else:
            line_y = 0.0 if end[1] < 34 else pr.PITCH_WIDTH
            fraction = abs(line_y - origin[1]) / max(abs(end[1] - origin[1]), 1e-6)
        moving = self.moves[move]
        u = fraction if moving.kind == "air" else 1.5 - math.sqrt(max(2.25 - 2 * fraction, 0.0))
        estimate = moving.start + math.ceil(u * (moving.end - moving.start))
        self.emit(estimate, kind, person, crossing=(move, line))
        self.last_event = estimate + 3  # the exact frame may come out a little later

    def tackle(self) -> None:
        victim = self.owner
        team = self.team(victim)
        e = self.next_kick()
        at = self.kick_from(e) - (pr.FOOT_REACH * self.attack(team), 0)
        tackler = self.nearest(self.outfield(1 - team), at, e)
        side = _unit(self.free_motion(tackler, [e])[0] - at + 1e-3)
        self.pin(tackler, e - self.s(0.7), at + side * 5.0)
        self.pin(tackler, e, at + side * 1.2)
        self.emit(e, "tackle", tackler)
        self.release(e, "roll", Spot(person=tackler), max(self.s(0.2), 1))
        self.pin(victim, e + self.s(0.8), at - side * 1.0)
        self.pin(tackler, e + self.s(1.0), at + side * 1.2 + (2.0 * self.attack(1 - team), 0))
        self.touch(e, at)
        self.ready = e + self.s(1.0)

    def foul(self) -> tuple[int, int, np.ndarray]:
        """An opponent brings the holder down; the ball stays where it was. Returns (fouler,
        frame, ball point)."""
        victim = self.owner
        team = self.team(victim)
        e = self.next_kick()
        at = self.kick_from(e) - (pr.FOOT_REACH * self.attack(team), 0)
        fouler = self.nearest(self.outfield(1 - team), at, e)
        side = _unit(self.free_motion(fouler, [e])[0] - at + 1e-3)
        self.pin(fouler, e - self.s(0.7), at + side * 5.0)
        self.pin(fouler, e, at + side * 1.0)
        self.emit(e, "foul", fouler)
        point = at + (pr.FOOT_REACH * self.attack(team), 0)
        self.release(e, "roll", Spot(point=tuple(point)), max(self.s(0.2), 1))
        self.hold_still(victim, e, e + self.s(1.6), at)
        self.poses.append((victim, e + 1, e + self.s(1.6), pr.LYING))
        self.touch(e, at)
        self.ready = e + self.s(1.0)
        return fouler, e, point

    def free_kick(self, team: int, direct: bool, start: int, wall: bool = True) -> None:
        """The ball lies still at its spot; a wall lines up; then `team` kicks it."""
        point = np.array(self.spot.point)
        sign, gx = self.attack(team), self.goal_x(team)
        to_goal = _unit((gx - point[0], 34 - point[1]))
        k = max(start + self.s(self.rng.uniform(2.0, 2.6)), self.last_event + self.gap)
        taker = self.nearest(self.outfield(team), point, start)
        self.hold_still(taker, k - self.s(1.2), k - self.s(0.5), point - to_goal * 3.0)
        self.pin(taker, k, point - to_goal * pr.FOOT_REACH)
        opponents = 1 - team
        if wall:
            wall_at = point + to_goal * 9.15
            across = np.array([-to_goal[1], to_goal[0]])
            defenders = sorted(self.outfield(opponents),
                               key=lambda q: np.hypot(*(self.free_motion(q, [start])[0] - wall_at)))[:4]
            for i, q in enumerate(defenders):
                self.hold_still(q, start + self.s(0.8), k + self.s(0.3), wall_at + across * (i - 1.5) * 2.0)
        self.hold_still(self.keeper(opponents), start + self.s(0.5), k + self.s(0.3), (gx - sign * 0.6, 34))
        self.touch(k, point)
        self.ready = k
        if direct:
            outcome = self.rng.choice(["save", "wide", "goal"], p=[0.5, 0.35, 0.15])
            self.emit(k, "free_kick_direct", taker)
            self.shot(str(outcome), k=k, apex=self.rng.uniform(2.5, 3.5), shooter=taker)
        else:
            receiver = self.receiver(taker, k, 10, 25, forward=1.0)
            target = self.pos(receiver, k + self.s(1.2))
            frames = self.flight(np.hypot(*(target - point)), self.rng.uniform(13, 16))
            self.pin(receiver, k + frames, target)
            self.touch(k + frames, target)
            self.emit(k, "free_kick_indirect", taker)
            if wall:
                self.release(k, "air", Spot(person=receiver), frames, apex=self.rng.uniform(4, 7))
            else:
                self.release(k, "roll", Spot(person=receiver), frames)

    def astray(self) -> tuple[int, np.ndarray]:
        """A pass that runs out over the nearer touchline; returns (team out of touch, point)."""
        p = self.owner
        team = self.team(p)
        k = self.next_kick()
        origin = self.kick_from(k)
        line_y = 0.0 if origin[1] < 34 else pr.PITCH_WIDTH
        end = np.array([np.clip(origin[0] + self.attack(team) * self.rng.uniform(3, 12), 3, 102),
                        line_y + (1.2 if line_y else -1.2)])
        fraction = abs(line_y - origin[1]) / abs(end[1] - origin[1])
        u = 1.5 - math.sqrt(max(2.25 - 2 * fraction, 0.0))
        frames = self.flight(np.hypot(*(end - origin)), self.rng.uniform(12, 15),
                             math.ceil((self.gap + 3) / max(u, 1e-3)))
        self.emit(k, "pass", p)
        self.touch(k, origin)
        self.release(k, "roll", Spot(point=tuple(end)), frames)
        self.crossing_event("out", p, len(self.moves) - 1, "touchline", k, origin, end)
        return team, end

    def throw_in(self, team: int, start: int) -> None:
        point = np.array(self.spot.point)
        taker = self.nearest(self.outfield(team), point, start)
        distance = np.hypot(*(self.free_motion(taker, [start])[0] - point))
        pick = max(start + self.s(0.8), self.since + int(distance / pr.RUN_SPEED * self.fps))
        throw = pick + self.s(0.3) + self.s(self.rng.uniform(0.8, 1.2))
        throw = max(throw, self.last_event + self.gap)
        self.hold_still(taker, pick, throw + self.s(0.3), point)
        self.release(pick, "air", Spot(person=taker, height=pr.THROW_HEIGHT, at_foot=False), self.s(0.3))
        self.poses.append((taker, pick, throw + 3, pr.ARMS_UP))
        infield = np.array([self.attack(team) * 4.0, 10.0 if point[1] < 34 else -10.0])
        receiver = self.nearest([q for q in self.outfield(team) if q != taker], point + infield, throw)
        target = point + infield + self.rng.uniform(-3, 3, 2)
        frames = self.flight(np.hypot(*(target - point)), 10.0)
        self.pin(receiver, throw + frames, target)
        self.touch(throw, point)
        self.touch(throw + frames, target)
        self.emit(throw, "throw_in", taker)
        self.release(throw, "air", Spot(person=receiver), frames, apex=1.5)

    def kickoff(self, team: int, frame: int) -> None:
        if frame > 0:
            self.cut(frame, (52.5, 34.0))
        self.place(frame, (52.5, 34.0))
        sign = self.attack(team)
        kicker, receiver = team * TEAM_SIZE + 9, team * TEAM_SIZE + 6
        k = max(frame + self.s(self.rng.uniform(0.8, 1.2)), self.last_event + self.gap)
        self.hold_still(kicker, frame, k, (52.5 - sign * pr.FOOT_REACH, 34.0))
        target = self.pos(receiver, k + self.s(1.0))
        frames = self.flight(np.hypot(*(target - (52.5, 34))), 12.0)
        self.pin(receiver, k + frames, target)
        self.emit(k, "kickoff", kicker)
        self.touch(k + frames, target)
        self.release(k, "roll", Spot(person=receiver), frames)

    def goal_kick(self, team: int, frame: int) -> None:
        sign = self.attack(team)
        own = pr.PITCH_LENGTH - self.goal_x(team)
        point = (own + sign * 5.5, 34 + self.rng.choice([-1, 1]) * self.rng.uniform(0, 8))
        self.cut(frame, (own + sign * 30, 34.0))
        self.place(frame, point)
        keeper = self.keeper(team)
        self.hold_still(keeper, frame, frame + self.s(1.2), np.subtract(point, (sign * pr.FOOT_REACH, 0)))
        self.ready = frame + self.s(1.2)
        self.owner = keeper
        self.lofted_pass(kind="goal_kick", near=30, far=50)

    def clear_out(self) -> None:
        """The holder clears the ball high and long upfield; it lands and someone collects it."""
        p = self.owner
        team = self.team(p)
        k = self.next_kick()
        origin = self.kick_from(k)
        landing = np.clip(origin + (self.attack(team) * self.rng.uniform(35, 50), self.rng.uniform(-12, 12)),
                          (5, 5), (100, 63))
        frames = self.flight(np.hypot(*(landing - origin)), 18.0, self.s(1.6))
        self.emit(k, "clearance", p)
        self.touch(k, origin)
        self.touch(k + frames, landing)
        self.release(k, "air", Spot(point=tuple(landing)), frames, self.rng.uniform(12, 16))
        picker = self.nearest([q for q in range(PLAYERS) if q % TEAM_SIZE], landing, k + frames)
        self.collect(picker, k + frames + self.s(0.6))

    def build_up(self, zone, reach: float = 5.0, hops: int = 4) -> None:
        """Passes (and the odd run) that bring the ball near `zone`."""
        zone = np.asarray(zone, np.float64)
        for _ in range(hops):
            here = self.ball_estimate(self.ready)
            distance = float(np.hypot(*(zone - here)))
            if distance <= reach:
                return
            hop = here + (zone - here) * min(1.0, 26.0 / distance)
            team = self.team(self.owner)
            others = [q for q in self.outfield(team) if q != self.owner]
            self.ground_pass(receiver=self.nearest(others, hop, self.ready + self.s(1.0)), target=hop)
            if self.rng.random() < 0.35 and distance > 30:
                self.drive(towards=zone)

    # ---- scenes --------------------------------------------------------------------------------

    def attacking_point(self, team: int, depth: tuple[float, float], across: tuple[float, float]):
        sign, gx = self.attack(team), self.goal_x(team)
        return np.array([gx - sign * self.rng.uniform(*depth), 34 + self.rng.uniform(*across)])

    def scene(self, name: str) -> None:
        team = self.team(self.owner)
        rng = self.rng
        if name in ("goal", "save", "wide", "block"):
            self.build_up(self.attacking_point(team, (16, 24) if name != "block" else (24, 30), (-10, 10)))
            if name == "goal" and rng.random() < 0.5:
                self.drive(towards=self.attacking_point(team, (13, 16), (-6, 6)))
            self.shot(name, kind="shot_on" if name in ("goal", "save") else "shot_off")
        elif name == "cross":
            wing = self.attacking_point(team, (8, 18), (25, 28))  # near the near touchline...
            if rng.random() < 0.5:
                wing[1] = pr.PITCH_WIDTH - wing[1]  # ...or the far one
            self.build_up(wing)
            self.cross()
        elif name == "throw":
            out_team, _ = self.astray()
            self.throw_in(1 - out_team, self.last_event + self.gap)
        elif name == "substitution":
            out_team, _ = self.astray()
            self.substitution(1 - out_team)
            self.throw_in(1 - out_team, self.last_event + self.gap)
        elif name == "tackle":
            self.drive()
            self.tackle()
        elif name in ("free_kick", "direct"):
            self.build_up(self.attacking_point(team, (22, 30), (-12, 12)))
            self.foul()
            self.free_kick(team, direct=True, start=self.last_event)
        elif name == "indirect":
            self.foul()
            self.free_kick(team, direct=False, start=self.last_event, wall=False)
        elif name in ("yellow", "red", "yellow_red"):
            fouler, frame, _ = self.foul()
            self.card(fouler, frame, name)
            self.free_kick(team, direct=False, start=self.last_event, wall=False)
        elif name == "high":
            header = rng.random() < 0.6
            self.lofted_pass(header=header)
            if header:
                self.header_on()
        elif name == "corner":
            self.build_up(self.attacking_point(team, (20, 28), (-15, 15)))
            self.corner_from_clearance()
        elif name == "clearance":
            # The opponents win the ball near their own goal and clear it.
            self.build_up(self.attacking_point(team, (22, 30), (-15, 15)))
            defender = self.nearest(self.outfield(1 - team), self.ball_estimate(self.ready), self.ready)
            self.ground_pass(receiver=defender)
            self.clear_out()
        elif name == "offside":
            self.offside()
        elif name == "penalty":
            self.build_up(self.attacking_point(team, (8, 13), (-8, 8)))
            self.penalty()
        else:
            raise ValueError(f"unknown scene {name!r}")

    def cross(self) -> None:
        p = self.owner
        team = self.team(p)
        sign, gx = self.attack(team), self.goal_x(team)
        target = np.array([gx - sign * self.rng.uniform(6, 11), 34 + self.rng.uniform(-6, 6)])
        k = self.next_kick()
        attacker = self.nearest([q for q in self.outfield(team) if q != p], target, k)
        defender = self.nearest(self.outfield(1 - team), target, k)
        outcome = self.rng.choice(["attacker", "defender", "control"], p=[0.6, 0.3, 0.1])
        origin = self.kick_from(k)
        frames = self.flight(np.hypot(*(target - origin)), self.rng.uniform(15, 18), self.s(1.0))
        header = outcome != "control"
        who = defender if outcome == "defender" else attacker
        self.pin(who, k + frames, target)
        if outcome == "defender":
            self.pin(attacker, k + frames, target + (sign * 2.0, 1.0))
        self.touch(k, origin)
        self.touch(k + frames, target)
        self.emit(k, "corner" if self.corner_kick else "cross", p)
        self.corner_kick = False
        dst = Spot(person=who, height=pr.HEAD_HEIGHT, at_foot=False) if header else Spot(person=who)
        self.release(k, "air", dst, frames, self.rng.uniform(4, 6))
        if outcome == "attacker":
            self.shot(str(self.rng.choice(["save", "wide"], p=[0.6, 0.4])))
        elif outcome == "defender":
            self.header_clear()


    def corner_from_clearance(self) -> None:
        """A defender turns the ball over his own goal line; the attackers take the corner."""
        p = self.owner
        team = self.team(p)
        sign, gx = self.attack(team), self.goal_x(team)
        k = self.next_kick()
        origin = self.kick_from(k)
        defender = self.nearest(self.outfield(1 - team), origin, k)
        contact = origin + _unit((gx - origin[0], 34 - origin[1])) * self.rng.uniform(8, 12)
        frames = max(self.gap + 1, self.s(0.7))
        self.emit(k, "shot_on", p)
        self.pin(defender, k + frames, contact)
        self.release(k, "air", Spot(point=tuple(contact), height=0.4), frames, 0.3)
        self.emit(k + frames, "block", defender)
        side = 1.0 if contact[1] > 34 else -1.0
        end = np.array([gx + sign * 2.0, 34 + side * self.rng.uniform(8, 14)])
        fraction = abs(gx - contact[0]) / max(abs(end[0] - contact[0]), 1e-6)
        out = self.flight(np.hypot(*(end - contact)), 12.0, math.ceil((self.gap + 3) / fraction))
        self.release(k + frames, "air", Spot(point=tuple(end)), out, 1.0)
        self.crossing_event("out", defender, len(self.moves) - 1, "goal_line", k + frames, contact, end, gx)
        start = self.since + self.s(1.2)
        corner = (gx - sign * 0.5, 0.5 if end[1] < 34 else 67.5)
        self.cut(start, (gx - sign * 20, 34.0))
        self.place(start, corner)
        taker = self.nearest(self.outfield(team), corner, start)
        self.hold_still(taker, start, start + self.s(1.4), np.subtract(corner, (0, np.sign(34 - corner[1]) * -0.9)))
        for i, q in enumerate([q for q in self.outfield(team) if q != taker][-3:]):
            self.hold_still(q, start, start + self.s(1.6), (gx - sign * (8 + 2 * i), 30 + 4 * i))
        for i, q in enumerate(self.outfield(1 - team)[:3]):
            self.hold_still(q, start, start + self.s(1.6), (gx - sign * (7 + 2 * i), 32 + 4 * i))
        self.owner, self.ready = taker, start + self.s(1.4)
        self.corner_kick = True
        self.cross()

    def card(self, fouler: int, frame: int, colour: str) -> None:
        raised = max(frame + self.s(1.6), self.last_event + self.gap)
        at = self.pos(fouler, raised)
        self.hold_still(fouler, raised - self.s(0.6), raised + self.s(1.5), at)
        self.hold_still(REFEREE, raised - self.s(0.3), raised + self.s(1.5), at + (1.5, 0.5))
        if colour == "yellow_red":
            self.poses.append((REFEREE, raised, raised + self.s(0.7), pr.YELLOW_CARD))
            self.poses.append((REFEREE, raised + self.s(0.7), raised + self.s(1.5), pr.RED_CARD))
        else:
            pose = pr.YELLOW_CARD if colour == "yellow" else pr.RED_CARD
            self.poses.append((REFEREE, raised, raised + self.s(1.5), pose))
        self.emit(raised, colour, fouler)

    def substitution(self, team: int) -> None:
        """During a stoppage the fourth official raises his board; a player comes off, the
        substitute waits at the halfway line."""
        frame = self.last_event + self.gap + self.s(0.5)
        leaving = self.nearest(self.outfield(team), (52.5, 68.0), frame)
        distance = np.hypot(*(self.free_motion(leaving, [frame])[0] - (52.5, 67.8)))
        frame = max(frame, int(self.since + distance / pr.RUN_SPEED * self.fps))
        self.hold_still(leaving, frame, frame + self.s(1.0), (51.5, 67.8))
        self.hold_still(SUBSTITUTES[team], frame - self.s(0.5), frame + self.s(1.2), (53.5, 69.5))
        self.poses.append((FOURTH_OFFICIAL, frame - self.s(0.4), frame + self.s(1.5), pr.BOARD))
        self.emit(frame, "substitution", leaving)

    def offside(self) -> None:
        """A forward pass finds an attacker beyond the defence; the linesman raises his flag; the
        defenders restart with an indirect free kick."""
        p = self.owner
        team = self.team(p)
        k = self.next_kick()
        receiver = max((q for q in self.outfield(team) if q != p),
                       key=lambda q: self.free_motion(q, [k])[0][0] * self.attack(team))
        target = self.pos(receiver, k + self.s(1.2)) + (self.attack(team) * 4.0, 0)
        origin = self.kick_from(k)
        frames = self.flight(np.hypot(*(target - origin)), 16.0)
        self.pin(receiver, k + frames, target)
        self.emit(k, "pass", p)
        self.touch(k, origin)
        self.touch(k + frames, target)
        self.release(k, "roll", Spot(person=receiver), frames)
        flag = self.since + 3
        self.hold_still(LINESMAN, flag - self.s(0.5), flag + self.s(1.6), (target[0], 69.3))
        self.poses.append((LINESMAN, flag, flag + self.s(1.6), pr.FLAG))
        self.emit(flag, "offside", receiver)
        stop = self.pos(receiver, flag + self.s(0.5)) + (self.attack(team) * pr.FOOT_REACH, 0)
        self.release(flag + self.s(0.5), "roll", Spot(point=tuple(stop)), self.s(0.3))
        self.free_kick(1 - team, direct=False, start=self.since, wall=False)

    def penalty(self) -> None:
        team = self.team(self.owner)
        sign, gx = self.attack(team), self.goal_x(team)
        self.foul()
        start = self.since + self.s(2.0)
        spot = np.array([gx - sign * 11.0, 34.0])
        self.cut(start, (gx - sign * 20, 34.0))
        self.place(start, spot)
        k = max(start + self.s(2.0), self.last_event + self.gap)
        taker = team * TEAM_SIZE + 9
        self.hold_still(taker, start, k - self.s(0.5), spot - (sign * 2.5, 0))
        self.pin(taker, k, spot - (sign * pr.FOOT_REACH, 0))
        self.hold_still(self.keeper(1 - team), start, k, (gx - sign * 0.3, 34.0))
        for q in range(PLAYERS):
            if q in (taker, 0, TEAM_SIZE):
                continue
            xy = self.free_motion(q, [start])[0]
            if abs(xy[0] - gx) < 19 and abs(xy[1] - 34) < 22:
                self.hold_still(q, start, k + self.s(0.3), (gx - sign * self.rng.uniform(18, 21), xy[1]))
        self.ready = k
        self.spot = Spot(point=tuple(spot))
        self.emit(k, "penalty", taker)
        self.shot(str(self.rng.choice(["goal", "save"], p=[0.75, 0.25])), k=k, shooter=taker)

    # ---- open play and the whole half ----------------------------------------------------------

    def open_play(self) -> None:
        p = self.owner
        team = self.team(p)
        if p % TEAM_SIZE == 0:  # the goalkeeper plays it out
            if self.rng.random() < 0.5:
                self.ground_pass()
            else:
                self.lofted_pass(near=25, far=45)
            return
        at = self.ball_estimate(self.ready)
        depth = abs(self.goal_x(team) - at[0])
        options = {"pass": 10.0, "drive": 10.0 if self.ready == self.since else 0.5, "high": 0.6,
                   "tackle": 0.4, "blocked": 0.3,
                   "shot": 2.0 if depth < 28 and abs(at[1] - 34) < 16 else 0.0,
                   "cross": 1.5 if depth < 22 and abs(at[1] - 34) > 20 else 0.0}
        names = list(options)
        weights = np.array([options[n] for n in names])
        choice = names[int(self.rng.choice(len(names), p=weights / weights.sum()))]
        if choice == "pass":
            self.ground_pass()
        elif choice == "drive":
            self.drive()
        elif choice == "high":
            header = self.rng.random() < 0.4
            self.lofted_pass(header=header)
            if header:
                self.header_on()
        elif choice == "tackle":
            self.tackle()
        elif choice == "blocked":
            k = self.next_kick()
            origin = self.kick_from(k)
            receiver = self.receiver(p, k, 14, 28)
            direction = _unit(self.pos(receiver, k + self.s(1.0)) - origin)
            frames = max(self.gap + 1, self.s(0.7))
            contact = origin + direction * 14.0 * frames / self.fps
            blocker = self.nearest(self.outfield(1 - team), contact, k + frames)
            self.emit(k, "pass", p)
            self.touch(k, origin)
            self.block(blocker, k, contact, direction, frames)
        elif choice == "shot":
            self.shot(str(self.rng.choice(["save", "wide", "block", "goal"], p=[0.4, 0.35, 0.2, 0.05])),
                      kind="shot_on")
        elif choice == "cross":
            self.cross()

    def play(self) -> _Planner:
        """Plans until the ball is in play past the end of the half (the footage is cut there)."""
        self.kickoff(self.kickoff_team, 0)
        end_scene = self.T - self.s(SCENE_BUDGET_S)
        scenes = list(self.scenes)
        while self.ready < self.T:
            if self.owner < 0:
                raise AssertionError(f"nobody has the ball at frame {self.ready}")
            if scenes and self.ready >= scenes[0][0] and self.owner % TEAM_SIZE:
                _, name = scenes.pop(0)
                if self.ready < end_scene:
                    self.scene(name)
                    continue
            self.open_play()
        last_knot = max((f for knots in self.knots for f in knots), default=0)
        self.planned = max(self.since, self.T, last_knot) + 1
        self.moves.append(BallMove(self.since, self.planned, "hold", self.spot))
        return self

    # ---- from the plan to the footage ----------------------------------------------------------

    def footage(self, view: pr.View, shirts, shorts) -> tuple[pr.Footage, list[Event]]:
        """Positions, poses, ball and camera over the half's frames, and its events in time order."""
        frames = np.arange(self.planned, dtype=np.float64)
        base = np.stack([self.free_motion(p, frames) for p in range(PEOPLE)], axis=1)
        positions = base.copy()
        bounds = [-np.inf, *sorted(self.cuts), np.inf]
        for p in range(PEOPLE):
            for start, end in itertools.pairwise(bounds):
                knots = sorted((f, xy) for f, xy in self.knots[p].items() if start <= f < end)
                if not knots:
                    continue
                inside = (frames >= start) & (frames < end)
                kf = [f for f, _ in knots]
                offsets = np.array([np.subtract(xy, base[f, p]) for f, xy in knots])
                positions[inside, p] += pr.offset_track(kf, offsets, frames[inside], self.fps, start, end)
        attack = np.array([self.attack(self.team(p)) if p < PLAYERS else 0.0 for p in range(PEOPLE)])
        attack[SUBSTITUTES[0]], attack[SUBSTITUTES[1]] = self.attack(0), self.attack(1)
        feet = pr.feet_points(positions, attack, self.cuts, self.fps)
        ball = pr.ball_track(self.moves, positions, feet)
        events = sorted(self.events, key=lambda e: e.frame)
        for event in events:
            if event.crossing is not None:
                event.frame = self._crossing_frame(ball, *event.crossing)
        events = sorted((e for e in events if e.frame < self.T), key=lambda e: e.frame)
        positions, ball = positions[:self.T], ball[:self.T]
        frames_of = [e.frame for e in events]
        if len(frames_of) > 1 and min(np.diff(frames_of)) < self.gap:
            i = int(np.argmin(np.diff(frames_of)))
            raise AssertionError(f"events {events[i]} and {events[i + 1]} are too close")
        poses = np.zeros((self.T, PEOPLE), np.int8)
        for person, start, end, pose in self.poses:
            poses[max(start, 0):min(end, self.T), person] = pose
        crowd = np.zeros(self.T, bool)
        self._hide_some(events, crowd)
        camera = pr.camera_track(ball[:, 0], [c for c in self.cuts if c < self.T], self.fps, view)
        footage = pr.Footage(positions.astype(np.float32), poses, ball.astype(np.float32), camera, crowd,
                             np.asarray(shirts, np.uint8), np.asarray(shorts, np.uint8))
        return footage, events

    def _crossing_frame(self, ball: np.ndarray, move: int, line: str) -> int:
        m = self.moves[move]
        track = ball[m.start:m.end + 1]  # at a low frame rate the ball may cross only at `end`
        if line == "goal" or line == "goal_line":
            beyond = (track[:, 0] < 0) | (track[:, 0] > pr.PITCH_LENGTH)
        else:
            beyond = (track[:, 1] < 0) | (track[:, 1] > pr.PITCH_WIDTH)
        if not beyond.any():
            raise AssertionError(f"the ball never crosses the {line} in {m}")
        return m.start + int(np.argmax(beyond))

    def _hide_some(self, events: list[Event], crowd: np.ndarray) -> None:
        """A few frequent events happen while the camera shows the crowd ("not shown")."""
        frequent = {"pass", "drive", "out", "throw_in", "foul", "clearance", "free_kick_indirect"}
        half_window = self.s(0.4)
        for i, event in enumerate(events):
            if event.kind not in self.labels or event.kind not in frequent:
                continue
            before = events[i - 1].frame if i else -10**9
            after = events[i + 1].frame if i + 1 < len(events) else 10**9
            if event.frame - before < 2 * half_window + 4 or after - event.frame < 2 * half_window + 4:
                continue
            if event.frame - half_window < self.s(1.0) or event.frame + half_window >= self.T:
                continue
            if self.rng.random() < NOT_SHOWN_FRACTION:
                event.visible = False
                crowd[event.frame - half_window:event.frame + half_window + 1] = True


def _scene_plan(rng, required: Sequence[str], extras: Mapping[str, float], halves: Sequence[int],
                fps: float, per_minute: float) -> list[list[tuple[int, str]]]:
    """Spreads the required scenes (shuffled) and extra ones over the halves: [(frame, name)] per half."""
    required = list(required)
    rng.shuffle(required)
    per_half: list[list[str]] = [[] for _ in halves]
    for i, name in enumerate(required):
        per_half[i % len(halves)].append(name)
    names, weights = list(extras), np.array(list(extras.values()))
    plans = []
    for frames, chosen in zip(halves, per_half):
        count = max(len(chosen), round(frames / fps / 60 * per_minute))
        while len(chosen) < count:
            chosen.append(names[int(rng.choice(len(names), p=weights / weights.sum()))])
        rng.shuffle(chosen)
        usable = frames - (SCENE_BUDGET_S + 2) * fps
        plans.append([(int(usable * (i + 0.2) / len(chosen)), name) for i, name in enumerate(chosen)])
    return plans


def _kits(rng) -> tuple[np.ndarray, np.ndarray]:
    """Shirts and shorts of everyone: `[PEOPLE, 3]` uint8 BGR each."""
    names = list(KITS)
    home = names[int(rng.integers(len(names)))]
    far = [n for n in names if np.abs(np.subtract(KITS[n], KITS[home])).sum() > 220]
    away = far[int(rng.integers(len(far)))]
    shorts_options = [(30, 30, 30), (90, 90, 90), (70, 30, 20)]
    shirts = np.zeros((PEOPLE, 3), np.uint8)
    shorts = np.zeros((PEOPLE, 3), np.uint8)
    for team, kit in enumerate((home, away)):
        shirts[team * TEAM_SIZE:(team + 1) * TEAM_SIZE] = KITS[kit]
        shorts[team * TEAM_SIZE:(team + 1) * TEAM_SIZE] = shorts_options[int(rng.integers(3))]
        shirts[SUBSTITUTES[team]] = KITS[kit]
        shorts[SUBSTITUTES[team]] = shorts[team * TEAM_SIZE]
    shirts[REFEREE:FOURTH_OFFICIAL + 1] = OFFICIALS_KIT
    shorts[REFEREE:FOURTH_OFFICIAL + 1] = OFFICIALS_KIT
    return shirts, shorts


@dataclasses.dataclass(frozen=True)
class Match:
    """A simulated game: its halves (each one continuous footage) and the kits."""

    halves: list[Half]
    shirts: np.ndarray  # [PEOPLE, 3] uint8 BGR; players 0-10 are team 0 (home), 11-21 team 1
    view: pr.View
    fps: float
    game: str
    seed: int

    def look_rng(self) -> np.random.Generator:
        """The generator of the match's static looks (stands, boards)."""
        return keyed_rng(self.seed, "look", self.game)


def simulate_match(game: str, *, style: str, half_frames: Sequence[int], events_per_minute: float = 30.0,
                   scenes_per_minute: float = SCENES_PER_MINUTE, width: int = 160, height: int = 96,
                   fps: float = 25, seed: int = 0) -> Match:
    """Plans a whole game deterministically from (game, style, sizes, seed).

    Args:
      style: "ball" (open play full of passes and runs, the 12 ball classes) or "v2" (incidents
        and set pieces labelled with the 17 SoccerNet-v2 classes).
      half_frames: the length of each half in frames.
      events_per_minute: the rate of labelled ball-class events (ball style).
      scenes_per_minute: the rate of attacks, set pieces and incidents.
    """
    labels = LABELS_BALL if style == "ball" else LABELS_V2
    # The plan does not depend on the frame size: a game is the same match at any resolution.
    rng = keyed_rng(seed, style, "match", game, *half_frames, int(fps * 1000), int(events_per_minute * 1000),
               int(scenes_per_minute * 1000))
    shirts, shorts = _kits(rng)
    view = pr.View(width, height)
    required, extras = (BALL_SCENES, BALL_EXTRA_SCENES) if style == "ball" else (V2_SCENES, V2_EXTRA_SCENES)
    plans = _scene_plan(rng, required, extras, half_frames, fps, scenes_per_minute)
    left_first, kickoff_first = int(rng.integers(2)), int(rng.integers(2))
    halves = []
    for h, (frames, scenes) in enumerate(zip(half_frames, plans)):
        left = left_first if h == 0 else 1 - left_first  # ends swap at half time
        kickoff = kickoff_first if h == 0 else 1 - kickoff_first
        planner = _Planner(keyed_rng(seed, style, "half", game, h, int(rng.integers(2**31))), frames, fps, left,
                           kickoff, style, labels, events_per_minute, scenes).play()
        footage, events = planner.footage(view, shirts, shorts)
        halves.append(Half(footage, [e for e in events if e.kind in labels], left))
    return Match(halves, shirts, view, fps, game, seed)
