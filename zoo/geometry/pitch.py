"""The 3D soccer pitch of the SoccerNet calibration task: dimensions, line elements, sampling.

World frame of the task (REFERENCE.md §5.1): origin at the centre spot, x along the length
(the left goal at x = -52.5), y across the pitch (+y is the bottom touch line, the side of the
main cameras), z pointing *down*, so the crossbars lie at z = -2.44 and a camera above the pitch
has a negative z.

The 26 pitch elements are 23 straight segments (touch lines, halfway line, penalty and goal
areas, goal posts and crossbars) and 3 circles (centre circle, penalty arcs). The annotation
vocabulary (`LINE_CLASSES`) adds "Goal unknown" and "Line unknown", which have no 3D element.
Class names are exact strings; note the trailing space of "Goal left post left ".

Sampling follows the evaluator's model exactly (same points, same order, same floating-point
values): a straight element from its first to its second extremity every `line_step` metres (the
last step shorter), the centre circle every `circle_step` metres of arc from angle 0 (not closed),
a penalty arc every `circle_step` metres from one end to the other, both ends included.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Mapping

import numpy as np

PITCH_LENGTH = 105.0
PITCH_WIDTH = 68.0
GOAL_LINE_TO_PENALTY_MARK = 11.0
PENALTY_AREA_WIDTH = 40.32
PENALTY_AREA_LENGTH = 16.5
GOAL_AREA_WIDTH = 18.32
GOAL_AREA_LENGTH = 5.5
CENTER_CIRCLE_RADIUS = 9.15
GOAL_HEIGHT = 2.44
GOAL_WIDTH = 7.32  # distance between the posts ("GOAL_LENGTH" in the official code)

# The evaluator samples straight elements every 0.9 m and circles every 0.2 m.
EVALUATION_LINE_STEP = 0.9
EVALUATION_CIRCLE_STEP = 0.2

# Annotation classes, in the order of the official `lines_classes` list.
LINE_CLASSES: tuple[str, ...] = (
    "Big rect. left bottom",
    "Big rect. left main",
    "Big rect. left top",
    "Big rect. right bottom",
    "Big rect. right main",
    "Big rect. right top",
    "Circle central",
    "Circle left",
    "Circle right",
    "Goal left crossbar",
    "Goal left post left ",
    "Goal left post right",
    "Goal right crossbar",
    "Goal right post left",
    "Goal right post right",
    "Goal unknown",
    "Line unknown",
    "Middle line",
    "Side line bottom",
    "Side line left",
    "Side line right",
    "Side line top",
    "Small rect. left bottom",
    "Small rect. left main",
    "Small rect. left top",
    "Small rect. right bottom",
    "Small rect. right main",
    "Small rect. right top",
)
CLASS_INDEX: Mapping[str, int] = types.MappingProxyType({c: i for i, c in enumerate(LINE_CLASSES)})
UNKNOWN_CLASSES: tuple[str, ...] = ("Goal unknown", "Line unknown")
CIRCLE_CLASSES: tuple[str, ...] = ("Circle central", "Circle left", "Circle right")

# Straight elements as (first extremity, second extremity) key points, in the evaluator's order;
# the order of the extremities sets the direction in which an element is sampled.
STRAIGHT_ELEMENTS: Mapping[str, tuple[str, str]] = types.MappingProxyType(
    {
        "Big rect. left bottom": ("L_PENALTY_AREA_BL_CORNER", "L_PENALTY_AREA_BR_CORNER"),
        "Big rect. left top": ("L_PENALTY_AREA_TL_CORNER", "L_PENALTY_AREA_TR_CORNER"),
        "Big rect. left main": ("L_PENALTY_AREA_TR_CORNER", "L_PENALTY_AREA_BR_CORNER"),
        "Big rect. right bottom": ("R_PENALTY_AREA_BL_CORNER", "R_PENALTY_AREA_BR_CORNER"),
        "Big rect. right top": ("R_PENALTY_AREA_TL_CORNER", "R_PENALTY_AREA_TR_CORNER"),
        "Big rect. right main": ("R_PENALTY_AREA_TL_CORNER", "R_PENALTY_AREA_BL_CORNER"),
        "Small rect. left bottom": ("L_GOAL_AREA_BL_CORNER", "L_GOAL_AREA_BR_CORNER"),
        "Small rect. left top": ("L_GOAL_AREA_TL_CORNER", "L_GOAL_AREA_TR_CORNER"),
        "Small rect. left main": ("L_GOAL_AREA_TR_CORNER", "L_GOAL_AREA_BR_CORNER"),
        "Small rect. right bottom": ("R_GOAL_AREA_BL_CORNER", "R_GOAL_AREA_BR_CORNER"),
        "Small rect. right top": ("R_GOAL_AREA_TL_CORNER", "R_GOAL_AREA_TR_CORNER"),
        "Small rect. right main": ("R_GOAL_AREA_TL_CORNER", "R_GOAL_AREA_BL_CORNER"),
        "Side line top": ("TL_PITCH_CORNER", "TR_PITCH_CORNER"),
        "Side line bottom": ("BL_PITCH_CORNER", "BR_PITCH_CORNER"),
        "Side line left": ("TL_PITCH_CORNER", "BL_PITCH_CORNER"),
        "Side line right": ("TR_PITCH_CORNER", "BR_PITCH_CORNER"),
        "Middle line": (
            "T_TOUCH_AND_HALFWAY_LINES_INTERSECTION",
            "B_TOUCH_AND_HALFWAY_LINES_INTERSECTION",
        ),
        "Goal left crossbar": ("L_GOAL_TR_POST", "L_GOAL_TL_POST"),
        "Goal left post left ": ("L_GOAL_TL_POST", "L_GOAL_BL_POST"),
        "Goal left post right": ("L_GOAL_TR_POST", "L_GOAL_BR_POST"),
        "Goal right crossbar": ("R_GOAL_TL_POST", "R_GOAL_TR_POST"),
        "Goal right post left": ("R_GOAL_TL_POST", "R_GOAL_BL_POST"),
        "Goal right post right": ("R_GOAL_TR_POST", "R_GOAL_BR_POST"),
    }
)
# Elements with a 3D model, in the evaluator's sampling order (centre circle first, arcs last).
ELEMENT_CLASSES: tuple[str, ...] = (
    ("Circle central",) + tuple(STRAIGHT_ELEMENTS) + ("Circle right", "Circle left")
)


def _mirror_pairs() -> dict[str, str]:
    """Each class and its image under the point reflection through the centre spot."""
    swap_side = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
    mirrored = {}
    for name in LINE_CLASSES:
        words = name.strip().split(" ")
        if name.startswith("Goal") and "post" in words:
            # "Goal left post left ": the goal and the post both change side.
            image = f"Goal {swap_side[words[1]]} post {words[3]}"
        else:
            image = " ".join(swap_side.get(w, w) for w in words)
        mirrored[name] = image
    # Restore the trailing space of the one class name that has it.
    return {k: v if v in CLASS_INDEX else v + " " for k, v in mirrored.items()}


# Class -> class under the point reflection through the centre spot (left <-> right and
# top <-> bottom); the evaluator scores the labels as given and mirrored, keeping the better.
MIRRORED_CLASS: Mapping[str, str] = types.MappingProxyType(_mirror_pairs())


@dataclasses.dataclass(frozen=True)
class Pitch:
    """A pitch of the given size (metres); other dimensions as in the Laws of the Game.

    The evaluator uses the default 105 x 68 m. (Its model places the top-left corner at y = -34
    whatever the width, a slip not copied here: other widths move that corner too.)
    """

    length: float = PITCH_LENGTH
    width: float = PITCH_WIDTH

    def key_points(self) -> dict[str, np.ndarray]:
        """Named 3D points [3] (corners, marks, post feet and tops, arc ends), in metres."""
        half_length, half_width = self.length / 2.0, self.width / 2.0
        radius = CENTER_CIRCLE_RADIUS

        def point(x, y, z=0.0):
            return np.array([x, y, z], dtype=np.float64)

        points = {
            "CENTER_MARK": point(0, 0),
            "L_PENALTY_MARK": point(-half_length + GOAL_LINE_TO_PENALTY_MARK, 0),
            "R_PENALTY_MARK": point(half_length - GOAL_LINE_TO_PENALTY_MARK, 0),
            "TL_PITCH_CORNER": point(-half_length, -half_width),
            "BL_PITCH_CORNER": point(-half_length, half_width),
            "TR_PITCH_CORNER": point(half_length, -half_width),
            "BR_PITCH_CORNER": point(half_length, half_width),
            "T_TOUCH_AND_HALFWAY_LINES_INTERSECTION": point(0, -half_width),
            "B_TOUCH_AND_HALFWAY_LINES_INTERSECTION": point(0, half_width),
            "T_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION": point(0, -radius),
            "B_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION": point(0, radius),
        }
        for prefix, depth, area_width in (
            ("PENALTY_AREA", PENALTY_AREA_LENGTH, PENALTY_AREA_WIDTH),
            ("GOAL_AREA", GOAL_AREA_LENGTH, GOAL_AREA_WIDTH),
        ):
            # T/B: top (-y) / bottom (+y) side; L/R: towards -x / +x.
            points[f"L_{prefix}_TL_CORNER"] = point(-half_length, -area_width / 2.0)
            points[f"L_{prefix}_TR_CORNER"] = point(-half_length + depth, -area_width / 2.0)
            points[f"L_{prefix}_BL_CORNER"] = point(-half_length, area_width / 2.0)
            points[f"L_{prefix}_BR_CORNER"] = point(-half_length + depth, area_width / 2.0)
            points[f"R_{prefix}_TL_CORNER"] = point(half_length - depth, -area_width / 2.0)
            points[f"R_{prefix}_TR_CORNER"] = point(half_length, -area_width / 2.0)
            points[f"R_{prefix}_BL_CORNER"] = point(half_length - depth, area_width / 2.0)
            points[f"R_{prefix}_BR_CORNER"] = point(half_length, area_width / 2.0)
        # Posts are named as seen from the pitch centre looking at the goal: T = top of the post
        # (z = -goal height), B = its foot; the left goal's left post is at +y.
        post = GOAL_WIDTH / 2.0
        points["L_GOAL_TL_POST"] = point(-half_length, post, -GOAL_HEIGHT)
        points["L_GOAL_TR_POST"] = point(-half_length, -post, -GOAL_HEIGHT)
        points["L_GOAL_BL_POST"] = point(-half_length, post, 0.0)
        points["L_GOAL_BR_POST"] = point(-half_length, -post, 0.0)
        points["R_GOAL_TL_POST"] = point(half_length, -post, -GOAL_HEIGHT)
        points["R_GOAL_TR_POST"] = point(half_length, post, -GOAL_HEIGHT)
        points["R_GOAL_BL_POST"] = point(half_length, -post, 0.0)
        points["R_GOAL_BR_POST"] = point(half_length, post, 0.0)
        # Where the penalty arcs meet the penalty-area lines.
        arc_dx = PENALTY_AREA_LENGTH - GOAL_LINE_TO_PENALTY_MARK
        arc_y = np.sqrt(radius * radius - arc_dx * arc_dx)
        for side, x in (
            ("L", -half_length + PENALTY_AREA_LENGTH),
            ("R", half_length - PENALTY_AREA_LENGTH),
        ):
            points[f"T{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"] = point(x, -arc_y)
            points[f"B{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"] = point(x, arc_y)
        return points

    def straight_elements(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The 23 straight elements: class -> (first extremity [3], second extremity [3])."""
        points = self.key_points()
        return {name: (points[a], points[b]) for name, (a, b) in STRAIGHT_ELEMENTS.items()}

    def sample(
        self, line_step: float = EVALUATION_LINE_STEP, circle_step: float = EVALUATION_CIRCLE_STEP
    ) -> dict[str, np.ndarray]:
        """Points along every element: class -> [n, 3], in `ELEMENT_CLASSES` order."""
        if not (line_step > 0 and circle_step > 0):
            raise ValueError(f"sampling steps must be positive, got {line_step}, {circle_step}")
        points = self.key_points()
        radius = CENTER_CIRCLE_RADIUS
        sampled = {}

        # Centre circle: from angle 0 round the full turn, the closing point left out.
        count = int(radius * (2 * np.pi) / circle_step)
        angles = np.arange(1, count) * (circle_step / radius)
        sampled["Circle central"] = _circle_points(
            points["CENTER_MARK"], radius, np.concatenate([[0.0], angles])
        )

        for name, (first, second) in self.straight_elements().items():
            length = np.sqrt(np.sum(np.square(first - second)))
            count = max(int(length / line_step - 1), 0)
            delta = second - first
            step = line_step * (delta / np.linalg.norm(delta))
            # Repeated addition of the step, as the evaluator walks the segment.
            walked = np.cumsum(
                np.concatenate([first[None], np.broadcast_to(step, (count, 3))]), axis=0
            )
            sampled[name] = np.concatenate([walked, second[None]])

        for name, side in (("Circle right", "R"), ("Circle left", "L")):
            mark = points[f"{side}_PENALTY_MARK"]
            top = points[f"T{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"]
            bottom = points[f"B{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"]
            top_angle = np.arctan2(top[1] - mark[1], top[0] - mark[0]) + 2 * np.pi
            bottom_angle = np.arctan2(bottom[1] - mark[1], bottom[0] - mark[0]) + 2 * np.pi
            # The arc runs counter-clockwise (in x-y) through the side facing the pitch centre.
            start, end = (bottom_angle, top_angle) if side == "R" else (top_angle, bottom_angle)
            if end < start:
                end += 2 * np.pi
            count = int(radius * (end - start) / circle_step)
            angles = start + np.arange(1, count + 1) * (circle_step / radius)
            sampled[name] = _circle_points(mark, radius, np.concatenate([[start], angles, [end]]))
        return {name: sampled[name] for name in ELEMENT_CLASSES}


