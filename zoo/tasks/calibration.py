"""SoccerNet camera calibration (completeness x JaC@5): pitch heatmaps, then a camera per image.

Composes a heatmap network (`zoo.models.pitch_heatmaps`: HRNetV2 as published, or a light
ResNet-FPN) that finds the 57 pitch keypoints and the 23 straight pitch lines, training targets
(`zoo.losses.pitch_heatmaps`) with geometry-consistent augmentation (`zoo.data.pitch_transforms`),
and the batched JAX camera solver (`zoo.postprocess.camera_solver`) that turns the decoded
points (`zoo.postprocess.heatmap_points`) into the official `camera_<idx>.json` files, scored by
`zoo.metrics.calibration` (equal to the official evaluator).

Data: the official `calibration-2023` tree given by `config.data.manual_dir`, built once into
TFDS (`soccernet_calibration`); with no manual_dir, a synthetic tree in the same layout is written
into the workdir. Keypoint targets need the keypoints' image positions, which annotations do not
give (they list points along lines): the solver computes a camera from each training annotation
once (cached in the workdir), and the keypoints are projected with it; an image whose camera is
unsure trains its line heatmaps only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os

import cv2
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from soccernet_datasets.soccernet_calibration.soccernet_calibration_dataset_builder import annotation_of
from zoo import models as model_registry
from zoo.data import samplers, tfds_sources
from zoo.data.image_transforms import normalize
from zoo.data.pitch_transforms import PitchAugment, PitchSample, evaluation_resize
from zoo.errors import ConfigError, UserError
from zoo.formats import calibration as formats
from zoo.geometry import camera as camera_lib
from zoo.geometry.camera import Camera
from zoo.geometry.pitch import CLASS_INDEX, LINE_CLASSES, LINE_HEAD_CLASSES, keypoints
from zoo.losses import pitch_heatmaps as targets
from zoo.metrics import calibration as metric
from zoo.postprocess import camera_solver, heatmap_points
from zoo.synthetic import calibration as synthetic
from zoo.train.task import PredictFile, Scores, Shard, Task, TrainData

DATASET = "soccernet_calibration"
WIDTH, HEIGHT = formats.IMAGE_WIDTH, formats.IMAGE_HEIGHT
STRIDE = 2  # heatmaps are at half the input resolution
# Line-head channel of each class of LINE_CLASSES (-1: circles and unknown classes).
_LINE_CHANNEL = np.array([LINE_HEAD_CLASSES.index(c) if c in LINE_HEAD_CLASSES else -1
                          for c in LINE_CLASSES])
_HEAD_CLASS_INDEX = np.array([CLASS_INDEX[c] for c in LINE_HEAD_CLASSES])
TARGET_CAMERAS = "target_cameras"
# The solver runs on chunks of this many images, padded to these keypoint and line-point slots,
# so that every call in a process (training targets, evaluation, zoo.predict) shares one program.
SOLVER_CHUNK = 16
SOLVER_SLOTS = (57, 256)


# ----------------------------------------------------------------------------- data


def synthetic_root(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "synthetic_calibration")


def prepare_data(config: ml_collections.ConfigDict, workdir: str) -> str:
    """Builds the TFDS dataset once (the synthetic default without manual_dir); returns its data_dir."""
    settings = config.data.synthetic
    return tfds_sources.prepare_once(
        DATASET,
        manual_dir=config.data.manual_dir,
        data_dir=config.data.data_dir or os.path.join(os.path.abspath(workdir), "tfds"),
        synthetic_root=synthetic_root(workdir),
        write_synthetic=functools.partial(
            synthetic.write_soccernet_calibration,
            images_per_split=settings.images_per_split.to_dict(),
            width=settings.width,
            height=settings.height,
            noise_px=settings.noise_px,
            seed=settings.seed,
        ),
        description="SoccerNet camera calibration",
    )


def _source(config, workdir, split):
    return tfds_sources.data_source(DATASET, split, data_dir=prepare_data(config, workdir),
                                    encoded=("image",))


def decode_jpeg(data: bytes, where: str = "") -> np.ndarray:
    """JPEG bytes -> uint8 RGB [h, w, 3]."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{where}: not a decodable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def image_size(config) -> tuple[int, int]:
    return int(config.data.image_size[0]), int(config.data.image_size[1])


