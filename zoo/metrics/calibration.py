# Over 600 lines: kept whole while the calibration task is written against its public names.
"""JaC@t, completeness, final score of SoccerNet camera calibration, equal to the official evaluator.

The official `SoccerNet.Evaluation.CameraCalibration.evaluate` (and the EvalAI script, which
adds "finalScore") is the specification (REFERENCE.md §5.3). Per image with a predicted camera:

1. Every pitch element, sampled every 0.9 m (circles every 0.2 m, `zoo.geometry.pitch`), is
   projected with the camera. Points at depth <= 1e-3 are skipped. Where the projected polyline
   enters or leaves the 960x540 image, the intersection of the line through the two projected
   points with the image border nearest to the later point is inserted; points outside are
   dropped. An element with at least one point left is "detected".
2. Annotated points (scaled by (W - 1, H - 1)) are compared with the polyline of their class:
   the distance to the nearest segment (to the nearer end when the foot of the perpendicular
   falls outside it; to the point itself for a one-point polyline).
3. Per image: a detected class absent from the ground truth is a false positive (FP), an
   annotated class not detected a false negative (FN); a class in both is a true positive (TP)
   when all its points are closer than `threshold` pixels, else a FP. JaC = TP / (TP + FP + FN).
4. The same with the labels mirrored through the pitch centre (`MIRRORED_CLASS`); the mirrored
   result is kept unless the original one has a strictly higher JaC.
5. "meanAccuracies" (JaC@t) is the mean over images with a prediction; "meanPrecision" and
   "meanRecall" the means of TP / (TP + FP) and TP / (TP + FN) over images where they are
   defined; "completeness" the share of ground-truth images with a prediction; "finalScore"
   = completeness x meanAccuracies (the challenge ranks by it at threshold 5). For information,
   per class c "<c>Precision", "<c>Recall", "<c>Accuracy" count points: a point closer than t
   is a TP, a farther one a FP, an undetected class's points FN, and a spurious detection counts
   2 FP (9 for a circle).

Numerics are the evaluator's: the distorted normalised coordinates are rounded to float32 and
scaled by the float32 focal length and principal point in float32; per-image JaC, precision
and recall are float32 and their means float32 (float64 for the mean of JaC when an image has
neither a detected nor an annotated element: the evaluator's JaC is then a Python 0.0); the
per-class values are float64.

How it is fast and still exact: every camera of a chunk of images projects every sampled point
at once (numpy, same operations in the same order as the evaluator); the sequential border
cutting is rewritten as "previous point in front of the camera" with a running maximum, and all
crossings are cut at once; distances are computed for all (annotated point, segment) pairs at
once. Two scalar steps of the evaluator have no bit-equal vectorised form: `x ** n` (libm pow,
which numpy's SIMD power differs from by an ulp) and the BLAS dot product that places the foot
of the perpendicular. Both are computed fast, and the rare values whose outcome the difference
could change (a distorted coordinate within 2^-36 of its error scale from a float32 rounding
boundary; a foot within a few ulps of a segment end) are recomputed the evaluator's way.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from zoo.cli import user_errors
from zoo.formats import calibration as formats
from zoo.geometry.camera import MIN_DEPTH, Camera, camera_coordinates, distort
from zoo.geometry.pitch import CLASS_INDEX, LINE_CLASSES, SampledPitch, mirror_index, sampled_pitch

RESULT_KEYS = ("completeness", "meanRecall", "meanPrecision", "meanAccuracies", "finalScore")
PER_CLASS_KEYS = ("Precision", "Recall", "Accuracy")
NUM_CLASSES = len(LINE_CLASSES)
# Point counts of a spurious detection in the per-class confusion: the evaluator counts the two
# extremities of a line and nine points of a circle, whatever the sampling.
SPURIOUS_POINTS = np.array([9.0 if "Circle" in c else 2.0 for c in LINE_CLASSES])

_IMAGES_PER_CHUNK = 64
_PAIRS_PER_BATCH = 1 << 20
_MIRROR = mirror_index()


# ------------------------------------------------------------------------- projection, as scored


def _pow(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:  # numpy's scalar power returns inf here
        return math.inf


_libm_power = np.frompyfunc(_pow, 2, 1)


def _evaluator_powers(x, y, *, xp=np):
    """(r^2, r^4, r^6, x^2, y^2) as the evaluator gets them: r = sqrt(x x + y y), then libm pow."""
    radius = np.sqrt(x * x + y * y)
    powers = [_libm_power(radius, e) for e in (2.0, 4.0, 6.0)]
    powers += [_libm_power(x, 2.0), _libm_power(y, 2.0)]
    return tuple(np.asarray(p, np.float64) for p in powers)


def _distortion_error_scale(x, y, powers, radial, tangential, prism):
    """[..., P] sizes of the distorted x and y terms: their rounding errors are a few 2^-53 of it."""
    r2, r4, r6, x2, y2 = powers
    k = [np.abs(radial[..., i, None]) for i in range(6)]
    p1, p2 = np.abs(tangential[..., 0, None]), np.abs(tangential[..., 1, None])
    s = [np.abs(prism[..., i, None]) for i in range(4)]
    numerator_size = 1.0 + k[0] * r2 + k[1] * r4 + k[2] * r6
    denominator_size = 1.0 + k[3] * r2 + k[4] * r4 + k[5] * r6
    denominator = np.abs(
        1.0 + radial[..., 3, None] * r2 + radial[..., 4, None] * r4 + radial[..., 5, None] * r6
    )
    factor = (
        np.abs(
            1.0 + radial[..., 0, None] * r2 + radial[..., 1, None] * r4 + radial[..., 2, None] * r6
        )
        / denominator
    )
    factor_size = (numerator_size + factor * denominator_size) / denominator + factor
    ax, ay = np.abs(x), np.abs(y)
    cross = 2 * ax * ay
    x_size = ax * factor_size + p1 * cross + p2 * (r2 + 2 * x2) + s[0] * r2 + s[1] * r4
    y_size = ay * factor_size + p2 * cross + p1 * (r2 + 2 * y2) + s[2] * r2 + s[3] * r4
    return x_size, y_size


def _float32_rounding_at_risk(value, size):
    """Where a value within 2^-36 * size of `value` could round to another float32."""
    margin = size * 2.0**-36
    low, high = (value - margin).astype(np.float32), (value + margin).astype(np.float32)
    return (low != high) | ~np.isfinite(value) | ~np.isfinite(margin)


def evaluator_projection(cameras: Camera, points: np.ndarray):
    """Pixels of world points as the evaluator computes them, for a batch of cameras.

    cameras: batch [C]; points [P, 3]. Returns (u [C, P], v [C, P] float64 holding float32
    values, in_front [C, P] bool); u, v are meaningless where not in front.
    """
    rotation = cameras.rotation()
    local = camera_coordinates(points, rotation, cameras.position)
    depth = local[..., 2]
    in_front = depth > MIN_DEPTH
    safe_depth = np.where(in_front, depth, 1.0)
    x = np.where(in_front, local[..., 0] / safe_depth, 0.0)
    y = np.where(in_front, local[..., 1] / safe_depth, 0.0)
    lens = (cameras.radial_distortion, cameras.tangential_distortion, cameras.thin_prism_distortion)

    # Products for the evaluator's libm powers: at most a few ulps off, see the module docstring.
    radius = np.sqrt(x * x + y * y)
    r2 = radius * radius
    powers = (r2, r2 * r2, r2 * r2 * r2, x * x, y * y)
    xd, yd = distort(x, y, *lens, powers=powers)
    x_size, y_size = _distortion_error_scale(x, y, powers, *lens)
    risky = in_front & (
        _float32_rounding_at_risk(xd, x_size) | _float32_rounding_at_risk(yd, y_size)
    )
    camera_of, _ = np.nonzero(risky)
    if len(camera_of):
        subset = [np.asarray(c)[camera_of] for c in lens]
        exact_x, exact_y = distort(
            x[risky][:, None], y[risky][:, None], *subset, powers=_evaluator_powers
        )
        xd[risky], yd[risky] = exact_x[:, 0], exact_y[:, 0]
    focal = np.asarray(cameras.focal_length).astype(np.float32)
    center = np.asarray(cameras.principal_point).astype(np.float32)
    u = xd.astype(np.float32) * focal[:, 0, None] + center[:, 0, None]
    v = yd.astype(np.float32) * focal[:, 1, None] + center[:, 1, None]
    return u.astype(np.float64), v.astype(np.float64), in_front


# ------------------------------------------------------------------------------ polylines, as cut


@dataclasses.dataclass(frozen=True)
class Polylines:
    """Projected, border-cut pitch elements of a batch of C images, flattened.

    x, y [V] vertex pixels; starts [C * E + 1]: vertices of element e of image i are
    x[starts[i * E + e] : starts[i * E + e + 1]] (E = len(pitch.classes)); pitch: the sampling.
    """

    x: np.ndarray
    y: np.ndarray
    starts: np.ndarray
    pitch: SampledPitch

    def counts(self) -> np.ndarray:
        """[C, E] vertices per image and element."""
        return np.diff(self.starts).reshape(-1, len(self.pitch.classes))

    def detected(self) -> np.ndarray:
        """[C, 28] bool: images x `LINE_CLASSES` with at least one vertex."""
        counts = self.counts()
        detected = np.zeros((len(counts), NUM_CLASSES), bool)
        detected[:, self.pitch.class_index] = counts > 0
        return detected


def _cross(a0, a1, a2, b0, b1, b2):
    """Components of the cross product a x b, with numpy's operations in numpy's order."""
    return a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0


def _border_points(u, v, prev_u, prev_v, width: int, height: int):
    """Where the line through (u, v) and (prev_u, prev_v) [T] meets the image border.

    Of the intersections with the four border lines that lie in the image, the one nearest to
    (u, v), the first in the order left, right, top, bottom on ties. Returns (x, y, found) [T].
    """
    one = np.ones_like(u)
    line = _cross(u, v, one, prev_u, prev_v, one)
    best_x, best_y = np.zeros_like(u), np.zeros_like(u)
    best = np.full_like(u, np.inf)
    for side in (
        (1.0, 0.0, 0.0),
        (1.0, 0.0, -width + 1.0),
        (0.0, 1.0, 0.0),
        (0.0, 1.0, -height + 1.0),
    ):
        i0, i1, i2 = _cross(*line, *side)
        x, y, z = i0 / i2, i1 / i2, i2 / i2
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        dx, dy, dz = x - u, y - v, z - one
        distance = np.sqrt((dx * dx + dy * dy) + dz * dz)
        closer = inside & (distance < best)
        best = np.where(closer, distance, best)
        best_x, best_y = np.where(closer, x, best_x), np.where(closer, y, best_y)
    return best_x, best_y, np.isfinite(best)


def project_pitch(
    cameras: Camera, *, width: int = 960, height: int = 540, pitch: SampledPitch | None = None
) -> Polylines:
    """The evaluator's polylines of every pitch element for a batch of cameras [C]."""
    pitch = pitch or sampled_pitch()
    with np.errstate(all="ignore"):
        u, v, in_front = evaluator_projection(cameras, pitch.points)
        num_cameras, num_points = u.shape
        inside = in_front & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        # Index of the previous point in front of the camera, within the same element.
        position = np.arange(num_points)
        last_in_front = np.maximum.accumulate(np.where(in_front, position, -1), axis=1)
        previous = np.concatenate([np.full((num_cameras, 1), -1), last_in_front[:, :-1]], axis=1)
        has_previous = in_front & (previous >= pitch.starts[pitch.element])
        previous = np.where(has_previous, previous, 0)
        crossing = has_previous & (inside != np.take_along_axis(inside, previous, axis=1))
        cam, point = np.nonzero(crossing)
        before = previous[cam, point]
        border_x, border_y, found = _border_points(
            u[cam, point], v[cam, point], u[cam, before], v[cam, before], width, height
        )
    # Vertex slots per point: [0] the border point inserted before it, [1] the point itself.
    keep = np.zeros((num_cameras, num_points, 2), bool)
    keep[..., 1] = inside
    keep[cam[found], point[found], 0] = True
    slot_x = np.stack([np.zeros_like(u), u], axis=-1)
    slot_y = np.stack([np.zeros_like(v), v], axis=-1)
    slot_x[cam[found], point[found], 0] = border_x[found]
    slot_y[cam[found], point[found], 0] = border_y[found]
    vertex_cam, vertex_point, vertex_slot = np.nonzero(keep)
    polyline = vertex_cam * len(pitch.classes) + pitch.element[vertex_point]
    counts = np.bincount(polyline, minlength=num_cameras * len(pitch.classes))
    return Polylines(
        x=slot_x[vertex_cam, vertex_point, vertex_slot],
        y=slot_y[vertex_cam, vertex_point, vertex_slot],
        starts=np.concatenate([[0], np.cumsum(counts)]),
        pitch=pitch,
    )


