"""Ball-spotting speed: E2E-Spot and T-DEED in the zoo's jitted JAX step against the same networks in PyTorch.

The networks are the two baselines at their ball-spotting settings, on random frames of a small
resolution: E2E-Spot (RegNetY-200MF + GSM in every block, 1-layer bidirectional GRU, 12 + 1
classes) and T-DEED (RegNetY-200MF + GSF in stages 3-4, temporal encoding, SGP-Mixer
encoder-decoder with 2 levels, kernel 9, r 4, class / displacement / team heads). Both sides train
with AdamW (lr 1e-3, weight decay 0.01) on a per-frame cross-entropy of the class logits, and infer
in evaluation mode.

- JAX: `zoo.train.step.jit_train_step` (forward, backward, AdamW, BN statistics, dropout) compiled
  once with the state donated, as the training loop runs it; inference is `model.apply` under jit.
  The starting weights are random numbers of the models' shapes (compiling `init` would only add
  start-up time).
- PyTorch: tests/torch_ball_reference.py's `E2ESpot` / `TDEED` (the same layers, parameter counts
  equal, outputs equal in the tests), `torch.optim.AdamW`, eager mode with
  `torch.set_num_threads(--torch-threads)`; inference under `torch.inference_mode()`.

PyTorch 2.13's CPU grouped Conv3d (GSM's gate) is pathologically slow with 2 threads on small
channel counts (0.8 s instead of 0.016 s with 1 thread for [2, 8, 16, 48, 48], 2 groups), which
slows E2E-Spot's PyTorch steps by 10-50x; time it with `--torch-threads 1` as well.

Each mode runs warm-up iterations (JAX compiles in them), then `--iters` timed ones with JAX and
PyTorch taking turns, so other work on shared cores hits both alike; rates use the median time.
Prints a markdown table: training clips/s and inference frames/s.

    python benchmarks/ball_spotting.py [--batch-size 2] [--clip-len 32] [--height 112] [--width 112]
    python benchmarks/ball_spotting.py --quick   # clip 16 at 96x96, 1 warm-up, 3 timed: ~3 min on 2 cores
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys

import jax
import numpy as np
import optax
from flax import traverse_util

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved  # noqa: E402

from zoo.models.e2e_spot import E2ESpot  # noqa: E402
from zoo.models.tdeed import TDEED  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.state import TrainState  # noqa: E402
from zoo.train.step import jit_train_step  # noqa: E402

NUM_CLASSES = 12
LR, WEIGHT_DECAY = 1e-3, 0.01


def cross_entropy(outputs, batch):
    """Mean per-frame cross-entropy of the (K + 1)-way class logits."""
    loss = optax.softmax_cross_entropy_with_integer_labels(outputs["class_logits"], batch["labels"]).mean()
    return loss, {}



def random_state(model, tx, frames: np.ndarray, mesh) -> tuple[TrainState, object]:
    """A replicated train state with random weights of the model's shapes, and its shardings."""
    abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), frames[:1], train=False))
    rng = np.random.default_rng(0)

    def leaf(path, shape):
        if path[-1] in ("scale", "var"):
            return np.ones(shape.shape, np.float32)
        if path[-1] in ("bias", "mean"):
            return np.zeros(shape.shape, np.float32)
        fan_in = int(np.prod(shape.shape[:-1])) or 1
        return (rng.normal(size=shape.shape) * np.sqrt(1.0 / fan_in)).astype(np.float32)

    variables = {name: traverse_util.unflatten_dict({p: leaf(p, s) for p, s in traverse_util.flatten_dict(tree).items()})
                 for name, tree in abstract.items()}
    params = variables.pop("params")
    state = TrainState(params=params, model_state=variables, opt_state=tx.init(params),
                       step=np.zeros((), np.int32), rng=np.asarray(jax.random.key_data(jax.random.key(0))))
    shardings = jax.tree.map(lambda _: mesh_lib.replicated(mesh), state)
    return jax.device_put(state, shardings), shardings


def jax_runs(model, frames: np.ndarray, labels: np.ndarray) -> dict:
    """Blocking `train` (one train_step) and `infer` (evaluation-mode forward) closures for JAX."""
    tx = optax.adamw(LR, weight_decay=WEIGHT_DECAY)
    mesh = mesh_lib.make_mesh()
    state, shardings = random_state(model, tx, frames, mesh)
    step = jit_train_step(model, cross_entropy, tx, mesh, shardings)
    batch = mesh_lib.global_batch({"inputs": frames, "labels": labels}, mesh)
    infer_fn = jax.jit(lambda p, s, x: model.apply({"params": p, **s}, x, train=False))
    holder = {"state": state}

    def train():
        holder["state"], metrics = step(holder["state"], batch)  # the state is donated
        jax.block_until_ready(metrics)

    def infer():
        state = holder["state"]
        jax.block_until_ready(infer_fn(state.params, state.model_state, batch["inputs"]))

    return {"train": train, "infer": infer}


