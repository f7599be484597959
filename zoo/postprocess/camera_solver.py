"""Broadcast cameras from pitch keypoints and line points: a batched, jitted solver in JAX.

Input per image (`Observations`, padded to fixed sizes so a batch is one array program):
keypoints with their pitch coordinates (from a heatmap network, or none), and points on pitch
lines with their class (detected, or read from official annotation files). Pixels are those of
960x540 images, as the evaluator scales annotations (x * (W - 1), y * (H - 1)).

1. Every straight class with points gets a fitted image line, and the intersections of fitted
   lines whose pitch elements meet (`INTERSECTIONS`: corners, T-junctions, goal-post feet and
   tops, virtual crossings of box lines with touch lines) become extra keypoints.
2. Initial cameras: per plane (the ground, and the goal-line planes x = +-52.5 with the goal
   posts) a homography from its points and lines by RANSAC at a sweep of thresholds, each
   decomposed into a camera (`zoo.postprocess.plane_homography`).
3. The initial cameras of least robust cost are refined by Levenberg-Marquardt on robust
   (Cauchy) residuals: keypoint reprojection errors, distances of line points to the projected
   straight elements, and Sampson distances of circle points to the projected circles, both
   measured after removing the lens distortion from the observed point. Refined are pan, tilt, roll, position, focal
   length, aspect ratio and radial distortion k1, k2 (principal point at the image centre).
   Two rounds: the first with the derived intersections, the second without them (they are
   extrapolated through a distorting lens), both at weights `point_weight` / `line_weight`
   (0.3 / 0.7 in PnLCalib).
4. The refined camera of least cost is kept, with a confidence in [0, 1] from its inlier share,
   inlier error and how many constraints it had, so callers can answer nothing for an image.

Why a hand-rolled LM: the problem is 10 parameters per image with a few hundred residuals, so
the normal equations are 10x10 and one iteration is a Jacobian (forward mode) and a tiny solve;
with a fixed number of iterations and per-image damping the whole batch is one `vmap`ped,
`jit`ted loop with static shapes. jaxopt is no longer developed (it was folded into optax, which
has no least-squares solver), and optimistix would add equinox and lineax as dependencies for
what is ~40 lines here, with the same fixed-shape constraints under `vmap`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera
from zoo.geometry.pitch import (
    CENTER_CIRCLE_RADIUS,
    CLASS_INDEX,
    LINE_CLASSES,
    Pitch,
    _tangent_points,
    keypoints,
)
from zoo.postprocess import plane_homography as planes
from zoo.postprocess.plane_homography import IMAGE_SCALE, inverse3

WIDTH, HEIGHT = 960, 540
NUM_CLASSES = len(LINE_CLASSES)
NUM_PARAMS = 10  # pan, tilt, roll, x, y, z, log f, log aspect, k1, q (k2 = 0.45 k1^2 + q^2)
# Radial distortion x (1 + k1 r^2 + k2 r^4) never folds back (its radius grows with r for every
# r) when k2 >= 0.45 k1^2: the solver's k2 is written so, since the evaluator projects every
# point in front of the camera, and a folding lens brings far-off pitch lines into the image.
FOLD_FREE = 0.45
INITIAL_Q = 0.05


@dataclasses.dataclass(frozen=True)
class SolverConfig:
    """Settings of `solve` (hashable: they are static under jit)."""

    point_weight: float = 0.3  # keypoints (reprojection residuals)
    line_weight: float = 0.7  # points on lines and circles (distance residuals)
    derived_weight: float = 0.3  # line intersections, first round only
    cauchy_px: float = 4.0  # scale of the robust loss
    ransac_thresholds: tuple[float, ...] = (4.0, 10.0, 25.0)
    ransac_hypotheses: int = 48
    iterations: tuple[int, int] = (20, 10)  # LM iterations with / without derived points
    refined_candidates: int = 4  # initial cameras (of 3 planes x thresholds) refined by LM
    inlier_px: float = 5.0  # what counts as explained when measuring confidence
    expected_px: float = 2.5  # confidence exp(-(e / expected_px)^2) for an expected error e
    # Gaussian priors keep weakly seen parameters sane: sigma of k1 and k2, of log(fy / fx).
    distortion_sigma: float = 0.3
    aspect_sigma: float = 0.01
    focal_range: tuple[float, float] = (150.0, 40000.0)
    default_focal: float = 1500.0


class Observations(NamedTuple):
    """A batch [B] of images' observations, padded; weight 0 marks an empty slot.

    point_world [B, P, 3] pitch coordinates (metres) of keypoints; point_pixel [B, P, 2];
    point_weight [B, P]. line_pixel [B, L, 2] points on pitch elements; line_class [B, L] int32
    index in `LINE_CLASSES`; line_weight [B, L].
    """

    point_world: np.ndarray
    point_pixel: np.ndarray
    point_weight: np.ndarray
    line_pixel: np.ndarray
    line_class: np.ndarray
    line_weight: np.ndarray


class Solution(NamedTuple):
    """cameras [B] (960x540), confidence [B] in [0, 1], inlier_rms [B] pixels, inliers [B]
    (explained constraints: 2 per keypoint, 1 per line point), cost [B] (robust, final)."""

    cameras: Camera
    confidence: np.ndarray
    inlier_rms: np.ndarray
    inliers: np.ndarray
    cost: np.ndarray


# ------------------------------------------------------------------------------- pitch elements


def _element_table(pitch: Pitch = Pitch()):
    """Per class of LINE_CLASSES: kind (0 none, 1 straight, 2 circle), ends [2, 3], circle
    centre [3] (all numpy)."""
    kind = np.zeros(NUM_CLASSES, np.int32)
    ends = np.zeros((NUM_CLASSES, 2, 3))
    centre = np.zeros((NUM_CLASSES, 3))
    for name, (a, b) in pitch.straight_elements().items():
        kind[CLASS_INDEX[name]] = 1
        ends[CLASS_INDEX[name]] = (a, b)
    points = pitch.key_points()
    for name, mark in (
        ("Circle central", "CENTER_MARK"),
        ("Circle left", "L_PENALTY_MARK"),
        ("Circle right", "R_PENALTY_MARK"),
    ):
        kind[CLASS_INDEX[name]] = 2
        centre[CLASS_INDEX[name]] = points[mark]
    return kind, ends, centre


ELEMENT_KIND, ELEMENT_ENDS, CIRCLE_CENTRE = _element_table()


def _intersections(pitch: Pitch = Pitch()):
    """Pairs of straight classes whose lines meet inside the pitch box: (a [Q], b [Q], world
    [Q, 3]). Both lines must lie in one plane (the ground or a goal-line plane)."""
    half = np.array([pitch.length / 2, pitch.width / 2])
    first, second, world = [], [], []
    straight = [c for c in range(NUM_CLASSES) if ELEMENT_KIND[c] == 1]
    for i, a in enumerate(straight):
        for b in straight[i + 1 :]:
            (p, q), (r, s) = ELEMENT_ENDS[a], ELEMENT_ENDS[b]
            d1, d2 = q - p, s - r
            normal = np.cross(d1, d2)
            if np.linalg.norm(normal) < 1e-9 or abs(np.dot(r - p, normal)) > 1e-9:
                continue  # parallel, or not in one plane
            # p + t d1 = r + u d2, least squares in 3D (exact for coplanar lines).
            t, u = np.linalg.lstsq(np.stack([d1, -d2], 1), r - p, rcond=None)[0]
            point = p + t * d1
            if np.all(np.abs(point[:2]) <= half + 1e-6):
                first.append(a)
                second.append(b)
                world.append(point)
    return np.array(first), np.array(second), np.array(world)


INTERSECTION_A, INTERSECTION_B, INTERSECTION_WORLD = _intersections()


def _conic_points(pitch: Pitch = Pitch()):
    """Points a circle gives with a line, each as a pair of candidate world points (the image
    does not say which of the two image points is which, so both labellings are proposed and
    RANSAC keeps the consistent one).

    Returns (circle [R] class, kind [R] 0: the circle meets the line `first` [R]; 1: the
    tangents from the crossing of lines `first` and `second` touch it, world [R, 2, 3]).
    """
    named = pitch.key_points()
    rows = []
    for circle, line, (a, b) in (
        ("Circle central", "Middle line", ("T_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION",
                                           "B_HALFWAY_LINE_AND_CENTER_CIRCLE_INTERSECTION")),
        ("Circle left", "Big rect. left main", ("TL_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
                                                "BL_16M_LINE_AND_PENALTY_ARC_INTERSECTION")),
        ("Circle right", "Big rect. right main", ("TR_16M_LINE_AND_PENALTY_ARC_INTERSECTION",
                                                  "BR_16M_LINE_AND_PENALTY_ARC_INTERSECTION")),
    ):
        rows.append((CLASS_INDEX[circle], 0, CLASS_INDEX[line], CLASS_INDEX[line],
                     np.stack([named[a], named[b]])))
    for circle, centre, (first, second) in (
        ("Circle central", "CENTER_MARK", ("Side line top", "Middle line")),
        ("Circle central", "CENTER_MARK", ("Side line bottom", "Middle line")),
        ("Circle left", "L_PENALTY_MARK", ("Big rect. left top", "Big rect. left main")),
        ("Circle left", "L_PENALTY_MARK", ("Big rect. left bottom", "Big rect. left main")),
        ("Circle right", "R_PENALTY_MARK", ("Big rect. right top", "Big rect. right main")),
        ("Circle right", "R_PENALTY_MARK", ("Big rect. right bottom", "Big rect. right main")),
    ):
        (p, q), (r, t) = ELEMENT_ENDS[CLASS_INDEX[first]], ELEMENT_ENDS[CLASS_INDEX[second]]
        u = np.linalg.lstsq(np.stack([q - p, -(t - r)], 1), r - p, rcond=None)[0][0]
        through = p + u * (q - p)
        touching = _tangent_points(named[centre], through, CENTER_CIRCLE_RADIUS)
        rows.append((CLASS_INDEX[circle], 1, CLASS_INDEX[first], CLASS_INDEX[second], touching))
    circle, kind, first, second, world = (np.array(x) for x in zip(*rows))
    return circle, kind, first, second, world


CONIC_CIRCLE, CONIC_KIND, CONIC_FIRST, CONIC_SECOND, CONIC_WORLD = _conic_points()
# Every derived point: line intersections, then per conic row its two points in both labellings.
DERIVED_WORLD = np.concatenate([
    INTERSECTION_WORLD,
    np.concatenate([CONIC_WORLD, CONIC_WORLD[:, ::-1]], axis=1).reshape(-1, 3),
])
# Planes for initial cameras: (origin, axis a, axis b, size of its coordinates in metres).
PLANES = (
    (np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 50.0),
    (np.array([-52.5, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, 1.0]), 10.0),
    (np.array([52.5, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, 1.0]), 10.0),
)


# ---------------------------------------------------------------------------------- observations


def observations_from_annotations(
    annotations: Sequence[Mapping[str, np.ndarray]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    max_points_per_class: int = 16,
    line_slots: int | None = None,
) -> Observations:
    """Observations of a batch of official annotations (class -> normalised points [n, 2]).

    Points are scaled by (W - 1, H - 1) as the evaluator scales them; "Goal unknown" and "Line
    unknown" have no pitch element and are left out; a class with more points than
    `max_points_per_class` keeps that many, spread along its list. No keypoints. `line_slots`
    pads every image to that many line points (fewer points per class are kept where an image
    has more), so that batches share one compiled solver; by default the batch's largest count.
    """
    rows = []
    for lines in annotations:
        kept = {}
        for name, points in lines.items():
            index = CLASS_INDEX.get(name)
            if index is None:
                raise ValueError(f"unknown line class {name!r}")
            points = np.asarray(points, np.float64).reshape(-1, 2)
            if ELEMENT_KIND[index] != 0 and len(points):
                kept[index] = points
        per_class = max_points_per_class
        while line_slots is not None and sum(min(len(p), per_class) for p in kept.values()) > line_slots:
            per_class -= 1
            if per_class < 2:
                raise ValueError(f"{len(kept)} line classes do not fit in {line_slots} line slots")
        pixels, classes = [], []
        for index, points in kept.items():
            if len(points) > per_class:
                points = points[np.linspace(0, len(points) - 1, per_class).round().astype(int)]
            pixels.append(points * [width - 1, height - 1])
            classes.append(np.full(len(points), index))
        rows.append(
            (np.concatenate(pixels) if pixels else np.zeros((0, 2)),
             np.concatenate(classes) if classes else np.zeros(0, int))
        )
    size = line_slots or max(1, max((len(c) for _, c in rows), default=1))
    batch = len(rows)
    line_pixel = np.zeros((batch, size, 2), np.float32)
    line_class = np.zeros((batch, size), np.int32)
    line_weight = np.zeros((batch, size), np.float32)
    for i, (pixels, classes) in enumerate(rows):
        line_pixel[i, : len(classes)] = pixels
        line_class[i, : len(classes)] = classes
        line_weight[i, : len(classes)] = 1.0
    return Observations(
        point_world=np.zeros((batch, 1, 3), np.float32),
        point_pixel=np.zeros((batch, 1, 2), np.float32),
        point_weight=np.zeros((batch, 1), np.float32),
        line_pixel=line_pixel,
        line_class=line_class,
        line_weight=line_weight,
    )


def keypoint_observations(
    pixels: np.ndarray, scores: np.ndarray, line_obs: Observations | None = None
) -> Observations:
    """Observations from detected keypoints: pixels [B, 57, 2] of `zoo.geometry.pitch.keypoints()`
    and their weights [B, 57] (0: not detected), plus the line points of `line_obs` if given."""
    batch = pixels.shape[0]
    world = np.broadcast_to(keypoints().astype(np.float32), (batch,) + keypoints().shape)
    if line_obs is None:
        line_obs = Observations(*(np.zeros((batch, 1) + s, d) for s, d in (
            ((3,), np.float32), ((2,), np.float32), ((), np.float32), ((2,), np.float32),
            ((), np.int32), ((), np.float32))))
    return line_obs._replace(
        point_world=np.ascontiguousarray(world),
        point_pixel=np.asarray(pixels, np.float32),
        point_weight=np.asarray(scores, np.float32),
    )


# ------------------------------------------------------------------------------- line geometry


def _fit_lines(pixel, classes, weight):
    """Weighted total-least-squares lines of every class: (lines [28, 3] homogeneous with unit
    normal, ends [28, 2, 2] extreme points along each line, valid [28])."""
    one_hot = jax.nn.one_hot(classes, NUM_CLASSES) * weight[:, None]  # [L, 28]
    total = one_hot.sum(0)
    mean = (one_hot.T @ pixel) / jnp.maximum(total, 1e-9)[:, None]
    centred = pixel[None] - mean[:, None]  # [28, L, 2]
    covariance = jnp.einsum("cl,cli,clj->cij", one_hot.T, centred, centred)
    _, vectors = jnp.linalg.eigh(covariance)
    direction, normal = vectors[..., 1], vectors[..., 0]  # eigenvalues ascend
    lines = jnp.concatenate([normal, -jnp.sum(normal * mean, -1, keepdims=True)], -1)
    along = jnp.einsum("cli,ci->cl", centred, direction)
    low = jnp.min(jnp.where(one_hot.T > 0, along, jnp.inf), axis=1)
    high = jnp.max(jnp.where(one_hot.T > 0, along, -jnp.inf), axis=1)
    ends = mean[:, None] + jnp.stack([low, high], 1)[..., None] * direction[:, None]
    count = jnp.sum(one_hot > 0, axis=0)
    valid = (jnp.asarray(ELEMENT_KIND) == 1) & (count >= 2) & (high - low > 8.0)
    return lines, jnp.where(valid[:, None, None], ends, 0.0), valid


def _near_image(pixel):
    return ((pixel[..., 0] > -0.5 * WIDTH) & (pixel[..., 0] < 1.5 * WIDTH)
            & (pixel[..., 1] > -0.5 * HEIGHT) & (pixel[..., 1] < 1.5 * HEIGHT))


def _dehomogenise(point):
    w = point[..., 2:]
    return point[..., :2] / jnp.where(jnp.abs(w) > 1e-9, w, 1e-9)


def _fit_conics(pixel, classes, weight):
    """Algebraic conic fits of the circle classes: (conics [28, 3, 3] symmetric, in pixels, valid
    [28]); valid needs 5 points of an ellipse."""
    x, y = (pixel[:, 0] - WIDTH / 2) / IMAGE_SCALE, (pixel[:, 1] - HEIGHT / 2) / IMAGE_SCALE
    design = jnp.stack([x * x, x * y, y * y, x, y, jnp.ones_like(x)], -1)  # [L, 6]
    one_hot = jax.nn.one_hot(classes, NUM_CLASSES) * weight[:, None]  # [L, 28]
    scatter = jnp.einsum("lc,li,lj->cij", one_hot, design, design)
    _, vectors = jnp.linalg.eigh(scatter)
    a, b, c, d, e, f = jnp.moveaxis(vectors[..., 0], -1, 0)
    normalised = jnp.stack([jnp.stack([a, b / 2, d / 2], -1), jnp.stack([b / 2, c, e / 2], -1),
                            jnp.stack([d / 2, e / 2, f], -1)], -2)
    # Back to pixels: x_n = T x_p, so C_p = T^T C_n T.
    to_normalised = jnp.array([[1 / IMAGE_SCALE, 0, -WIDTH / 2 / IMAGE_SCALE],
                               [0, 1 / IMAGE_SCALE, -HEIGHT / 2 / IMAGE_SCALE], [0, 0, 1.0]])
    conics = to_normalised.T @ normalised @ to_normalised
    ellipse = b * b - 4 * a * c < 0
    valid = (jnp.asarray(ELEMENT_KIND) == 2) & (jnp.sum(one_hot > 0, 0) >= 5) & ellipse
    return conics, valid


def _line_conic(line, conic):
    """The two points [2, 2] where a line meets a conic (pixels), and whether they are real."""
    a, b, c = line[0], line[1], line[2]
    direction = jnp.stack([-b, a, 0.0])
    foot = jnp.stack([-a * c, -b * c, a * a + b * b])
    qa = direction @ conic @ direction
    qb = direction @ conic @ foot
    qc = foot @ conic @ foot
    discriminant = qb * qb - qa * qc
    root = jnp.sqrt(jnp.maximum(discriminant, 0.0))
    t = (-qb + jnp.stack([root, -root])) / jnp.where(jnp.abs(qa) > 1e-12, qa, 1e-12)
    points = _dehomogenise(foot[None] + t[:, None] * direction[None])
    return points, (discriminant > 0) & (jnp.abs(qa) > 1e-12)


def _derived_points(lines, valid, conics, conic_valid):
    """Derived keypoints (pixel [D, 2], weight [D] 0/1), world points `DERIVED_WORLD`:
    intersections of fitted lines, then circles with lines and tangent points (both labellings)."""
    a, b = jnp.asarray(INTERSECTION_A), jnp.asarray(INTERSECTION_B)
    crossing = jnp.cross(lines[a], lines[b])
    sine = jnp.abs(crossing[:, 2])  # unit normals: |n_a x n_b| = |sin(angle)|
    pixel = _dehomogenise(crossing)
    ok = valid[a] & valid[b] & (sine > 0.1) & _near_image(pixel)
    # Circles: with a line (its fitted line), or with the polar of a line crossing (tangents).
    first, second = jnp.asarray(CONIC_FIRST), jnp.asarray(CONIC_SECOND)
    circle, kind = jnp.asarray(CONIC_CIRCLE), jnp.asarray(CONIC_KIND)
    through = jnp.cross(lines[first], lines[second])
    polar = jnp.einsum("rij,rj->ri", conics[circle], through)
    cutting = jnp.where((kind == 0)[:, None], lines[first], polar)
    cutting = cutting / jnp.linalg.norm(cutting[:, :2], axis=-1, keepdims=True).clip(1e-12)
    conic_pixel, real = jax.vmap(_line_conic)(cutting, conics[circle])  # [R, 2, 2]
    crossing_ok = jnp.where(kind == 0, True, valid[second] & (jnp.abs(through[:, 2]) > 1e-9))
    conic_ok = real & conic_valid[circle] & valid[first] & crossing_ok
    conic_ok = conic_ok[:, None] & _near_image(conic_pixel)
    both = jnp.concatenate([conic_pixel, conic_pixel], axis=1).reshape(-1, 2)
    both_ok = jnp.concatenate([conic_ok, conic_ok], axis=1).reshape(-1)
    both_ok = both_ok & jnp.repeat(conic_ok.all(-1), 4)  # both points, or none
    pixel = jnp.concatenate([jnp.where(ok[:, None], pixel, 0.0), jnp.where(both_ok[:, None], both, 0.0)])
    return pixel, jnp.concatenate([ok, both_ok]).astype(jnp.float32)


# ----------------------------------------------------------------------------- initial cameras


def _plane_correspondences(plane, points_world, points_pixel, points_weight, lines, ends, valid):
    """Correspondences of one plane (origin [3], axes [2, 3]): its keypoints, then the lines of
    its straight elements."""
    origin, axes = plane
    normal = jnp.cross(axes[0], axes[1])
    relative = points_world - origin
    on_plane = jnp.abs(relative @ normal) < 1e-6
    plane_points = jnp.stack([relative @ axes[0], relative @ axes[1], jnp.ones_like(relative[:, 0])], -1)
    rel_ends = jnp.asarray(ELEMENT_ENDS, jnp.float32) - origin  # [28, 2, 3]
    element_on_plane = (jnp.asarray(ELEMENT_KIND) == 1) & jnp.all(
        jnp.abs(rel_ends @ normal) < 1e-6, axis=1)
    ones = jnp.ones(NUM_CLASSES)
    end_a = jnp.stack([rel_ends[:, 0] @ axes[0], rel_ends[:, 0] @ axes[1], ones], -1)
    end_b = jnp.stack([rel_ends[:, 1] @ axes[0], rel_ends[:, 1] @ axes[1], ones], -1)
    point_pixels = jnp.concatenate([points_pixel, jnp.ones_like(points_pixel[:, :1])], -1)
    num_points = points_world.shape[0]
    return planes.Correspondences(
        kind=jnp.concatenate([jnp.zeros(num_points, jnp.int32), jnp.ones(NUM_CLASSES, jnp.int32)]),
        plane_xy=jnp.concatenate([plane_points, jnp.cross(end_a, end_b)]),
        image_xy=jnp.concatenate([point_pixels, lines]),
        ends=jnp.concatenate([jnp.zeros((num_points, 2, 2)), ends]),
        weight=jnp.concatenate(
            [jnp.where(on_plane, points_weight > 0, False).astype(jnp.float32),
             (valid & element_on_plane).astype(jnp.float32)]
        ),
    )


def _initial_parameters(obs_one, derived_pixel, derived_weight, lines, ends, valid, key, config):
    """Initial parameter vectors [K, 10] (one per plane and threshold) and whether each had
    enough support [K]."""
    world = jnp.concatenate([obs_one.point_world, jnp.asarray(DERIVED_WORLD, jnp.float32)])
    pixel = jnp.concatenate([obs_one.point_pixel, derived_pixel])
    weight = jnp.concatenate([(obs_one.point_weight > 0).astype(jnp.float32), derived_weight])
    center = jnp.array([WIDTH / 2, HEIGHT / 2])
    origins = jnp.asarray(np.stack([p[0] for p in PLANES]), jnp.float32)
    axes = jnp.asarray(np.stack([np.stack(p[1:3]) for p in PLANES]), jnp.float32)
    scales = jnp.asarray([p[3] for p in PLANES], jnp.float32)
    thresholds = jnp.asarray(config.ransac_thresholds, jnp.float32)

    def plane_cameras(origin, plane_axes, scale, plane_key):
        data = _plane_correspondences(
            (origin, plane_axes), world, pixel, weight, lines, ends, valid)
        homographies, support = planes.ransac_homographies(
            data, plane_key, center=center, plane_scale=scale, thresholds=thresholds,
            hypotheses=config.ransac_hypotheses,
        )
        camera = jax.vmap(
            lambda h: planes.camera_from_homography(
                h, center=center, plane_origin=origin, plane_axes=plane_axes,
                focal_range=config.focal_range, default_focal=config.default_focal)
        )(homographies)
        zeros = jnp.zeros_like(camera["focal"])
        params = jnp.concatenate([
            jnp.stack([camera["pan"], camera["tilt"], camera["roll"]], -1), camera["position"],
            jnp.stack([jnp.log(camera["focal"]), zeros, zeros, zeros + INITIAL_Q], -1),
        ], -1)
        return params, support >= 5

    params, supported = jax.vmap(plane_cameras)(
        origins, axes, scales, jax.random.split(key, len(PLANES)))
    params = params.reshape(-1, NUM_PARAMS)
    return jnp.where(jnp.isfinite(params), params, 0.0), supported.reshape(-1)


# ---------------------------------------------------------------------------------- refinement


def distortion_of(params: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(k1, k2) of parameters [..., 10]."""
    k1, q = params[..., 8], params[..., 9]
    return k1, FOLD_FREE * k1 * k1 + q * q


