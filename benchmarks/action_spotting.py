"""Action spotting: CALF's training speed against PyTorch, and what each CALF-family model learns
on the synthetic split.

`speed`: CALF (the official benchmark's network: 240-frame chunks of 512-d features, 17 classes,
15 detections) trained in the zoo's jitted step against tests/torch_calf_reference.py's
`TorchCALF` (the official layer layout, outputs equal in the tests) with the same loss (the
context-aware loss and the matched spotting loss, the matching in whole-batch tensor operations as
the official runs it), Adam 1e-3 (eps 1e-7), on the same random chunks. JAX and PyTorch take turns
step by step (`benchmarks.timing.time_interleaved`); rates use the median. `--context` times a
calibration-aware network instead (8 patterned classes, feature multiplier 2).

    python benchmarks/action_spotting.py speed [--batch-size 32] [--context player_graph]

`learn`: trains one config of the CALF family for `--steps` steps with the zoo's train step on its
data (the synthetic default, or `--manual_dir`), and scores the untrained and the trained network
on the evaluation split with the official-parity Average-mAP (tight, loose, and the means over
the calibration paper's patterned and fuzzy classes). Writes `<workdir>/learn.json` and the
split's spots (`<workdir>/spots.pkl`).

    python benchmarks/action_spotting.py learn --config configs/action_spotting/calf.py \
        --workdir runs/calf --steps 1500 [--set data.classes=patterned ...]

`table`: the learned scores of several `learn` workdirs side by side, and optionally the
calibration paper's merged model (the spots of a patterned-class run and a fuzzy-class run).

    python benchmarks/action_spotting.py table runs/calf runs/gcn ... [--merge runs/gcn runs/calf_fuzzy]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import pickle
import platform
import shutil
import sys
import time

import jax
import numpy as np
import optax

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved
from zoo.losses import calf as calf_loss
from zoo.tasks import action_spotting_calf as family
from zoo.train import mesh as mesh_lib
from zoo.train import optimizer as optimizer_lib
from zoo.train import step as step_lib
from zoo.train.task import Models, Shard, Stage

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


# ------------------------------------------------------------------------------------------ learn


def load_config(path: str, overrides: list[str]):
    name, _, arg = path.partition(":")
    spec = importlib.util.spec_from_file_location("config_module", REPO / name if not os.path.isabs(name) else name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config(arg or None)
    for item in overrides:
        key, _, text = item.partition("=")
        *parents, leaf = key.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        current = node[leaf]
        node[leaf] = type(current)(json.loads(text)) if not isinstance(current, str) else text
    return config


def evaluate(config, workdir: str, predictor, split: str, step: int) -> tuple[dict, list]:
    models = Models(own=Stage(name="model", config=config, workdir=workdir, step=step, predictors=(predictor,)))
    records = family.predict_split(config, workdir, models, split, Shard())
    output = os.path.join(workdir, f"{split}_step{step}")
    shutil.rmtree(output, ignore_errors=True)
    family.write_submission(config, records, output)
    return family.score(config, workdir, split, output, records).headline, records


def learn(args) -> None:
    config = load_config(args.config, args.set)
    if args.manual_dir:
        config.data.manual_dir = args.manual_dir
    family.check_config(config)
    os.makedirs(args.workdir, exist_ok=True)
    split = config.eval.split
    model = family.make_model(config)
    config.train.num_steps = args.steps
    tx = optimizer_lib.make_optimizer(config, args.steps)
    mesh = mesh_lib.make_mesh()
    started = time.time()
    data = family.make_train_data(config, args.workdir, config.train.batch_size)
    print(f"data ready in {time.time() - started:.0f} s", flush=True)
    state, shardings = step_lib.init_train_state(model, tx, family.example_inputs(config), config.seed, mesh)
    params = sum(x.size for x in jax.tree.leaves(state.params))
    bind = step_lib.make_predictor(model, mesh, config.eval.batch_size)
    untrained, _ = evaluate(config, args.workdir, bind(state), split, 0)
    print("untrained", json.dumps(untrained), flush=True)
    train_step = step_lib.jit_train_step(model, family.make_loss(config), tx, mesh, shardings)
    iterator = iter(data.dataset)
    sums: dict = {}
    curve = {0: untrained}
    started = time.time()
    for step in range(1, args.steps + 1):
        state, metrics = train_step(state, mesh_lib.global_batch(next(iterator), mesh))
        for name, (total, count) in metrics.items():
            previous = sums.get(name, (0.0, 0.0))
            sums[name] = (previous[0] + float(total), previous[1] + float(count))
        if step % args.log_every == 0:
            means = {name: round(total / count, 4) for name, (total, count) in sums.items()}
            print(f"step {step} ({(time.time() - started) / step:.2f} s/step) {means}", flush=True)
            sums = {}
        if args.eval_every and step % args.eval_every == 0 and step < args.steps:
            paused = time.time()
            curve[step], _ = evaluate(config, args.workdir, bind(state), split, step)
            print(f"step {step}", json.dumps(curve[step]), flush=True)
            started += time.time() - paused  # the step times exclude evaluation
    train_seconds = time.time() - started
    trained, records = evaluate(config, args.workdir, bind(state), split, args.steps)
    curve[args.steps] = trained
    print("trained", json.dumps(trained), flush=True)
    on_train_split, _ = evaluate(config, args.workdir, bind(state), config.data.train_split, args.steps)
    print("trained, on its own training split", json.dumps(on_train_split), flush=True)
    result = {"config": args.config, "set": args.set, "steps": args.steps, "split": split, "parameters": params,
              "train_seconds": train_seconds, "classes": config.data.classes, "context": config.model.context,
              "untrained": untrained, "trained": trained, "curve": curve, "trained_on_train_split": on_train_split}
    with open(os.path.join(args.workdir, "learn.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.workdir, "spots.pkl"), "wb") as f:
        pickle.dump({"config": config.to_dict(), "records": records}, f)
    with open(os.path.join(args.workdir, "variables.pkl"), "wb") as f:  # for a closer look at the network
        pickle.dump(jax.tree.map(np.asarray, {"params": state.params, **state.model_state}), f)


# ------------------------------------------------------------------------------------------ table


def merged_scores(patterned_dir: str, fuzzy_dir: str) -> dict:
    """The merged model's scores: each game's spots of the patterned run and the fuzzy run."""
    import ml_collections

    runs = []
    for workdir, subset in ((patterned_dir, "patterned"), (fuzzy_dir, "fuzzy")):
        with open(os.path.join(workdir, "spots.pkl"), "rb") as f:
            saved = pickle.load(f)
        if saved["config"]["data"]["classes"] != subset:
            raise SystemExit(f"{workdir} spots the {saved['config']['data']['classes']} classes, not {subset}.")
        runs.append(saved)
    config = ml_collections.ConfigDict(runs[0]["config"])
    fuzzy = {record["game"]: record for record in runs[1]["records"]}
    records = []
    for record in runs[0]["records"]:
        other = fuzzy[record["game"]]
        records.append({**record, **{key: np.concatenate([record[key], other[key]])
                                     for key in ("half", "frame", "class_index", "confidence")}})
    output = os.path.join(patterned_dir, "merged_with_" + os.path.basename(os.path.normpath(fuzzy_dir)))
    shutil.rmtree(output, ignore_errors=True)
    family.write_submission(config, records, output)
    return family.score(config, patterned_dir, config.eval.split, output, records).headline


def table(args) -> None:
    keys = [("a_mAP_tight", "tight"), ("a_mAP_loose", "loose"), ("a_mAP_patterned_tight", "patterned tight"),
            ("a_mAP_patterned_loose", "patterned loose"), ("a_mAP_fuzzy_tight", "fuzzy tight"),
            ("a_mAP_fuzzy_loose", "fuzzy loose")]
    print("| run | classes | context | steps | " + " | ".join(label for _, label in keys) + " |")
    print("|---|---|---|---:|" + "---:|" * len(keys))
    for workdir in args.workdirs:
        with open(os.path.join(workdir, "learn.json")) as f:
            result = json.load(f)
        for when in ("untrained", "trained"):
            scores = result[when]
            cells = " | ".join(f"{100 * scores[key]:.1f}" for key, _ in keys)
            steps = 0 if when == "untrained" else result["steps"]
            print(f"| {os.path.basename(os.path.normpath(workdir))} ({when}) | {result['classes']} | "
                  f"{result['context']} | {steps} | {cells} |")
    if args.merge:
        scores = merged_scores(*args.merge)
        cells = " | ".join(f"{100 * scores[key]:.1f}" for key, _ in keys)
        names = " + ".join(os.path.basename(os.path.normpath(d)) for d in args.merge)
        print(f"| merged: {names} | all | - | - | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("speed", help="train steps/s of CALF, JAX against PyTorch")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", default="none", help="none | topview_features | topview_images | player_graph")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--torch-threads", type=int, default=os.cpu_count())
    p = commands.add_parser("learn", help="train a CALF-family config and score it before and after")
    p.add_argument("--config", required=True, help="config file[:variant]")
    p.add_argument("--workdir", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--set", action="append", default=[], help="config override key=value (JSON values)")
    p.add_argument("--manual_dir", default="", help="official (or pre-written synthetic) SoccerNet tree")
    p.add_argument("--log_every", type=int, default=50)
    p.add_argument("--eval_every", type=int, default=0, help="also score the evaluation split every N steps")
    p = commands.add_parser("table", help="the scores of learn runs side by side")
    p.add_argument("workdirs", nargs="+")
    p.add_argument("--merge", nargs=2, metavar=("PATTERNED_RUN", "FUZZY_RUN"))
    args = parser.parse_args()
    {"speed": speed, "learn": learn, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