def solver_config(config) -> camera_solver.SolverConfig:
    """The solver settings of `config.solver` (every field a `SolverConfig` field)."""
    fields = {k: tuple(v) if isinstance(v, (list, tuple)) else v
              for k, v in config.solver.to_dict().items()}
    return camera_solver.SolverConfig(**fields)


def _annotations(source) -> tuple[list[str], list[dict]]:
    """(image ids, annotations) of every record, in source order (labels only, no decoding)."""
    ids, annotations = [], []
    for i in range(len(source)):
        record = source[i]
        ids.append(record["image_id"].decode())
        annotations.append(annotation_of(record))
    return ids, annotations


def target_cameras(config, workdir: str, split: str = "train") -> tuple[list[str], Camera, np.ndarray]:
    """Cameras solved from the split's annotations, for keypoint targets: (image ids in source
    order, cameras [N], confidence [N]). Solved once and cached in `<workdir>/target_cameras`."""
    source = _source(config, workdir, split)
    ids, annotations = _annotations(source)
    cache = os.path.join(os.path.abspath(workdir), TARGET_CAMERAS, f"{split}.npz")
    if os.path.exists(cache):
        saved = np.load(cache)
        if list(saved["ids"]) == ids:
            return ids, Camera(*(saved[f] for f in Camera._fields)), saved["confidence"]
    logging.info("Solving the cameras of %d %s annotations for keypoint targets (once).", len(ids), split)
    observations = camera_solver.observations_from_annotations(annotations, line_slots=SOLVER_SLOTS[1])
    solution = camera_solver.solve(observations, config=solver_config(config), chunk=SOLVER_CHUNK,
                                   slots=SOLVER_SLOTS)
    if jax.process_index() == 0:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        np.savez(cache, ids=np.array(ids), confidence=solution.confidence,
                 **{f: np.asarray(v) for f, v in zip(Camera._fields, solution.cameras)})
    logging.info("%d of %d training cameras are sure enough for keypoint targets.",
                 int((solution.confidence >= config.data.min_target_confidence).sum()), len(ids))
    return ids, solution.cameras, solution.confidence


def pitch_sample(image: np.ndarray, lines: dict[str, np.ndarray], camera: Camera | None) -> PitchSample:
    """A sample in the image's own pixels: the keypoints projected with `camera` (None: unknown),
    and the annotated points of every class (normalised points scaled by (w - 1, h - 1))."""
    height, width = image.shape[:2]
    scale = np.array([(width - 1) / (WIDTH - 1), (height - 1) / (HEIGHT - 1)])
    keypoint_pixels = np.full((len(keypoints()), 2), np.nan)
    if camera is not None:
        pixels, in_front = camera_lib.project(camera, keypoints())
        keypoint_pixels = np.where(in_front[:, None], pixels * scale, np.nan)
    lines_px = {CLASS_INDEX[name]: np.asarray(points) * [width - 1, height - 1]
                for name, points in lines.items()}
    return PitchSample(image, keypoint_pixels, lines_px)