def _circle_points(center: np.ndarray, radius: float, angles: np.ndarray) -> np.ndarray:
    """Points [n, 3] at the given angles on a circle of the pitch plane."""
    x = center[0] + np.cos(angles) * radius
    y = center[1] + np.sin(angles) * radius
    return np.stack([x, y, np.zeros_like(x)], axis=-1)


@dataclasses.dataclass(frozen=True)
class SampledPitch:
    """All sampled elements of a pitch as flat arrays.

    classes: element class of each polyline, [E] names; points [P, 3]; element [P] int: index
    into `classes` of each point; starts [E + 1]: polyline e is points[starts[e] : starts[e + 1]];
    class_index [E]: index of each element's class in `LINE_CLASSES`.
    """

    classes: tuple[str, ...]
    points: np.ndarray
    element: np.ndarray
    starts: np.ndarray
    class_index: np.ndarray


@functools.lru_cache(maxsize=8)
def sampled_pitch(
    line_step: float = EVALUATION_LINE_STEP,
    circle_step: float = EVALUATION_CIRCLE_STEP,
    pitch: Pitch = Pitch(),
) -> SampledPitch:
    """The pitch sampled as the evaluator samples it, flattened (cached; arrays are read-only)."""
    sampled = pitch.sample(line_step, circle_step)
    classes = tuple(sampled)
    lengths = np.array([len(sampled[c]) for c in classes])
    arrays = SampledPitch(
        classes=classes,
        points=np.concatenate([sampled[c] for c in classes]),
        element=np.repeat(np.arange(len(classes)), lengths),
        starts=np.concatenate([[0], np.cumsum(lengths)]),
        class_index=np.array([CLASS_INDEX[c] for c in classes]),
    )
    for array in (arrays.points, arrays.element, arrays.starts, arrays.class_index):
        array.flags.writeable = False
    return arrays


