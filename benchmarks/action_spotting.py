"""Action spotting: CALF's training speed against PyTorch, and the models' learning side by side.

`speed`: CALF (the official benchmark's network: 240-frame chunks of 512-d features, 17 classes,
15 detections) trained in the zoo's jitted step against tests/torch_calf_reference.py's
`TorchCALF` (the official layer layout, outputs equal in the tests) with the same loss (the
context-aware loss and the matched spotting loss, the matching in whole-batch tensor operations as
the official runs it), Adam 1e-3 (eps 1e-7), on the same random chunks. JAX and PyTorch take turns
step by step (`benchmarks.timing.time_interleaved`); rates use the median. `--context` times a
calibration-aware network instead (8 patterned classes, feature multiplier 2).

    python benchmarks/action_spotting.py speed [--batch-size 32] [--context player_graph]

`table`: the models side by side on the same synthetic split with the same metric (tight and
loose Average-mAP, the means over the calibration paper's patterned and fuzzy classes, and over
the five set pieces that only the synthetic player layouts tell apart), trained and untrained,
mean ± std over the seeds of `benchmarks/learning.py` runs:

    python benchmarks/learning.py --config configs/action_spotting/calf.py --workdir runs/learning/calf
    python benchmarks/learning.py --config configs/action_spotting/transformer.py --workdir runs/learning/astra
    python benchmarks/action_spotting.py table runs/learning/nvpp runs/learning/calf runs/learning/astra ...

`layouts`: whether trained CALF runs tell the synthetic set pieces apart, which is what a
calibration branch should add. In the synthetic games (`set_piece_features=shared`) the five set
pieces share one feature direction, and only the player layouts (`zoo.synthetic.
soccernet_v2_players`) say which one it is. For every visible penalty, kick-off, throw-in, direct
free-kick and corner of a split, it reports how often the segmentation's highest set-piece score
names the right one at the frames where the layout is meant to hold (`LAYOUT_LEAD_S` before the
action to `LAYOUT_TAIL_S` after it), and how often the most confident spot within 10 s of the
action has the right class. A run that names them on the train split and not on the test split
has memorised its training games.

    python benchmarks/action_spotting.py layouts runs/learning/gcn60/seed0 runs/learning/calf60/seed0 [--split train]

The merged calibration-aware model is a pipeline of two trained runs: `python evaluate.py --config
configs/action_spotting/calf_calibration_merged.py --config.pipeline.patterned=RUN
--config.pipeline.fuzzy=RUN --workdir runs/merged` prints its row's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys

import jax
import numpy as np
import optax

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved
from zoo.cli import user_errors
from zoo.losses import calf as calf_loss
from zoo.postprocess.chunk_spotting import chunk_frames
from zoo.synthetic.soccernet_v2_players import LAYOUT_LEAD_S, LAYOUT_TAIL_S
from zoo.tasks import action_spotting_calf as family
from zoo.tasks import get_task
from zoo.train import evaluation
from zoo.train import mesh as mesh_lib
from zoo.train import step as step_lib

# ------------------------------------------------------------------------------------------ speed


def random_batch(rng, config, batch_size: int) -> dict:
    """Random chunks with a few actions each: model inputs, shifts and spotting targets."""
    t, classes = family.chunk_size(config), family.classes_of(config)
    k = calf_loss.k_parameters(classes, config.data.framerate)
    inputs = {name: np.repeat(value, batch_size, 0) for name, value in family.example_inputs(config).items()}
    inputs = {name: rng.normal(size=v.shape).astype(np.float32) if v.dtype == np.float32
              else rng.uniform(size=v.shape) < 0.6 for name, v in inputs.items()}
    if "graph_positions" in inputs:
        inputs["graph_positions"] = rng.uniform(-50, 50, inputs["graph_positions"].shape).astype(np.float32)
    shifts, targets = [], []
    for _ in range(batch_size):
        events = np.zeros((t, len(classes)), bool)
        events[rng.integers(0, t, 4), rng.integers(0, len(classes), 4)] = True
        chunk = calf_loss.frame_shifts(events, k)
        chunk[:40], chunk[-40:] = -1, -1
        shifts.append(chunk)
        targets.append(calf_loss.spotting_targets(chunk, config.model.num_detections)[0])
    return {"inputs": inputs, "shifts": np.stack(shifts), "targets": np.stack(targets)}


def jax_train(config, batch: dict):
    model = family.make_model(config)
    tx = optax.adam(config.optimizer.learning_rate, eps=config.optimizer.eps)
    mesh = mesh_lib.make_mesh()
    state, shardings = step_lib.init_train_state(model, tx, batch["inputs"], config.seed, mesh)
    step = step_lib.jit_train_step(model, family.make_loss(config), tx, mesh, shardings)
    global_batch = mesh_lib.global_batch(batch, mesh)
    holder = {"state": state}

    def train():
        holder["state"], metrics = step(holder["state"], global_batch)  # the state is donated
        jax.block_until_ready(metrics)

    return train


def torch_train(config, batch: dict, threads: int):
    import torch

    from tests.torch_calf_reference import TorchCALF, context_aware_loss, spotting_loss

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = TorchCALF(
        num_classes=len(family.classes_of(config)), input_size=batch["inputs"]["features"].shape[-1],
        chunk_size=family.chunk_size(config), receptive_field=family.receptive_field(config),
        dim_capsule=config.model.dim_capsule, num_detections=config.model.num_detections,
        feature_multiplier=config.model.feature_multiplier, context=config.model.context,
        image_size=(config.data.topview.height, config.data.topview.width), graph_layers=config.model.graph_layers,
        graph_hidden=config.model.graph_hidden).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optimizer.learning_rate, eps=config.optimizer.eps)
    inputs = {name: torch.from_numpy(value) for name, value in batch["inputs"].items()}
    shifts, targets = torch.from_numpy(batch["shifts"]), torch.from_numpy(batch["targets"])
    k = torch.from_numpy(calf_loss.k_parameters(family.classes_of(config), config.data.framerate))
    weights = config.loss

    def train():
        optimizer.zero_grad(set_to_none=True)
        segmentation, spotting = model(inputs)
        loss = (weights.segmentation_weight * context_aware_loss(shifts, segmentation, [k[i] for i in range(4)])
                + weights.spotting_weight * spotting_loss(targets, spotting, weights.lambda_coord,
                                                         weights.lambda_noobj, batched=True))
        loss.backward()
        optimizer.step()

    return train, torch.__version__


def speed(args) -> None:
    from configs.action_spotting.calf import calf_config

    config = calf_config("synthetic", args.context)
    if args.context != "none":
        config.data.classes, config.model.feature_multiplier = "patterned", 2
    load_before = os.getloadavg()[0]
    batch = random_batch(np.random.default_rng(0), config, args.batch_size)
    runs = {"JAX": jax_train(config, batch)}
    torch_version = None
    try:
        runs["PyTorch"], torch_version = torch_train(config, batch, args.torch_threads)
    except ImportError:
        print("PyTorch is not installed (pip install '.[torch]'): timing JAX only.\n")
    seconds = time_interleaved(runs, args.warmup, args.iters)
    device = jax.devices()[0]
    name = "CALF" if args.context == "none" else f"CALF + {args.context} (patterned classes)"
    print(f"{name}: batch {args.batch_size} chunks x {family.chunk_size(config)} frames x 512-d, "
          f"{len(family.classes_of(config))} classes, {args.warmup} warm-up + {args.iters} timed steps")
    print(f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), JAX on {device.platform}; "
          f"python {platform.python_version()}, jax {jax.__version__}, flax {package_version('flax')}"
          + (f", torch {torch_version} (threads {args.torch_threads})" if torch_version else "")
          + f"; 1-min load average before the run {load_before:.2f}\n")
    print("| model | JAX steps/s | PyTorch steps/s | JAX / PyTorch |")
    print("|---|---:|---:|---:|")
    jax_rate = 1 / seconds["JAX"]
    if "PyTorch" in seconds:
        torch_rate = 1 / seconds["PyTorch"]
        print(f"| {name} | {jax_rate:.2f} | {torch_rate:.2f} | {jax_rate / torch_rate:.2f}x |")
    else:
        print(f"| {name} | {jax_rate:.2f} | - | - |")


# ------------------------------------------------------------------------------------------ table

COLUMNS = (("a_mAP_tight", "tight"), ("a_mAP_loose", "loose"), ("a_mAP_patterned_tight", "patterned tight"),
           ("a_mAP_patterned_loose", "patterned loose"), ("a_mAP_fuzzy_tight", "fuzzy tight"),
           ("a_mAP_fuzzy_loose", "fuzzy loose"))
# The five patterned classes whose synthetic features are one (`set_piece_features=shared`): only
# the player layouts tell them apart, so they are where a calibration branch can add something.
SET_PIECES = ("Penalty", "Kick-off", "Throw-in", "Direct free-kick", "Corner")
SET_PIECE_COLUMNS = (("set_pieces_tight", "set pieces tight"), ("set_pieces_loose", "set pieces loose"))


def _cell(values: list[float]) -> str:
    values = [100 * v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def _set_pieces(workdir: str, seed: str, when: str) -> dict[str, float | None]:
    """Mean Average-mAP over the five set pieces (`SET_PIECES`) of one seed's final (or untrained)
    test predictions, from the per-class values its evaluation wrote; None where it has none."""
    predictions = os.path.join(workdir, f"seed{seed}", "predictions")
    if when == "untrained":
        folder = "untrained"
    else:
        steps = [int(n.rsplit("step", 1)[1]) for n in os.listdir(predictions) if n.startswith("test_step")
                 and os.path.isdir(os.path.join(predictions, n))] if os.path.isdir(predictions) else []
        if not steps:
            return {"set_pieces_tight": None, "set_pieces_loose": None}
        folder = f"test_step{max(steps)}"
    path = os.path.join(predictions, folder, "metrics.json")
    if not os.path.exists(path):
        return {"set_pieces_tight": None, "set_pieces_loose": None}
    with open(path) as f:
        metrics = json.load(f)
    rows = [metrics["classes"].index(c) for c in SET_PIECES]
    return {f"set_pieces_{m}": float(np.mean([metrics[m]["a_mAP_per_class"][i] for i in rows]))
            for m in ("tight", "loose")}


def table(args) -> None:
    """Trained and untrained Average-mAP (%) of benchmarks/learning.py workdirs, mean ± std over
    seeds; the set-piece columns read each seed's final test evaluation (its per-class values)."""
    columns = COLUMNS + SET_PIECE_COLUMNS
    print("| run | seeds | " + " | ".join(label for _, label in columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for workdir in args.workdirs:
        with open(os.path.join(workdir, "learning.json")) as f:
            results = json.load(f)
        name = os.path.basename(os.path.normpath(workdir))
        for when in ("untrained", "trained"):
            rows = [{**r[when], **_set_pieces(workdir, seed, when)} for seed, r in results.items()]
            cells = " | ".join(_cell([r.get(key) for r in rows]) for key, _ in columns)
            print(f"| {name} ({when}) | {len(results)} | {cells} |")


# -------------------------------------------------------------------------------------- layouts

NEAR_SECONDS = 10.0


def _stitched_segmentation(config, segmentation, num_frames: int) -> np.ndarray:
    """Segmentation scores of every frame [F, C] from those of a half's inference chunks
    [n, T, C], averaged over the chunks that hold the frame."""
    index = chunk_frames(num_frames, family.chunk_size(config), family.receptive_field(config))
    scores = np.asarray(segmentation, np.float64)
    total = np.zeros((num_frames, scores.shape[-1]))
    count = np.zeros(num_frames)
    np.add.at(total, index.reshape(-1), scores.reshape(-1, scores.shape[-1]))
    np.add.at(count, index.reshape(-1), 1)
    return total / np.maximum(count, 1)[:, None]


def layout_reading(config, predictor, halves) -> dict:
    """Over the visible set pieces of `halves`: frames of their layouts (and of each set piece),
    those where the segmentation names the right one, events (and of each), and those whose best
    spot near them names them."""
    classes = family.classes_of(config)
    missing = [c for c in SET_PIECES if c not in classes]
    if missing:
        raise SystemExit(f"error: {config.data.classes!r} runs do not spot {', '.join(missing)}.")
    columns = np.array([classes.index(c) for c in SET_PIECES])
    fps = config.data.framerate
    counts = dict(right_frames=0, frames=0, right_spots=0, events=0,
                  frames_of=np.zeros(len(SET_PIECES), int), events_of=np.zeros(len(SET_PIECES), int))
    for half in halves:
        outputs = predictor(family.half_inputs(config, half))  # one pass gives both
        segmentation = _stitched_segmentation(config, outputs["segmentation"], len(half.features))
        frame, klass, score = family.half_spots(config, outputs["spotting"], len(half.features))
        for action in half.annotations:
            if action.label not in SET_PIECES or not action.visible:
                continue
            at = action.frame(fps)
            layout = slice(max(at - int(LAYOUT_LEAD_S[action.label] * fps), 0),
                           min(at + int(LAYOUT_TAIL_S[action.label] * fps), len(segmentation) - 1) + 1)
            named = columns[segmentation[layout][:, columns].argmax(-1)]
            counts["right_frames"] += int((named == classes.index(action.label)).sum())
            counts["frames"] += len(named)
            near = np.abs(frame - at) <= NEAR_SECONDS * fps
            counts["right_spots"] += int(near.any() and klass[near][np.argmax(score[near])] == classes.index(action.label))
            counts["events"] += 1
            counts["frames_of"][SET_PIECES.index(action.label)] += len(named)
            counts["events_of"][SET_PIECES.index(action.label)] += 1
    return counts


def layouts(args) -> None:
    """Set piece read at its layout frames, and the class of the best spot near it, per run."""
    mesh = mesh_lib.make_mesh()
    print("| run | split | layout frames naming their set piece | set pieces whose best spot within "
          f"{NEAR_SECONDS:.0f} s names them | set pieces | always the commonest (frames, set pieces) |")
    print("|---|---|---:|---:|---:|---:|")
    for run in args.runs:
        stage = evaluation.restore_stage("model", run, get_task, mesh)
        if stage.config.model.name != "calf":
            raise SystemExit(f"error: {run} is not a CALF run ({stage.config.model.name}).")
        halves = family.read_halves(stage.config, stage.workdir, args.split)
        c = layout_reading(stage.config, stage.predictor, halves)
        if not c["events"]:
            raise SystemExit(f"error: the {args.split} split of {run} has no visible set piece.")
        print(f"| {run} | {args.split} | {100 * c['right_frames'] / c['frames']:.1f} % | "
              f"{100 * c['right_spots'] / c['events']:.1f} % | {c['events']} | "
              f"{100 * c['frames_of'].max() / c['frames']:.1f} %, {100 * c['events_of'].max() / c['events']:.1f} % |")


@user_errors
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("speed", help="train steps/s of CALF, JAX against PyTorch")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", default="none", help="none | topview_features | topview_images | player_graph")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--torch-threads", type=int, default=os.cpu_count())
    p = commands.add_parser("table", help="benchmarks/learning.py workdirs side by side")
    p.add_argument("workdirs", nargs="+", help="--workdir of benchmarks/learning.py runs")
    p = commands.add_parser("layouts", help="do trained CALF runs tell the synthetic set pieces apart")
    p.add_argument("runs", nargs="+", help="train.py workdirs (e.g. a learning.py seed directory)")
    p.add_argument("--split", default="test")
    args = parser.parse_args()
    {"speed": speed, "table": table, "layouts": layouts}[args.command](args)


if __name__ == "__main__":
    main()
