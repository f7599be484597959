"""Cameras per second: the zoo's batched JAX solver against the same problem solved image by image
with OpenCV and SciPy, as the published calibrators do, and the accuracy of both.

    python benchmarks/calibration.py [--images 64] [--iters 3]

Input: official-style line annotations of synthetic broadcast images (`zoo.synthetic.calibration`,
exact points, lens distortion), the problem of `python -m zoo.predict calibration --lines`.

* zoo (JAX): `zoo.postprocess.camera_solver.solve` on the whole batch: line fits and their
  intersections, RANSAC plane homographies (points and lines), Levenberg-Marquardt with lens
  distortion, vmapped and jitted (compile time excluded, reported apart).
* OpenCV + SciPy, per image in a Python loop: the same line fits and intersections (numpy),
  `cv2.findHomography` with RANSAC at the same threshold sweep on the ground points, the same
  homography-to-camera decomposition, then `scipy.optimize.least_squares` (trust-region
  reflective, Cauchy loss at the same scale) on the same residuals (keypoint reprojection,
  distances of line points to the projected lines and of circle points to the projected
  circles, distortion k1 and k2, the same priors), written in numpy.

Accuracy on the same images: median reprojection error of the pitch markings seen (pixels at
960x540, against the true cameras) over images with at least 4 annotated elements, and the
official metric (`zoo.metrics.calibration`, equal to the official evaluator) of the cameras each
solver is sure of (the JAX solver's confidence >= 0.5; OpenCV + SciPy: a final RMS under 3 px).
Timings interleave the two contenders (`benchmarks/timing.py`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import jax
import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import package_version, time_interleaved  # noqa: E402
from zoo.geometry import camera as camera_lib  # noqa: E402
from zoo.geometry.camera import Camera  # noqa: E402
from zoo.geometry.pitch import CENTER_CIRCLE_RADIUS, sampled_pitch  # noqa: E402
from zoo.metrics import calibration as metric  # noqa: E402
from zoo.postprocess import camera_solver as solver  # noqa: E402
from zoo.synthetic import calibration as synthetic  # noqa: E402

CONFIG = solver.SolverConfig()
CENTRE = np.array([480.0, 270.0])


# ------------------------------------------------------------------------ OpenCV + SciPy, per image


def fit_lines(pixels, classes):
    """{class: (unit-normal line [3], points)} of the straight classes with 2+ points."""
    lines = {}
    for c in np.unique(classes):
        points = pixels[classes == c]
        if solver.ELEMENT_KIND[c] != 1 or len(points) < 2:
            continue
        mean = points.mean(0)
        _, _, vt = np.linalg.svd(points - mean)
        normal = vt[1]
        if np.ptp((points - mean) @ vt[0]) > 8.0:
            lines[c] = np.array([normal[0], normal[1], -normal @ mean])
    return lines


def ground_points(lines):
    """(world xy [n, 2], pixels [n, 2]) of the crossings of fitted ground lines."""
    world, pixels = [], []
    for a, b, point in zip(solver.INTERSECTION_A, solver.INTERSECTION_B, solver.INTERSECTION_WORLD):
        if a in lines and b in lines and abs(point[2]) < 1e-9:
            crossing = np.cross(lines[a], lines[b])
            if abs(crossing[2]) > 0.1:
                xy = crossing[:2] / crossing[2]
                if -480 < xy[0] < 1440 and -270 < xy[1] < 810:
                    world.append(point[:2])
                    pixels.append(xy)
    return np.array(world).reshape(-1, 2), np.array(pixels).reshape(-1, 2)


def camera_from_homography(h):
    """[pan, tilt, roll, x, y, z, log f] of a ground homography (principal point at the centre)."""
    h = (np.array([[1, 0, -CENTRE[0]], [0, 1, -CENTRE[1]], [0, 0, 1.0]]) @ h)
    h = h / np.linalg.norm(h[:, :2])
    h1, h2 = h[:, 0], h[:, 1]
    a1, b1 = h1[0] * h2[0] + h1[1] * h2[1], h1[2] * h2[2]
    a2, b2 = h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2, h1[2] ** 2 - h2[2] ** 2
    w = -(a1 * b1 + a2 * b2) / max(a1 * a1 + a2 * a2, 1e-30)
    focal = np.clip(1 / np.sqrt(w) if w > 0 else CONFIG.default_focal, *CONFIG.focal_range)
    k_inverse = np.diag([1 / focal, 1 / focal, 1.0])
    r1, r2, t = k_inverse @ h1, k_inverse @ h2, k_inverse @ h[:, 2]
    scale = 2 / (np.linalg.norm(r1) + np.linalg.norm(r2))
    scale = -scale if t[2] * scale < 0 else scale
    r1, r2, t = r1 * scale, r2 * scale, t * scale
    u, _, vt = np.linalg.svd(np.stack([r1, r2, np.cross(r1, r2)], -1))
    rotation = u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt
    position = -rotation.T @ t
    pan, tilt, roll = camera_lib.pan_tilt_roll_from_rotation(rotation)
    return np.array([pan, tilt, roll, *position, np.log(focal)])


def to_camera(params) -> Camera:
    """The camera of [pan, tilt, roll, x, y, z, log f, log aspect, k1, q] (the JAX solver's
    parametrisation: k2 = 0.45 k1^2 + q^2)."""
    focal = np.exp(params[6])
    k1, k2 = params[8], solver.FOLD_FREE * params[8] ** 2 + params[9] ** 2
    return Camera.create(
        pan_degrees=np.rad2deg(params[0]), tilt_degrees=np.rad2deg(params[1]),
        roll_degrees=np.rad2deg(params[2]), position=params[3:6],
        focal_length=[focal, focal * np.exp(params[7])], principal_point=CENTRE,
        radial_distortion=[k1, k2, 0, 0, 0, 0])


def residuals(params, point_world, point_pixel, line_pixel, line_class):
    """The JAX solver's residuals (second round), in numpy."""
    camera = to_camera(params)
    projected, front = camera_lib.project(camera, point_world)
    points = np.where(front[:, None], projected - point_pixel, 1000.0) * np.sqrt(CONFIG.point_weight)
    (fx, fy), (k1, k2) = camera.focal_length, camera.radial_distortion[:2]
    xd, yd = (line_pixel[:, 0] - CENTRE[0]) / fx, (line_pixel[:, 1] - CENTRE[1]) / fy
    x, y = xd, yd
    for _ in range(8):
        r2 = x * x + y * y
        factor = 1 + k1 * r2 + k2 * r2 * r2
        x, y = xd / factor, yd / factor
    homogeneous = np.stack([x, y, np.ones_like(x)], -1)
    rotation = camera.rotation()
    ends = np.einsum("ij,lej->lei", rotation, solver.ELEMENT_ENDS[line_class] - camera.position)
    line = np.cross(ends[:, 0], ends[:, 1])
    straight = np.sum(line * homogeneous, -1) / np.linalg.norm(line[:, :2], axis=-1).clip(1e-12)
    ground = np.stack([rotation[:, 0], rotation[:, 1], -rotation @ camera.position], -1)
    inverse = np.linalg.inv(ground)
    centre = solver.CIRCLE_CENTRE[line_class]
    conic = np.zeros((len(line_class), 3, 3))
    conic[:, 0, 0] = conic[:, 1, 1] = 1
    conic[:, 0, 2] = conic[:, 2, 0] = -centre[:, 0]
    conic[:, 1, 2] = conic[:, 2, 1] = -centre[:, 1]
    conic[:, 2, 2] = centre[:, 0] ** 2 + centre[:, 1] ** 2 - CENTER_CIRCLE_RADIUS**2
    conic = np.einsum("ji,ljk,km->lim", inverse, conic, inverse)
    value = np.einsum("li,lij,lj->l", homogeneous, conic, homogeneous)
    gradient = 2 * np.einsum("lij,lj->li", conic, homogeneous)[:, :2]
    circle = value / np.linalg.norm(gradient, axis=-1).clip(1e-12)
    kind = solver.ELEMENT_KIND[line_class]
    distances = np.mean(camera.focal_length) * np.where(kind == 1, straight, np.where(kind == 2, circle, 0.0))
    priors = CONFIG.cauchy_px * np.array([k1 / CONFIG.distortion_sigma, k2 / CONFIG.distortion_sigma,
                                          params[7] / CONFIG.aspect_sigma])
    return np.concatenate([points.reshape(-1), distances * np.sqrt(CONFIG.line_weight), priors])


