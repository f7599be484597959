"""ResNet-TF2 features of a video: official frames -> Keras ResNet-152 `avg_pool` -> optional PCA.

    resnet = ResNetFeatures.from_weights("resnet152_weights_tf_dim_ordering_tf_kernels.h5")
    features = extract_video("1_224p.mkv", resnet, pca=load_pca("pca_512_TF2.npz"))  # [frames, 512]

Frames are decoded in a background thread while the network runs on the previous batch; each
batch is split over the local devices (the `data` mesh axis) and padded to a multiple of them.
The network computes in float32 at full matmul precision by default, as the official TensorFlow
extraction did (no TF32 on GPUs; `precision="default"` allows it, for speed).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

import jax
import numpy as np
from tqdm import tqdm

from zoo.errors import UserError
from zoo.features.frames import FrameCountMismatch, OfficialFrames, caffe_preprocess
from zoo.features.pca import FeaturePca
from zoo.models.keras_resnet import FEATURE_DIM, STAGE_SIZES, KerasResNet
from zoo.train import mesh as mesh_lib

# Where keras.applications caches the ImageNet weights it downloads for ResNet152(weights="imagenet").
KERAS_WEIGHTS_FILE = "resnet152_weights_tf_dim_ordering_tf_kernels.h5"
DEFAULT_WEIGHTS = os.path.join(os.path.expanduser("~"), ".keras", "models", KERAS_WEIGHTS_FILE)
PRECISIONS = ("highest", "default")


def load_resnet_variables(weights: str | os.PathLike, *, arch: str = "resnet152") -> dict[str, Any]:
    """{"params", "batch_stats"} of `KerasResNet` from a Keras `.h5` file or a `zoo.convert` folder."""
    weights = os.fspath(weights)
    if os.path.isdir(weights):
        import orbax.checkpoint as ocp

        state = os.path.join(os.path.abspath(weights), "state")
        if not os.path.isdir(state):
            raise UserError(f"{weights}: no `state` folder; expected the output of `python -m zoo.convert "
                            f"--arch keras_{arch}` or the Keras .h5 file itself")
        with ocp.PyTreeCheckpointer() as checkpointer:
            restored = checkpointer.restore(state)
        return {"params": restored["params"], "batch_stats": restored["model_state"]["batch_stats"]}
    if not os.path.isfile(weights):
        raise UserError(f"{weights}: no such weights file. The ResNet-152 ImageNet weights are the Keras "
                        f"applications file {KERAS_WEIGHTS_FILE} (keras.applications.ResNet152(weights="
                        f"'imagenet') downloads it to ~/.keras/models/); pass it with --weights")
    from zoo.convert.keras_resnet import convert_keras_resnet

    return convert_keras_resnet(weights, arch=arch).variables


class ResNetFeatures:
    """The Keras ResNet `avg_pool` of BGR uint8 frames, batched and sharded over the local devices.

    Call: frames uint8 [n, 224, 224, 3] BGR (as decoded) -> float32 [n, 2048].
    """

    def __init__(self, variables: dict[str, Any], *, arch: str = "resnet152", batch_size: int = 64,
                 precision: str = "highest", mesh: jax.sharding.Mesh | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.mesh = mesh or mesh_lib.make_mesh()
        devices = self.mesh.devices.size
        self.batch_size = max(devices, -(-batch_size // devices) * devices)
        self.model = KerasResNet(stage_sizes=STAGE_SIZES[arch])
        replicated, sharded = mesh_lib.replicated(self.mesh), mesh_lib.batch_sharded(self.mesh)
        self.variables = jax.device_put(variables, replicated)
        self._sharding = sharded

        def forward(variables, frames):
            with jax.default_matmul_precision(precision):
                return self.model.apply(variables, caffe_preprocess(frames), train=False)

        self._forward = jax.jit(forward, in_shardings=(replicated, sharded), out_shardings=replicated)

    @classmethod
    def from_weights(cls, weights: str | os.PathLike, **kwargs) -> "ResNetFeatures":
        return cls(load_resnet_variables(weights, arch=kwargs.get("arch", "resnet152")), **kwargs)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(self.dispatch(frames)[0])[: len(frames)]

    def dispatch(self, frames: np.ndarray) -> tuple[jax.Array, int]:
        """Starts the network on up to `batch_size` frames without waiting: (padded output, count)."""
        count = len(frames)
        if count > self.batch_size:
            raise ValueError(f"at most {self.batch_size} frames per call, got {count}")
        if count < self.batch_size:  # one compiled shape; the padding rows are dropped
            frames = np.concatenate([frames, np.zeros((self.batch_size - count, *frames.shape[1:]), frames.dtype)])
        return self._forward(self.variables, jax.device_put(frames, self._sharding)), count


def _read_ahead(frames: OfficialFrames, slots: int = 2):
    """Iterates `frames` in a background thread (OpenCV decodes without the GIL), `slots` batches ahead."""
    buffer: queue.Queue = queue.Queue(maxsize=slots)
    done = object()

    def produce():
        try:
            for item in frames:
                buffer.put(item)
            buffer.put(done)
        except BaseException as error:  # handed to the consumer, raised there
            buffer.put(error)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    while (item := buffer.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def _run(frames: OfficialFrames, resnet: ResNetFeatures, progress: bool) -> np.ndarray:
    features = np.zeros((frames.num_kept, FEATURE_DIM), np.float32)
    pending = None  # the previous batch's output: fetched after the next batch is dispatched
    with tqdm(total=frames.num_kept, desc=os.path.basename(frames.path), unit="frame", disable=not progress) as bar:
        for first, batch in _read_ahead(frames):
            output = (first, *resnet.dispatch(batch))
            if pending is not None:
                start, values, count = pending
                features[start : start + count] = np.asarray(values)[:count]
                bar.update(count)
            pending = output
        if pending is not None:
            start, values, count = pending
            features[start : start + count] = np.asarray(values)[:count]
            bar.update(count)
    return features


def extract_video(video: str | os.PathLike | OfficialFrames, resnet: ResNetFeatures, *,
                  pca: FeaturePca | None = None, progress: bool = True) -> np.ndarray:
    """The official features of one video (one half): float32 [frames at 2 fps, 2048], or [.., 512] with `pca`.

    video: a path, or its already opened `OfficialFrames`.
    Raises VideoFileError (a UserError) naming the video when it is missing, unreadable or corrupt.
    """
    frames = video if isinstance(video, OfficialFrames) else OfficialFrames(video, batch_size=resnet.batch_size)
    path = frames.path
    try:
        features = _run(frames, resnet, progress)
    except FrameCountMismatch as mismatch:  # counted from the tail; read again with the true count
        frames = OfficialFrames(path, batch_size=resnet.batch_size, num_frames=mismatch.decoded)
        features = _run(frames, resnet, progress)
    if pca is not None:
        if pca.input_dim != FEATURE_DIM:
            raise UserError(f"the PCA takes {pca.input_dim}-d features, the ResNet gives {FEATURE_DIM}")
        features = pca.transform(features)
    return features