def mirror_index() -> np.ndarray:
    """[28] int: index in `LINE_CLASSES` of the mirrored class of each class."""
    return np.array([CLASS_INDEX[MIRRORED_CLASS[c]] for c in LINE_CLASSES])


# ---------------------------------------------------------------------------------- keypoints
#
# The 57 pitch keypoints that the published heatmap calibrators (No Bells Just Whistles,
# PnLCalib) detect, in the order of their heatmap channels, so that their checkpoints convert
# channel for channel (the background is channel 57): 30 line-line intersections (corners,
# T-junctions, goal posts' tops and feet), 6 line-circle intersections, 8 tangent points of the
# lines from a box corner or a halfway-line end to a circle, and 13 points on the pitch's long
# axis or on the centre circle (penalty marks, arc apexes, the centre, circle points at 45
# degrees). Coordinates come from the pitch model here; the published list has 61.5 for the
# centre circle's right apex (x = 9.0 in this frame) where the circle passes at 9.15.

_AXIS_POINTS = {
    # name -> (x, y) on the pitch plane, for the points that are no official key point.
    "L_PENALTY_AREA_MAIN_LINE_CENTER": ("L", PENALTY_AREA_LENGTH, 0.0),
    "R_PENALTY_AREA_MAIN_LINE_CENTER": ("R", PENALTY_AREA_LENGTH, 0.0),
    "L_PENALTY_ARC_APEX": ("L", GOAL_LINE_TO_PENALTY_MARK + CENTER_CIRCLE_RADIUS, 0.0),
    "R_PENALTY_ARC_APEX": ("R", GOAL_LINE_TO_PENALTY_MARK + CENTER_CIRCLE_RADIUS, 0.0),
}
# (name, how it is defined): an official key point name, ("tangent", circle centre key point,
# external point key point, side) with side the sign of y of the tangent point relative to the
# circle centre, ("circle", angle in degrees) on the centre circle, or ("axis", ...) above.
KEYPOINT_NAMES: tuple[str, ...] = (
    "TL_PITCH_CORNER",
    "T_TOUCH_AND_HALFWAY_LINES_INTERSECTION",
    "TR_PITCH_CORNER",
    "L_PENALTY_AREA_TL_CORNER",
    "L_PENALTY_AREA_TR_CORNER",
    "R_PENALTY_AREA_TL_CORNER",
    "R_PENALTY_AREA_TR_CORNER",
    "L_GOAL_AREA_TL_CORNER",
    "L_GOAL_AREA_TR_CORNER",
    "R_GOAL_AREA_TL_CORNER",
    "R_GOAL_AREA_TR_CORNER",
    "L_GOAL_TR_POST",
    "L_GOAL_BR_POST",
    "R_GOAL_BL_POST",
    "R_GOAL_TL_POST",
    "L_GOAL_TL_POST",
    "L_GOAL_BL_POST",
    "R_GOAL_BR_POST",
    "R_GOAL_TR_POST",
    "L_GOAL_AREA_BL_CORNER",
    "L_GOAL_AREA_BR_CORNER",
    "R_GOAL_AREA_BL_CORNER",
    "R_GOAL_AREA_BR_CORNER",
    "L_PENALTY_AREA_BL_CORNER",
    "L_PENALTY_AREA_BR_CORNER",
    "R_PENALTY_AREA_BL_CORNER",
    "R_PENALTY_AREA_BR_CORNER",
    "BL_PITCH_CORNER",
    "B_TOUCH_AND_HALFWAY_LINES_INTERSECTION",
    "BR_PITCH_CORNER",
    "TL_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
    "T_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION",
    "TR_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
    "BL_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
    "B_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION",
    "BR_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
    "TL_PENALTY_ARC_TANGENT_POINT",
    "TL_CENTER_CIRCLE_TANGENT_POINT",
    "TR_CENTER_CIRCLE_TANGENT_POINT",
    "TR_PENALTY_ARC_TANGENT_POINT",
    "BL_PENALTY_ARC_TANGENT_POINT",
    "BL_CENTER_CIRCLE_TANGENT_POINT",
    "BR_CENTER_CIRCLE_TANGENT_POINT",
    "BR_PENALTY_ARC_TANGENT_POINT",
    "L_PENALTY_MARK",
    "L_PENALTY_AREA_MAIN_LINE_CENTER",
    "L_PENALTY_ARC_APEX",
    "TL_CENTER_CIRCLE_45",
    "TR_CENTER_CIRCLE_45",
    "L_CENTER_CIRCLE_APEX",
    "CENTER_MARK",
    "R_CENTER_CIRCLE_APEX",
    "BL_CENTER_CIRCLE_45",
    "BR_CENTER_CIRCLE_45",
    "R_PENALTY_ARC_APEX",
    "R_PENALTY_AREA_MAIN_LINE_CENTER",
    "R_PENALTY_MARK",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
KEYPOINT_INDEX: Mapping[str, int] = types.MappingProxyType(
    {name: i for i, name in enumerate(KEYPOINT_NAMES)}
)
# Tangent points: (circle centre key point, key point the tangent line passes through).
_TANGENTS = {
    "TL_PENALTY_ARC_TANGENT_POINT": ("L_PENALTY_MARK", "L_PENALTY_AREA_TR_CORNER"),
    "TR_PENALTY_ARC_TANGENT_POINT": ("R_PENALTY_MARK", "R_PENALTY_AREA_TL_CORNER"),
    "BL_PENALTY_ARC_TANGENT_POINT": ("L_PENALTY_MARK", "L_PENALTY_AREA_BR_CORNER"),
    "BR_PENALTY_ARC_TANGENT_POINT": ("R_PENALTY_MARK", "R_PENALTY_AREA_BL_CORNER"),
    "TL_CENTER_CIRCLE_TANGENT_POINT": ("CENTER_MARK", "T_TOUCH_AND_HALFWAY_LINES_INTERSECTION"),
    "TR_CENTER_CIRCLE_TANGENT_POINT": ("CENTER_MARK", "T_TOUCH_AND_HALFWAY_LINES_INTERSECTION"),
    "BL_CENTER_CIRCLE_TANGENT_POINT": ("CENTER_MARK", "B_TOUCH_AND_HALFWAY_LINES_INTERSECTION"),
    "BR_CENTER_CIRCLE_TANGENT_POINT": ("CENTER_MARK", "B_TOUCH_AND_HALFWAY_LINES_INTERSECTION"),
}


def _tangent_points(center: np.ndarray, through: np.ndarray, radius: float) -> np.ndarray:
    """The two points [2, 3] where the tangents from `through` touch the circle of the plane."""
    offset = through[:2] - center[:2]
    distance = np.hypot(*offset)
    spread = np.arccos(radius / distance)
    angle = np.arctan2(offset[1], offset[0])
    angles = np.array([angle - spread, angle + spread])
    return np.stack(
        [center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles), np.zeros(2)], -1
    )


