"""Synthetic SoccerNet camera calibration data, written in the exact official layout.

The tree is what unzipping the official `calibration-2023` downloads gives (REFERENCE.md §5.1):

    <root>/{train,valid,test,challenge}/<idx>.jpg      960x540 broadcast-like images
    <root>/{train,valid,test}/<idx>.json               the pitch lines seen in each image
    <root>/true_cameras/<split>/camera_<idx>.json      the camera each image was rendered with

`true_cameras/` is not part of the official data: it keeps the exact cameras beside the images so
that tests can measure camera errors directly (and the challenge split can be scored in tests).

Cameras (`sample_cameras`) mix the shots of a broadcast: the main camera on the halfway line
(`zoo.geometry.camera.sample_broadcast_cameras`), tight close-ups from it (few lines visible),
cameras behind a goal, and lenses with strong radial distortion. Images (`zoo.synthetic.
calibration_scene`) show mown grass, the pitch markings, goals with nets, players, the ball,
advertising boards and a crowd, with lighting changes, shadows, blur, noise and JPEG artefacts.

Annotations (`annotate`) are written as the official annotators' files are: per visible pitch
element, points normalised by (W - 1, H - 1); a straight element gets the two extremities of its
visible part (where it ends, or where it leaves the image) plus 0-2 points along it, a circle
unordered points along its visible arcs. Points lie exactly on the projected (distorted) element,
so a perfect camera scores JaC@5 = 1 on them; `noise_px` adds annotator noise.

    python -m zoo.synthetic.calibration --root /tmp/calibration-2023 \
        --images train=400,valid=60,test=60,challenge=20
"""

from __future__ import annotations

import argparse
import os
import types
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from zoo.cli import split_counts
from zoo.formats import calibration as formats
from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera
from zoo.geometry.pitch import Pitch
from zoo.metrics.calibration import project_pitch

SPLITS = ("train", "valid", "test", "challenge")
DEFAULT_IMAGES_PER_SPLIT: Mapping[str, int] = types.MappingProxyType(
    {"train": 400, "valid": 60, "test": 60, "challenge": 20}
)
TRUE_CAMERAS = "true_cameras"
WIDTH, HEIGHT = formats.IMAGE_WIDTH, formats.IMAGE_HEIGHT
# Shares of the camera kinds in a split (the rest is the main camera).
CLOSE_UP_SHARE, BEHIND_GOAL_SHARE, STRONG_DISTORTION_SHARE = 0.15, 0.1, 0.15
# Samples per element when looking for its visible part; borders are then found by bisection.
_SAMPLES_PER_ELEMENT = 512
_BISECTION_STEPS = 30


# ------------------------------------------------------------------------------------- cameras


def _behind_goal_cameras(rng: np.random.Generator, num: int) -> Camera:
    """Cameras [num] 4-20 m behind a goal line, 3-12 m high, looking into the pitch."""
    side = rng.choice([-1.0, 1.0], num)
    position = np.stack(
        [side * rng.uniform(56.5, 72.5, num), rng.uniform(-12, 12, num), -rng.uniform(3, 12, num)],
        axis=-1,
    )
    target = np.stack(
        [side * rng.uniform(15, 45, num), rng.uniform(-20, 20, num), np.zeros(num)], axis=-1
    )
    pan, tilt = camera_lib.look_at(position, target)
    fov = np.deg2rad(rng.uniform(30, 70, num))
    fx = (WIDTH / 2) / np.tan(fov / 2)
    scale = np.array([0.15, 0.05, 0.01, 0.02, 0.005, 0.001])
    return Camera.create(
        pan_degrees=pan,
        tilt_degrees=tilt,
        roll_degrees=rng.uniform(-2, 2, num),
        position=position,
        focal_length=np.stack([fx, fx * rng.uniform(0.99, 1.01, num)], axis=-1),
        principal_point=np.broadcast_to([WIDTH / 2, HEIGHT / 2], (num, 2)),
        radial_distortion=rng.uniform(-1, 1, (num, 6)) * scale,
        tangential_distortion=rng.uniform(-1e-3, 1e-3, (num, 2)),
        thin_prism_distortion=rng.uniform(-1e-3, 1e-3, (num, 4)),
    )