def torch_runs(name: str, frames: np.ndarray, labels: np.ndarray, threads: int) -> dict:
    """The same closures for the PyTorch reference network (raises ImportError without torch)."""
    import torch

    from tests.torch_ball_reference import TDEED as TorchTDEED
    from tests.torch_ball_reference import E2ESpot as TorchE2ESpot

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    clip_len = frames.shape[1]
    model = TorchE2ESpot(NUM_CLASSES, clip_len) if name == "E2E-Spot" else TorchTDEED(NUM_CLASSES, clip_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    inputs = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 1, 4, 2, 3)))
    targets = torch.from_numpy(labels.astype(np.int64)).flatten()

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)["class_logits"]
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets).backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.inference_mode():
            model(inputs)

    return {"train": train, "infer": infer, "version": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--clip-len", type=int, default=32)
    parser.add_argument("--height", type=int, default=112)
    parser.add_argument("--width", type=int, default=112)
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations (JAX compiles here)")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per mode")
    parser.add_argument("--models", default="E2E-Spot,T-DEED", help="comma-separated: E2E-Spot, T-DEED")
    parser.add_argument("--quick", action="store_true", help="clip 16 at 96x96, 1 warm-up, 3 timed iterations")
    parser.add_argument("--skip-torch", action="store_true", help="time JAX only")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count(),
                        help="torch.set_num_threads (default: all cores; see the note on Conv3d above)")
    args = parser.parse_args()
    if args.quick:
        args.clip_len, args.height, args.width, args.warmup, args.iters = 16, 96, 96, 1, 3

    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(args.batch_size, args.clip_len, args.height, args.width, 3)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES + 1, size=(args.batch_size, args.clip_len)).astype(np.int32)
    models = {
        "E2E-Spot": E2ESpot(NUM_CLASSES, "regnety_002", "gsm"),
        "T-DEED": TDEED(NUM_CLASSES, args.clip_len, "regnety_002", "gsf"),
    }
    rows, torch_version = [], None
    for name in args.models.split(","):
        frameworks = {"JAX": jax_runs(models[name], frames, labels)}
        if not args.skip_torch:
            try:
                frameworks["PyTorch"] = torch_runs(name, frames, labels, args.torch_threads)
                torch_version = frameworks["PyTorch"].pop("version")
            except ImportError:
                print("PyTorch is not installed (pip install '.[torch]'): timing JAX only.\n")
        for mode in ("train", "infer"):
            seconds = time_interleaved({fw: runs[mode] for fw, runs in frameworks.items()}, args.warmup, args.iters)
            rows.append((name, mode, seconds))

    device = jax.devices()[0]
    print(f"Ball spotting: batch {args.batch_size} clips x {args.clip_len} frames at {args.height}x{args.width}, "
          f"{NUM_CLASSES} + 1 classes, {args.warmup} warm-up + {args.iters} timed iterations")
    print(f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), JAX on "
          f"{device.platform} ({device.device_kind}); python {platform.python_version()}, jax {jax.__version__}, "
          f"flax {package_version('flax')}, optax {optax.__version__}"
          + (f", torch {torch_version} (threads {args.torch_threads})" if torch_version else "")
          + f"; 1-min load average before the run {load_before:.2f}")
    print()
    print("| model | mode | JAX | PyTorch | JAX / PyTorch |")
    print("|---|---|---:|---:|---:|")
    for name, mode, seconds in rows:
        per_call = args.batch_size if mode == "train" else args.batch_size * args.clip_len
        unit = "clips/s" if mode == "train" else "frames/s"
        label = "train (fwd + bwd + AdamW)" if mode == "train" else "inference"
        jax_rate = per_call / seconds["JAX"]
        if "PyTorch" in seconds:
            torch_rate = per_call / seconds["PyTorch"]
            print(f"| {name} | {label} | {jax_rate:.2f} {unit} | {torch_rate:.2f} {unit} | {jax_rate / torch_rate:.2f}x |")
        else:
            print(f"| {name} | {label} | {jax_rate:.2f} {unit} | - | - |")



if __name__ == "__main__":
    main()
