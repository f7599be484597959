"""torchvision ResNet-34 state dicts -> Flax variables of `zoo.models.topview_resnet.ResNet34`.

The key names of torchvision (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, ...) map
one to one onto the module names (renaming rules in `zoo.convert.torch_resnet`); the ImageNet
classifier `fc.*` is dropped and reported. Any other key, a missing one or a shape that does not
fit is an error naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoo.convert.torch_resnet import Conversion, abstract_variables, check_consumed, rename, unwrap_state_dict
from zoo.models.topview_resnet import ResNet34


def convert_resnet34(checkpoint: Mapping[str, Any]) -> Conversion:
    """A torchvision `resnet34` checkpoint -> {"params": ..., "batch_stats": ...} of ResNet34."""
    state = unwrap_state_dict(checkpoint)
    variables, used, problems = rename(state, abstract_variables(ResNet34(), (1, 64, 64, 3)))
    dropped = {key: "ImageNet classifier of torchvision's ResNet-34"
               for key in ("fc.weight", "fc.bias") if key in state}
    check_consumed(state, used, dropped, problems, "ResNet-34")
    return Conversion(variables, dropped)
