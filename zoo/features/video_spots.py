"""Actions of a user's own video with a model trained on the official features (NetVLAD++, CALF, ASTRA).

What `python -m zoo.predict action_spotting --checkpoint DIR --video match.mkv --out
results_spotting.json [--plot timeline.png]` does for feature-based models: the official ResNet-TF2
features of the video (`zoo.features`), then the model family's `spot_half`, then the official
results file (one video: half 1) and the timeline plot. The action_spotting task's PredictFile
calls `add_video_arguments`, `check_video_arguments` and `spot_video_file`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import ml_collections
import numpy as np

from zoo.data.feature_halves import Half
from zoo.errors import UserError
from zoo.features.extract import DEFAULT_WEIGHTS, PRECISIONS, ResNetFeatures, extract_video
from zoo.features.frames import OfficialFrames
from zoo.features.pca import load_pca
from zoo.formats import spotting as spotting_format

VIDEO_FEATURES = ("ResNET_TF2", "ResNET_TF2_PCA512")  # what zoo.features computes from a video


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", required=True, help="the video (one half, or a whole match as half 1)")
    parser.add_argument("--out", default="results_spotting.json", help="where to write the predictions")
    parser.add_argument("--plot", default="", help="also draw a timeline of the actions to this PNG")
    parser.add_argument("--plot-min-confidence", type=float, default=None,
                        help="actions below this confidence are left out of the plot (default: "
                             "config.eval.nms_threshold, i.e. every written action)")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS, help="Keras ResNet-152 ImageNet .h5 (see zoo.features)")
    parser.add_argument("--pca", default="", help="PCA .npz for a model trained on ResNET_TF2_PCA512 features")
    parser.add_argument("--features-out", default="", help="also keep the video's features (.npy)")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per ResNet call")
    parser.add_argument("--precision", choices=PRECISIONS, default="highest", help="ResNet matmul precision")


def check_video_arguments(args: argparse.Namespace) -> None:
    """Refuses a missing video, weights or PCA file before any model is restored."""
    for flag, path in (("--video", args.video), ("--weights", args.weights), ("--pca", args.pca)):
        if path and not os.path.exists(path):
            raise UserError(f"{path}: no such file ({flag})")


def video_half(config: ml_collections.ConfigDict, video: str, *, weights: str, pca: str = "", batch_size: int = 64,
               precision: str = "highest", arch: str = "resnet152", progress: bool = True) -> Half:
    """The video as a Half (half 1, no labels) with the features `config.data.features` names.

    Raises UserError when the model was trained on features a video cannot give (Baidu's), when
    a PCA512 model gets no --pca, or for a missing or unreadable video or weights file.
    """
    kind = config.data.features
    if kind not in VIDEO_FEATURES:
        raise UserError(f"this model was trained on {kind} features; from a video the zoo computes only "
                        f"{' and '.join(VIDEO_FEATURES)}")
    if kind.endswith("PCA512") and not pca:
        raise UserError("this model was trained on ResNET_TF2_PCA512 features: pass --pca (the published PCA "
                        "converted with `python -m zoo.features.pca convert`)")
    frames = OfficialFrames(video, batch_size=batch_size)  # fails on a bad video before the weights load
    reduction = load_pca(pca) if kind.endswith("PCA512") else None
    resnet = ResNetFeatures.from_weights(weights, arch=arch, batch_size=batch_size, precision=precision)
    features = extract_video(frames, resnet, pca=reduction, progress=progress)
    return Half(game=os.path.splitext(os.path.basename(video))[0], half=1, features=features)


def spot_video_file(config: ml_collections.ConfigDict, predictor: Callable, args: argparse.Namespace, *,
                    predict_half: Callable, classes=spotting_format.CLASSES_V2) -> str:
    """Features of `args.video`, the model's spots, `args.out` (and `args.plot`); returns a summary line.

    predict_half: the model family's (config, predictor, Half) -> spots with `frame`, `class_index`,
      `confidence` and `framerate`.
    """
    half = video_half(config, args.video, weights=args.weights, pca=args.pca, batch_size=args.batch_size,
                      precision=args.precision, arch=getattr(args, "arch", "resnet152"),
                      progress=not getattr(args, "quiet", False))
    if args.features_out:
        np.save(args.features_out, half.features)
    spots = predict_half(config, predictor, half)
    spotting_format.write_predictions(args.out, url_local=half.game, half=1, frame=spots.frame,
                                      class_index=spots.class_index, confidence=spots.confidence,
                                      framerate=spots.framerate, classes=classes)
    summary = f"{len(spots.frame)} actions in {args.video} ({len(half.features)} feature frames) -> {args.out}"
    if args.plot:
        from zoo.plots.timeline import plot_timeline

        threshold = config.eval.nms_threshold if args.plot_min_confidence is None else args.plot_min_confidence
        plot_timeline(args.plot, seconds=np.asarray(spots.frame) / spots.framerate, class_index=spots.class_index,
                      confidence=spots.confidence, classes=classes, title=f"{half.game}: {len(spots.frame)} actions",
                      min_confidence=threshold)
        summary += f"; timeline -> {args.plot}"
    return summary
