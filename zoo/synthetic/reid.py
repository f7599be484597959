"""Synthetic SoccerNet-v3 player re-identification data, written in the exact official layout.

The tree is what unzipping the official `reid` downloads gives (see `zoo.formats.reid`):

    <root>/train/<league>/<season>/<game>/<action>/<name>.png
    <root>/{valid,test}/{query,gallery}/<league>/<season>/<game>/<action>/<name>.png
    <root>/challenge/{query,gallery}/<name>.png
    <root>/{valid,test,challenge}_bbox_info.json

with official file names (`bbox_idx-action_idx-person_uid-frame_idx-class-ID-UAI-HxW.png`,
challenge `bbox_idx-action_idx-HxW.png`). `challenge_bbox_info.json` is organiser-only for the real
data; it is written here anyway so that challenge rankings can be scored in tests.

Each game has a roster: two teams in contrasting kits (plain, stripes, hoops, halves or a sash;
shorts and socks), their goalkeepers in kits of their own, referees (main and side, the side ones
with a flag) and staff in tracksuits. Every person has a skin tone, a hair colour and style,
sometimes a beard, a build, and players a unique shirt number. An action is one action frame and
1-3 replay frames of some of the game's people; each person shows up in the action frame and/or
the replays, each time with a new view: size, crop and aspect, facing (front, back, side), running
pose, lighting, motion blur, a team-mate or opponent partly in front, JPEG-like noise. Team-mates
share a kit, so telling them apart takes the fine cues (number, hair, skin, build), as in the
real task; the kit tells the teams and roles apart.

As in the real dataset, a person's `person_uid` only holds inside one action (the same roster
member gets a new uid in every action), uids are unique across splits, the query of a valid /
test / challenge split holds the action-frame boxes whose person appears in a replay, and the
gallery every replay box plus the unmatched action-frame boxes. The `ID` field is the shirt number
when it is readable in at least one view, a letter when never, and `None` for a person seen in
only one frame. The action folders are named by the action's index within its game ("0", "1",
...); the UAIs are made up in the official style.

    python -m zoo.synthetic.reid --root /tmp/soccernetv3/reid \
        --actions train=24,valid=4,test=4,challenge=2
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import types
import zlib
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from zoo.cli import split_counts, user_errors
from zoo.formats.reid import ReidSample, bbox_info_file, format_filename, write_bbox_info
from zoo.formats.splits import SPLITS, list_games

DEFAULT_ACTIONS_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 24, "valid": 4, "test": 4, "challenge": 2})
ACTIONS_PER_GAME = 3  # real games have a handful of annotated actions each
FRAME_HEIGHTS = {"action": (60, 120), "replay": (85, 220)}  # thumbnail heights at image_scale 1
MIN_HEIGHT = 24
UNKNOWN_SIDE_FRACTION = 0.06  # actions whose team sides were not annotated ("team unknown")

# Colours are BGR (OpenCV).
KIT_COLOURS = {
    "red": (40, 30, 200), "claret": (60, 20, 110), "blue": (170, 60, 20), "navy": (80, 30, 20),
    "sky": (230, 180, 110), "white": (235, 235, 235), "black": (25, 25, 25),
    "yellow": (30, 210, 240), "orange": (20, 120, 245), "purple": (120, 40, 100),
    "grey": (130, 130, 130), "pink": (170, 120, 240), "maroon": (40, 30, 90), "teal": (120, 120, 0),
}
GOALKEEPER_COLOURS = {
    "fluo green": (60, 240, 150), "fluo yellow": (40, 250, 220), "orange": (20, 140, 250),
    "pink": (180, 80, 250), "grey": (110, 110, 110), "black": (20, 20, 20), "purple": (150, 40, 120),
    "cyan": (230, 220, 40),
}
REFEREE_COLOURS = {
    "black": (20, 20, 20), "yellow": (30, 230, 245), "fluo green": (70, 240, 160),
    "red": (40, 40, 210), "cyan": (220, 200, 60),
}
REFEREE_COLOUR_WEIGHTS = (0.6, 0.15, 0.1, 0.1, 0.05)  # mostly black
SKIN_TONES = [(205, 220, 245), (175, 200, 235), (150, 180, 225), (120, 160, 205), (95, 135, 185),
              (70, 105, 150), (55, 80, 120), (40, 60, 90)]
HAIR_COLOURS = [(20, 20, 20), (25, 35, 55), (35, 55, 90), (60, 90, 140), (110, 180, 225),
                (40, 80, 170), (160, 160, 160), (200, 215, 225)]
HAIR_STYLES = ("short", "short", "short", "buzz", "bald", "long", "curly", "bun")
PATTERNS = ("plain", "plain", "plain", "plain", "stripes", "stripes", "hoops", "halves", "sash")
FACINGS = ("front", "back", "side")
# Shirt-number typefaces: OpenCV's Hershey fonts (thickness relative to the digit height) and
# "block", straight-edged digits drawn as seven thick segments, as many kits print them.
NUMBER_FONTS = {
    "simplex": (cv2.FONT_HERSHEY_SIMPLEX, 1 / 6), "duplex": (cv2.FONT_HERSHEY_DUPLEX, 1 / 5),
    "triplex": (cv2.FONT_HERSHEY_TRIPLEX, 1 / 6), "complex": (cv2.FONT_HERSHEY_COMPLEX, 1 / 7),
    "block": (None, 1 / 4.5),
}
# COCO's 17 body keypoints, the order every top-down pose model (SimpleBaseline, ViTPose) uses.
COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# Which segments light up for each digit: top, top-left, top-right, middle, bottom-left,
# bottom-right, bottom.
_SEGMENTS = {
    "0": "1110111", "1": "0010010", "2": "1011101", "3": "1011011", "4": "0111010",
    "5": "1101011", "6": "1101111", "7": "1010010", "8": "1111111", "9": "1111011",
}


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the keys (not on what else is written)."""
    words = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def _jitter(rng: np.random.Generator, colour, amount: float) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.normal(0, amount), 0, 255)) for c in colour)


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64)))


