"""Published top-down pose checkpoints -> Flax variables of `zoo.models.pose.HeatmapPose`.

Reads
  - SimpleBaseline, as microsoft/human-pose-estimation.pytorch saves it (`pose_resnet_50_256x192.pth.tar`):
    `conv1`, `bn1`, `layer1.0.conv1` ... (the ResNet trunk), `deconv_layers.{0,1,3,4,6,7}`
    (ConvTranspose2d, BatchNorm2d; ReLUs at 2, 5, 8 hold no weights) and `final_layer`;
  - mmpose TopDown checkpoints of either model (`backbone.*`, `keypoint_head.deconv_layers.*`,
    `keypoint_head.final_layer.*`, inside `{"state_dict": ...}`), ViTPose's among them
    (`vitpose-b.pth`: `backbone.patch_embed.proj`, `backbone.pos_embed`, `backbone.blocks.<i>.*`,
    `backbone.last_norm`).

The Flax module names mirror these keys, so the mapping is a rename (`name_<i>` <-> `name.<i>`)
plus the layouts of `zoo.convert.torch_resnet`; a ConvTranspose2d weight [in, out, kh, kw] takes
the same transpose as a convolution's, which is the kernel `nn.ConvTranspose(transpose_kernel=True)` wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zoo.convert.torch_parseq import parseq_torch_key
from zoo.convert.torch_resnet import Conversion, check_consumed, rename, unwrap_state_dict
from zoo.models.pose import VITPOSE, HeatmapPose

_TRUNK = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


def mmpose_keys(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Any supported layout -> mmpose's (`backbone.*`, `keypoint_head.*`), ViTPose's `last_norm`
    as `norm`."""
    if not any(k.startswith("backbone.") for k in state):  # the microsoft SimpleBaseline layout
        state = {("backbone." + k if k.startswith(_TRUNK) else "keypoint_head." + k
                  if k.startswith(("deconv_layers.", "final_layer.")) else k): v for k, v in state.items()}
    return {k.replace("backbone.last_norm.", "backbone.norm."): v for k, v in state.items()}


def deconv_filters(state: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The head's transposed-convolution widths, read from the checkpoint."""
    filters, i = [], 0
    while f"keypoint_head.deconv_layers.{i}.weight" in state:
        filters.append(int(state[f"keypoint_head.deconv_layers.{i}.weight"].shape[1]))
        i += 3
    return tuple(filters)


def convert_pose(checkpoint: Mapping[str, Any], *, backbone: str,
                 image_size: tuple[int, int] = (256, 192)) -> tuple[Conversion, HeatmapPose]:
    """A SimpleBaseline / ViTPose checkpoint -> (variables, the matching `HeatmapPose`).

    Args:
      checkpoint: a state dict or a dict wrapping one (mmpose's {"state_dict": ...}).
      backbone: the `HeatmapPose.backbone` the file is for ("resnet50", "vit_base", ...).
      image_size: the input size the model will see (sets ViTPose's position grid).

    Every key must be converted; a file of another backbone fails naming the keys that differ.
    """
    state = mmpose_keys(unwrap_state_dict(checkpoint))
    filters = deconv_filters(state)
    if not filters:
        raise ValueError("The checkpoint has no pose head (no deconv_layers.0.weight or "
                         "keypoint_head.deconv_layers.0.weight): not a SimpleBaseline / ViTPose file.")
    joints = int(state["keypoint_head.final_layer.weight"].shape[0]) if "keypoint_head.final_layer.weight" in state else 17
    model = HeatmapPose(backbone=backbone, deconv_filters=filters, num_keypoints=joints)
    abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, *image_size, 3)), train=False))
    variables, used, problems = rename(state, abstract, key_fn=parseq_torch_key)
    arch = f"{'ViTPose' if backbone in VITPOSE else 'SimpleBaseline'} ({backbone})"
    check_consumed(state, used, {}, problems, arch)
    return Conversion(variables, {}), model