def keypoints(pitch: Pitch = Pitch()) -> np.ndarray:
    """World coordinates [57, 3] of `KEYPOINT_NAMES` (metres; post tops at z = -goal height)."""
    named = pitch.key_points()
    half_length = pitch.length / 2.0
    radius = CENTER_CIRCLE_RADIUS
    diagonal = radius / np.sqrt(2.0)
    named["TL_CENTER_CIRCLE_45"] = np.array([-diagonal, -diagonal, 0.0])
    named["TR_CENTER_CIRCLE_45"] = np.array([diagonal, -diagonal, 0.0])
    named["BL_CENTER_CIRCLE_45"] = np.array([-diagonal, diagonal, 0.0])
    named["BR_CENTER_CIRCLE_45"] = np.array([diagonal, diagonal, 0.0])
    named["L_CENTER_CIRCLE_APEX"] = np.array([-radius, 0.0, 0.0])
    named["R_CENTER_CIRCLE_APEX"] = np.array([radius, 0.0, 0.0])
    for name, (side, from_goal_line, y) in _AXIS_POINTS.items():
        x = -half_length + from_goal_line if side == "L" else half_length - from_goal_line
        named[name] = np.array([x, y, 0.0])
    for name, (center, through) in _TANGENTS.items():
        touching = _tangent_points(named[center], named[through], radius)
        # Of the two tangent points, the one nearer the pitch centre (x) for the penalty arcs,
        # the one on the left (-x) or right (+x) for the centre circle, as the name says.
        if "PENALTY_ARC" in name:
            pick = np.argmin(np.abs(touching[:, 0]))
        else:
            pick = np.argmin(touching[:, 0]) if name[1] == "L" else np.argmax(touching[:, 0])
        named[name] = touching[pick]
    return np.stack([named[name] for name in KEYPOINT_NAMES])