def folding_lenses(cameras: Camera, *, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """[N] bool: lenses whose distortion brings far-off directions back into the image.

    The rational model bends over at large radii for some coefficients: points far outside the
    field of view then land inside the image (the evaluator draws them there), which no real
    lens does. Along 64 directions and radii up to 20 (87 degrees off axis), a lens folds when a
    direction lands in the image beyond the radius where its distorted radius stops growing.
    """
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radii = np.geomspace(1e-3, 20.0, 400)
    x = (radii[:, None] * np.cos(angles)[None]).reshape(-1)
    y = (radii[:, None] * np.sin(angles)[None]).reshape(-1)
    lens = (cameras.radial_distortion, cameras.tangential_distortion, cameras.thin_prism_distortion)
    xd, yd = camera_lib.distort(x[None], y[None], *(np.asarray(c) for c in lens))
    u = xd * cameras.focal_length[:, :1] + cameras.principal_point[:, :1]
    v = yd * cameras.focal_length[:, 1:] + cameras.principal_point[:, 1:]
    shape = (len(u), len(radii), len(angles))
    inside = ((u > -width) & (u < 2 * width) & (v > -height) & (v < 2 * height)).reshape(shape)
    distorted_radius = np.hypot(xd, yd).reshape(shape)
    growing = np.diff(distorted_radius, axis=1) > 0
    # Radius index where each direction first stops growing (all radii if it never does).
    stop = np.where(growing.all(axis=1), len(radii), np.argmin(growing, axis=1) + 1)
    beyond = np.arange(len(radii))[None, :, None] >= stop[:, None, :]
    return (inside & beyond).any(axis=(1, 2))


def sample_cameras(rng: np.random.Generator, num: int) -> tuple[Camera, np.ndarray]:
    """Cameras [num] for 960x540 images and their kinds [num] (str): "main", "close_up",
    "behind_goal" or "distorted" (the main camera with 2.5x the lens distortion: |k1| <= 0.375).

    Lenses that fold far-off directions back into the image (`folding_lenses`) are drawn again.
    """
    kinds = rng.choice(
        ["main", "close_up", "behind_goal", "distorted"],
        num,
        p=[
            1 - CLOSE_UP_SHARE - BEHIND_GOAL_SHARE - STRONG_DISTORTION_SHARE,
            CLOSE_UP_SHARE,
            BEHIND_GOAL_SHARE,
            STRONG_DISTORTION_SHARE,
        ],
    )
    cameras = camera_lib.sample_broadcast_cameras(rng, num)
    strong = camera_lib.sample_broadcast_cameras(rng, num, distortion=2.5)
    behind = _behind_goal_cameras(rng, num)
    # Close-ups: the main camera zoomed to a 4-10 degree field of view.
    zoom = (WIDTH / 2) / np.tan(np.deg2rad(rng.uniform(4, 10, num)) / 2)
    close = cameras._replace(
        focal_length=cameras.focal_length * (zoom / cameras.focal_length[:, 0])[:, None]
    )
    fields = []
    for main, close_up, behind_goal, distorted in zip(cameras, close, behind, strong):
        field = np.array(main, copy=True)
        for kind, source in (
            ("close_up", close_up),
            ("behind_goal", behind_goal),
            ("distorted", distorted),
        ):
            field[kinds == kind] = np.asarray(source)[kinds == kind]
        fields.append(field)
    cameras = Camera(*fields)
    lens_fields = ("radial_distortion", "tangential_distortion", "thin_prism_distortion")
    for _ in range(100):
        folding = np.flatnonzero(folding_lenses(cameras))
        if not len(folding):
            break
        scale = np.where(kinds[folding] == "distorted", 2.5, 1.0)
        redrawn = camera_lib.sample_broadcast_cameras(rng, len(folding))
        for name in lens_fields:
            value = np.asarray(getattr(redrawn, name)) * scale[:, None]
            getattr(cameras, name)[folding] = value
    return cameras, kinds


# --------------------------------------------------------------------------------- annotations


def _element_curves(pitch: Pitch) -> dict[str, tuple[str, np.ndarray | tuple]]:
    """class -> ("line", (a [3], b [3])) or ("circle", (centre [3], start angle, end angle))."""
    curves: dict[str, tuple[str, np.ndarray | tuple]] = {
        name: ("line", ends) for name, ends in pitch.straight_elements().items()
    }
    points = pitch.key_points()
    curves["Circle central"] = ("circle", (points["CENTER_MARK"], 0.0, 2 * np.pi))
    for name, side in (("Circle left", "L"), ("Circle right", "R")):
        mark = points[f"{side}_PENALTY_MARK"]
        top = points[f"T{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"]
        bottom = points[f"B{side}_16M_LINE_AND_PENALTY_ARC_INTERSECTION"]
        angles = [np.arctan2(p[1] - mark[1], p[0] - mark[0]) for p in (top, bottom)]
        if side == "L":  # the arc through angle 0 (towards +x)
            start, end = angles[0], angles[1]
        else:  # the arc through angle pi
            start, end = angles[1], angles[0] + 2 * np.pi
        curves[name] = ("circle", (mark, start, end))
    return curves


def _curve_points(kind: str, geometry, t: np.ndarray) -> np.ndarray:
    """Points [..., 3] at parameters t [...] in [0, 1] along an element."""
    if kind == "line":
        a, b = geometry
        return a + t[..., None] * (b - a)
    centre, start, end = geometry
    angle = start + t * (end - start)
    radius = 9.15
    return np.stack(
        [centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle), 0 * angle], -1
    )


