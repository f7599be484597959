"""torchvision / torchreid ResNet state dicts -> Flax variables of the zoo's ResNet trunks.

`convert_resnet50`: torchvision / torchreid ResNet-50 -> `ReidModel(backbone="resnet50")`.
`convert_resnet`: torchvision ResNet-18 / 34 / 50 ImageNet weights -> a `backbone` trunk, for any
model whose trunk is a `zoo.models.resnet.ResNet` named `backbone` (the jersey legibility
classifier, the SimpleBaseline pose model), through `init_from`.

The Flax modules are named after the PyTorch keys (see `zoo.models.resnet`), so the mapping is a
rename plus a layout change per tensor. The renaming rules here are shared with
`zoo.convert.torch_osnet`:

  module `name_<i>`     <-> `name.<i>`         (`layer1_0` / `layer1.0`, `downsample_1` / `downsample.1`)
  Conv `kernel`         <-> `weight`           OIHW -> HWIO
  Dense `kernel`        <-> `weight`           [out, in] -> [in, out]
  norm `scale`, `bias`  <-> `weight`, `bias`
  batch_stats `mean`    <-> `running_mean`;  `var` <-> `running_var`;  `num_batches_tracked` unused

Every model leaf must be found and every checkpoint key consumed or explicitly dropped;
anything else is an error naming the keys. Dropped (and reported): torchvision's ImageNet
classifier `fc.*`, and torchreid's identity classifier `classifier.*` unless `num_classes`
matches it. torchreid's `resnet50_fc512` reduction layer (`fc.0` Linear, `fc.1` BatchNorm1d)
becomes the head's `reduction` / `reduction_bn` (use `reduction_dim=512`).

PyTorch is not imported here: tensors are turned into numpy arrays with `.numpy()`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from zoo.models.reid_head import make_backbone
from zoo.models.resnet import RESNETS, resnet

_INDEXED = re.compile(r"_(\d+)$")


@dataclasses.dataclass
class Conversion:
    """Converted Flax variables and what was left behind.

    variables: {"params": {"backbone": ..., maybe "head": ...}, "batch_stats": {...}} with the
      module names of `ReidModel`.
    dropped: checkpoint key -> why it was not converted.
    """

    variables: dict[str, Any]
    dropped: dict[str, str]


def to_numpy(value) -> np.ndarray:
    """A torch tensor (or anything array-like) as a numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def unwrap_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The flat tensor dict of a checkpoint, as numpy arrays.

    Accepts a bare state dict, torchreid's `save_checkpoint` dict (`{"state_dict": ...,
    "epoch": ...}`) or a {"model": state_dict} dict, and strips the `module.` prefix that
    nn.DataParallel adds.
    """
    for wrapper in ("state_dict", "model"):
        if wrapper in checkpoint and isinstance(checkpoint[wrapper], Mapping):
            checkpoint = checkpoint[wrapper]
            break
    state = {}
    for key, value in checkpoint.items():
        if not hasattr(value, "shape"):
            raise ValueError(f"Checkpoint entry {key!r} is a {type(value).__name__}, not a tensor.")
        state[key.removeprefix("module.")] = to_numpy(value)
    return state


def abstract_variables(module, image_shape=(1, 64, 32, 3)) -> dict[str, Any]:
    """Shapes of a module's variables without computing anything."""
    return jax.eval_shape(
        lambda: module.init(jax.random.key(0), jnp.zeros(image_shape, jnp.float32), train=False)
    )


def torch_key(path: tuple[str, ...], collection: str) -> str:
    """The PyTorch state-dict key of a Flax leaf, e.g. (layer1_0, downsample_1, scale) ->
    layer1.0.downsample.1.weight."""
    *modules, leaf = path
    modules = [_INDEXED.sub(r".\1", name) for name in modules]
    if collection == "batch_stats":
        leaf = {"mean": "running_mean", "var": "running_var"}[leaf]
    else:
        leaf = {"kernel": "weight", "scale": "weight", "bias": "bias"}[leaf]
    return ".".join([*modules, leaf])


def to_flax_layout(tensor: np.ndarray, leaf: str) -> np.ndarray:
    """PyTorch layout -> Flax layout for a leaf named `leaf`."""
    if leaf == "kernel" and tensor.ndim == 4:  # Conv2d [out, in/groups, kh, kw] -> [kh, kw, in/groups, out]
        return np.transpose(tensor, (2, 3, 1, 0))
    if leaf == "kernel" and tensor.ndim == 2:  # Linear [out, in] -> [in, out]
        return tensor.T
    return tensor


def rename(state: dict[str, np.ndarray], expected: dict[str, Any], *, key_fn=torch_key,
           layout_fn=to_flax_layout) -> tuple[dict, set[str], list[str]]:
    """Fills every leaf of `expected` (abstract {"params", "batch_stats"}) from `state`.

    key_fn: (Flax path, collection) -> PyTorch key; layout_fn: (tensor, Flax leaf name) -> the
    tensor in Flax layout (both default to the ResNet rules above).

    Returns the Flax variables, the PyTorch keys used (with the `num_batches_tracked` of every BN used), and
    problems (missing keys, shape mismatches) as readable lines.
    """
    variables, used, problems = {}, set(), []
    for collection in sorted(expected, key=lambda name: name != "params"):  # params first
        tree = expected[collection]
        flat = {}
        for path, leaf in traverse_util.flatten_dict(tree).items():
            key = key_fn(path, collection)
            if key not in state:
                problems.append(f"missing {key} (for {collection}/{'/'.join(path)} {leaf.shape})")
                continue
            value = layout_fn(state[key], path[-1]).astype(np.float32)
            used.add(key)  # accounted for, even if it does not fit
            if collection == "batch_stats":
                used.add(key.rsplit(".", 1)[0] + ".num_batches_tracked")
            if value.shape != tuple(leaf.shape):
                problems.append(f"{key}: checkpoint {state[key].shape} does not fit {tuple(leaf.shape)}")
                continue
            flat[path] = value
        variables[collection] = traverse_util.unflatten_dict(flat) if flat else {}
    return variables, used, problems


def convert_classifier(
    state: dict[str, np.ndarray], num_classes: int | None, used: set[str], dropped: dict[str, str]
) -> dict | None:
    """torchreid's `classifier` Linear -> the head's bias-free `classifier`, if it fits.

    Identities of another dataset (or ImageNet classes) never fit a new training set, so the
    classifier is kept only when `num_classes` equals its rows. The head's classifier has no
    bias (BNNeck), so torchreid's bias is dropped and reported.
    """
    if "classifier.weight" not in state:
        return None
    weight = state["classifier.weight"]
    if num_classes is not None and weight.shape[0] == num_classes:
        used.add("classifier.weight")
        if "classifier.bias" in state:
            dropped["classifier.bias"] = "the BNNeck classifier has no bias"
        return {"kernel": weight.T.astype(np.float32)}
    for key in ("classifier.weight", "classifier.bias"):
        if key in state:
            dropped[key] = f"identity classifier with {weight.shape[0]} classes (num_classes={num_classes})"
    return None


def check_consumed(
    state: dict[str, np.ndarray], used: set[str], dropped: dict[str, str], problems: list[str], arch: str
) -> None:
    """Raises a ValueError naming the misfits, missing and unexpected keys, if there are any.

    Each kind is listed separately (the first few of each, with counts), so a checkpoint of the
    wrong architecture shows both what the model lacked and what the file had instead.
    """
    unexpected = [
        f"unexpected {k} {state[k].shape}" for k in sorted(state) if k not in used and k not in dropped
    ]
    missing = [p for p in problems if p.startswith("missing ")]
    other = [p for p in problems if not p.startswith("missing ")]
    if not (unexpected or missing or other):
        return
    lines = []
    for items in (other, missing, unexpected):
        lines += items[:12] + ([f"... and {len(items) - 12} more like these"] if len(items) > 12 else [])
    raise ValueError(
        f"The checkpoint is not a {arch} state dict (keys that do not fit: {len(other)}, missing: "
        f"{len(missing)}, unexpected: {len(unexpected)}):\n  " + "\n  ".join(lines)
    )


def convert_resnet50(checkpoint: Mapping[str, Any], *, num_classes: int | None = None) -> Conversion:
    """A torchvision or torchreid ResNet-50 checkpoint -> `ReidModel(backbone="resnet50")` variables.

    Args:
      checkpoint: a state dict (tensors or arrays) or a dict wrapping one (see unwrap_state_dict).
      num_classes: the ReidModel's classes; torchreid's classifier is kept only if it matches.
    """
    state = unwrap_state_dict(checkpoint)
    backbone, used, problems = rename(state, abstract_variables(make_backbone("resnet50")))
    params = {"backbone": backbone["params"]}
    batch_stats = {"backbone": backbone["batch_stats"]}
    dropped: dict[str, str] = {}
    head_params, head_stats = {}, {}
    if "fc.0.weight" in state:  # torchreid resnet50_fc512: Linear + BatchNorm1d + ReLU
        width = state["fc.0.weight"].shape[0]
        expected = {
            "params": {
                "reduction": {"kernel": jax.ShapeDtypeStruct((2048, width), jnp.float32),
                              "bias": jax.ShapeDtypeStruct((width,), jnp.float32)},
                "reduction_bn": {"scale": jax.ShapeDtypeStruct((width,), jnp.float32),
                                 "bias": jax.ShapeDtypeStruct((width,), jnp.float32)},
            },
            "batch_stats": {"reduction_bn": {"mean": jax.ShapeDtypeStruct((width,), jnp.float32),
                                             "var": jax.ShapeDtypeStruct((width,), jnp.float32)}},
        }
        fc_state = {k.replace("fc.0.", "reduction.").replace("fc.1.", "reduction_bn."): v
                    for k, v in state.items() if k.startswith("fc.")}
        reduction, fc_used, fc_problems = rename(fc_state, expected)
        head_params.update(reduction["params"])
        head_stats.update(reduction["batch_stats"])
        used |= {k.replace("reduction_bn.", "fc.1.").replace("reduction.", "fc.0.") for k in fc_used}
        problems += [p.replace("reduction_bn.", "fc.1.").replace("reduction.", "fc.0.") for p in fc_problems]
    else:
        for key in ("fc.weight", "fc.bias"):
            if key in state:
                dropped[key] = "ImageNet classifier of torchvision's ResNet-50"
    classifier = convert_classifier(state, num_classes, used, dropped)
    if classifier is not None:
        head_params["classifier"] = classifier
    check_consumed(state, used, dropped, problems, "ResNet-50")
    if head_params:
        params["head"] = head_params
    if head_stats:
        batch_stats["head"] = head_stats
    return Conversion({"params": params, "batch_stats": batch_stats}, dropped)


def convert_resnet(checkpoint: Mapping[str, Any], *, depth: str) -> Conversion:
    """A torchvision ResNet checkpoint (`resnet18-f37072fd.pth`, `resnet34-b627a593.pth`, ...) ->
    `{"params": {"backbone": ...}, "batch_stats": {"backbone": ...}}`.

    Args:
      checkpoint: a state dict (tensors or arrays) or a dict wrapping one (see unwrap_state_dict).
      depth: "resnet18", "resnet34", "resnet50" or "resnet101" (torchvision's widths).

    The ImageNet classifier `fc.*` is dropped and reported; any other key that does not fit is an
    error (a ResNet-34 file given as ResNet-18 names its extra blocks).
    """
    if depth not in RESNETS:
        raise ValueError(f"Unknown ResNet {depth!r}; expected one of {', '.join(RESNETS)}.")
    state = unwrap_state_dict(checkpoint)
    trunk, used, problems = rename(state, abstract_variables(resnet(depth)))
    dropped = {key: f"ImageNet classifier of torchvision's {depth}"
               for key in ("fc.weight", "fc.bias") if key in state}
    check_consumed(state, used, dropped, problems, depth)
    return Conversion({"params": {"backbone": trunk["params"]},
                       "batch_stats": {"backbone": trunk["batch_stats"]}}, dropped)


def convert_resnet_classifier(checkpoint: Mapping[str, Any], *, depth: str, num_outputs: int) -> Conversion:
    """A torchvision ResNet with its `fc` -> `ResNetClassifier(depth, num_outputs)` variables.

    Reads torchvision ImageNet files (their 1000-class `fc` is dropped and reported unless
    num_outputs is 1000) and the published jersey legibility classifiers of Koshkina & Elder
    (`legibility_resnet34_soccer_*.pth`: a torchvision resnet34 under `model_ft.`, `fc` with one
    output), whose `fc` is kept.
    """
    state = unwrap_state_dict(checkpoint)
    if any(k.startswith("model_ft.") for k in state):
        state = {k.removeprefix("model_ft."): v for k, v in state.items()}
    fc = {k: state.pop(k) for k in ("fc.weight", "fc.bias") if k in state}
    conversion = convert_resnet(state, depth=depth)
    if "fc.weight" in fc and fc["fc.weight"].shape[0] == num_outputs:
        conversion.variables["params"]["fc"] = {
            "kernel": fc["fc.weight"].T.astype(np.float32),
            "bias": fc.get("fc.bias", np.zeros(num_outputs)).astype(np.float32)}
    else:
        for key in fc:
            conversion.dropped[key] = (f"a classifier with {fc['fc.weight'].shape[0]} outputs "
                                       f"(the model has {num_outputs})")
    return conversion