# -------------------------------------------------------------------------------------- distances


def _segments(polylines: Polylines):
    """Segments of every polyline: (first segment [C*E+1] offsets, origin [S], end [S] vertex ids).

    A polyline of m >= 2 vertices has m - 1 segments; a one-vertex polyline one segment from the
    vertex to itself, whose distance is the distance to the vertex, as the evaluator's.
    """
    counts = np.diff(polylines.starts)
    num_segments = np.where(counts > 0, np.maximum(counts - 1, 1), 0)
    first = np.concatenate([[0], np.cumsum(num_segments)])
    owner = np.repeat(np.arange(len(counts)), num_segments)
    local = np.arange(first[-1]) - first[owner]
    origin = polylines.starts[owner] + local
    end = polylines.starts[owner] + np.minimum(local + 1, counts[owner] - 1)
    return first, origin, end


def _dot3(a0, a1, a2, b0, b1, b2) -> float:
    return float(np.dot(np.array([a0, a1, a2]), np.array([b0, b1, b2])))


def _pair_distances(px, py, ox, oy, ex, ey):
    """Distance of points to segments [T], as the evaluator computes it for each pair."""
    one = np.ones_like(ox)
    l0, l1, l2 = _cross(ox, oy, one, ex, ey, one)
    norm = np.sqrt(l0 * l0 + l1 * l1)
    l0, l1, l2 = l0 / norm, l1 / norm, l2 / norm
    # Foot of the perpendicular: ((l0, l1, 0) x (px, py, 1)) x l, dehomogenised.
    i0, i1, i2 = _cross(l0, l1, np.zeros_like(l0), px, py, np.ones_like(px))
    q0, q1, q2 = _cross(i0, i1, i2, l0, l1, l2)
    f0, f1, f2 = q0 / q2, q1 / q2, q2 / q2
    v0, v1, v2 = f0 - ox, f1 - oy, f2 - one
    w0, w1 = ex - ox, ey - oy
    along = v0 * w0 + v1 * w1 + v2 * 0.0
    length2 = w0 * w0 + w1 * w1
    k = along / length2
    # The evaluator's BLAS dot may round `along` and `length2` differently (fused multiply-add):
    # where that could move k across 0 or 1, take its dot products for these few pairs.
    slack = 8 * 2.0**-53 * (np.abs(v0 * w0) + np.abs(v1 * w1) + length2)
    doubtful = np.flatnonzero(
        (np.abs(along) <= slack) | (np.abs(along - length2) <= 2 * slack) | np.isnan(k)
    )
    doubtful = doubtful[np.isfinite(f2[doubtful])]
    for t in doubtful:
        k[t] = _dot3(v0[t], v1[t], v2[t], w0[t], w1[t], 0.0) / _dot3(
            w0[t], w1[t], 0.0, w0[t], w1[t], 0.0
        )
    dx, dy, dz = f0 - px, f1 - py, f2 - np.ones_like(px)
    perpendicular = np.sqrt((dx * dx + dy * dy) + dz * dz)
    to_origin = np.sqrt((px - ox) ** 2 + (py - oy) ** 2)
    to_end = np.sqrt((px - ex) ** 2 + (py - ey) ** 2)
    return np.where((0 < k) & (k < 1), perpendicular, np.minimum(to_origin, to_end))