def heatmap_targets(config, sample: PitchSample) -> tuple[np.ndarray, np.ndarray]:
    """(keypoint targets [h, w, 58], line targets [h, w, 24]) of a sample at the model size."""
    height, width = sample.image.shape[:2]
    shape = (-(-height // STRIDE), -(-width // STRIDE))
    sigma = float(config.data.sigma)
    keypoint_maps = targets.keypoint_heatmaps(sample.keypoints / STRIDE, shape, sigma)
    lines = {int(_LINE_CHANNEL[c]): p / STRIDE for c, p in sample.lines.items() if _LINE_CHANNEL[c] >= 0}
    draw = targets.line_end_heatmaps if config.data.line_target == "ends" else targets.line_heatmaps
    return keypoint_maps, draw(lines, len(LINE_HEAD_CLASSES), shape, sigma)


@dataclasses.dataclass
class LoadTrainBatch:
    """Batch number -> augmented batch with targets, a pure function of (seed, batch number).

    Picklable, so grain worker processes can run it."""

    source: object
    cameras: Camera
    sure: np.ndarray  # [N] bool: the image's keypoint targets are trusted
    order: object  # samplers.ShuffledBatches: batch number -> record indices
    augment: PitchAugment
    config: ml_collections.ConfigDict
    seed: int

    def __call__(self, batch: int) -> dict[str, np.ndarray]:
        inputs, keypoint_maps, line_maps, weights = [], [], [], []
        for position, index in enumerate(self.order[batch]):
            record = self.source[int(index)]
            rng = np.random.default_rng([self.seed, int(batch), position])
            image = decode_jpeg(record["image"], record["image_id"].decode())
            camera = self.cameras.select(int(index)) if self.sure[index] else None
            sample = self.augment(pitch_sample(image, annotation_of(record), camera), rng)
            keypoint_target, line_target = heatmap_targets(self.config, sample)
            inputs.append(normalize(sample.image))
            keypoint_maps.append(keypoint_target)
            line_maps.append(line_target)
            weights.append(float(self.sure[index]))
        return {"inputs": np.stack(inputs), "keypoint_target": np.stack(keypoint_maps),
                "line_target": np.stack(line_maps), "keypoint_weight": np.asarray(weights, np.float32)}


def make_train_data(config: ml_collections.ConfigDict, workdir: str, batch_size: int) -> TrainData:
    source = _source(config, workdir, "train")
    _, cameras, confidence = target_cameras(config, workdir, "train")
    sure = confidence >= config.data.min_target_confidence
    augment = PitchAugment(
        size=image_size(config), flip=config.augment.flip, zoom=config.augment.zoom,
        brightness=config.augment.brightness, contrast=config.augment.contrast,
        saturation=config.augment.saturation, hue=config.augment.hue, noise=config.augment.noise,
    )
    order = samplers.ShuffledBatches(len(source), batch_size=batch_size, seed=config.seed)
    dataset = (
        grain.MapDataset.range(samplers.ENDLESS)[jax.process_index()::jax.process_count()]
        .map(LoadTrainBatch(source, cameras, sure, order, augment, config, config.seed))
    )
    return TrainData(dataset=dataset, num_examples=len(source), read_threads=config.data.read_threads)


# ----------------------------------------------------------------------------- model and loss


def make_model(config: ml_collections.ConfigDict):
    return model_registry.build(config.model)


def example_inputs(config: ml_collections.ConfigDict) -> np.ndarray:
    return np.zeros((1, *image_size(config), 3), np.float32)


def make_loss(config: ml_collections.ConfigDict):
    """Weighted MSE of the keypoint and line heatmaps (images without trusted keypoint targets
    train their lines only)."""
    weights = config.loss

    def loss(outputs, batch):
        count = jnp.asarray(batch["inputs"].shape[0], jnp.float32)
        keypoint = targets.heatmap_loss(outputs["keypoints"], batch["keypoint_target"],
                                        batch["keypoint_weight"], weights.positive_weight)
        line = targets.heatmap_loss(outputs["lines"], batch["line_target"], jnp.ones_like(count),
                                    weights.positive_weight)
        keypoint_images = jnp.maximum(batch["keypoint_weight"].sum(), 1.0)
        total = (weights.keypoint_weight * keypoint.sum() / keypoint_images
                 + weights.line_weight * line.mean())
        return total, {
            "keypoint_loss": (keypoint.sum(), batch["keypoint_weight"].sum()),
            "line_loss": (line.sum(), count),
        }

    return loss


def check_config(config: ml_collections.ConfigDict) -> None:
    if config.data.line_target not in ("lines", "ends"):
        raise ConfigError(f"config.data.line_target must be 'lines' or 'ends', got {config.data.line_target!r}.")
    ends = config.data.line_target == "ends"
    if ends != (config.model.line_activation == "sigmoid"):
        raise ConfigError(
            "config.data.line_target='ends' goes with config.model.line_activation='sigmoid' (and "
            f"'lines' with 'softmax'); got {config.data.line_target!r} and {config.model.line_activation!r}.")
    if config.model.num_keypoints != len(keypoints()) or config.model.num_lines != len(LINE_HEAD_CLASSES):
        raise ConfigError(f"config.model.num_keypoints / num_lines must be {len(keypoints())} / "
                          f"{len(LINE_HEAD_CLASSES)} (the pitch model's keypoints and straight lines).")
    height, width = image_size(config)
    if height % 4 or width % 4:
        raise ConfigError(f"config.data.image_size {config.data.image_size} must be multiples of 4.")
    solver_config(config)  # unknown solver fields fail here


# ----------------------------------------------------------------------------- inference


@functools.partial(jax.jit, static_argnames=("keypoint_threshold", "line_threshold", "line_points",
                                             "min_mass", "ends"))
def _decode(keypoint_maps, line_maps, *, keypoint_threshold, line_threshold, line_points, min_mass, ends):
    points, scores = heatmap_points.keypoint_peaks(keypoint_maps, keypoint_threshold)
    if ends:
        line_xy, line_weight = heatmap_points.line_end_peaks(line_maps, line_threshold)
        line_weight = (line_weight > 0).astype(jnp.float32)
    else:
        line_xy, line_weight = heatmap_points.line_points(line_maps, line_threshold, line_points, min_mass)
    return points, scores, line_xy, line_weight


def observations_of(config, outputs, input_size: tuple[int, int]) -> camera_solver.Observations:
    """Solver observations (960x540 pixels) from a batch of model outputs at `input_size`."""
    post = config.postprocess
    points, scores, line_xy, line_weight = (np.asarray(x) for x in _decode(
        jnp.asarray(outputs["keypoints"]), jnp.asarray(outputs["lines"]),
        keypoint_threshold=float(post.keypoint_threshold), line_threshold=float(post.line_threshold),
        line_points=int(post.line_points), min_mass=float(post.line_min_mass),
        ends=config.data.line_target == "ends"))
    height, width = input_size
    scale = STRIDE * np.array([(WIDTH - 1) / (width - 1), (HEIGHT - 1) / (height - 1)])
    batch, classes, per_class = line_weight.shape
    line_obs = camera_solver.Observations(
        point_world=np.zeros((batch, 1, 3), np.float32),
        point_pixel=np.zeros((batch, 1, 2), np.float32),
        point_weight=np.zeros((batch, 1), np.float32),
        line_pixel=(line_xy * scale).reshape(batch, -1, 2).astype(np.float32),
        line_class=np.broadcast_to(np.repeat(_HEAD_CLASS_INDEX, per_class), (batch, classes * per_class))
        .astype(np.int32).copy(),
        line_weight=line_weight.reshape(batch, -1).astype(np.float32),
    )
    return camera_solver.keypoint_observations(points * scale, (scores > 0).astype(np.float32), line_obs)


def predict_images(config, predictor, images: list[np.ndarray], *, seed: int = 0) -> camera_solver.Solution:
    """Cameras (960x540) of RGB images of any size: heatmaps, decoding, the solver."""
    size = image_size(config)
    chunk = max(1, int(config.eval.batch_size))
    observations = []
    for start in range(0, len(images), chunk):
        batch = np.stack([normalize(evaluation_resize(PitchSample(image, np.zeros((0, 2)), {}), size).image)
                          for image in images[start:start + chunk]])
        observations.append(observations_of(config, predictor(batch), size))
    stacked = camera_solver.Observations(*(np.concatenate(x) for x in zip(*observations)))
    return camera_solver.solve(stacked, config=solver_config(config), seed=seed, chunk=SOLVER_CHUNK,
                               slots=SOLVER_SLOTS)


def predict_split(config, workdir: str, models, split: str, shard: Shard) -> list[dict]:
    """One record per image of this process's shard: {"image_id", "camera" (JSON dict),
    "confidence", "inlier_rms"}."""
    source = _source(config, workdir, split)
    indices = shard.take(range(len(source)))
    records = []
    chunk = 64
    for start in range(0, len(indices), chunk):
        rows = [source[i] for i in indices[start:start + chunk]]
        images = [decode_jpeg(r["image"], r["image_id"].decode()) for r in rows]
        solution = predict_images(config, models["model"].predictor, images, seed=start)
        for i, row in enumerate(rows):
            records.append({
                "image_id": row["image_id"].decode(),
                "camera": solution.cameras.select(i).to_json(),
                "confidence": float(solution.confidence[i]),
                "inlier_rms": float(solution.inlier_rms[i]),
            })
    return records


def write_submission(config, records: list[dict], output_dir: str) -> None:
    """`camera_<idx>.json` for every image whose camera is sure enough (`eval.min_confidence`);
    the others get no file (they lower completeness, not accuracy)."""
    os.makedirs(output_dir, exist_ok=True)
    chosen = {r["image_id"]: r["camera"] for r in records
              if r["confidence"] >= config.eval.min_confidence}
    formats.write_cameras(output_dir, chosen)


def groundtruth_dir(config, workdir: str, split: str) -> str | None:
    """The split's annotations as official `<idx>.json` files (written once from the dataset),
    or None for a split without annotations."""
    folder = os.path.join(os.path.abspath(workdir), "groundtruth", split)
    if os.path.isdir(folder) and os.listdir(folder):
        return folder
    source = _source(config, workdir, split)
    records = [source[i] for i in range(len(source))]
    if not records or not all(r["has_annotation"] for r in records):
        return None
    formats.write_annotations(folder, {r["image_id"].decode(): annotation_of(r) for r in records})
    return folder


def score(config, workdir: str, split: str, output_dir: str, records: list[dict]) -> Scores | None:
    """JaC at every `eval.thresholds` (5 px is the challenge's), completeness and the final score
    of the written cameras, with `zoo.metrics.calibration` (equal to the official evaluator)."""
    truth = groundtruth_dir(config, workdir, split)
    if truth is None:
        return None
    headline, details = {}, {}
    for threshold in config.eval.thresholds:
        try:
            results = metric.evaluate(truth, output_dir, threshold=float(threshold))
        except formats.CalibrationFormatError as error:
            if "no camera_" not in str(error):
                raise
            results = {"completeness": 0.0, "meanAccuracies": float("nan"), "finalScore": 0.0}
        details[f"threshold_{threshold:g}"] = results
        headline[f"JaC@{threshold:g}"] = results["meanAccuracies"]
        if threshold == config.eval.thresholds[0]:
            headline["completeness"] = results["completeness"]
            headline["final_score"] = results["finalScore"]
    # No camera written: completeness 0, so the final score (completeness x JaC) is 0, a real
    # score; JaC itself is undefined and shown as n/a with the reason.
    headline = {k: (0.0 if k == "final_score" and np.isnan(v) else v) for k, v in headline.items()}
    unavailable = {k: "no camera was sure enough to be written" for k, v in headline.items()
                   if isinstance(v, float) and np.isnan(v)}
    return Scores(headline=headline, details=details, unavailable=unavailable)


# ----------------------------------------------------------------------------- zoo.predict


def _add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--lines", help="a folder or zip of official <idx>.json annotations (or line "
                        "detections in that form): cameras from the lines alone, no model needed")
    source.add_argument("--image", nargs="+", help="image file(s) (needs --checkpoint)")
    source.add_argument("--video", help="a video file: one camera per kept frame (needs --checkpoint)")
    parser.add_argument("--every", type=int, default=25, help="--video: keep every N-th frame")
    parser.add_argument("--out", required=True,
                        help="where the camera_<idx>.json files go: a .zip (the upload) or a folder")
    parser.add_argument("--overlay", default="",
                        help="a folder for PNGs of the projected pitch over each image "
                        "(<idx>.png) and of its top views (<idx>_top.png)")
    parser.add_argument("--boxes", default="",
                        help="a JSON file {image id: [[x1, y1, x2, y2] or [x1, y1, x2, y2, r, g, b], "
                        "...]} of player boxes in the image's pixels (960x540 without an image): "
                        "players are placed on the pitch, written to --players and drawn in the "
                        "top views")
    parser.add_argument("--players", default="",
                        help="with --boxes: the JSON file of the players' pitch positions and graphs")
    parser.add_argument("--min-confidence", type=float, default=None,
                        help="write no camera below this confidence (default: the run's "
                        "eval.min_confidence, 0.3 without a run)")


def _video_frames(path: str, every: int):
    """(frame number, RGB frame) of every `every`-th frame of a video."""
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise FileNotFoundError(f"{path}: not a video OpenCV can read.")
    number = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if number % every == 0:
                yield number, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            number += 1
    finally:
        capture.release()


def _read_image(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not an image OpenCV can read.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _read_boxes(path: str) -> dict[str, np.ndarray]:
    """{image id: boxes [P, 7] (x1, y1, x2, y2, r, g, b; white without colours)} of a --boxes file."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable JSON file ({error}).") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected an object {{image id: [[x1, y1, x2, y2(, r, g, b)], ...]}}.")
    boxes = {}
    for idx, rows in raw.items():
        table = []
        for row in rows if isinstance(rows, list) else [None]:
            try:
                values = [float(v) for v in row]
            except (TypeError, ValueError):
                values = []
            if len(values) not in (4, 7) or not np.isfinite(values).all():
                raise UserError(f"{path}: image {idx!r}: each box must be [x1, y1, x2, y2] or "
                                f"[x1, y1, x2, y2, r, g, b] (numbers), got {row!r}.")
            table.append(values + [255.0] * (7 - len(values)))
        boxes[str(idx)] = np.asarray(table, np.float64).reshape(-1, 7)
    return boxes


def _write_players_and_top_views(args, ids, digits, solution, images) -> None:
    """Players on the pitch (--boxes -> --players) and top-view PNGs (in --overlay)."""
    from zoo.geometry import topview
    from zoo.plots.topview import write_top_view

    boxes = _read_boxes(args.boxes) if args.boxes else {}
    unknown = sorted(set(boxes) - set(ids))
    if unknown:
        raise UserError(f"{args.boxes}: boxes for images that were not calibrated: {', '.join(unknown[:5])}"
                        f"{' ...' if len(unknown) > 5 else ''} (image ids: {', '.join(ids[:3])} ...).")
    most = max([len(b) for b in boxes.values()] + [1])
    table = np.zeros((len(ids), most, 7))
    valid = np.zeros((len(ids), most), bool)
    camera_width, camera_height = topview.CAMERA_SIZE
    for n, idx in enumerate(ids):
        found = boxes.get(idx, np.zeros((0, 7)))
        height, width = images[idx].shape[:2] if idx in images else (camera_height, camera_width)
        scale = np.array([(camera_width - 1) / (width - 1), (camera_height - 1) / (height - 1)] * 2)
        table[n, :len(found)] = found
        table[n, :len(found), :4] *= scale  # to the cameras' 960x540 pixels
        valid[n, :len(found)] = True
    cameras = solution.cameras
    positions, placed = topview.camera_players_on_pitch(cameras, table[..., :4], valid)
    colours = np.clip(table[..., 4:], 0, 255).astype(np.uint8)
    if args.boxes:
        _, edges = topview.player_graph(positions, placed, colours, table[..., :4])
        players = {}
        for n, idx in enumerate(ids):
            count = len(boxes.get(idx, ()))
            players[idx] = {
                "camera_confidence": float(solution.confidence[n]),
                # pitch_xy: metres, None for a foot the camera does not put on the ground.
                "players": [{"box": boxes[idx][p, :4].tolist(),
                             "pitch_xy": positions[n, p].tolist() if placed[n, p] else None}
                            for p in range(count)],
                "edges": np.argwhere(edges[n, :count, :count]).tolist(),
            }
        os.makedirs(os.path.dirname(os.path.abspath(args.players)), exist_ok=True)
        with open(args.players, "w") as f:
            json.dump(players, f, indent=1)
    if args.overlay:
        composition, channels = topview.top_views(cameras, positions, placed, colours)
        for n, idx in enumerate(ids):
            write_top_view(os.path.join(args.overlay, f"{digits[idx]}_top.png"), composition[n],
                           channels[n])


def _run_predict_file(config, models, args) -> str:
    """`python -m zoo.predict calibration ...`: cameras (and overlays) for the user's files."""
    from zoo.plots.pitch_overlay import write_overlay

    if bool(args.boxes) != bool(args.players):
        raise UserError("--boxes and --players go together (player boxes in, their pitch positions out).")
    threshold = args.min_confidence
    if threshold is None:
        threshold = float(config.eval.min_confidence) if config is not None else 0.3
    images: dict[str, np.ndarray] = {}
    if args.lines:
        annotations = formats.read_annotations(args.lines)
        ids = list(annotations)
        observations = camera_solver.observations_from_annotations(
            [annotations[i] for i in ids], line_slots=SOLVER_SLOTS[1])
        settings = solver_config(config) if config is not None else camera_solver.SolverConfig()
        solution = camera_solver.solve(observations, config=settings, chunk=SOLVER_CHUNK,
                                       slots=SOLVER_SLOTS)
        if (args.overlay or args.boxes) and os.path.isdir(args.lines):
            for idx in ids:  # the official tree keeps each image beside its annotation
                for folder, _, files in os.walk(args.lines):
                    if f"{idx}.jpg" in files:
                        images[idx] = _read_image(os.path.join(folder, f"{idx}.jpg"))
                        break
    else:
        if models is None or models.own is None:
            raise UserError("--image and --video need --checkpoint (a calibration run's workdir).")
        if args.image:
            ids = [os.path.splitext(os.path.basename(p))[0] for p in args.image]
            images = dict(zip(ids, (_read_image(p) for p in args.image)))
        else:
            if args.every < 1:
                raise UserError(f"--every must be at least 1, got {args.every}.")
            images = {f"{n:06d}": frame for n, frame in _video_frames(args.video, args.every)}
            ids = list(images)
        if not ids:
            raise UserError("no image to calibrate.")
        solution = predict_images(config, models["model"].predictor, [images[i] for i in ids])
    digits = {i: (i if i.isdigit() else f"{n:06d}") for n, i in enumerate(ids)}
    chosen = {digits[i]: solution.cameras.select(n).to_json() for n, i in enumerate(ids)
              if solution.confidence[n] >= threshold}
    formats.write_cameras(args.out, chosen)
    if args.overlay:
        for n, idx in enumerate(ids):
            if idx in images:
                label = f"{idx}: confidence {solution.confidence[n]:.2f}"
                bgr = cv2.cvtColor(images[idx], cv2.COLOR_RGB2BGR)
                write_overlay(os.path.join(args.overlay, f"{digits[idx]}.png"), bgr,
                              solution.cameras.select(n), label=label)
    if args.overlay or args.boxes:
        _write_players_and_top_views(args, ids, digits, solution, images)
    renamed = "" if all(digits[i] == i for i in ids) else " (named by position: the file names are not digits)"
    return (f"{len(chosen)} of {len(ids)} images calibrated (confidence >= {threshold:g}) -> "
            f"{args.out}{renamed}" + (f"; overlays and top views in {args.overlay}" if args.overlay else "")
            + (f"; players on the pitch in {args.players}" if args.players else ""))


PREDICT_FILE = PredictFile(
    add_arguments=_add_arguments,
    run=_run_predict_file,
    help="camera_<idx>.json files from line annotations (--lines) or from images/videos with a model",
    needs_checkpoint=lambda args: not args.lines,
)


TASK = Task(
    name="calibration",
    make_model=make_model,
    example_inputs=example_inputs,
    make_loss=make_loss,
    make_train_data=make_train_data,
    predict_split=predict_split,
    write_submission=write_submission,
    score=score,
    check_config=check_config,
    predict_file=PREDICT_FILE,
)