def _visible(camera: Camera, points: np.ndarray, width: int, height: int):
    """Pixels [..., 2] of world points [..., 3] and whether they are in front and in the image."""
    pixels, in_front = camera_lib.project(camera, points.reshape(-1, 3))
    pixels = pixels.reshape(points.shape[:-1] + (2,))
    in_front = in_front.reshape(points.shape[:-1])
    inside = (
        in_front
        & (pixels[..., 0] >= 0)
        & (pixels[..., 0] <= width - 1)
        & (pixels[..., 1] >= 0)
        & (pixels[..., 1] <= height - 1)
    )
    return pixels, inside


def _border_parameters(camera, kind, geometry, t_in, t_out, width, height):
    """Bisection [n] between parameters seen (t_in) and not seen (t_out): the visible end."""
    for _ in range(_BISECTION_STEPS):
        middle = (t_in + t_out) / 2
        _, seen = _visible(camera, _curve_points(kind, geometry, middle), width, height)
        t_in, t_out = np.where(seen, middle, t_in), np.where(seen, t_out, middle)
    return t_in


def annotate(
    camera: Camera,
    rng: np.random.Generator,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    noise_px: float = 0.0,
    pitch: Pitch = Pitch(),
) -> dict[str, np.ndarray]:
    """The annotation of one image seen by `camera`: class -> normalised points [n, 2].

    Straight elements: the two extremities of the visible part, then 0-2 points along it (the
    order of the official files); circles: 4-12 points along the visible arcs, shuffled.
    Annotated are the elements the evaluator draws for this camera. Coordinates are pixel /
    (W - 1) and pixel / (H - 1), as the evaluator scales them back.
    """
    annotation = {}
    grid = np.linspace(0.0, 1.0, _SAMPLES_PER_ELEMENT)
    # The elements the evaluator's polylines show for this camera are the ones annotated, so
    # that the true camera makes no false positive or negative (an element seen between two of
    # its samples 0.9 m apart is neither drawn by it nor annotated here).
    polylines = project_pitch(Camera(*(np.asarray(f)[None] for f in camera)))
    counts = polylines.counts()[0]
    shown = {c: (polylines.starts[e], counts[e]) for e, c in enumerate(polylines.pitch.classes)}
    for name, (kind, geometry) in _element_curves(pitch).items():
        first, count = shown[name]
        if count == 0:
            continue
        points = _visible_points(camera, kind, geometry, grid, rng, width, height)
        if len(points) < 2:  # too little seen by the dense sampling: the evaluator's vertices
            vertices = np.stack(
                [polylines.x[first : first + count], polylines.y[first : first + count]], -1
            )
            points = np.concatenate([vertices, vertices[-1:]])[:max(2, count)]
        if noise_px:
            points = points + rng.normal(0.0, noise_px, points.shape)
        points = np.clip(points, 0.0, [width - 1, height - 1])
        annotation[name] = points / np.array([width - 1, height - 1])
    return annotation


