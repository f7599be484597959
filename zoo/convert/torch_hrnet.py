"""HRNet state dicts -> Flax variables of `PitchHeatmapNet` (zoo.models.pitch_heatmaps).

Two sources:

* The published calibration networks (No Bells Just Whistles / PnLCalib releases): one plain
  state dict per network, HRNetV2 keys `conv1`, `bn1`, `conv2`, `bn2`, `layer1.*`,
  `transition1-3.*`, `stage2-4.*` and the head `head.0.0` (1x1 conv with bias), `head.0.1` (BN),
  `head.0.3` (1x1 conv to the 58 keypoint or 24 line channels). `convert_published` fills the
  "keypoints" and "lines" networks of `PitchHeatmapNet(separate_networks=True)` from them.
* timm's ImageNet `hrnet_w48` (the backbone the published networks start from): same backbone
  keys, plus the classification branch (`incre_modules`, `downsamp_modules`, `final_layer`,
  `classifier`), which is dropped and reported. `convert_timm_hrnet` fills the backbone of both
  networks (or of the shared one); the heads stay freshly initialised.

Flax module names are the PyTorch ones with `_` for `.` (`stage2_0/branches_1_3/conv1` is
`stage2.0.branches.1.3.conv1`). Layouts change as in `zoo.convert.torch_resnet` (OIHW -> HWIO;
`running_mean` / `running_var` -> batch_stats `mean` / `var`). Every model leaf must be found
and every checkpoint key used or reported as dropped; anything else is an error naming the keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from zoo.convert.torch_resnet import Conversion, check_consumed, to_flax_layout, unwrap_state_dict
from zoo.models.pitch_heatmaps import HeatmapNetwork

_LEAF_KEYS = {"kernel": "weight", "scale": "weight", "bias": "bias", "mean": "running_mean",
              "var": "running_var"}
# timm's ImageNet classification branch, which the heatmap networks do not have.
TIMM_CLASSIFIER = ("incre_modules.", "downsamp_modules.", "final_layer.", "classifier.")


def torch_key(path: tuple[str, ...]) -> str:
    """The PyTorch key of a Flax leaf path, e.g. (stage2_0, fuse_layers_1_0_0_0, kernel) ->
    stage2.0.fuse_layers.1.0.0.0.weight."""
    *modules, leaf = path
    return ".".join([re.sub(r"_(\d+)", r".\1", name) for name in modules] + [_LEAF_KEYS[leaf]])


def infer_width(state: Mapping[str, np.ndarray]) -> int:
    """HRNet width (48 for W48) of a state dict: the channels of its first stage-2 branch."""
    key = "stage2.0.branches.0.0.conv1.weight"
    if key not in state:
        raise ValueError(f"Not an HRNet state dict: no {key!r}.")
    return int(state[key].shape[0])


def infer_depth(state: Mapping[str, np.ndarray]) -> tuple[tuple[int, int, int], int]:
    """(modules in stages 2-4, basic blocks per branch) of an HRNet state dict."""
    modules = []
    for stage in (2, 3, 4):
        found = {int(m[1]) for k in state if (m := re.match(rf"stage{stage}\.(\d+)\.", k))}
        modules.append(max(found) + 1 if found else 0)
    blocks = {int(m[1]) for k in state if (m := re.match(r"stage2\.0\.branches\.0\.(\d+)\.", k))}
    if not all(modules) or not blocks:
        raise ValueError("Not an HRNet state dict: stages 2-4 are incomplete.")
    return tuple(modules), max(blocks) + 1


def _abstract_network(state, outputs: int, image_shape=(1, 64, 64, 3)) -> dict[str, Any]:
    modules, blocks = infer_depth(state)
    network = HeatmapNetwork(outputs, backbone="hrnet", width=infer_width(state),
                             hrnet_modules=modules, hrnet_blocks=blocks)
    return jax.eval_shape(
        lambda: network.init(jax.random.key(0), jnp.zeros(image_shape, jnp.float32), train=False))


def _fill(state, expected, *, skip_head: bool):
    """Flax variables for the leaves of `expected` found in `state`: (variables, used keys,
    problems). With skip_head, the head's leaves are not looked for."""
    variables, used, problems = {}, set(), []
    for collection, tree in expected.items():
        flat = {}
        for path, leaf in traverse_util.flatten_dict(tree).items():
            if skip_head and path[0].startswith("head_"):
                continue
            key = torch_key(path)
            if key not in state:
                problems.append(f"missing {key} (for {collection}/{'/'.join(path)} {leaf.shape})")
                continue
            used.add(key)
            if collection == "batch_stats":
                used.add(key.rsplit(".", 1)[0] + ".num_batches_tracked")
            value = to_flax_layout(state[key], path[-1]).astype(np.float32)
            if value.shape != tuple(leaf.shape):
                problems.append(f"{key}: checkpoint {state[key].shape} does not fit {tuple(leaf.shape)}")
                continue
            flat[path] = value
        variables[collection] = traverse_util.unflatten_dict(flat) if flat else {}
    return variables, used, problems