@dataclasses.dataclass(frozen=True)
class Kit:
    """What a person wears: shirt (with a pattern in a second colour), shorts, socks."""

    shirt: tuple[int, int, int]
    trim: tuple[int, int, int]  # the pattern's second colour
    pattern: str  # plain, stripes, hoops, halves or sash
    shorts: tuple[int, int, int]
    socks: tuple[int, int, int]
    number: tuple[int, int, int]  # colour of the printed number
    long_sleeves: bool = False
    trousers: bool = False  # staff tracksuits
    gloves: tuple[int, int, int] | None = None
    number_font: str = "simplex"  # a key of NUMBER_FONTS
    front_number: bool = True  # the small chest number (most kits have one)


@dataclasses.dataclass(frozen=True)
class Person:
    """One member of a game's roster: role, team and the appearance that stays across views."""

    key: str  # unique within the game, e.g. "home/7"
    role: str  # player, goalkeeper, main_referee, side_referee or staff
    team: int  # 0 home, 1 away, -1 referees
    kit: Kit
    number: int | None
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    beard: bool
    build: float  # width of the body, ~0.85-1.2
    legs: float  # leg length relative to the body, ~0.93-1.07
    head: float  # head size, ~0.9-1.1
    boots: tuple[int, int, int]


def _team_kit(rng: np.random.Generator, shirt_name: str, avoid: Sequence[str]) -> Kit:
    shirt = KIT_COLOURS[shirt_name]
    others = [n for n in KIT_COLOURS if n != shirt_name and n not in avoid]
    trim = KIT_COLOURS[others[rng.integers(len(others))]]
    pattern = PATTERNS[rng.integers(len(PATTERNS))]
    shorts = [shirt, KIT_COLOURS["white"], KIT_COLOURS["black"], trim][rng.integers(4)]
    socks = [shirt, KIT_COLOURS["white"], shorts, trim][rng.integers(4)]
    contrast = [c for c in (KIT_COLOURS["white"], KIT_COLOURS["black"], trim)
                if _distance(c, shirt) > 150]
    number = contrast[rng.integers(len(contrast))] if contrast else KIT_COLOURS["black"]
    return Kit(_jitter(rng, shirt, 8), _jitter(rng, trim, 8), pattern, _jitter(rng, shorts, 6),
               _jitter(rng, socks, 6), number, long_sleeves=bool(rng.uniform() < 0.1))


def _plain_kit(rng, colour, *, shorts=(25, 25, 25), long_sleeves=False, trousers=False,
               gloves=None) -> Kit:
    number = KIT_COLOURS["white"] if sum(colour) < 380 else KIT_COLOURS["black"]
    return Kit(_jitter(rng, colour, 6), _jitter(rng, colour, 30), "plain", shorts, shorts, number,
               long_sleeves=long_sleeves, trousers=trousers, gloves=gloves)


def _person(rng, key, role, team, kit, number) -> Person:
    skin = _jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 6)
    hair = _jitter(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 8)
    return Person(
        key=key, role=role, team=team, kit=kit, number=number, skin=skin, hair=hair,
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))], beard=bool(rng.uniform() < 0.25),
        build=float(rng.uniform(0.85, 1.2)), legs=float(rng.uniform(0.93, 1.07)),
        head=float(rng.uniform(0.9, 1.1)),
        boots=[(20, 20, 20), (235, 235, 235), (30, 200, 240), (40, 40, 220), (200, 120, 30)][
            rng.integers(5)])


def game_roster(game: str, seed: int = 0) -> dict[str, list[Person]]:
    """The people of one game: `{"player": [...], "goalkeeper": [...], "main_referee": [...],
    "side_referee": [...], "staff": [...]}`; depends only on (game, seed)."""
    rng = _rng(seed, "roster", game)
    names = list(KIT_COLOURS)
    home = names[rng.integers(len(names))]
    away_choices = [n for n in names if _distance(KIT_COLOURS[n], KIT_COLOURS[home]) > 170]
    away = away_choices[rng.integers(len(away_choices))]
    kits = [_team_kit(rng, home, [away]), _team_kit(rng, away, [home])]
    # Keepers wear colours far from both outfield kits: among the four most distant ones.
    keeper_choices = sorted(
        GOALKEEPER_COLOURS,
        key=lambda n: -min(_distance(GOALKEEPER_COLOURS[n], k.shirt) for k in kits))
    keepers = rng.choice(keeper_choices[:4], size=2, replace=False)
    referee = list(REFEREE_COLOURS.values())[
        rng.choice(len(REFEREE_COLOURS), p=REFEREE_COLOUR_WEIGHTS)]
    roles = ("player", "goalkeeper", "main_referee", "side_referee", "staff")
    roster: dict[str, list[Person]] = {role: [] for role in roles}
    for team, kit in enumerate(kits):
        side = ("home", "away")[team]
        for number in rng.choice(np.arange(2, 41), size=18, replace=False):
            roster["player"].append(
                _person(rng, f"{side}/{number}", "player", team, kit, int(number)))
        colour = GOALKEEPER_COLOURS[keepers[team]]
        keeper_kit = _plain_kit(
            rng, colour, shorts=_jitter(rng, colour, 30), long_sleeves=bool(rng.uniform() < 0.6),
            gloves=_jitter(rng, (230, 230, 230), 20))
        keeper_number = int(rng.choice([1, 1, 1, 13, 16, 23, 30]))
        roster["goalkeeper"].append(
            _person(rng, f"{side}/gk{keeper_number}", "goalkeeper", team, keeper_kit, keeper_number))
        tracksuit = _plain_kit(rng, tuple(int(c * 0.5) for c in kit.shirt), shorts=(30, 30, 30),
                               long_sleeves=True, trousers=True)
        for i in range(2):
            roster["staff"].append(_person(rng, f"{side}/staff{i}", "staff", team, tracksuit, None))
    referee_kit = _plain_kit(
        rng, referee, shorts=(20, 20, 20), long_sleeves=bool(rng.uniform() < 0.4))
    roster["main_referee"].append(_person(rng, "referee", "main_referee", -1, referee_kit, None))
    for i in range(2):
        roster["side_referee"].append(
            _person(rng, f"assistant{i}", "side_referee", -1, referee_kit, None))
    return roster


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclasses.dataclass(frozen=True)
class View:
    """How one person looks in one thumbnail: size, crop, pose and image degradations."""

    height: int
    width: int
    facing: str  # front, back or side
    stride: float  # leg/arm swing in radians (signed)
    figure_scale: float  # figure height / thumbnail height (>1: feet cut off)
    offset: tuple[float, float]  # figure offset (x, y) in thumbnail heights
    grass: tuple[int, int, int]
    stripe_phase: float
    line: tuple[float, float, float] | None  # pitch line: (x, y, angle) or None
    gain: tuple[float, float, float]  # per-channel lighting gain
    blur: int  # motion blur length in pixels (0: none)
    blur_angle: float
    noise: float  # Gaussian noise standard deviation
    jpeg_quality: int
    occluder: tuple[Person, float, float, bool] | None  # (who, x offset, scale, in front)
    seed: int  # for the pixel noise