def _visible_points(camera, kind, geometry, grid, rng, width, height) -> np.ndarray:
    """Annotation pixels [n, 2] of one element: ends of its visible part and points along it."""
    pixels, seen = _visible(camera, _curve_points(kind, geometry, grid), width, height)
    if not seen.any():
        return np.zeros((0, 2))
    runs = np.flatnonzero(np.diff(np.concatenate([[0], seen.astype(int), [0]])))
    starts, stops = runs[0::2], runs[1::2] - 1  # inclusive index ranges of visible runs
    # Refine both ends of every run to where the element leaves the image.
    low = grid[starts]
    has_before = starts > 0
    low[has_before] = _border_parameters(
        camera, kind, geometry, grid[starts][has_before], grid[starts - 1][has_before],
        width, height,
    )
    high = grid[stops]
    has_after = stops < len(grid) - 1
    high[has_after] = _border_parameters(
        camera, kind, geometry, grid[stops][has_after],
        grid[np.minimum(stops + 1, len(grid) - 1)][has_after], width, height,
    )
    lengths = np.array(
        [
            np.sum(np.linalg.norm(np.diff(pixels[s : e + 1], axis=0), axis=-1))
            for s, e in zip(starts, stops)
        ]
    )
    if kind == "line":
        # A straight element's projection crosses the image once (twice only with extreme
        # distortion): annotate its longest visible run.
        best = int(np.argmax(lengths))
        extra = np.sort(rng.uniform(low[best], high[best], rng.integers(0, 3)))
        t = np.concatenate([[low[best], high[best]], extra])
    else:
        count = int(rng.integers(4, 13))
        weights = (lengths + 1e-9) / (lengths + 1e-9).sum()
        run = rng.choice(len(lengths), count, p=weights)
        t = rng.uniform(low[run], high[run])
    points, seen_t = _visible(camera, _curve_points(kind, geometry, t), width, height)
    return points[seen_t]


# ------------------------------------------------------------------------------------- writing


def image_name(index: int) -> str:
    """The official 5-digit image index, e.g. 00042."""
    return f"{index:05d}"


def write_soccernet_calibration(
    root: str | os.PathLike,
    *,
    images_per_split: Mapping[str, int] = DEFAULT_IMAGES_PER_SPLIT,
    width: int = WIDTH,
    height: int = HEIGHT,
    noise_px: float = 0.0,
    seed: int = 0,
) -> dict[str, int]:
    """Writes a synthetic `calibration-2023` tree under `root`; returns images per split.

    Args:
      images_per_split: how many images each split gets; splits not named get no folder.
      width, height: the image size (the official one is 960x540; smaller sizes make faster
        tests). Annotations are normalised and cameras are always for 960x540, as the
        evaluator expects.
      noise_px: standard deviation of the annotator noise added to every point (pixels at
        960x540); 0 writes exact annotations.
      seed: everything is a deterministic function of the arguments.
    """
    from zoo.synthetic.calibration_scene import render  # OpenCV drawing, only when writing

    for split, count in images_per_split.items():
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}")
        if count < 0:
            raise ValueError(f"{split}: {count} images asked")
    if width < 32 or height < 18:
        raise ValueError(f"image size {width}x{height} is too small")
    counts = {}
    next_index = 1
    for split_number, split in enumerate(s for s in SPLITS if s in images_per_split):
        count = images_per_split[split]
        rng = np.random.default_rng([seed, split_number])
        cameras, _ = sample_cameras(rng, count)
        folder = os.path.join(root, split)
        os.makedirs(folder, exist_ok=True)
        annotations, truth = {}, {}
        for i in range(count):
            idx = image_name(next_index)
            next_index += 1
            camera = cameras.select(i)
            image_rng = np.random.default_rng([seed, split_number, i])
            image = render(camera, image_rng, width=width, height=height)
            quality = int(image_rng.integers(80, 96))
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            assert ok
            with open(os.path.join(folder, f"{idx}.jpg"), "wb") as f:
                f.write(jpeg.tobytes())
            annotations[idx] = annotate(camera, image_rng, noise_px=noise_px)
            truth[idx] = camera
        if split != "challenge":  # the challenge split comes without annotations
            formats.write_annotations(folder, annotations)
        formats.write_cameras(os.path.join(root, TRUE_CAMERAS, split), truth)
        counts[split] = count
    return counts


def read_true_cameras(root: str | os.PathLike, split: str) -> dict[str, Camera]:
    """The cameras a synthetic split was rendered with: idx -> Camera."""
    return formats.read_cameras(os.path.join(root, TRUE_CAMERAS, split))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder to write the calibration tree into")
    parser.add_argument(
        "--images",
        type=split_counts,
        default=dict(DEFAULT_IMAGES_PER_SPLIT),
        help="images per split, e.g. train=400,valid=60,test=60,challenge=20",
    )
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    parser.add_argument("--noise_px", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    counts = write_soccernet_calibration(
        args.root,
        images_per_split=args.images,
        width=args.width,
        height=args.height,
        noise_px=args.noise_px,
        seed=args.seed,
    )
    print(", ".join(f"{split}: {n} images" for split, n in counts.items()))


if __name__ == "__main__":
    main()
