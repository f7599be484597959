"""Action spotting, the Transformer head's row: what ASTRA learns on the synthetic split.

`learn` trains `configs/action_spotting/transformer.py` (the synthetic default, or `--manual_dir`)
for `--steps` steps with the zoo's train step, then scores the untrained and the trained network
on the evaluation split: the official results files are written for every game and scored with
the official-parity Average-mAP (tight, loose, and the means over the calibration paper's
patterned and fuzzy classes). Writes `<workdir>/learn.json` with the keys of the CALF rows of
`benchmarks/action_spotting.py`, so its `table` command lists this row beside them.

    python benchmarks/action_spotting_transformer.py learn --workdir runs/astra [--steps 2000] \
        [--config configs/action_spotting/transformer.py:synthetic] [--set train.batch_size=16 ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pathlib
import shutil
import sys
import time

import jax
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo import models  # noqa: E402
from zoo.data import feature_chunks, feature_halves  # noqa: E402
from zoo.formats import spotting as spotting_format  # noqa: E402
from zoo.losses import chunk_spotting  # noqa: E402
from zoo.metrics import spotting as spotting_metric  # noqa: E402
from zoo.postprocess.chunk_spots import predict_half  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.optimizer import make_optimizer  # noqa: E402
from zoo.train.step import init_train_state, jit_train_step, make_predictor  # noqa: E402

# The calibration paper's "patterned" classes (Cioppa et al., CVPRW 2021); the other nine are "fuzzy".
PATTERNED = ("Penalty", "Kick-off", "Throw-in", "Direct free-kick", "Corner", "Yellow card", "Red card",
             "Yellow->red card")


def load_config(spec: str, overrides: list[str]):
    path, _, arg = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_config", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    config = module.get_config(arg or None)
    for item in overrides:
        dotted, _, value = item.partition("=")
        *parents, leaf = dotted.split(".")
        node = config
        for name in parents:
            node = node[name]
        node[leaf] = type(node[leaf])(json.loads(value)) if not isinstance(node[leaf], str) else value
    return config


def write_split(config, predictor, halves, output_dir: str) -> None:
    """Spots every half and writes `<output_dir>/<game>/results_spotting.json` for each game."""
    shutil.rmtree(output_dir, ignore_errors=True)
    for game, parts in feature_halves.games_of(halves).items():
        spots = [predict_half(config, predictor, half) for half in parts]
        spotting_format.write_predictions(
            os.path.join(output_dir, game, spotting_format.PREDICTION_FILE), url_local=game,
            half=np.concatenate([np.full(len(s.frame), h.half) for s, h in zip(spots, parts)]),
            frame=np.concatenate([s.frame for s in spots]), class_index=np.concatenate([s.class_index for s in spots]),
            confidence=np.concatenate([s.confidence for s in spots]), framerate=spots[0].framerate)


def score(config, workdir: str, halves, output_dir: str) -> dict:
    """Tight and loose Average-mAP of the written files, and their patterned / fuzzy class means."""
    labels = config.data.manual_dir or os.path.join(workdir, "synthetic_soccernet_v2")
    games = list(feature_halves.games_of(halves))
    patterned = [spotting_format.CLASSES_V2.index(name) for name in PATTERNED]
    fuzzy = [i for i in range(len(spotting_format.CLASSES_V2)) if i not in patterned]
    result = {}
    for metric in ("tight", "loose"):
        scores = spotting_metric.evaluate(labels, output_dir, metric=metric, games=games)
        per_class = np.asarray(scores["a_mAP_per_class"], np.float64)
        result[f"a_mAP_{metric}"] = float(scores["a_mAP"])
        result[f"a_mAP_patterned_{metric}"] = float(per_class[patterned].mean())
        result[f"a_mAP_fuzzy_{metric}"] = float(per_class[fuzzy].mean())
    return result


def learn(args) -> None:
    config = load_config(args.config, args.set)
    if args.manual_dir:
        config.data.manual_dir = args.manual_dir
    feature_chunks.check_config(config)
    os.makedirs(args.workdir, exist_ok=True)
    split = config.eval.split
    mesh = mesh_lib.make_mesh()
    model = models.build(config.model, **feature_chunks.model_extras(config))
    tx = make_optimizer(config, args.steps)
    started = time.time()
    data = feature_chunks.make_train_data(config, args.workdir, config.train.batch_size)
    halves = feature_halves.read_halves(config, args.workdir, split)
    print(f"data ready in {time.time() - started:.0f} s: {data.num_examples} training chunks", flush=True)
    state, shardings = init_train_state(model, tx, feature_chunks.example_inputs(config), config.seed, mesh)
    parameters = sum(x.size for x in jax.tree.leaves(state.params))
    bind = make_predictor(model, mesh, config.eval.batch_size)
    write_split(config, bind(state), halves, os.path.join(args.workdir, "untrained"))
    untrained = score(config, args.workdir, halves, os.path.join(args.workdir, "untrained"))
    print("untrained", json.dumps(untrained), flush=True)
    train_step = jit_train_step(model, chunk_spotting.make_loss(config), tx, mesh, shardings)
    iterator = iter(data.dataset)
    sums: dict = {}
    started = time.time()
    for step in range(1, args.steps + 1):
        state, metrics = train_step(state, mesh_lib.global_batch(next(iterator), mesh))
        for name, (total, count) in jax.device_get(metrics).items():
            previous = sums.get(name, (0.0, 0.0))
            sums[name] = (previous[0] + float(total), previous[1] + float(count))
        if step % args.log_every == 0:
            means = {name: round(total / count, 4) for name, (total, count) in sums.items()}
            print(f"step {step} ({(time.time() - started) / step:.2f} s/step) {means}", flush=True)
            sums = {}
    train_seconds = time.time() - started
    write_split(config, bind(state), halves, os.path.join(args.workdir, "trained"))
    trained = score(config, args.workdir, halves, os.path.join(args.workdir, "trained"))
    print("trained", json.dumps(trained), flush=True)
    result = {"config": args.config, "set": args.set, "steps": args.steps, "split": split, "parameters": parameters,
              "train_seconds": train_seconds, "classes": "all", "model": "ASTRA (Transformer head)",
              "untrained": untrained, "trained": trained}
    with open(os.path.join(args.workdir, "learn.json"), "w") as f:
        json.dump(result, f, indent=2)
    rows = [("untrained", untrained), (f"trained {args.steps} steps", trained)]
    keys = list(trained)
    print("\n| ASTRA | " + " | ".join(k.removeprefix("a_mAP_").replace("_", " ") for k in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, values in rows:
        print(f"| {name} | " + " | ".join(f"{100 * values[k]:.2f}" for k in keys) + " |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("learn", help="train, then score untrained and trained on the evaluation split")
    p.add_argument("--config", default=str(REPO / "configs/action_spotting/transformer.py"))
    p.add_argument("--workdir", required=True)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--manual_dir", default="")
    p.add_argument("--set", nargs="*", default=[], help="config overrides, e.g. train.batch_size=16")
    args = parser.parse_args(argv)
    learn(args)


if __name__ == "__main__":
    main()