def _digit_widths(text: str, font: str, text_h: float) -> list[float]:
    """Advance widths in pixels of each digit of `text` drawn `text_h` pixels tall."""
    face, weight = NUMBER_FONTS[font]
    if face is None:
        return [0.62 * text_h] * len(text)
    thickness = max(1, int(round(text_h * weight)))
    _, th = cv2.getTextSize("0", face, 1.0, 2)[0]
    return [cv2.getTextSize(c, face, text_h / th, thickness)[0][0] for c in text]


def _draw_number(img: np.ndarray, text: str, centre: tuple[float, float], text_h: float,
                 colour, font: str) -> list[tuple[float, float, float, float]]:
    """Paints `text` centred at `centre`, `text_h` pixels tall; returns each digit's box
    (x0, y0, x1, y1) in pixels."""
    face, weight = NUMBER_FONTS[font]
    widths = _digit_widths(text, font, text_h)
    gap = 0.12 * text_h if face is None else 0.0
    x = centre[0] - (sum(widths) + gap * (len(text) - 1)) / 2
    y0, y1 = centre[1] - text_h / 2, centre[1] + text_h / 2
    boxes = []
    for char, w in zip(text, widths):
        if face is None:
            t = max(1.0, text_h * weight)
            x0, x1, ym = x, x + w, (y0 + y1) / 2
            bars = [((x0, y0), (x1, y0 + t)), ((x0, y0), (x0 + t, ym + t / 2)),
                    ((x1 - t, y0), (x1, ym + t / 2)), ((x0, ym - t / 2), (x1, ym + t / 2)),
                    ((x0, ym - t / 2), (x0 + t, y1)), ((x1 - t, ym - t / 2), (x1, y1)),
                    ((x0, y1 - t), (x1, y1))]
            for on, (a, b) in zip(_SEGMENTS[char], bars):
                if on == "1":
                    cv2.rectangle(img, (int(round(a[0] * 16)), int(round(a[1] * 16))),
                                  (int(round(b[0] * 16)) - 1, int(round(b[1] * 16)) - 1), colour,
                                  -1, cv2.LINE_AA, 4)
        else:
            _, th = cv2.getTextSize("0", face, 1.0, 2)[0]
            thickness = max(1, int(round(text_h * weight)))
            cv2.putText(img, char, (int(round(x)), int(round(y1))), face, text_h / th, colour,
                        thickness, cv2.LINE_AA)
        boxes.append((x, y0, x + w, y1))
        x += w + gap
    return boxes