def camera_of(params: jax.Array) -> Camera:
    """The Camera (JAX arrays, 960x540) of parameters [..., 10]."""
    zeros = jnp.zeros(params.shape[:-1])
    focal = jnp.exp(params[..., 6])
    k1, k2 = distortion_of(params)
    return Camera(
        pan_degrees=jnp.rad2deg(params[..., 0]),
        tilt_degrees=jnp.rad2deg(params[..., 1]),
        roll_degrees=jnp.rad2deg(params[..., 2]),
        position=params[..., 3:6],
        focal_length=jnp.stack([focal, focal * jnp.exp(params[..., 7])], -1),
        principal_point=jnp.broadcast_to(jnp.array([WIDTH / 2, HEIGHT / 2]), params.shape[:-1] + (2,)),
        radial_distortion=jnp.stack([k1, k2, zeros, zeros, zeros, zeros], -1),
        tangential_distortion=jnp.zeros(params.shape[:-1] + (2,)),
        thin_prism_distortion=jnp.zeros(params.shape[:-1] + (4,)),
    )


class _Lens(NamedTuple):
    """The solver's camera in the form its residuals use: rotation rows (3 vectors [3]),
    position [3], focal lengths, k1, k2 (scalars)."""

    rows: tuple[jax.Array, jax.Array, jax.Array]
    position: jax.Array
    fx: jax.Array
    fy: jax.Array
    k1: jax.Array
    k2: jax.Array


