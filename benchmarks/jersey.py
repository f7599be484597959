"""Jersey pipeline speed: seconds per tracklet of each stage and in total, batched across tracklets.

The zoo's pipeline (`zoo.tasks.jersey.read_tracklets`) reads synthetic tracklets with models of
the published sizes (random weights: speed does not depend on them):

  pose        SimpleBaseline ResNet-50 at 256x192 (`--pose vit_base` / `vit_huge` for ViTPose; the
              published pipeline runs ViTPose-H)
  classifier  the ResNet-34 legibility classifier at 224x224 on torso crops
  recogniser  PARSeq-S at 32x128 over the digits (greedy decoding, refinement and the 100 number
              probabilities)

`--models synthetic` uses the CPU-sized models of the synthetic configs instead. Each setting is
timed twice: with `--chunk` tracklets per batch (the pipeline's default way) and one tracklet at
a time. The stage times exclude JPEG decoding (listed apart) and the first pass (compilation).
Next to them, the published per-tracklet times of Koshkina & Elder's light-classifier variant,
measured on two NVIDIA T4 GPUs on real tracklets (which are longer than these: compare the
per-crop column too).

`--torch` adds PARSeq-S in PyTorch (tests/torch_jersey_reference.py, same weights, greedy
decoding + one refinement) against the zoo's jitted PARSeq on the same crops, interleaved.

    python benchmarks/jersey.py [--tracklets 16] [--frames 16] [--chunk 16] [--pose resnet50] [--torch]
    python benchmarks/jersey.py --quick     # the synthetic-size models, 8 tracklets: a few minutes on 2 cores
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import tempfile
import time

import jax
import numpy as np
import optax

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.timing import package_version, time_interleaved  # noqa: E402

from configs.jersey import legibility as legibility_config  # noqa: E402
from configs.jersey import parseq as parseq_config  # noqa: E402
from configs.jersey import pipeline as pipeline_config  # noqa: E402
from configs.jersey import pose as pose_config  # noqa: E402
from zoo.data import jersey_tracklets  # noqa: E402
from zoo.synthetic import jersey as synthetic  # noqa: E402
from zoo.tasks import get_task  # noqa: E402
from zoo.tasks.jersey import read_tracklets  # noqa: E402
from zoo.train import mesh as mesh_lib  # noqa: E402
from zoo.train.step import init_train_state, make_predictor  # noqa: E402
from zoo.train.task import Models, Stage  # noqa: E402

# Koshkina & Elder's light-classifier variant, seconds per tracklet on two T4 GPUs (issue 14).
PUBLISHED = {"pose": 8.17, "legibility": 0.17, "recogniser": 2.08, "total": 10.42}
STAGES = ("pose", "legibility", "recogniser")


def stage(name: str, config, mesh, batch_size: int) -> Stage:
    """A randomly initialised stage (its task's model), as a restored run would be."""
    task = get_task(config.task)
    model = task.make_model(config)
    state, _ = init_train_state(model, optax.sgd(0.0), task.example_inputs(config), 0, mesh)
    predictor = make_predictor(model, mesh, batch_size)(state)
    return Stage(name=name, config=config, workdir="", step=0, predictors=(predictor,))


def stage_configs(models: str, pose_backbone: str):
    variant = "synthetic" if models == "synthetic" else "baseline"
    pose = pose_config.get_config(variant)
    if models != "synthetic" and pose_backbone != "resnet50":
        pose.model.backbone = pose_backbone
        pose.model.deconv_filters = (256, 256)
    return {"pose": pose, "legibility": legibility_config.get_config(variant),
            "recogniser": parseq_config.get_config(variant)}


def time_pipeline(config, models, tracklets, chunk: int, repeats: int) -> dict[str, float]:
    """Median seconds per stage over `repeats` passes (after one warm-up pass)."""
    passes = []
    for repeat in range(repeats + 1):
        times: dict[str, float] = {}
        for first in range(0, len(tracklets), chunk):
            read_tracklets(config, models, tracklets[first : first + chunk], times=times)
        if repeat:
            passes.append(times)
    return {k: float(np.median([p.get(k, 0.0) for p in passes])) for k in passes[0]}


def torch_comparison(crops: np.ndarray, iters: int) -> dict[str, float]:
    """Seconds per batch of PARSeq-S reading `crops` in JAX (jitted) and PyTorch, interleaved."""
    import torch

    from tests.torch_jersey_reference import PARSeqReference

    from zoo.convert.torch_parseq import convert_parseq
    from zoo.models.parseq import PARSeq

    torch.manual_seed(0)
    net = PARSeqReference(charset_size=10, max_length=2).eval()
    model = PARSeq(max_label_length=2, dropout=0.0)
    variables = convert_parseq(net.state_dict(), model=model, source_charset="0123456789").variables
    inputs = {"images": crops, "tokens": np.zeros((len(crops), 4), np.int32)}
    read = jax.jit(lambda v, x: model.apply(v, x, train=False)["logits"])
    nchw = torch.as_tensor(crops).permute(0, 3, 1, 2).contiguous()

    def jax_read():
        jax.block_until_ready(read(variables, inputs))

    def torch_read():
        with torch.inference_mode():
            net.read(nchw)

    return time_interleaved({"jax": jax_read, "torch": torch_read}, warmup=1, iters=iters)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracklets", type=int, default=16)
    parser.add_argument("--frames", type=int, default=16, help="crops per tracklet")
    parser.add_argument("--chunk", type=int, default=16, help="tracklets batched together")
    parser.add_argument("--models", choices=("published", "synthetic"), default="published")
    parser.add_argument("--pose", choices=("resnet50", "vit_base", "vit_huge"), default="resnet50")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--torch", action="store_true", help="also PARSeq-S in PyTorch against JAX")
    parser.add_argument("--quick", action="store_true", help="synthetic models, 8 tracklets of 12 crops")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.tracklets, args.frames, args.chunk, args.repeats = "synthetic", 8, 12, 8, 1

    with tempfile.TemporaryDirectory() as root:
        synthetic.write_soccernet_jersey(root, tracklets_per_split={"test": args.tracklets},
                                         frames_per_tracklet=(args.frames, args.frames), seed=1)
        start = time.perf_counter()
        tracklets = [(t, [jersey_tracklets.read_image(p) for p in paths])
                     for t, paths in jersey_tracklets.folder_tracklets(os.path.join(root, "test"))]
        decode = (time.perf_counter() - start) / len(tracklets)
    crops = sum(len(images) for _, images in tracklets)

    mesh = mesh_lib.make_mesh()
    configs = stage_configs(args.models, args.pose)
    batch = 64
    models = Models(own=None, stages={name: stage(name, c, mesh, batch) for name, c in configs.items()})
    config = pipeline_config.get_config()
    config.eval.keypoint_threshold = 0.0  # random weights: crop every torso, as a trained model would
    config.eval.legibility_threshold = 0.0  # ... and read every crop (the worst case for the recogniser)
    config.eval.ball_max_height = config.eval.ball_max_width = 0.0

    results = {}
    for chunk in (args.chunk, 1):
        results[chunk] = time_pipeline(config, models, tracklets, chunk, args.repeats)

    n = len(tracklets)
    devices = f"{jax.devices()[0].platform.upper()} x{len(jax.devices())}"
    print(f"Jersey pipeline, {n} synthetic tracklets x {args.frames} crops ({crops} crops), "
          f"{args.models} model sizes (pose: {configs['pose'].model.backbone} at "
          f"{tuple(configs['pose'].data.image_size)}), JAX {jax.__version__} on {devices} "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores)\n")
    print(f"| stage | zoo, {args.chunk} tracklets per batch: s / tracklet | s / crop | zoo, one tracklet "
          f"at a time: s / tracklet | published (2 x T4 GPU): s / tracklet |")
    print("|---|---:|---:|---:|---:|")
    for name in (*STAGES, "total"):
        batched = sum(results[args.chunk].get(s, 0.0) for s in STAGES) if name == "total" else results[args.chunk].get(name, 0.0)
        single = sum(results[1].get(s, 0.0) for s in STAGES) if name == "total" else results[1].get(name, 0.0)
        print(f"| {name} | {batched / n:.3f} | {batched / crops:.4f} | {single / n:.3f} | {PUBLISHED[name]:.2f} |")
    print(f"| JPEG decoding (not in total) | {decode:.3f} | {decode * n / crops:.4f} | | |")
    print("\nThe published times are Koshkina & Elder's, on real tracklets (longer than these) with "
          "ViTPose-H; the zoo's are on this machine's CPU. Compare per crop, not per tracklet.")

    if args.torch:
        from zoo.data.torso_crops import upper_body_boxes
        from zoo.postprocess import jersey_reading

        images = [t for _, ims in tracklets for t in ims][:batch]
        boxes = upper_body_boxes(np.array([t.shape[:2] for t in images]))
        parseq_crops = jersey_reading.crops(images, boxes, (32, 128), jersey_reading.RECOGNISER_NORMALISATION["parseq"])
        seconds = torch_comparison(parseq_crops, iters=5)
        print(f"\nPARSeq-S reading {len(parseq_crops)} crops (32x128), same weights, interleaved "
              f"(torch {package_version('torch')}, {os.cpu_count()} threads):\n")
        print("| framework | s / batch | crops / s |\n|---|---:|---:|")
        for name, s in seconds.items():
            print(f"| {name} | {s:.3f} | {len(parseq_crops) / s:.1f} |")


if __name__ == "__main__":
    main()