def draw_figure(img: np.ndarray, person: Person, *, cx: float, top: float, size: float,
                 facing: str, stride: float, truth: dict | None = None) -> None:
    """Draws `person` with the top of the head at (cx, top), `size` pixels tall, in place.

    truth: if given, filled with where things were drawn, in image pixels: "keypoints"
      {COCO keypoint name: (x, y, visible)} and, when the number was painted, "number" (the
      text), "number_side" (back or front), "digit_boxes" [(x0, y0, x1, y1)],
      "number_mask" (uint8 [height, width], 255 where the number's pixels are) and
      "number_drawn" (the image right after the number was painted).
    """
    shift = 4  # sub-pixel precision for the OpenCV drawing calls
    one = 1 << shift

    def pt(x: float, y: float) -> tuple[int, int]:
        return int(round((cx + x * size) * one)), int(round((top + y * size) * one))

    def thick(w: float) -> int:
        return max(1, int(round(w * size)))

    aa = cv2.LINE_AA
    kit = person.kit
    side = facing == "side"
    joints: dict[str, tuple[float, float]] = {}  # figure coordinates, for `truth`
    width = person.build * (0.62 if side else 1.0)
    head_r = 0.062 * person.head
    head = (0.0, head_r + 0.004)
    y_shoulder, y_hip = 0.155, 0.50 - 0.06 * (person.legs - 1)
    y_shorts = y_hip + 0.12
    leg_len = (1.0 - y_hip - 0.03) / 2
    sw, hw = 0.13 * width, 0.105 * width
    leg_w, arm_w = 0.078 * person.build, 0.055 * person.build

    # Legs: hip -> knee -> ankle, swinging in opposite directions; socks below the knee.
    for sign in (1, -1):
        hip_x = (0.02 if side else 0.055 * width) * sign
        swing = stride * sign
        knee = (hip_x + leg_len * math.sin(swing), y_hip + leg_len * math.cos(swing))
        bend = swing - abs(stride) * 0.8 if side else swing * 0.3
        ankle = (knee[0] + leg_len * math.sin(bend), knee[1] + leg_len * math.cos(bend))
        thigh_colour = kit.shorts if kit.trousers else person.skin
        cv2.line(img, pt(hip_x, y_hip), pt(*knee), thigh_colour, thick(leg_w), aa, shift)
        shin_top = (knee[0] + 0.15 * (ankle[0] - knee[0]), knee[1] + 0.15 * (ankle[1] - knee[1]))
        cv2.line(img, pt(*knee), pt(*shin_top), thigh_colour, thick(leg_w * 0.9), aa, shift)
        cv2.line(img, pt(*shin_top), pt(*ankle), kit.shorts if kit.trousers else kit.socks,
                 thick(leg_w * 0.85), aa, shift)
        foot = (0.035 if stride >= 0 else -0.035) if side else 0.0175 * sign
        cv2.line(img, pt(*ankle), pt(ankle[0] + foot, ankle[1] + 0.01), person.boots, thick(0.05),
                 aa, shift)
        if truth is not None:
            for joint, (x, y) in (("hip", (hip_x, y_hip)), ("knee", knee), ("ankle", ankle)):
                joints[f"{_body_side(sign, facing)}_{joint}"] = (x, y)

    # Shorts: a band from the hips down, a little wider than the hips.
    shorts = np.array([pt(-hw, y_hip - 0.02), pt(hw, y_hip - 0.02), pt(hw * 1.15, y_shorts),
                       pt(-hw * 1.15, y_shorts)], np.int32)
    cv2.fillPoly(img, [shorts], kit.shorts, aa, shift)

    # Arms: the far one behind the torso (side view only), the others in front of it.
    def arm(sign: float) -> None:
        shoulder = (sign * sw * 0.9, y_shoulder + 0.02)
        angle = sign * 0.18 - stride * sign * (1.2 if side else 0.6)
        elbow = (shoulder[0] + 0.16 * math.sin(angle), shoulder[1] + 0.16 * math.cos(angle))
        fore = angle + 0.5 * sign if not side else angle - 0.6
        hand = (elbow[0] + 0.15 * math.sin(fore), elbow[1] + 0.15 * math.cos(fore))
        sleeve_end = hand if kit.long_sleeves else (
            shoulder[0] + 0.55 * (elbow[0] - shoulder[0]),
            shoulder[1] + 0.55 * (elbow[1] - shoulder[1]))
        cv2.line(img, pt(*shoulder), pt(*elbow), person.skin, thick(arm_w * 0.85), aa, shift)
        cv2.line(img, pt(*elbow), pt(*hand), person.skin, thick(arm_w * 0.8), aa, shift)
        cv2.line(img, pt(*shoulder), pt(*sleeve_end), kit.shirt, thick(arm_w), aa, shift)
        if sleeve_end is hand:
            cv2.line(img, pt(*elbow), pt(*hand), kit.shirt, thick(arm_w * 0.9), aa, shift)
        if kit.gloves is not None:
            cv2.circle(img, pt(*hand), thick(0.03) * one, kit.gloves, -1, aa, shift)
        if truth is not None:
            for joint, at in (("shoulder", shoulder), ("elbow", elbow), ("wrist", hand)):
                joints[f"{_body_side(sign, facing)}_{joint}"] = at
        if person.role == "side_referee" and sign > 0:  # the assistant's flag
            flag = np.array([pt(hand[0], hand[1] - 0.02), pt(hand[0] + 0.09, hand[1] - 0.05),
                             pt(hand[0] + 0.09, hand[1] + 0.03), pt(hand[0], hand[1] + 0.05)],
                            np.int32)
            cv2.fillPoly(img, [flag], (30, 220, 245) if stride > 0 else (40, 40, 220), aa, shift)

    if side:
        arm(-1)

    # Torso: a trapezoid filled with the shirt pattern.
    torso = np.array(
        [pt(-sw, y_shoulder), pt(sw, y_shoulder), pt(hw, y_hip), pt(-hw, y_hip)], np.int32)
    x0, y0 = (torso.min(axis=0) >> shift) - 1
    x1, y1 = (torso.max(axis=0) >> shift) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    if x1 > x0 and y1 > y0:
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [torso - np.array([x0 << shift, y0 << shift], np.int32)], 255, aa, shift)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        u, v = (xx - cx) / size, (yy - top) / size  # figure coordinates
        period = 0.07 * width
        trim = {
            "plain": np.zeros_like(u, bool),
            "stripes": np.floor(u / period) % 2 == 1,
            "hoops": np.floor((v - y_shoulder) / 0.06) % 2 == 1,
            "halves": (u > 0) if facing != "back" else (u < 0),
            "sash": np.abs((u + (v - y_shoulder) * 0.7) - 0.02) < 0.04,
        }[kit.pattern]
        shirt = np.where(
            trim[..., None], np.array(kit.trim, np.float32), np.array(kit.shirt, np.float32))
        alpha = mask[..., None].astype(np.float32) / 255
        region = img[y0:y1, x0:x1].astype(np.float32)
        img[y0:y1, x0:x1] = (alpha * shirt + (1 - alpha) * region).astype(np.uint8)

    # The shirt number: large on the back, small on the chest, none from the side.
    if person.number is not None and not side and (facing == "back" or kit.front_number):
        text = str(person.number)
        text_h = (0.12 if facing == "back" else 0.05) * size
        if text_h >= 4:
            if facing == "back":
                centre = (cx, top + (y_shoulder + 0.15) * size)
            else:
                centre = (cx + 0.05 * size, top + (y_shoulder + 0.07) * size)
            if kit.number_font == "simplex":  # the ReID thumbnails' original drawing
                (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
                scale = text_h / th
                line_w = max(1, int(round(text_h / 6)))
                origin = (int(round(centre[0] - tw * scale / 2)), int(round(centre[1] + text_h / 2)))
                cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, kit.number, line_w, aa)
                if truth is not None:
                    mask = np.zeros(img.shape[:2], np.uint8)
                    cv2.putText(mask, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, line_w, aa)
                    x, boxes = origin[0], []
                    for w in _digit_widths(text, "simplex", text_h):
                        boxes.append((x, centre[1] - text_h / 2, x + w, centre[1] + text_h / 2))
                        x += w
            else:
                boxes = _draw_number(img, text, centre, text_h, kit.number, kit.number_font)
                if truth is not None:
                    mask = np.zeros(img.shape[:2], np.uint8)
                    _draw_number(mask, text, centre, text_h, 255, kit.number_font)
            if truth is not None:  # what the number's pixels look like before anything covers them
                truth.update(number=text, number_side=facing, digit_boxes=boxes, number_mask=mask,
                             number_drawn=img.copy())

    arm(1)
    if not side:
        arm(-1)

    # Neck and head, then the hair as seen from this side.
    cv2.line(img, pt(0, head[1] + head_r * 0.8), pt(0, y_shoulder), person.skin, thick(0.05),
             aa, shift)
    r = int(round(head_r * size * one))
    style = person.hair_style
    if style == "curly":
        cv2.circle(img, pt(0, head[1] - head_r * 0.25), int(r * 1.3), person.hair, -1, aa, shift)
    if style == "long" or (style == "bun" and facing != "front"):
        hang = 0.09 if style == "long" else 0.0
        cv2.ellipse(img, pt(0 if not side else -head_r * 0.6, head[1] + hang / 2),
                    (int(r * 1.05), int(r + hang * size * one / 2)), 0, 0, 360, person.hair, -1,
                    aa, shift)
    if style == "bun" and facing != "front":
        cv2.circle(img, pt(-head_r * 0.9 if side else 0, head[1] - head_r * 0.9), int(r * 0.45),
                   person.hair, -1, aa, shift)
    covered = style in ("short", "long", "curly", "bun")
    cv2.circle(img, pt(*head), r, person.hair if (facing == "back" and covered) else person.skin,
               -1, aa, shift)
    if facing != "back":
        if style in ("short", "long", "bun", "curly"):
            start = 180 if not side else 150
            cap_x = head[0] - (head_r * 0.15 if side else 0)
            cv2.ellipse(img, pt(cap_x, head[1]), (int(r * 1.05), r), 0, start, 360, person.hair, -1,
                        aa, shift)
        if person.beard:
            cv2.ellipse(img, pt(*head), (int(r * 0.9), int(r * 0.95)), 0, 20, 160, person.hair,
                        max(1, int(round(head_r * size * 0.3))), aa, shift)
        if size > 110:  # eyes, once the face is big enough to show them
            for ex in ((-0.3, 0.3) if not side else (0.45,)):
                cv2.circle(img, pt(head[0] + ex * head_r, head[1]), max(one, int(r * 0.12)),
                           (30, 30, 30), -1, aa, shift)
    if style == "buzz":  # a thin layer of hair: blend it over the skin of the upper head
        overlay = img.copy()
        cv2.ellipse(overlay, pt(*head), (r, r), 0, 180 if facing != "back" else 0, 360,
                    person.hair, -1, aa, shift)
        cv2.addWeighted(overlay, 0.55, img, 0.45, 0, dst=img)
    if truth is not None:
        truth["keypoints"] = _keypoints(joints, head, head_r, facing, cx, top, size)


