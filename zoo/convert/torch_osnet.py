"""torchreid OSNet-AIN state dicts -> Flax variables of `ReidModel(backbone="osnet_ain")`.

The Flax modules of `zoo.models.osnet` carry torchreid's names, so every tensor maps by the
renaming rules of `zoo.convert.torch_resnet` (`conv2_0/conv2_3/layers_1/conv2/kernel` is
`conv2.0.conv2.3.layers.1.conv2.weight`; the InstanceNorms are `conv1.bn` and `<block>.IN`, with
weight and bias only). The fc layer (`fc.0` Linear, `fc.1` BatchNorm1d) belongs to the backbone,
as in torchreid. The identity `classifier` is dropped unless `num_classes` matches it.

Accepts torchreid's ImageNet weights (a bare state dict) and its training checkpoints (`.pth.tar`
with a `state_dict` entry, keys maybe prefixed `module.`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoo.convert.torch_resnet import (
    Conversion,
    abstract_variables,
    check_consumed,
    convert_classifier,
    rename,
    unwrap_state_dict,
)
from zoo.models.reid_head import OSNET_AIN_CHANNELS, make_backbone


def convert_osnet_ain(
    checkpoint: Mapping[str, Any], *, width: str = "osnet_ain_x1_0", num_classes: int | None = None
) -> Conversion:
    """A torchreid `osnet_ain_*` checkpoint -> `ReidModel(backbone=width)` variables.

    Args:
      checkpoint: a state dict (tensors or arrays) or torchreid's checkpoint dict.
      width: "osnet_ain_x1_0" (or "osnet_ain"), "osnet_ain_x0_75", "osnet_ain_x0_5", "osnet_ain_x0_25".
      num_classes: the ReidModel's classes; the classifier is kept only if it matches.
    """
    if width == "osnet_ain":
        width = "osnet_ain_x1_0"
    if width not in OSNET_AIN_CHANNELS:
        raise ValueError(f"Unknown OSNet-AIN width {width!r}; expected one of {sorted(OSNET_AIN_CHANNELS)}.")
    state = unwrap_state_dict(checkpoint)
    backbone, used, problems = rename(state, abstract_variables(make_backbone(width)))
    if problems and "conv1.conv.weight" in state:
        stem = state["conv1.conv.weight"].shape[0]
        fits = [name for name, channels in OSNET_AIN_CHANNELS.items() if channels[0] == stem]
        if fits and width not in fits:
            problems[0] = f"{problems[0]}; its stem has {stem} channels: is it {' or '.join(fits)}?"
    dropped: dict[str, str] = {}
    params = {"backbone": backbone["params"]}
    classifier = convert_classifier(state, num_classes, used, dropped)
    if classifier is not None:
        params["head"] = {"classifier": classifier}
    check_consumed(state, used, dropped, problems, width)
    return Conversion({"params": params, "batch_stats": {"backbone": backbone["batch_stats"]}}, dropped)