def solve_one(pixels, classes):
    """(camera params or None, final RMS px) of one image's annotation, OpenCV + SciPy."""
    lines = fit_lines(pixels, classes)
    world, crossings = ground_points(lines)
    if len(world) < 4:
        return None, np.inf
    best, best_error = None, np.inf
    for threshold in CONFIG.ransac_thresholds:  # the RANSAC threshold sweep
        homography, _ = cv2.findHomography(world, crossings, cv2.RANSAC, threshold)
        if homography is None:
            continue
        mapped = cv2.perspectiveTransform(world[:, None], homography)[:, 0]
        error = np.median(np.linalg.norm(mapped - crossings, axis=-1))
        if error < best_error:
            best, best_error = homography, error
    if best is None:
        return None, np.inf
    start = np.concatenate([camera_from_homography(best), [0.0, 0.0, solver.INITIAL_Q]])
    world3 = np.concatenate([world, np.zeros((len(world), 1))], -1)
    result = least_squares(residuals, start, loss="cauchy", f_scale=CONFIG.cauchy_px, max_nfev=200,
                           args=(world3[:0], crossings[:0], pixels, classes))
    observed = residuals(result.x, world3[:0], crossings[:0], pixels, classes)[:-3]
    return result.x, float(np.sqrt(np.mean(observed**2 / CONFIG.line_weight)))


