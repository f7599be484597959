"""Does the synthetic calibration default learn? Trained vs untrained on the synthetic test split.

    nice -n 10 python benchmarks/calibration_learning.py --workdir /tmp/calib_learn \
        [--config configs/calibration/resnet_fpn.py:synthetic] [--seeds 0 1 2] [--steps 1500]

Trains with the task's own functions (`zoo.tasks.calibration`: make_train_data, make_loss,
predict_split, write_submission, score) and the core's train step, evaluates every
`--eval-every` steps and at the end, and prints, per seed, the final score (completeness x JaC@5),
JaC@5 and completeness of the untrained and the trained model on the test split, then a table.
The synthetic data is written once into the workdir and shared by the seeds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time

import jax
import numpy as np
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from zoo.tasks import calibration  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.optimizer import make_optimizer  # noqa: E402
from zoo.train.step import init_train_state, jit_train_step, make_predictor  # noqa: E402
from zoo.train.task import Models, Shard, Stage  # noqa: E402


def load_config(spec: str):
    path, _, arg = spec.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return module.get_config(arg or None)


def evaluate(config, workdir, state, model, mesh, split, name) -> dict[str, float]:
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    models = Models(own=Stage(name="model", config=config, workdir=workdir, step=0,
                              predictors=(predictor,)))
    records = calibration.TASK.predict_split(config, workdir, models, split, Shard())
    output = os.path.join(workdir, "eval", name)
    shutil.rmtree(output, ignore_errors=True)
    calibration.TASK.write_submission(config, records, output)
    scores = calibration.TASK.score(config, workdir, split, output, records)
    return scores.headline


def run_seed(config, workdir, seed: int, steps: int, eval_every: int, split: str) -> dict:
    config = config.copy_and_resolve_references()
    config.seed = seed
    mesh = mesh_lib.make_mesh()
    model = calibration.TASK.make_model(config)
    tx = make_optimizer(config, steps)
    state, shardings = init_train_state(model, tx, calibration.TASK.example_inputs(config), seed, mesh)
    untrained = evaluate(config, workdir, state, model, mesh, split, f"seed{seed}_untrained")
    print(f"seed {seed} untrained: {untrained}", flush=True)
    data = calibration.TASK.make_train_data(config, workdir, config.train.batch_size)
    train_step = jit_train_step(model, calibration.TASK.make_loss(config), tx, mesh, shardings)
    start, history = time.time(), {}
    for step in range(1, steps + 1):
        state, metrics = train_step(state, mesh_lib.global_batch(data.dataset[step - 1], mesh))
        if step % 50 == 0 or step == 1:
            values = {k: float(v[0] / max(float(v[1]), 1e-9)) for k, v in metrics.items()}
            print(f"seed {seed} step {step} ({time.time() - start:.0f} s): "
                  + ", ".join(f"{k} {v:.4g}" for k, v in sorted(values.items())), flush=True)
        if step % eval_every == 0 or step == steps:
            history[step] = evaluate(config, workdir, state, model, mesh, split, f"seed{seed}_{step}")
            print(f"seed {seed} step {step}: {history[step]}", flush=True)
    return {"untrained": untrained, "trained": history[steps], "history": history,
            "seconds": time.time() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--config", default="configs/calibration/resnet_fpn.py:synthetic")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=None, help="default: config.train.num_steps")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    flags.FLAGS.mark_as_parsed()
    config = load_config(args.config)
    calibration.TASK.check_config(config)
    steps = args.steps or config.train.num_steps
    results = {seed: run_seed(config, args.workdir, seed, steps, args.eval_every, args.split)
               for seed in args.seeds}
    print(f"\n{args.config}, {steps} steps, batch {config.train.batch_size}, split {args.split}, "
          f"jax {jax.__version__} on {jax.devices()[0].platform}")
    print("| seed | model | final score | JaC@5 | completeness | train time |")
    print("|---|---|---:|---:|---:|---:|")
    for seed, result in results.items():
        for name in ("untrained", "trained"):
            h = result[name]
            jac = h["JaC@5"]
            time_text = f"{result['seconds'] / 60:.0f} min" if name == "trained" else ""
            print(f"| {seed} | {name} | {h['final_score']:.3f} | "
                  f"{'n/a' if np.isnan(jac) else f'{jac:.3f}'} | {h['completeness']:.3f} | {time_text} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