def _lens(params: jax.Array) -> _Lens:
    """Closed forms of `camera_of(params)`: the world-to-camera rotation is the transpose of
    Rz(pan) Rx(tilt) Rz(roll), written out so that XLA fuses it (no tiny matrix products)."""
    cp, sp = jnp.cos(params[0]), jnp.sin(params[0])
    ct, st = jnp.cos(params[1]), jnp.sin(params[1])
    cr, sr = jnp.cos(params[2]), jnp.sin(params[2])
    rows = (
        jnp.stack([cp * cr - sp * ct * sr, sp * cr + cp * ct * sr, st * sr]),
        jnp.stack([-cp * sr - sp * ct * cr, -sp * sr + cp * ct * cr, st * cr]),
        jnp.stack([sp * st, -cp * st, ct]),
    )
    focal = jnp.exp(params[6])
    k1, k2 = distortion_of(params)
    return _Lens(rows, params[3:6], focal, focal * jnp.exp(params[7]), k1, k2)


def _to_camera(lens: _Lens, world: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Camera coordinates (x, y, z) [...] of world points [..., 3]."""
    offset = world - lens.position
    return tuple(
        offset[..., 0] * row[0] + offset[..., 1] * row[1] + offset[..., 2] * row[2]
        for row in lens.rows
    )


def _undistort(pixel: jax.Array, lens: _Lens, iterations: int = 8):
    """Undistorted normalised coordinates (x, y) [N] of pixels [N, 2] (radial k1, k2)."""
    xd = (pixel[:, 0] - WIDTH / 2) / lens.fx
    yd = (pixel[:, 1] - HEIGHT / 2) / lens.fy

    def fixed_point(_, xy):  # x = x_d / (1 + k1 r^2 + k2 r^4)
        x, y = xy
        r2 = x * x + y * y
        factor = 1.0 + lens.k1 * r2 + lens.k2 * r2 * r2
        return xd / factor, yd / factor

    return jax.lax.fori_loop(0, iterations, fixed_point, (xd, yd))


def _ground_conics(lens: _Lens) -> jax.Array:
    """The image conics [28, 6] (a, b, c, d, e, f of a x^2 + 2b xy + c y^2 + 2d x + 2e y + f, in
    undistorted normalised coordinates) of the three circles (zero for other classes)."""
    r0, r1, r2 = lens.rows
    translation = -jnp.stack([jnp.dot(r, lens.position) for r in lens.rows])
    ground = jnp.stack([jnp.stack([r0[0], r0[1], translation[0]]),
                        jnp.stack([r1[0], r1[1], translation[1]]),
                        jnp.stack([r2[0], r2[1], translation[2]])])
    inverse = inverse3(ground)
    conics = []
    for cx, cy in CIRCLE_CENTRE[:, :2]:
        plane = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy],
                          [-cx, -cy, cx * cx + cy * cy - CENTER_CIRCLE_RADIUS**2]])
        image = inverse.T @ jnp.asarray(plane, jnp.float32) @ inverse
        conics.append(jnp.stack([image[0, 0], image[0, 1], image[1, 1], image[0, 2], image[1, 2],
                                 image[2, 2]]))
    return jnp.where(jnp.asarray(ELEMENT_KIND == 2)[:, None], jnp.stack(conics), 0.0)


def _line_residuals(lens: _Lens, pixel, classes):
    """Signed distances [L] in pixels of line points to their projected elements: to the image
    line of a straight element, and (Sampson's approximation) to the conic of a circle, both
    after removing the lens distortion from the point."""
    x, y = _undistort(pixel, lens)
    focal = 0.5 * (lens.fx + lens.fy)
    # Straight: the image line through the two projected ends is their cross product.
    first = jnp.stack(_to_camera(lens, jnp.asarray(ELEMENT_ENDS[:, 0], jnp.float32)), -1)
    second = jnp.stack(_to_camera(lens, jnp.asarray(ELEMENT_ENDS[:, 1], jnp.float32)), -1)
    line = jnp.cross(first, second)[classes]  # [L, 3]
    norm = jnp.sqrt(line[:, 0] ** 2 + line[:, 1] ** 2).clip(1e-12)
    straight = (line[:, 0] * x + line[:, 1] * y + line[:, 2]) / norm
    a, b, c, d, e, f = jnp.moveaxis(_ground_conics(lens)[classes], -1, 0)
    value = a * x * x + 2 * b * x * y + c * y * y + 2 * d * x + 2 * e * y + f
    gx, gy = 2 * (a * x + b * y + d), 2 * (b * x + c * y + e)
    circle = value / jnp.sqrt(gx * gx + gy * gy).clip(1e-12)
    kind = jnp.asarray(ELEMENT_KIND)[classes]
    return focal * jnp.where(kind == 1, straight, jnp.where(kind == 2, circle, 0.0))


def _point_residuals(lens: _Lens, world, pixel):
    """Reprojection errors [P, 2] in pixels; points behind the camera get 1000 px."""
    xc, yc, zc = _to_camera(lens, world)
    in_front = zc > camera_lib.MIN_DEPTH
    depth = jnp.where(in_front, zc, 1.0)
    x, y = xc / depth, yc / depth
    r2 = x * x + y * y
    factor = 1.0 + lens.k1 * r2 + lens.k2 * r2 * r2
    u = lens.fx * x * factor + WIDTH / 2
    v = lens.fy * y * factor + HEIGHT / 2
    return jnp.where(in_front[:, None], jnp.stack([u, v], -1) - pixel, 1000.0)


def _residuals(params, point_world, point_pixel, point_w, line_pixel, line_class, line_w, config):
    """Weighted residuals [2 P + L + 3] (pixels, then the priors)."""
    lens = _lens(params)
    points = _point_residuals(lens, point_world, point_pixel) * jnp.sqrt(point_w)[:, None]
    lines = _line_residuals(lens, line_pixel, line_class) * jnp.sqrt(line_w)
    # Priors in pixel-like units, at the scale of the robust loss.
    priors = config.cauchy_px * jnp.stack([
        lens.k1 / config.distortion_sigma,
        lens.k2 / config.distortion_sigma,
        params[7] / config.aspect_sigma,
    ])
    return jnp.concatenate([points.reshape(-1), lines, priors])


def _robust_cost(residuals, scale):
    return jnp.sum(0.5 * scale**2 * jnp.log1p((residuals / scale) ** 2))


def _levenberg_marquardt(params, residual_fn, phases: jax.Array, scale: float):
    """Minimises the Cauchy cost of residual_fn(params, phase) [N] by IRLS Levenberg-Marquardt.

    phases [I] int: the phase of each iteration (the residuals may change with it). The residuals
    and Jacobian are computed once per iteration, at the candidate step; a rejected step keeps
    the previous ones and raises the damping. The first iteration only linearises at `params`
    (from an empty state, its step is zero), so the residuals are traced once, in the loop.
    Under vmap a `lax.cond` runs both branches, so nothing here branches.

    Returns (params, cost, residuals [N], Jacobian [N, P]) at the solution.
    """

    def step(state, phase):
        # At a change of phase, the first step is taken from the previous phase's residuals and
        # compared with their cost (it is small: the previous phase has converged).
        p, r, jacobian, cost, damping = state
        weight = 1.0 / (1.0 + (r / scale) ** 2)  # IRLS weights of the Cauchy loss
        normal = jacobian.T @ (weight[:, None] * jacobian)
        gradient = jacobian.T @ (weight * r)
        diagonal = jnp.diag(normal) + 1e-9
        delta = -jnp.linalg.solve(normal + damping * jnp.diag(diagonal), gradient)
        candidate = p + jnp.where(jnp.isfinite(delta), delta, 0.0)
        new_jacobian, new_r = jax.jacfwd(lambda q: (residual_fn(q, phase),) * 2, has_aux=True)(candidate)
        new_r = jnp.where(jnp.isfinite(new_r), new_r, 1e6)
        new_jacobian = jnp.where(jnp.isfinite(new_jacobian), new_jacobian, 0.0)
        new_cost = _robust_cost(new_r, scale)
        better = new_cost < cost
        pick = lambda new, old: jnp.where(better, new, old)  # noqa: E731
        return (
            pick(candidate, p), pick(new_r, r), pick(new_jacobian, jacobian), pick(new_cost, cost),
            jnp.where(better, damping * 0.3, damping * 4.0).clip(1e-7, 1e7),
        ), None

    size = jax.eval_shape(lambda: residual_fn(params, phases[0])).shape[0]
    empty = (params, jnp.zeros(size), jnp.zeros((size, params.shape[0])), jnp.asarray(jnp.inf),
             jnp.asarray(1e-3, params.dtype))
    (params, r, jacobian, cost, _), _ = jax.lax.scan(step, empty, jnp.concatenate([phases[:1], phases]))
    return params, cost, r, jacobian


# Where the confidence looks at a camera: a 5 m grid over the pitch and its surroundings.
_GRID = np.stack(np.meshgrid(np.arange(-55.0, 55.1, 5.0), np.arange(-35.0, 35.1, 5.0)), -1).reshape(-1, 2)
GRID_WORLD = np.concatenate([_GRID, np.zeros((len(_GRID), 1))], -1)


def _expected_error(params, r, jacobian, config):
    """How far (pixels, RMS over the pitch grid points in the image) the camera's picture of the
    pitch may be off: the Gauss-Newton covariance of the parameters (from the final residuals r
    [N] and Jacobian [N, 10]: robust weights, the inlier noise level but at least 1 px, the
    priors) propagated to the pitch. A camera the observations do not determine (too few or
    degenerate lines) is far off."""
    weight = 1.0 / (1.0 + (r / config.cauchy_px) ** 2)
    information = jacobian.T @ (weight[:, None] * jacobian)
    noise = jnp.maximum(jnp.sqrt(jnp.sum(weight * r * r) / jnp.maximum(jnp.sum(weight), 1.0)), 1.0)
    covariance = jnp.linalg.pinv(information) * noise**2
    grid = jnp.asarray(GRID_WORLD, jnp.float32)

    def project(p):
        return _point_residuals(_lens(p), grid, jnp.zeros((len(GRID_WORLD), 2)))

    sensitivity, pixels = jax.jacfwd(lambda p: (project(p),) * 2, has_aux=True)(params)  # [G, 2, 10]
    variance = jnp.einsum("gip,pq,giq->g", sensitivity, covariance, sensitivity)
    inside = ((pixels[:, 0] >= 0) & (pixels[:, 0] < WIDTH) & (pixels[:, 1] >= 0)
              & (pixels[:, 1] < HEIGHT))
    mean = jnp.sum(jnp.where(inside, variance, 0.0)) / jnp.maximum(jnp.sum(inside), 1)
    return jnp.where(jnp.any(inside), jnp.sqrt(mean), jnp.inf)


def _solve_one(obs_one: Observations, key, config: SolverConfig):
    lines, ends, valid = _fit_lines(obs_one.line_pixel, obs_one.line_class, obs_one.line_weight)
    conics, conic_valid = _fit_conics(obs_one.line_pixel, obs_one.line_class, obs_one.line_weight)
    derived_pixel, derived_weight = _derived_points(lines, valid, conics, conic_valid)
    initial, supported = _initial_parameters(
        obs_one, derived_pixel, derived_weight, lines, ends, valid, key, config)
    world = jnp.concatenate([obs_one.point_world, jnp.asarray(DERIVED_WORLD, jnp.float32)])
    pixel = jnp.concatenate([obs_one.point_pixel, derived_pixel])
    point_w = jnp.concatenate([obs_one.point_weight * config.point_weight,
                               derived_weight * config.derived_weight])
    line_w = obs_one.line_weight * config.line_weight
    residuals = functools.partial(
        _residuals, point_world=world, point_pixel=pixel, line_pixel=obs_one.line_pixel,
        line_class=obs_one.line_class, config=config,
    )
    detected_only = point_w * jnp.concatenate(
        [jnp.ones_like(obs_one.point_weight), jnp.zeros_like(derived_weight)])

    def phased(p, phase):  # phase 0 with the derived intersections, phase 1 without
        return residuals(p, point_w=jnp.where(phase == 0, point_w, detected_only), line_w=line_w)

    phases = jnp.concatenate([jnp.zeros(config.iterations[0], jnp.int32),
                              jnp.ones(config.iterations[1], jnp.int32)])
    # Refine only the most promising initial cameras (by their robust cost before refinement).
    start_cost = jax.vmap(lambda p: _robust_cost(phased(p, 0), config.cauchy_px))(initial)
    start_cost = jnp.where(supported & jnp.isfinite(start_cost), start_cost, jnp.inf)
    _, chosen = jax.lax.top_k(-start_cost, min(config.refined_candidates, initial.shape[0]))
    initial, supported = initial[chosen], supported[chosen]
    refined, costs, final_r, final_jacobian = jax.vmap(
        lambda p: _levenberg_marquardt(p, phased, phases, config.cauchy_px))(initial)
    costs = jnp.where(supported & jnp.isfinite(costs), costs, jnp.inf)
    best = jnp.argmin(costs)
    params, r, jacobian = refined[best], final_r[best], final_jacobian[best]
    # Confidence from the observations themselves (the second round's residuals: no derived
    # points; unweighted back to pixels).
    num_points = world.shape[0]
    point_r = r[: 2 * num_points].reshape(num_points, 2)[: obs_one.point_weight.shape[0]]
    point_error = jnp.linalg.norm(point_r, axis=-1) / jnp.sqrt(
        jnp.maximum(obs_one.point_weight * config.point_weight, 1e-12))
    line_error = jnp.abs(r[2 * num_points : -3]) / jnp.sqrt(jnp.maximum(line_w, 1e-12))
    point_present = obs_one.point_weight > 0
    line_present = obs_one.line_weight > 0
    point_in = point_present & (point_error < config.inlier_px)
    line_in = line_present & (line_error < config.inlier_px)
    inliers = 2 * jnp.sum(point_in) + jnp.sum(line_in)
    total = 2 * jnp.sum(point_present) + jnp.sum(line_present)
    squared = jnp.sum(jnp.where(point_in, point_error**2, 0.0)) + jnp.sum(
        jnp.where(line_in, line_error**2, 0.0))
    rms = jnp.sqrt(squared / jnp.maximum(inliers, 1))
    share = inliers / jnp.maximum(total, 1)
    expected = _expected_error(params, r, jacobian, config)
    sane = ((params[5] < -0.5) & jnp.isfinite(costs[best]) & (jnp.abs(params[8]) < 2.0)
            & (jnp.abs(params[9]) < 2.0) & (inliers >= 6))
    confidence = jnp.where(sane, share * jnp.exp(-((expected / config.expected_px) ** 2)), 0.0)
    return params, confidence, rms, inliers, costs[best]


@functools.partial(jax.jit, static_argnames="config")
def _solve_batch(obs: Observations, key: jax.Array, config: SolverConfig):
    keys = jax.random.split(key, obs.line_pixel.shape[0])
    return jax.vmap(_solve_one, in_axes=(0, 0, None))(obs, keys, config)


def pad_observations(obs: Observations, points: int, lines: int) -> Observations:
    """The observations with `points` keypoint slots and `lines` line slots (empty slots have
    weight 0), so that batches of different sizes share one compiled solver."""
    have_points, have_lines = obs.point_pixel.shape[1], obs.line_pixel.shape[1]
    if have_points > points or have_lines > lines:
        raise ValueError(f"{have_points} keypoints and {have_lines} line points do not fit in "
                         f"{points} and {lines} slots")

    def pad(x, size):
        x = np.asarray(x)
        widths = [(0, 0), (0, size - x.shape[1])] + [(0, 0)] * (x.ndim - 2)
        return np.pad(x, widths)

    return Observations(
        pad(obs.point_world, points), pad(obs.point_pixel, points), pad(obs.point_weight, points),
        pad(obs.line_pixel, lines), pad(obs.line_class, lines), pad(obs.line_weight, lines),
    )


def solve(
    obs: Observations,
    *,
    config: SolverConfig = SolverConfig(),
    seed: int = 0,
    chunk: int | None = None,
    slots: tuple[int, int] | None = None,
) -> Solution:
    """Cameras of a batch of images (see the module docstring); numpy in, numpy out.

    chunk: solve `chunk` images at a time, the last chunk padded with empty images, so that any
    number of images runs on one compiled program (and memory stays bounded). slots: (keypoint,
    line point) slots to pad every image to (`pad_observations`), for the same reason.
    """
    if slots is not None:
        obs = pad_observations(obs, *slots)
    count = obs.line_pixel.shape[0]
    chunk = chunk or count
    parts = []
    for start in range(0, count, chunk):
        part = [np.asarray(x)[start : start + chunk] for x in obs]
        missing = chunk - len(part[0])
        if missing:  # empty images: weight 0 everywhere
            part = [np.concatenate([x, np.zeros((missing,) + x.shape[1:], x.dtype)]) for x in part]
        key = jax.random.fold_in(jax.random.key(seed), start)
        outputs = _solve_batch(Observations(*(jnp.asarray(x) for x in part)), key, config)
        parts.append([np.asarray(x)[: chunk - missing] for x in outputs])
    params, confidence, rms, inliers, cost = (np.concatenate(x) for x in zip(*parts))
    # Angles in (-180, 180]: the solver's are unbounded (any turn is the same camera).
    params[:, :3] = np.angle(np.exp(1j * params[:, :3]))
    cameras = Camera(*(np.asarray(f, np.float64) for f in camera_of(jnp.asarray(params))))
    return Solution(
        cameras=cameras,
        confidence=confidence.astype(np.float64),
        inlier_rms=rms.astype(np.float64),
        inliers=inliers,
        cost=cost.astype(np.float64),
    )
