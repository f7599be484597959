"""ReID ResNet-50 speed: the zoo's jitted JAX step against the same network in PyTorch, same inputs.

The network is the strong baseline's: ResNet-50 with last stride 1, average pooling, BNNeck and a
bias-free classifier over `--classes` identities (751, as Market-1501), at 256x128. Both sides
train with Adam on the cross-entropy of the logits (the triplet term costs nothing next to the
network and is left out of both), and embed with the post-BN feature in evaluation mode.

- JAX: `zoo.train.step.train_step` (forward, backward, Adam update, BN statistics) compiled once
  with the state donated, as the training loop runs it; inference is `model.apply` under jit.
- PyTorch: tests/torch_reference.py's `ReidResNet50`, `torch.optim.Adam`, eager mode with
  `torch.set_num_threads(cores)`; inference under `torch.inference_mode()`.

Each mode runs a few warm-up iterations (JAX compiles in them), then `--iters` timed ones with
JAX and PyTorch taking turns, so other work on shared cores hits both alike; images/s is the batch
size over the median iteration time. Prints a markdown table.

    python benchmarks/reid.py [--batch-size 32] [--iters 5] [--warmup 2]
    python benchmarks/reid.py --quick      # batch 8, 1 warm-up, 3 timed: under 2 minutes on 2 cores
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

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved  # noqa: E402

from zoo.models.reid_head import ReidModel  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.step import init_train_state, jit_train_step  # noqa: E402


def cross_entropy(outputs, batch):
    loss = optax.softmax_cross_entropy_with_integer_labels(outputs["logits"], batch["labels"]).mean()
    return loss, {}



def jax_runs(images: np.ndarray, labels: np.ndarray, classes: int, lr: float) -> dict:
    """Blocking `train` (one train_step) and `embed` (post-BN embeddings) closures for JAX."""
    model = ReidModel("resnet50", num_classes=classes, pooling="avg", last_stride=1)
    tx = optax.adam(lr)
    mesh = mesh_lib.make_mesh()
    state, shardings = init_train_state(model, tx, images, seed=0, mesh=mesh)
    step = jit_train_step(model, cross_entropy, tx, mesh, shardings)
    batch = mesh_lib.global_batch({"inputs": images, "labels": labels}, mesh)
    embed_fn = jax.jit(lambda p, s, x: model.apply({"params": p, **s}, x, train=False)["embedding_bn"])
    holder = {"state": state}

    def train():
        holder["state"], metrics = step(holder["state"], batch)  # the state is donated
        jax.block_until_ready(metrics)

    def embed():
        state = holder["state"]
        jax.block_until_ready(embed_fn(state.params, state.model_state, batch["inputs"]))

    return {"train": train, "embed": embed}


def torch_runs(images: np.ndarray, labels: np.ndarray, classes: int, lr: float) -> dict:
    """The same closures for the PyTorch reference network (raises ImportError without torch)."""
    import torch

    from tests.torch_reference import ReidResNet50

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = ReidResNet50(num_classes=classes, last_stride=1)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    inputs = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    targets = torch.from_numpy(labels.astype(np.int64))

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        logits, _ = model(inputs)
        torch.nn.functional.cross_entropy(logits, targets).backward()
        optimizer.step()

    def embed():
        model.eval()
        with torch.inference_mode():
            model(inputs)

    return {"train": train, "embed": embed, "version": torch.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--classes", type=int, default=751)
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations (JAX compiles here)")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per mode")
    parser.add_argument("--quick", action="store_true", help="batch 8, 1 warm-up, 3 timed iterations")
    parser.add_argument("--skip-torch", action="store_true", help="time JAX only")
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.warmup, args.iters = 8, 1, 3

    load_before = os.getloadavg()[0]  # other work on the cores skews both sides, PyTorch's most
    rng = np.random.default_rng(0)
    images = rng.normal(size=(args.batch_size, args.height, args.width, 3)).astype(np.float32)
    labels = rng.integers(0, args.classes, size=args.batch_size).astype(np.int32)

    frameworks = {"JAX": jax_runs(images, labels, args.classes, lr=3.5e-4)}
    torch_version = None
    if not args.skip_torch:
        try:
            frameworks["PyTorch"] = torch_runs(images, labels, args.classes, lr=3.5e-4)
            torch_version = frameworks["PyTorch"].pop("version")
        except ImportError:
            print("PyTorch is not installed (pip install '.[torch]'): timing JAX only.\n")
    seconds = {
        mode: time_interleaved({name: runs[mode] for name, runs in frameworks.items()}, args.warmup, args.iters)
        for mode in ("train", "embed")
    }

    device = jax.devices()[0]
    print(f"ResNet-50 ReID (last stride 1, BNNeck, {args.classes} classes), "
          f"{args.height}x{args.width}, batch {args.batch_size}, {args.warmup} warm-up + "
          f"{args.iters} timed iterations")
    print(f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), JAX on "
          f"{device.platform} ({device.device_kind}); python {platform.python_version()}, "
          f"jax {jax.__version__}, flax {package_version('flax')}, optax {optax.__version__}"
          + (f", torch {torch_version} (threads {os.cpu_count()})" if torch_version else "")
          + f"; 1-min load average before the run {load_before:.2f}")
    print()
    print("| mode | JAX img/s | PyTorch img/s | JAX / PyTorch |")
    print("|---|---:|---:|---:|")
    labels_of = {"train": "train (fwd + bwd + Adam)", "embed": "embed (inference)"}
    for mode, timings in seconds.items():
        jax_rate = args.batch_size / timings["JAX"]
        if "PyTorch" not in timings:
            print(f"| {labels_of[mode]} | {jax_rate:.1f} | - | - |")
        else:
            torch_rate = args.batch_size / timings["PyTorch"]
            print(f"| {labels_of[mode]} | {jax_rate:.1f} | {torch_rate:.1f} | {jax_rate / torch_rate:.2f}x |")



if __name__ == "__main__":
    main()