def _point_distances(px, py, point_start, point_count, polyline, polylines: Polylines):
    """Distance of annotated points to polylines, for queries (a run of points, a polyline).

    px, py [M] annotated pixels; point_start, point_count, polyline [Q] per query. Returns the
    distances [sum(point_count)] in query order.
    """
    first, origin, end = _segments(polylines)
    num_segments = first[polyline + 1] - first[polyline]
    pairs = point_count * num_segments
    distances = np.empty(int(point_count.sum()))
    out_offsets = np.concatenate([[0], np.cumsum(point_count)])
    query = 0
    while query < len(polyline):
        # A batch of whole queries with about _PAIRS_PER_BATCH pairs.
        stop = query + max(
            1, int(np.searchsorted(np.cumsum(pairs[query:]), _PAIRS_PER_BATCH, "right"))
        )
        batch = np.arange(query, stop)
        batch_pairs = pairs[batch]
        owner = np.repeat(batch, batch_pairs)
        local = np.arange(batch_pairs.sum()) - np.repeat(
            np.cumsum(batch_pairs) - batch_pairs, batch_pairs
        )
        segment = first[polyline[owner]] + local % num_segments[owner]
        point = point_start[owner] + local // num_segments[owner]
        pair_distance = _pair_distances(
            px[point],
            py[point],
            polylines.x[origin[segment]],
            polylines.y[origin[segment]],
            polylines.x[end[segment]],
            polylines.y[end[segment]],
        )
        # Pairs run point by point, each over its polyline's segments: reduce each run.
        runs = np.repeat(num_segments[batch], point_count[batch])
        run_starts = np.concatenate([[0], np.cumsum(runs)[:-1]])
        distances[out_offsets[query] : out_offsets[stop]] = np.minimum.reduceat(
            pair_distance, run_starts
        )
        query = stop
    return distances


