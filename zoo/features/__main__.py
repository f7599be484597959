"""`python -m zoo.features --video match.mkv --out 1_ResNET_TF2_PCA512.npy`: see `zoo.features`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from zoo.errors import UserError
from zoo.features.extract import DEFAULT_WEIGHTS, PRECISIONS
from zoo.models.keras_resnet import STAGE_SIZES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.features",
        description="Official SoccerNet ResNet-TF2 features (2 fps, Keras ResNet-152 avg_pool, optional "
                    "PCA to 512) of one video, usually one half.")
    parser.add_argument("--video", required=True, help="the video file (any container OpenCV's FFmpeg reads)")
    parser.add_argument("--out", required=True, help="the .npy to write: [frames, 512] with --pca, else [frames, 2048]")
    parser.add_argument("--pca", default="", help="PCA .npz (python -m zoo.features.pca convert / fit); "
                        "required for a *_PCA512.npy output")
    parser.add_argument("--raw-out", default="", help="also write the 2048-d features (the official *_ResNET_TF2.npy)")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS,
                        help="Keras ResNet-152 ImageNet weights (.h5), or a `python -m zoo.convert --arch "
                             "keras_resnet152` output folder (default: the Keras cache, %(default)s)")
    parser.add_argument("--arch", choices=sorted(STAGE_SIZES), default="resnet152",
                        help="the Keras ResNet of the weights (the official features: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per network call (the official: 64)")
    parser.add_argument("--precision", choices=PRECISIONS, default="highest",
                        help="matmul precision: highest = float32 as the official extraction; default "
                             "allows TF32 / bf16 passes on accelerators (faster, not bit-faithful)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> str:
    """Writes the features; returns the one-line summary. Raises UserError for bad input."""
    import numpy as np

    from zoo.features.extract import ResNetFeatures, extract_video
    from zoo.features.frames import OfficialFrames
    from zoo.features.pca import load_pca

    outputs = [p for p in (args.out, args.raw_out) if p]
    for path in outputs:
        if not path.endswith(".npy"):
            raise UserError(f"{path}: the features are written as .npy (name it e.g. 1_ResNET_TF2_PCA512.npy)")
        if os.path.exists(path) and not args.overwrite:
            raise UserError(f"{path} already exists; pass --overwrite to replace it")
    if "PCA512" in os.path.basename(args.out) and not args.pca:
        raise UserError(f"{args.out}: a PCA512 file needs --pca (convert the published pca_512_TF2.pkl and "
                        "average_512_TF2.pkl once with `python -m zoo.features.pca convert`, or fit one on your "
                        "2048-d features with `python -m zoo.features.pca fit`)")
    if args.pca.endswith(".pkl"):
        raise UserError(f"{args.pca}: convert the published pickles once with `python -m zoo.features.pca "
                        "convert --pca pca_512_TF2.pkl --average average_512_TF2.pkl --out pca_512_TF2.npz`")
    if not os.path.isfile(args.video):
        raise UserError(f"{args.video}: no such video file")
    frames = OfficialFrames(args.video, batch_size=args.batch_size)  # a bad video fails before the weights load
    pca = load_pca(args.pca) if args.pca else None
    resnet = ResNetFeatures.from_weights(args.weights, arch=args.arch, batch_size=args.batch_size,
                                         precision=args.precision)
    raw = extract_video(frames, resnet, progress=not args.quiet)
    features = pca.transform(raw) if pca is not None else raw
    for path, values in ((args.out, features), (args.raw_out, raw)):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            np.save(path, values)
    extra = f" (and {args.raw_out}, {list(raw.shape)})" if args.raw_out else ""
    return f"{args.video}: {len(features)} frames at 2 fps -> {args.out} {list(features.shape)}{extra}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run(args))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
