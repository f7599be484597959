"""Files for the zoo.features tests: a video written with OpenCV, Keras-layout ResNet weights, a PCA."""

from __future__ import annotations

import cv2
import numpy as np
from flax import traverse_util

from zoo.convert.keras_resnet import abstract_variables
from zoo.features.pca import FeaturePca
from zoo.models.keras_resnet import STAGE_SIZES


# Blocks per stage that the video tests give the "resnet50" name: the real layout (stem, down-sampling
# and identity blocks, 2048-d avg_pool) at a fraction of ResNet-50's compile time on 224 x 224 frames.
TINY_RESNET = (1, 1, 1, 1)


def write_video(path, num_frames: int, fps: float = 25.0, size=(240, 320)) -> np.ndarray:
    """A video with a moving pattern (not one of the zoo's synthetic generators); returns its frames."""
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(num_frames):
        frame = np.stack([(xx * 2 + t * 7) % 256, (yy * 3 + t * 5) % 256, ((xx + yy) // 2 + t * 11) % 256], -1)
        frames.append(frame.astype(np.uint8))
        writer.write(frames[-1])
    writer.release()
    return np.stack(frames)


def write_keras_h5(path, layers: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> None:
    """The Keras legacy HDF5 weights layout of the Keras applications files (see the converter)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name, _ in layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.2.4-tf"
        for name, weights in layers:
            group = f.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{w}:0".encode() for w, _ in weights]
            for w, value in weights:
                group.create_dataset(f"{name}/{w}:0", data=value)


def flax_layout_h5(path, arch: str | tuple[int, ...], rng, *, drop: str = "", extra: str = "") -> None:
    """A Keras-layout file for `arch` (a name or blocks per stage) written from the Flax shapes (the
    converter matches by name, so the layer order does not matter to it)."""
    shapes = abstract_variables(tuple(STAGE_SIZES[arch]) if isinstance(arch, str) else tuple(arch))
    params, stats = (traverse_util.flatten_dict(shapes[c]) for c in ("params", "batch_stats"))
    layers = []
    for layer in sorted({path[0] for path in params}):
        if layer == drop:
            continue
        if layer.endswith("_conv"):
            kernel = params[(layer, "kernel")].shape
            weights = [("kernel", rng.normal(0, (2 / np.prod(kernel[:3])) ** 0.5, kernel)),
                       ("bias", np.zeros(params[(layer, "bias")].shape))]
        else:
            n = params[(layer, "scale")].shape
            weights = [("gamma", np.full(n, 0.5)), ("beta", np.zeros(n)),
                       ("moving_mean", np.zeros(stats[(layer, "mean")].shape)), ("moving_variance", np.ones(n))]
        layers.append((layer, [(w, v.astype(np.float32)) for w, v in weights]))
    layers.append(("predictions", [("kernel", np.zeros((2048, 3), np.float32)), ("bias", np.zeros(3, np.float32))]))
    if extra:
        layers.append((extra, [("kernel", np.zeros((1, 1), np.float32))]))
    layers.append(("conv1_pad", []))  # layers without weights are listed too
    write_keras_h5(path, layers)


def random_pca(path, rng, input_dim: int = 2048, output_dim: int = 512) -> None:
    """A PCA .npz with random orthonormal components (a random choice of axes)."""
    components = np.eye(input_dim)[rng.permutation(input_dim)[:output_dim]]  # orthonormal rows, no QR
    FeaturePca(average=rng.normal(size=input_dim), mean=np.zeros(input_dim), components=components,
               explained_variance=np.ones(output_dim)).save(path)