def _body_side(sign: float, facing: str) -> str:
    """The person's own side drawn at x sign * offset: their left is on the image's right when
    they face the camera (and, by convention here, in a side view)."""
    return "left" if (sign > 0) == (facing != "back") else "right"


def _keypoints(joints, head, head_r, facing, cx, top, size) -> dict[str, tuple[float, float, int]]:
    """The 17 COCO keypoints in image pixels with COCO's visibility flags (2 visible, 1 hidden
    but inferable, 0 not there); face points are absent from behind, the far ones from the side."""
    x0, y0 = head
    face = {"nose": (x0, y0 + 0.2 * head_r)}
    for sign in (1, -1):
        who = _body_side(sign, facing)
        face[f"{who}_eye"] = (x0 + sign * 0.3 * head_r, y0)
        face[f"{who}_ear"] = (x0 + sign * 0.95 * head_r, y0 + 0.1 * head_r)
    out = {}
    for name in COCO_KEYPOINTS:
        if name in joints:
            x, y = joints[name]
            visible = 1 if facing == "side" and name.startswith("right") else 2
        else:
            x, y = face[name]
            visible = 0 if facing == "back" or (facing == "side" and name.startswith("right")) else 2
            if facing == "side" and name != "nose":  # a profile: the near eye and ear ahead
                x = x0 + (0.55 if "eye" in name else 0.1) * head_r
        out[name] = (cx + x * size, top + y * size, visible)
    return out