def _reflection_index(world: np.ndarray, reflect: np.ndarray) -> np.ndarray:
    """Index of each point's image under a reflection (diagonal `reflect`) among the points."""
    images = world * reflect
    distance = np.linalg.norm(images[:, None] - world[None], axis=-1)
    index = np.argmin(distance, axis=1)
    if not np.allclose(distance[np.arange(len(world)), index], 0.0, atol=1e-9):
        raise AssertionError("the point set is not symmetric under the reflection")
    return index


# Reflections of the world that map the pitch onto itself. A horizontal image flip is the view
# of the pitch mirrored across the halfway line (x -> -x; the camera stays on its touch line),
# so flips swap left and right but keep top and bottom.
FLIP_REFLECTION = np.array([-1.0, 1.0, 1.0])

# The 23 straight elements, in `LINE_CLASSES` order: the classes of the line heatmap head
# (the published line networks use the same list; the background is channel 23).
LINE_HEAD_CLASSES: tuple[str, ...] = tuple(c for c in LINE_CLASSES if c in STRAIGHT_ELEMENTS)


def keypoint_flip_index(pitch: Pitch = Pitch()) -> np.ndarray:
    """[57] int: the keypoint each keypoint becomes in a horizontally flipped image."""
    return _reflection_index(keypoints(pitch), FLIP_REFLECTION)


def line_flip_index(classes: tuple[str, ...] = LINE_CLASSES, pitch: Pitch = Pitch()) -> np.ndarray:
    """[len(classes)] int: the class each class becomes in a horizontally flipped image.

    Straight elements map to the element with the reflected extremities (the left goal's left
    post becomes the right goal's right post), circles to the reflected circle, and the two
    unknown classes to themselves.
    """
    elements = pitch.straight_elements()
    ends = {
        name: frozenset(tuple(np.round(p, 6)) for p in pair) for name, pair in elements.items()
    }
    by_ends = {value: name for name, value in ends.items()}
    image_of = {"Circle central": "Circle central", "Circle left": "Circle right",
                "Circle right": "Circle left", **{c: c for c in UNKNOWN_CLASSES}}
    for name, (a, b) in elements.items():
        reflected = frozenset(
            tuple(np.round(p * FLIP_REFLECTION, 6) + 0.0) for p in (a, b)
        )
        image_of[name] = by_ends[reflected]
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[image_of[c]] for c in classes])
