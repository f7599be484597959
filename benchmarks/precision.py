"""Train steps per second of the shared step in fp32 and bf16 compute (and with per-block remat,
and gradient accumulation), for one model, on whatever devices this machine has.

The step is `zoo.train.step.train_step` compiled as the training loop compiles it (state
donated), on random inputs of the config's shapes; the contenders take turns step by step
(`benchmarks/timing.py`), so other work on shared cores hits all alike.

    python benchmarks/precision.py [--config configs/reid/resnet50.py:tiny] [--batch-size 32] [--iters 10]

On a CPU, bfloat16 is emulated and slower than float32 (a ratio below 1 is expected); on GPUs
and TPUs it runs on the tensor cores, which is why `train.precision=auto` picks it there.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys

import jax
import jax.numpy as jnp
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import time_interleaved  # noqa: E402

import zoo.tasks  # noqa: E402
from zoo.cli import load_config  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.optimizer import make_optimizer  # noqa: E402
from zoo.train.runs import set_fields  # noqa: E402
from zoo.train.step import init_train_state, jit_train_step  # noqa: E402


def _random_like(tree, batch: int, rng: np.random.Generator):
    def make(x):
        shape = (batch, *np.shape(x)[1:])
        if np.issubdtype(x.dtype, np.integer):
            return rng.integers(0, 255, size=shape).astype(x.dtype)
        return rng.normal(size=shape).astype(x.dtype)

    return jax.tree.map(make, tree)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.path.join(REPO, "configs/reid/resnet50.py:tiny"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)

    config = load_config(args.config)
    task = zoo.tasks.get_task(config.task)
    set_fields(config, {"model.num_classes": 751} if "num_classes" in config.model else {})
    mesh = mesh_lib.make_mesh()
    batch = args.batch_size - args.batch_size % mesh.devices.size
    rng = np.random.default_rng(0)
    inputs = _random_like(task.example_inputs(config), batch, rng)
    if config.task != "reid":
        raise SystemExit("This benchmark builds ReID batches (identity labels); pass a configs/reid/ config.")
    data = mesh_lib.global_batch({"inputs": inputs, "pid": rng.integers(0, 751, batch).astype(np.int32),
                                  "action": np.zeros(batch, np.int32)}, mesh)

    contenders = {"fp32": {}, "bf16": {"dtype": jnp.bfloat16}, "fp32 + remat blocks": {"remat_blocks": True},
                  "fp32, 2 micro-batches": {"accumulation": 2}}
    runs = {}
    for name, options in contenders.items():
        options = dict(options)
        local = config.copy_and_resolve_references()
        if options.pop("remat_blocks", False):
            set_fields(local, {"model.remat": True})
        model = task.make_model(local)
        tx = make_optimizer(local, 1000)
        state, shardings = init_train_state(model, tx, task.example_inputs(local), 0, mesh)
        step = jit_train_step(model, task.make_loss(local), tx, mesh, shardings, **options)
        holder = {"state": state}

        def run(step=step, holder=holder):
            holder["state"], metrics = step(holder["state"], data)
            jax.block_until_ready(metrics)

        runs[name] = run
    seconds = time_interleaved(runs, warmup=args.warmup, iters=args.iters)
    device = jax.devices()[0]
    print(f"\n{config.model.get('backbone', config.model.name)} ({args.config}), batch {batch}, "
          f"{mesh.devices.size} x {device.device_kind} ({platform.processor() or platform.machine()}), "
          f"jax {jax.__version__}\n")
    print("| compute | steps/s | vs fp32 |")
    print("|---|---|---|")
    for name, value in seconds.items():
        print(f"| {name} | {1 / value:.3g} | {seconds['fp32'] / value:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