def _background(view: View, rng: np.random.Generator) -> np.ndarray:
    h, w = view.height, view.width
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    # Mowing stripes: broad light/dark bands across the pitch.
    bands = np.sign(np.sin((yy * 0.9 + xx * 0.3) / max(h, 1) * 5 + view.stripe_phase)) * 9
    img = np.array(view.grass, np.float32)[None, None, :] + bands[..., None]
    img = img + rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if view.line is not None:
        x, y, angle = view.line
        p = np.array([x * w, y * h])
        d = np.array([math.cos(angle), math.sin(angle)]) * (h + w)
        cv2.line(img, tuple(int(v) for v in p - d), tuple(int(v) for v in p + d), (215, 225, 220),
                 max(1, h // 50), cv2.LINE_AA)
    return img


def render(person: Person, view: View) -> np.ndarray:
    """One thumbnail of `person` as seen in `view`: BGR uint8 `[view.height, view.width, 3]`."""
    return render_with_truth(person, view)[0]


def _fold(img: np.ndarray, truth: dict, fold: tuple[float, float, float], colour) -> None:
    """Folds the shirt over part of its number, in place: a band of shirt colour across the digits
    with a dark crease on its edge. fold = (centre across the number in [0, 1], tilt in radians,
    width as a share of the number's width)."""
    boxes = truth["digit_boxes"]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    centre_x = x0 + fold[0] * (x1 - x0)
    half = fold[2] * (x1 - x0) / 2
    dx = math.tan(fold[1]) * (y1 - y0) / 2
    pad = 0.15 * (y1 - y0)
    band = np.array([(centre_x - half - dx, y0 - pad), (centre_x + half - dx, y0 - pad),
                     (centre_x + half + dx, y1 + pad), (centre_x - half + dx, y1 + pad)])
    cv2.fillPoly(img, [np.round(band * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)
    crease = tuple(int(c * 0.55) for c in colour)
    cv2.line(img, tuple(np.round(band[1] * 16).astype(int)), tuple(np.round(band[2] * 16).astype(int)),
             crease, max(1, int(round((y1 - y0) / 12))), cv2.LINE_AA, 4)


def render_with_truth(person: Person, view: View, *, fold: tuple[float, float, float] | None = None
                      ) -> tuple[np.ndarray, dict]:
    """`render`, plus where the person's keypoints and number ended up.

    fold: optionally fold the shirt over part of the number (see `_fold`).

    Returns the BGR image and a dict: "keypoints" (see `draw_figure`), and, when the number was
    painted, "number", "number_side", "digit_boxes" and "number_visible": the share of the
    number's pixels still showing after arms, folds and people in front were drawn (before
    lighting, blur and noise).
    """
    rng = np.random.default_rng(view.seed)
    img = _background(view, rng)
    h, w = view.height, view.width
    size = view.figure_scale * h
    top = max(0.0, (1 - view.figure_scale) * h / 2) + view.offset[1] * h + 0.02 * h
    cx = w / 2 + view.offset[0] * h
    # A shadow under the feet.
    cv2.ellipse(img, (int(cx), int(top + size * 0.98)),
                (max(1, int(0.12 * size)), max(1, int(0.025 * size))), 0, 0, 360,
                tuple(int(c * 0.6) for c in view.grass), -1, cv2.LINE_AA)
    if view.occluder is not None:
        other, dx, scale, in_front = view.occluder
        draw_other = lambda: draw_figure(  # noqa: E731
            img, other, cx=cx + dx * h, top=top + (1 - scale) * size * 0.5, size=size * scale,
            facing=FACINGS[view.seed % 3], stride=0.3 * ((view.seed >> 2) % 3 - 1))
        if not in_front:
            draw_other()
    truth: dict = {}
    draw_figure(img, person, cx=cx, top=top, size=size, facing=view.facing, stride=view.stride,
                 truth=truth)
    if fold is not None and "number" in truth:
        _fold(img, truth, fold, person.kit.shirt)
    if view.occluder is not None and view.occluder[3]:
        draw_other()
    mask, drawn = truth.pop("number_mask", None), truth.pop("number_drawn", None)
    if mask is not None:
        core = mask > 128
        unchanged = np.abs(img.astype(np.int32) - drawn).sum(axis=-1) < 30
        truth["number_visible"] = float((core & unchanged).sum() / max(core.sum(), 1))
    out = img.astype(np.float32) * np.array(view.gain, np.float32)
    if view.blur > 1:
        kernel = np.zeros((view.blur, view.blur), np.float32)
        c = (view.blur - 1) / 2
        d = (math.cos(view.blur_angle) * c, math.sin(view.blur_angle) * c)
        cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))),
                 (int(round(c + d[0])), int(round(c + d[1]))), 1.0, 1)
        out = cv2.filter2D(out, -1, kernel / kernel.sum())
    out += rng.normal(0, view.noise, out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    # Broadcast frames are compressed video: a JPEG round trip gives the same block artefacts.
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, view.jpeg_quality])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), truth


# ---------------------------------------------------------------------------------------------
# Actions


@dataclasses.dataclass(frozen=True)
class _Box:
    person: Person
    slot: int  # the person's index within the action
    frame: int  # 0: the action frame, 1..: replays
    view: View


@dataclasses.dataclass
class _Action:
    game: str
    name: str  # the action folder, its index within the game
    people: list[Person]
    roles: list[str]  # the class field per person
    ids: list[str]  # the ID field per person
    frames: int  # 1 + replays
    boxes: list[_Box]
    uais: dict[tuple[int, int], str]


def _cast(rng: np.random.Generator, roster: Mapping[str, list[Person]], count: int) -> list[Person]:
    """Who is in the action: mostly players of both teams, sometimes keepers, referees, staff."""
    people = []
    if rng.uniform() < 0.35:
        people.append(roster["goalkeeper"][rng.integers(2)])
    if rng.uniform() < 0.5:
        people.append(roster["main_referee"][0])
    if rng.uniform() < 0.15:
        people.append(roster["side_referee"][rng.integers(2)])
    if rng.uniform() < 0.07:
        people.append(roster["staff"][rng.integers(len(roster["staff"]))])
    players = roster["player"]
    chosen = rng.choice(len(players), size=max(count - len(people), 1), replace=False)
    people += [players[i] for i in chosen]
    return [people[i] for i in rng.permutation(len(people))][:count]