def convert_network(checkpoint: Mapping[str, Any]) -> tuple[Conversion, int, int]:
    """One published heatmap network -> (`HeatmapNetwork` variables, width, output channels)."""
    state = unwrap_state_dict(checkpoint)
    width = infer_width(state)
    if "head.0.3.weight" not in state:
        raise ValueError("Not a published heatmap network: no 'head.0.3.weight' (a timm ImageNet "
                         "checkpoint? use --arch hrnet_w48).")
    outputs = int(state["head.0.3.weight"].shape[0])
    variables, used, problems = _fill(state, _abstract_network(state, outputs), skip_head=False)
    check_consumed(state, used, {}, problems, f"HRNetV2-W{width} heatmap network")
    return Conversion(variables, {}), width, outputs


def convert_published(
    keypoints: Mapping[str, Any] | None = None, lines: Mapping[str, Any] | None = None
) -> Conversion:
    """The published keypoint and/or line checkpoints -> `PitchHeatmapNet(separate_networks=True)`
    variables {"params": {"keypoints": ..., "lines": ...}, "batch_stats": {...}} (a network not
    given stays freshly initialised when the variables are loaded with `init_from`)."""
    if keypoints is None and lines is None:
        raise ValueError("Give the keypoint checkpoint, the line checkpoint or both.")
    params, stats, widths = {}, {}, set()
    for name, checkpoint, expected in (("keypoints", keypoints, 58), ("lines", lines, 24)):
        if checkpoint is None:
            continue
        conversion, width, outputs = convert_network(checkpoint)
        if outputs != expected:
            raise ValueError(f"The {name} checkpoint has {outputs} output channels; the {name} "
                             f"network has {expected} ({expected - 1} classes + background).")
        widths.add(width)
        params[name] = conversion.variables["params"]
        stats[name] = conversion.variables["batch_stats"]
    if len(widths) > 1:
        raise ValueError(f"The keypoint and line checkpoints have different widths {sorted(widths)}.")
    return Conversion({"params": params, "batch_stats": stats}, {})


def convert_timm_hrnet(checkpoint: Mapping[str, Any], *, separate_networks: bool = True) -> Conversion:
    """timm's ImageNet HRNet (`hrnet_w18` ... `hrnet_w64`) -> the backbone(s) of `PitchHeatmapNet`;
    the classification branch is dropped (and reported), the heads stay fresh."""
    state = unwrap_state_dict(checkpoint)
    width = infer_width(state)
    expected = _abstract_network(state, 2)
    variables, used, problems = _fill(state, expected, skip_head=True)
    dropped = {k: "timm's ImageNet classification branch" for k in state if k.startswith(TIMM_CLASSIFIER)}
    check_consumed(state, used, dropped, problems, f"timm hrnet_w{width}")
    if not separate_networks:
        return Conversion(variables, dropped)
    copy = lambda tree: jax.tree.map(np.copy, tree)  # noqa: E731
    return Conversion(
        {collection: {"keypoints": tree, "lines": copy(tree)} for collection, tree in variables.items()},
        dropped,
    )
