"""Official CALF / CALF-calibration checkpoints (PyTorch) -> Flax variables of `zoo.models.calf.CALF`.

The official code (SoccerNet sn-spotting `Benchmarks/CALF*`) saves `{"epoch", "state_dict",
"best_loss", "optimizer"}`; its layers map onto the Flax modules by name:

  conv_1, conv_2, conv_p_1..4      features/<same>       (Conv2d over [1, T, D] -> Dense / 1-D conv)
  conv_seg, batch_seg              conv_seg, batch_seg   (BatchNorm running stats -> batch_stats)
  conv_spot_1..2, conv_conf, conv_class                 (1x1 Conv2d on the flattened chunk -> Dense)
  dense_1                          dense_1               ("topview_features" branch)
  r_conv_1..2, r_conv_p_1..4       topview/<same>        (Conv3d -> 2-D / 1-D convolutions)
  node_encoder, layers.<l>.conv.{t, mlp.0, mlp.1, mlp.3}, layers.<l>.norm, lin
                                   graph/node_encoder, graph/conv_<l>/{t, mlp_0, mlp_1, mlp_3},
                                   graph/norm_<l>, graph/output   ("player_graph", PyG DeeperGCN)

`edge_encoder.*` (created but never used by the official forward) and `num_batches_tracked` are
dropped and reported; any other key, or one missing, or a shape that does not fit, is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from zoo.convert.torch_resnet import Conversion, check_consumed, unwrap_state_dict
from zoo.models.calf import CALF

_LEAVES = {
    "kernel": "weight", "scale": "weight", "bias": "bias", "t": "t", "mean": "running_mean", "var": "running_var",
}


def torch_key(path: tuple[str, ...]) -> str:
    """The official state-dict key of a Flax leaf path (without the collection)."""
    *modules, leaf = path
    names = []
    for name in modules:
        if name in ("features", "topview"):
            continue
        if name == "graph":
            continue
        layer = re.fullmatch(r"(conv|norm)_(\d+)", name)
        if layer and path[0] == "graph":
            names.append(f"layers.{layer.group(2)}.{layer.group(1)}")
        elif re.fullmatch(r"mlp_\d", name):
            names.append(name.replace("_", "."))
        elif name == "output":
            names.append("lin")
        else:
            names.append(name)
    return ".".join(names + [_LEAVES[leaf]])


def to_flax_layout(tensor: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An official tensor in the layout of a Flax leaf of `shape`."""
    if len(shape) == 0:
        return tensor.reshape(())
    if len(shape) == 1:
        return tensor
    if len(shape) == 2:  # Dense: Linear [out, in], or a Conv2d whose kernel covers its whole input
        if tensor.ndim == 2:
            return tensor.T
        if tensor.ndim == 4 and tensor.shape[1] == 1 and tensor.shape[2] == 1:  # Conv2d(1, out, (1, D))
            return tensor[:, 0, 0, :].T
        return tensor.reshape(tensor.shape[0], -1).T  # Conv2d (1, 1) on [in, 1, 1]
    if len(shape) == 3:  # 1-D convolution over time: Conv2d [out, in, k, 1] or Conv3d [out, in, k, 1, 1]
        return tensor.reshape(tensor.shape[:3]).transpose(2, 1, 0)
    if len(shape) == 4:  # per-frame 2-D convolution: Conv3d [out, in, 1, kh, kw]
        return tensor[:, :, 0].transpose(2, 3, 1, 0)
    raise ValueError(f"No layout rule for a leaf of shape {shape}")


def convert_calf(checkpoint: Mapping[str, Any], model: CALF, example_inputs: Mapping[str, np.ndarray]) -> Conversion:
    """An official checkpoint -> {"params": ..., "batch_stats": ...} for `model`.

    Args:
      checkpoint: the official `model.pth.tar` dict (or a bare state dict), tensors or arrays.
      model: the CALF module with the checkpoint's sizes (classes, chunk, multiplier, context).
      example_inputs: the model's inputs with a batch axis (shapes only).
    """
    state = unwrap_state_dict(checkpoint)
    inputs = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), dict(example_inputs))
    expected = jax.eval_shape(lambda: model.init(jax.random.key(0), inputs, train=False))
    variables, used, problems = {}, set(), []
    for collection, tree in expected.items():
        flat = {}
        for path, leaf in traverse_util.flatten_dict(tree).items():
            key = torch_key(path)
            if key not in state:
                problems.append(f"missing {key} (for {collection}/{'/'.join(path)} {tuple(leaf.shape)})")
                continue
            used.add(key)
            if collection == "batch_stats":
                used.add(key.rsplit(".", 1)[0] + ".num_batches_tracked")
            try:
                value = to_flax_layout(np.asarray(state[key]), tuple(leaf.shape)).astype(np.float32)
            except ValueError:
                value = None
            if value is None or value.shape != tuple(leaf.shape):
                problems.append(f"{key}: checkpoint {state[key].shape} does not fit {tuple(leaf.shape)}")
                continue
            flat[path] = value
        variables[collection] = traverse_util.unflatten_dict(flat) if flat else {}
    dropped = {key: "the official model creates it but never uses it"
               for key in state if key.startswith("edge_encoder.")}
    dropped.update({key: "BatchNorm step counter"
                    for key in state if key.endswith("num_batches_tracked") and key not in used})
    check_consumed(state, used, dropped, problems, "CALF")
    return Conversion(variables, dropped)