def opencv_scipy(annotations):
    params, rms = [], []
    for lines in annotations:
        obs = solver.observations_from_annotations([lines])
        present = obs.line_weight[0] > 0
        p, r = solve_one(obs.line_pixel[0][present].astype(np.float64), obs.line_class[0][present])
        params.append(p)
        rms.append(r)
    return params, np.array(rms)


# ---------------------------------------------------------------------------------------- accuracy


def reprojection_errors(truth: Camera, solved: Camera) -> np.ndarray:
    points = sampled_pitch(0.5, 0.2).points
    true_px, true_front = camera_lib.project(truth, points)
    solved_px, solved_front = camera_lib.project(solved, points)
    seen = true_front & (true_px[..., 0] >= 0) & (true_px[..., 0] < 960) & (true_px[..., 1] >= 0) & (
        true_px[..., 1] < 540)
    distance = np.where(solved_front, np.linalg.norm(true_px - solved_px, axis=-1), np.inf)
    return np.array([distance[i][seen[i]].mean() if seen[i].any() else np.nan for i in range(len(seen))])


def official_metric(cameras: Camera, sure: np.ndarray, annotations) -> dict:
    scores = metric.image_scores(cameras.select(sure), [a for a, s in zip(annotations, sure) if s])
    return metric.summarize(scores, len(annotations))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    truth, _ = synthetic.sample_cameras(rng, args.images)
    annotations = [synthetic.annotate(truth.select(i), rng) for i in range(args.images)]
    observations = solver.observations_from_annotations(annotations, line_slots=256)
    chunk = args.images

    start = time.perf_counter()
    solver.solve(observations, chunk=chunk)
    compile_seconds = time.perf_counter() - start
    results = {}

    def zoo():
        results["zoo"] = solver.solve(observations, chunk=chunk)

    def peers():
        results["opencv"] = opencv_scipy(annotations)

    seconds = time_interleaved({"zoo": zoo, "opencv": peers}, warmup=1, iters=args.iters)

    elements = np.array([len(a) for a in annotations])
    enough = elements >= 4
    zoo_solution = results["zoo"]
    zoo_errors = reprojection_errors(truth, zoo_solution.cameras)
    zoo_sure = zoo_solution.confidence >= 0.5
    params, rms = results["opencv"]
    solved = np.array([p is not None for p in params])
    fallback = np.concatenate([np.zeros(7), [0.0, 0.0, solver.INITIAL_Q]])
    opencv_cameras = Camera.stack([to_camera(p if p is not None else fallback) for p in params])
    opencv_errors = np.where(solved, reprojection_errors(truth, opencv_cameras), np.inf)
    opencv_sure = solved & (rms < 3.0)

    device = jax.devices()[0]
    print(f"{args.images} synthetic images ({enough.sum()} with 4+ annotated elements), "
          f"{os.cpu_count()} CPU cores, jax {jax.__version__} on {device.platform} ({device.device_kind}), "
          f"opencv {cv2.__version__}, scipy {package_version('scipy')}; JAX compile {compile_seconds:.1f} s "
          "(once per shape)")
    print()
    print("| solver | cameras / s | median reprojection error (px, 4+ elements) | sure | "
          "JaC@5 (sure) | completeness | final score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, errors, sure, cameras, time_s in (
        ("zoo: batched JAX (RANSAC + LM, vmapped)", zoo_errors, zoo_sure, zoo_solution.cameras, seconds["zoo"]),
        ("per image: cv2.findHomography + scipy least_squares", opencv_errors, opencv_sure, opencv_cameras,
         seconds["opencv"]),
    ):
        scores = official_metric(cameras, sure, annotations)
        print(f"| {name} | {args.images / time_s:.1f} | {np.nanmedian(errors[enough]):.3f} | "
              f"{sure.sum()}/{args.images} | {scores['meanAccuracies']:.3f} | {scores['completeness']:.3f} | "
              f"{scores['finalScore']:.3f} |")
    true_scores = official_metric(truth, np.ones(args.images, bool), annotations)
    print(f"| (true cameras) | | 0 | | {true_scores['meanAccuracies']:.3f} | "
          f"{true_scores['completeness']:.3f} | {true_scores['finalScore']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