def _role(person: Person, left_team: int | None) -> str:
    if person.role in ("player", "goalkeeper"):
        prefix = "Player" if person.role == "player" else "Goalkeeper"
        if left_team is None:
            return f"{prefix}_team_unknown" + (f"_{person.team + 1}" if prefix == "Player" else "")
        return f"{prefix}_team_" + ("left" if person.team == left_team else "right")
    return {"main_referee": "Main_referee", "side_referee": "Side_referee",
            "staff": "Staff_members"}[person.role]


def _view(rng: np.random.Generator, frame_look: dict, occluder: Person | None,
          image_scale: float) -> View:
    h = max(MIN_HEIGHT, int(round(frame_look["height"] * rng.uniform(0.85, 1.15) * image_scale)))
    facing = FACINGS[rng.choice(3, p=[0.4, 0.35, 0.25])]
    stride = float(rng.uniform(-0.45, 0.45))
    aspect = (0.36 if facing == "side" else 0.42) + abs(stride) * 0.35 + rng.uniform(-0.04, 0.08)
    w = max(8, int(round(h * aspect)))
    # Mostly the whole body with a small margin; one box in ten cuts the feet off.
    figure_scale = float(rng.uniform(0.86, 0.97) if rng.uniform() > 0.1 else rng.uniform(1.05, 1.2))
    occlusion = None
    if occluder is not None and rng.uniform() < 0.25:
        occlusion = (occluder, float(rng.choice([-1, 1]) * rng.uniform(0.22, 0.4)),
                     float(rng.uniform(0.85, 1.1)), bool(rng.uniform() < 0.7))
    gain = np.array(frame_look["gain"]) * rng.uniform(0.95, 1.05, 3)
    return View(
        height=h, width=w, facing=facing, stride=stride, figure_scale=figure_scale,
        offset=(float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.03, 0.03))),
        grass=frame_look["grass"], stripe_phase=float(rng.uniform(0, 2 * math.pi)),
        line=frame_look["line"] if rng.uniform() < 0.5 else None,
        gain=tuple(float(g) for g in gain), blur=frame_look["blur"],
        blur_angle=frame_look["blur_angle"], noise=float(rng.uniform(1.5, 5)),
        jpeg_quality=int(rng.integers(35, 91)), occluder=occlusion,
        seed=int(rng.integers(2**31)))


def _frame_look(rng: np.random.Generator, kind: str) -> dict:
    """What all thumbnails of one frame share: camera distance, grass, light, blur."""
    lo, hi = FRAME_HEIGHTS[kind]
    return {
        "height": float(rng.uniform(lo, hi)),
        "grass": _jitter(rng, (50, 135, 45), 12),
        "line": (float(rng.uniform(0, 1)), float(rng.uniform(0.5, 1)), float(rng.uniform(0, math.pi)))
        if rng.uniform() < 0.35 else None,
        "gain": tuple(float(rng.uniform(0.78, 1.2)) * rng.uniform(0.94, 1.06, 3)),
        "blur": int(rng.integers(2, 6)) if rng.uniform() < 0.35 else 0,
        "blur_angle": float(rng.uniform(0, math.pi)),
    }


def _plan_action(game: str, index_in_game: int, key: tuple, *, seed: int,
                 players_per_action: tuple[int, int], replays_per_action: tuple[int, int],
                 image_scale: float, need_query: bool) -> _Action:
    rng = _rng(seed, *key)
    roster = game_roster(game, seed)
    count = int(rng.integers(players_per_action[0], players_per_action[1] + 1))
    people = _cast(rng, roster, count)
    replays = int(rng.integers(replays_per_action[0], replays_per_action[1] + 1))
    frames = 1 + replays
    # Who is seen where: every person in at least one frame.
    seen = np.zeros((len(people), frames), bool)
    seen[:, 0] = rng.uniform(size=len(people)) < 0.75
    seen[:, 1:] = rng.uniform(size=(len(people), replays)) < 0.55
    for i in np.flatnonzero(~seen.any(axis=1)):
        seen[i, rng.integers(frames)] = True
    if need_query and not (seen[:, 0] & seen[:, 1:].any(axis=1)).any():
        i = int(rng.integers(len(people)))
        seen[i, 0] = seen[i, 1 + rng.integers(replays)] = True
    left_team = None if rng.uniform() < UNKNOWN_SIDE_FRACTION else int(rng.integers(2))
    looks = [_frame_look(rng, "action" if f == 0 else "replay") for f in range(frames)]
    boxes = []
    readable = np.zeros(len(people), bool)
    for f in range(frames):
        in_frame = [i for i in range(len(people)) if seen[i, f]]
        for i in in_frame:
            others = [people[j] for j in in_frame if j != i]
            occluder = others[rng.integers(len(others))] if others else None
            view = _view(rng, looks[f], occluder, image_scale)
            boxes.append(_Box(people[i], i, f, view))
            # Readable: drawn at least 6 px tall (the back number is 0.12, the chest one 0.05
            # of the figure's height; none from the side).
            size = view.height * view.figure_scale
            readable[i] |= people[i].number is not None and (
                (view.facing == "back" and 0.12 * size >= 6)
                or (view.facing == "front" and 0.05 * size >= 6))
    # ID: the number if readable once, "None" if seen in one frame only, else a letter.
    ids, letters = [], iter("abcdefghijklmnopqrstuvwxyz")
    for i in range(len(people)):
        if seen[i].sum() == 1:
            ids.append("None")
        elif readable[i]:
            ids.append(str(people[i].number))
        else:
            ids.append(next(letters))
    game_code = zlib.crc32(game.encode()) & 0xFFF
    uais = {}
    for box in boxes:
        tail = "".join(f"{v:x}" for v in rng.integers(16, size=13))
        uais[box.slot, box.frame] = (f"{game_code:03x}a{index_in_game:03d}{tail}" if box.frame == 0
                                     else f"{index_in_game:03d}r{box.frame:03d}_{tail[1:]}")
    return _Action(game, str(index_in_game), people, [_role(p, left_team) for p in people], ids,
                   frames, boxes, uais)