# ------------------------------------------------------------------------------ per-image scores


@dataclasses.dataclass(frozen=True)
class ImageScores:
    """Per-image results of the orientation the evaluator keeps, for N images.

    tp, fp, fn [N] int64: line elements; accuracy [N] float32: JaC; empty [N] bool: no element
    detected nor annotated (the evaluator's JaC is then a Python 0.0, which makes the mean
    float64); mirrored [N] bool: the mirrored labels were kept; class_confusion [N, 28, 2, 2]
    float64: per class (`LINE_CLASSES`) [[TP, FP], [FN, 0]] point counts; class_present [N, 28]
    bool: classes the evaluator lists for the image (detected or annotated).
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    accuracy: np.ndarray
    empty: np.ndarray
    mirrored: np.ndarray
    class_confusion: np.ndarray
    class_present: np.ndarray

    @classmethod
    def concatenate(cls, parts: Sequence[ImageScores]) -> ImageScores:
        return cls(
            *(np.concatenate(fields) for fields in zip(*(dataclasses.astuple(p) for p in parts)))
        )


def _pack_annotations(annotations: Sequence[Mapping[str, np.ndarray]], width: int, height: int):
    """Flat annotated points of images: (image [G], class [G], start [G], count [G], x [M], y [M]).

    G runs over (image, class) groups with at least one point, in image then file order;
    coordinates are scaled to pixels as the evaluator scales them, by (W - 1, H - 1).
    """
    images, classes, counts, xs, ys = [], [], [], [], []
    for image, lines in enumerate(annotations):
        for name, points in lines.items():
            points = np.asarray(points, np.float64).reshape(-1, 2)
            if name not in CLASS_INDEX:
                raise ValueError(f"image {image}: unknown line class {name!r}")
            if len(points) == 0:  # the evaluator drops classes without points
                continue
            images.append(image)
            classes.append(CLASS_INDEX[name])
            counts.append(len(points))
            xs.append(points[:, 0] * (width - 1))
            ys.append(points[:, 1] * (height - 1))
    counts = np.array(counts, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    empty = np.zeros(0, np.float64)
    return (
        np.array(images, np.int64),
        np.array(classes, np.int64),
        starts,
        counts,
        np.concatenate(xs) if xs else empty,
        np.concatenate(ys) if ys else empty,
    )


def _chunk_scores(
    cameras: Camera, annotations: Sequence[Mapping[str, np.ndarray]], threshold, width, height
) -> ImageScores:
    num_images = len(annotations)
    polylines = project_pitch(cameras, width=width, height=height)
    detected = polylines.detected()  # [N, 28]
    pitch = polylines.pitch
    element_of_class = np.full(NUM_CLASSES, -1)
    element_of_class[pitch.class_index] = np.arange(len(pitch.classes))
    counts = np.diff(polylines.starts)

    image, label, start, count, px, py = _pack_annotations(annotations, width, height)
    # Per orientation (0: labels as given, 1: mirrored), the class each group is scored as.
    scored_as = np.stack([label, _MIRROR[label]])  # [2, G]
    below_all = np.zeros((2, len(label)), bool)
    below_count = np.zeros((2, len(label)), np.int64)
    with np.errstate(all="ignore"):
        for orientation in (0, 1):
            element = element_of_class[scored_as[orientation]]
            polyline = image * len(pitch.classes) + np.maximum(element, 0)
            if orientation == 1:  # self-mirrored classes score the same both ways
                same = scored_as[1] == scored_as[0]
                below_all[1, same], below_count[1, same] = below_all[0, same], below_count[0, same]
                queried = (element >= 0) & ~same
            else:
                queried = element >= 0
            queried &= counts[polyline] > 0
            groups = np.flatnonzero(queried)
            distance = _point_distances(
                px, py, start[groups], count[groups], polyline[groups], polylines
            )
            below = distance < threshold
            offsets = np.concatenate([[0], np.cumsum(count[groups])])
            n_below = (
                np.add.reduceat(below.astype(np.int64), offsets[:-1])
                if len(groups)
                else np.zeros(0, np.int64)
            )
            below_count[orientation, groups] = n_below
            below_all[orientation, groups] = n_below == count[groups]

    # Per image and class (as scored): annotated, point counts, all points within the threshold.
    annotated = np.zeros((2, num_images, NUM_CLASSES), bool)
    points = np.zeros((2, num_images, NUM_CLASSES), np.int64)
    within = np.zeros((2, num_images, NUM_CLASSES), np.int64)
    all_within = np.zeros((2, num_images, NUM_CLASSES), bool)
    for o in (0, 1):
        annotated[o, image, scored_as[o]] = True
        points[o, image, scored_as[o]] = count
        within[o, image, scored_as[o]] = below_count[o]
        all_within[o, image, scored_as[o]] = below_all[o]
    common = annotated & detected[None]
    tp = (common & all_within).sum(-1)
    fp = (detected[None] & ~annotated).sum(-1) + (common & ~all_within).sum(-1)
    fn = (annotated & ~detected[None]).sum(-1)
    total = tp + fp + fn  # [2, N]
    accuracy = np.where(
        total > 0, tp.astype(np.float32) / np.maximum(total, 1).astype(np.float32), np.float32(0)
    )
    # Ties keep the mirrored labels, as the evaluator's `accuracy1 > accuracy2` does.
    mirrored = ~(accuracy[0] > accuracy[1])
    pick = mirrored.astype(np.int64)
    rows = np.arange(num_images)

    confusion = np.zeros((2, num_images, NUM_CLASSES, 2, 2))
    spurious = detected[None] & ~annotated
    confusion[..., 0, 1] = np.where(spurious, SPURIOUS_POINTS, 0.0)
    confusion[..., 1, 0] = np.where(annotated & ~detected[None], points, 0)
    confusion[..., 0, 0] += np.where(common, within, 0)
    confusion[..., 0, 1] += np.where(common, points - within, 0)
    return ImageScores(
        tp=tp[pick, rows],
        fp=fp[pick, rows],
        fn=fn[pick, rows],
        accuracy=accuracy[pick, rows],
        empty=total[pick, rows] == 0,
        mirrored=mirrored,
        class_confusion=confusion[pick, rows],
        class_present=(annotated | detected[None])[pick, rows],
    )


def image_scores(
    cameras: Camera | Iterable[Camera],
    annotations: Iterable[Mapping[str, np.ndarray]],
    *,
    threshold: float = 5,
    width: int = 960,
    height: int = 540,
) -> ImageScores:
    """Per-image TP/FP/FN, JaC and per-class point counts, without files (e.g. in a training loop).

    cameras: a batch [N] (or N cameras); annotations: per image, class ->
    normalised points [n, 2], as `zoo.formats.calibration.read_annotations` gives them.
    """
    annotations = list(annotations)
    if not isinstance(cameras, Camera):
        cameras = list(cameras)
        cameras = Camera.stack(cameras) if cameras else None
    num_images = len(annotations)
    if cameras is not None and cameras.batch_shape != (num_images,):
        raise ValueError(f"{cameras.batch_shape} cameras for {num_images} annotated images")
    if num_images == 0:
        return ImageScores(
            *(
                np.zeros((0,) + shape, dtype)
                for shape, dtype in (
                    ((), np.int64),
                    ((), np.int64),
                    ((), np.int64),
                    ((), np.float32),
                    ((), bool),
                    ((), bool),
                    ((NUM_CLASSES, 2, 2), np.float64),
                    ((NUM_CLASSES,), bool),
                )
            )
        )
    parts = []
    for begin in range(0, num_images, _IMAGES_PER_CHUNK):
        end = min(begin + _IMAGES_PER_CHUNK, num_images)
        chunk = Camera(*(np.asarray(field) for field in cameras)).select(slice(begin, end))
        parts.append(_chunk_scores(chunk, annotations[begin:end], threshold, width, height))
    return ImageScores.concatenate(parts)


def _mean(values: np.ndarray):
    """np.mean as the evaluator calls it on its list: nan (float64) when empty."""
    if len(values) == 0:
        return np.float64(np.nan)
    return np.mean(values)


def summarize(scores: ImageScores, num_groundtruth_images: int) -> dict[str, float]:
    """The evaluator's result dict from per-image scores (in ground-truth order) and the number
    of ground-truth images (those without a prediction count as missed)."""
    if num_groundtruth_images <= 0:
        raise ValueError("no ground-truth image to evaluate")
    if len(scores.tp) > num_groundtruth_images:
        raise ValueError(
            f"{len(scores.tp)} scored images but {num_groundtruth_images} ground-truth images"
        )
    completeness = len(scores.tp) / num_groundtruth_images
    # A Python 0.0 among the evaluator's float32 JaCs makes its mean float64.
    accuracies = scores.accuracy.astype(np.float64 if scores.empty.any() else np.float32)
    tp, fp, fn = (a.astype(np.float32) for a in (scores.tp, scores.fp, scores.fn))
    has_precision, has_recall = (tp + fp) > 0, (tp + fn) > 0
    mean_accuracy = _mean(accuracies)
    results = {
        "completeness": completeness,
        "meanRecall": _mean(tp[has_recall] / (tp + fn)[has_recall]),
        "meanPrecision": _mean(tp[has_precision] / (tp + fp)[has_precision]),
        "meanAccuracies": mean_accuracy,
        "finalScore": completeness * mean_accuracy,  # numpy 2 typing: float32 when the mean is
    }
    present = scores.class_present.any(axis=0)
    totals = np.where(scores.class_present[..., None, None], scores.class_confusion, 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        for c in np.flatnonzero(present):
            (tp_c, fp_c), (fn_c, tn_c) = totals[c]
            name = LINE_CLASSES[c]
            results[f"{name}Precision"] = tp_c / (tp_c + fp_c)
            results[f"{name}Recall"] = tp_c / (tp_c + fn_c)
            results[f"{name}Accuracy"] = tp_c / (tp_c + fp_c + fn_c + tn_c)
    return {key: float(value) for key, value in results.items()}


def evaluate(
    groundtruth: str | os.PathLike,
    predictions: str | os.PathLike,
    *,
    threshold: float = 5,
    width: int = 960,
    height: int = 540,
) -> dict[str, float]:
    """Score a submission (folder or zip of `camera_<idx>.json`) against the annotations (folder
    or zip of `<idx>.json`), as the official evaluator.

    Returns "completeness", "meanRecall", "meanPrecision", "meanAccuracies" (JaC@threshold),
    "finalScore" (completeness x JaC) and per class "<class>Precision", "<class>Recall",
    "<class>Accuracy" for every class detected or annotated in a scored image. A mean over no
    image is nan. Bad files raise `zoo.formats.calibration.CalibrationFormatError`.
    """
    truth = formats.read_annotations(groundtruth)
    cameras = formats.read_cameras(predictions, indices=truth)
    scored = [idx for idx in truth if idx in cameras]
    scores = image_scores(
        [cameras[idx] for idx in scored],
        [truth[idx] for idx in scored],
        threshold=threshold,
        width=width,
        height=height,
    )
    return summarize(scores, len(truth))


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.calibration",
        description="SoccerNet camera calibration: JaC@t, completeness and final score "
        "(equal to the official evaluator).",
    )
    parser.add_argument("groundtruth", help="folder or zip of <idx>.json annotations")
    parser.add_argument("predictions", help="folder or zip of camera_<idx>.json files")
    parser.add_argument("--threshold", type=float, default=5, help="pixels (the challenge uses 5)")
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=540)
    parser.add_argument("--per-class", action="store_true", help="also print per-class values")
    parser.add_argument("--verbose", action="store_true", help="show the traceback of errors")
    args = parser.parse_args(argv)
    results = evaluate(
        args.groundtruth,
        args.predictions,
        threshold=args.threshold,
        width=args.width,
        height=args.height,
    )
    threshold = f"{args.threshold:g}"
    print("| metric | value |")
    print("|---|---:|")
    for key, label in (
        ("finalScore", f"final score (completeness x JaC@{threshold})"),
        ("meanAccuracies", f"JaC@{threshold} (%)"),
        ("completeness", "completeness (%)"),
        ("meanPrecision", "precision (%)"),
        ("meanRecall", "recall (%)"),
    ):
        scale = 1 if key == "finalScore" else 100
        print(f"| {label} | {scale * results[key]:.{4 if scale == 1 else 2}f} |")
    if args.per_class:
        print()
        print("| class | precision (%) | recall (%) | accuracy (%) |")
        print("|---|---:|---:|---:|")
        for name in LINE_CLASSES:
            if f"{name}Accuracy" in results:
                values = " | ".join(f"{100 * results[name + k]:.2f}" for k in PER_CLASS_KEYS)
                print(f"| {name.strip()} | {values} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
