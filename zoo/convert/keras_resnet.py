"""Keras `.h5` ResNet weights -> Flax variables of `zoo.models.keras_resnet.KerasResNet`.

Reads the file the Keras applications download for `ResNet152(weights="imagenet")`,
`resnet152_weights_tf_dim_ordering_tf_kernels.h5` (or its `_notop` twin, or a whole model saved
by Keras 2 as `.h5`, whose weights sit under `model_weights`). That is Keras' legacy HDF5 weights
layout:

    attrs["layer_names"]                   the layers with weights, in model order
    <layer>/attrs["weight_names"]          that layer's weights, in the layer's own order
    <layer>/<weight name>                  one dataset per weight ("conv1_conv/kernel:0")

Keras itself loads such a file by position; this converter matches by layer name, takes each
layer's weights in their stored order (Conv2D: kernel, bias; BatchNormalization: gamma, beta,
moving_mean, moving_variance) and checks the name suffix where the file carries one. Every Flax
leaf must be found and every layer of the file used or reported as dropped (the ImageNet
classifier `predictions`); anything else is an error naming the file and the layers.

Keras Conv2D kernels are [kh, kw, in, out] like Flax's, so values are copied as they are.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from zoo.convert.torch_resnet import Conversion
from zoo.formats.errors import FileFormatError
from zoo.models.keras_resnet import STAGE_SIZES, KerasResNet

# Flax leaf -> (position in the Keras layer's weight list, the Keras weight name).
_CONV = {"kernel": (0, "kernel"), "bias": (1, "bias")}
_BN_PARAMS = {"scale": (0, "gamma"), "bias": (1, "beta")}
_BN_STATS = {"mean": (2, "moving_mean"), "var": (3, "moving_variance")}
# Layers a feature extractor does not use, and why.
DROPPED_LAYERS = {"predictions": "the ImageNet classifier (the features are the avg_pool output)"}


class KerasWeightsError(FileFormatError):
    """A Keras weights file that cannot be read or does not fit the network."""


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def read_keras_h5(path: str | os.PathLike) -> dict[str, list[tuple[str, np.ndarray]]]:
    """layer name -> [(weight name, value)] of a Keras legacy HDF5 weights (or model) file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise KerasWeightsError(path, "no such Keras weights file")
    try:
        import h5py
    except ImportError as error:
        raise ImportError("Reading Keras .h5 weights needs h5py: pip install h5py") from error
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise KerasWeightsError(path, f"not an HDF5 file ({error})") from error
    with handle as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise KerasWeightsError(path, "no `layer_names` attribute: not a Keras HDF5 weights file "
                                    "(Keras 3 `.weights.h5` files are not supported: save with Keras 2 or "
                                    "pass the Keras applications file)")
        layers = {}
        for layer in (_text(n) for n in group.attrs["layer_names"]):
            if layer not in group:
                raise KerasWeightsError(path, f"layer {layer!r} is listed but has no group")
            names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
            try:
                layers[layer] = [(name, np.asarray(group[layer][name])) for name in names]
            except KeyError as error:
                raise KerasWeightsError(path, f"layer {layer!r} lists a weight that is not stored ({error})")
    return layers


@functools.lru_cache(maxsize=4)
def abstract_variables(stage_sizes: tuple[int, ...] = STAGE_SIZES["resnet152"]) -> dict[str, Any]:
    """Shapes of the model's variables, without computing anything (traced once per network)."""
    model = KerasResNet(stage_sizes=tuple(stage_sizes))
    return jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3), jnp.float32)))


def _weight(path: str, layer: str, weights: list[tuple[str, np.ndarray]], position: int, expected: str,
            shape: tuple[int, ...]) -> np.ndarray:
    if position >= len(weights):
        raise KerasWeightsError(path, f"layer {layer!r} has {len(weights)} weights, expected a {expected!r} "
                                f"at position {position}")
    name, value = weights[position]
    stem = name.rsplit("/", 1)[-1].split(":")[0]
    if stem != expected:  # files keep "<layer>/<weight>:0"; accept any prefix, not another weight
        raise KerasWeightsError(path, f"layer {layer!r}: weight {position} is {name!r}, expected {expected!r}")
    if value.shape != shape:
        raise KerasWeightsError(path, f"{layer}/{name}: shape {value.shape} does not fit {shape} (is this "
                                f"a ResNet v1 with these stage sizes?)")
    return value.astype(np.float32)


def convert_keras_resnet(path: str | os.PathLike, *, arch: str = "resnet152",
                         stage_sizes: tuple[int, ...] | None = None) -> Conversion:
    """Reads a Keras ResNet `.h5` file into `KerasResNet(STAGE_SIZES[arch])` variables.

    `stage_sizes` replaces the blocks per stage of `arch` (any ResNet v1 Keras builds with
    `stack_residual_blocks_v1`).

    Returns a Conversion: variables {"params": ..., "batch_stats": ...} with the Keras layer names,
    and the dropped layers with the reason.

    Raises:
      KerasWeightsError naming the file: not a Keras HDF5 file, a layer of the network missing, a
        weight of the wrong name or shape, or layers the network does not have.
    """
    if arch not in STAGE_SIZES:
        raise ValueError(f"Unknown Keras ResNet {arch!r}; expected one of {', '.join(STAGE_SIZES)}.")
    path = os.fspath(path)
    layers = read_keras_h5(path)
    stage_sizes = tuple(stage_sizes or STAGE_SIZES[arch])
    if stage_sizes != STAGE_SIZES[arch]:
        arch = f"ResNet v1 {stage_sizes}"
    expected = abstract_variables(stage_sizes)
    variables: dict[str, dict] = {"params": {}, "batch_stats": {}}
    missing = []
    for collection, leaves in (("params", _CONV | _BN_PARAMS), ("batch_stats", _BN_STATS)):
        flat = {}
        for flax_path, leaf in traverse_util.flatten_dict(expected[collection]).items():
            layer, name = flax_path
            table = _CONV if layer.endswith("_conv") else (_BN_PARAMS if collection == "params" else _BN_STATS)
            if layer not in layers:
                missing.append(layer)
                continue
            position, keras_name = table[name]
            flat[flax_path] = _weight(path, layer, layers[layer], position, keras_name, tuple(leaf.shape))
        variables[collection] = traverse_util.unflatten_dict(flat)
    if missing:
        listed = sorted(set(missing))
        raise KerasWeightsError(path, f"{len(listed)} layer(s) of Keras {arch} are not in the file, e.g. "
                                f"{', '.join(listed[:5])} (is it the weights of another network?)")
    used = set(expected["params"])
    with_weights = {layer for layer, weights in layers.items() if weights}  # pads, ReLUs... have none
    unknown = sorted(with_weights - used - set(DROPPED_LAYERS))
    if unknown:
        raise KerasWeightsError(path, f"layer(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} "
                                f"are not part of Keras {arch} (is it the weights of another network?)")
    dropped = {layer: why for layer, why in DROPPED_LAYERS.items() if layer in layers}
    return Conversion(variables=variables, dropped=dropped)