def _spread(games: Sequence[str], count: int) -> list[str]:
    """`count` games spread over the official list (so several leagues and seasons show up)."""
    return [games[i * len(games) // count] for i in range(count)]


def write_soccernet_reid(
    root: str | os.PathLike,
    *,
    actions_per_split: Mapping[str, int] = DEFAULT_ACTIONS_PER_SPLIT,
    players_per_action: tuple[int, int] = (8, 14),
    replays_per_action: tuple[int, int] = (1, 3),
    image_scale: float = 1.0,
    seed: int = 0,
) -> dict[str, dict[str, int]]:
    """Writes a synthetic SoccerNet ReID tree under `root` (the folder that plays `<...>/reid`).

    Args:
      root: where to write `train/`, `valid/`, `test/`, `challenge/` and the bbox_info files.
      actions_per_split: actions to write per split; splits not named get no folder.
      players_per_action: (min, max) people per action, both included.
      replays_per_action: (min, max) replay frames per action, both included.
      image_scale: multiplies every thumbnail size (heights ~60-250 px at 1).
      seed: everything is a deterministic function of the arguments.

    Returns:
      split -> counts: `actions`, `frames`, `identities` (distinct person_uids), and the images
      written: `train` for the train split, `query` and `gallery` for the others.
    """
    for split, count in actions_per_split.items():
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}")
        if count < 0:
            raise ValueError(f"{split}: {count} actions asked")
    lo, hi = players_per_action
    if not 1 <= lo <= hi:
        raise ValueError(f"players_per_action {players_per_action} must be 1 <= min <= max")
    if not 1 <= replays_per_action[0] <= replays_per_action[1]:
        raise ValueError(f"replays_per_action {replays_per_action} must be 1 <= min <= max")
    if image_scale <= 0:
        raise ValueError(f"image_scale must be positive, got {image_scale}")
    root = os.fspath(root)
    counts = {}
    next_uid = 0
    for split in (s for s in SPLITS if s in actions_per_split):
        n_actions = actions_per_split[split]
        official = list_games(split)
        games = _spread(official, min(len(official), max(1, math.ceil(n_actions / ACTIONS_PER_GAME))))
        actions = []
        for a in range(n_actions):
            game = games[min(a // ACTIONS_PER_GAME, len(games) - 1)]
            index_in_game = a - games.index(game) * ACTIONS_PER_GAME
            actions.append(_plan_action(
                game, index_in_game, ("action", split, a), seed=seed,
                players_per_action=players_per_action, replays_per_action=replays_per_action,
                image_scale=image_scale, need_query=split != "train"))
        next_bbox = {"train": 0, "query": 0, "gallery": 0}
        samples: dict[str, list[ReidSample]] = {"train": [], "query": [], "gallery": []}
        next_frame = 0
        for action_idx, action in enumerate(actions):
            uids = list(range(next_uid, next_uid + len(action.people)))
            next_uid += len(action.people)
            in_replay = {b.slot for b in action.boxes if b.frame > 0}
            # Official list order: per action, the action frame first, then the replays.
            for box in action.boxes:
                if split == "train":
                    subset = "train"
                else:
                    subset = "query" if box.frame == 0 and box.slot in in_replay else "gallery"
                bbox_idx = next_bbox[subset]
                next_bbox[subset] += 1
                view = box.view
                fields = dict(person_uid=uids[box.slot], frame_idx=next_frame + box.frame,
                              role=action.roles[box.slot], jersey=action.ids[box.slot],
                              uai=action.uais[box.slot, box.frame])
                if split == "challenge":
                    folder = os.path.join(split, subset)
                    name = format_filename(bbox_idx, action_idx, view.height, view.width)
                    place = {}
                else:
                    league, season, game = action.game.split("/")
                    place = dict(league=league, season=season, game=game, action=action.name)
                    parts = ([split] if split == "train" else [split, subset]) + list(place.values())
                    folder = os.path.join(*parts)
                    name = format_filename(bbox_idx, action_idx, view.height, view.width, **fields)
                image = render(box.person, view)
                ok, png = cv2.imencode(".png", image)
                assert ok
                os.makedirs(os.path.join(root, folder), exist_ok=True)
                with open(os.path.join(root, folder, name), "wb") as f:
                    f.write(png.tobytes())
                samples[subset].append(ReidSample(
                    path=f"{folder}/{name}".replace(os.sep, "/"), split=split, subset=subset,
                    bbox_idx=bbox_idx, action_idx=action_idx, height=view.height, width=view.width,
                    **fields, **place))
            next_frame += action.frames
        split_counts = {"actions": n_actions, "frames": next_frame,
                        "identities": len({s.person_uid for v in samples.values() for s in v})}
        if split == "train":
            split_counts["train"] = len(samples["train"])
        else:
            split_counts.update(query=len(samples["query"]), gallery=len(samples["gallery"]))
            if n_actions:
                write_bbox_info(os.path.join(root, bbox_info_file(split)), samples["query"],
                                samples["gallery"])
        counts[split] = split_counts
    return counts


@user_errors
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder to write the reid tree into")
    parser.add_argument(
        "--actions", type=split_counts, default=dict(DEFAULT_ACTIONS_PER_SPLIT),
        help="actions per split, e.g. train=24,valid=4,test=4,challenge=2 (splits left out get none)")
    parser.add_argument("--image_scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    counts = write_soccernet_reid(
        args.root, actions_per_split=args.actions, image_scale=args.image_scale, seed=args.seed)
    for split, c in counts.items():
        print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in c.items()))


if __name__ == "__main__":
    main()
