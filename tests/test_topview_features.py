"""The top-view features of calibration-aware CALF: torchvision's ResNet-34 (the shared
`zoo.models.resnet` trunk, converted by `convert_resnet`) to its average pool equals the published
network; the published preprocessing of a top view."""

from __future__ import annotations

import os
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.convert.torch_resnet import convert_resnet
from zoo.models.resnet import resnet
from zoo.models.topview_preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_torchvision_resnet34_converts_and_matches(torch):
    from tests.torch_calf_reference import ResNet34 as TorchResNet34

    torch.manual_seed(0)
    reference = TorchResNet34().eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
    state = reference.state_dict()
    assert len(state) == 218 and "layer4.2.bn2.running_var" in state  # torchvision's resnet34 keys
    conversion = convert_resnet(state, depth="resnet34")
    assert set(conversion.dropped) == {"fc.weight", "fc.bias"}
    variables = {collection: tree["backbone"] for collection, tree in conversion.variables.items()}
    images = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype(np.float32)
    ours = jax.jit(lambda v, x: resnet("resnet34").apply(v, x, train=False).mean((1, 2)))(variables, images)
    with torch.no_grad():
        theirs = reference(torch.from_numpy(images.transpose(0, 3, 1, 2))).numpy()
    assert ours.shape == (2, 512)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-4, atol=1e-4)


def test_a_resnet18_state_dict_is_refused(torch):
    from tests.torch_calf_reference import ResNet34 as TorchResNet34

    state = TorchResNet34().state_dict()
    state = {k: v for k, v in state.items() if not k.startswith(("layer1.2", "layer4.2"))}
    with pytest.raises(ValueError, match=r"(?s)not a resnet34 state dict.*missing layer1.2.conv1.weight"):
        convert_resnet(state, depth="resnet34")


def test_preprocess_resizes_crops_and_normalises():
    white = np.full((1, 224, 224, 3), 255, np.uint8)
    out = np.asarray(preprocess(jnp.asarray(white)))
    assert out.shape == (1, 224, 224, 3)
    np.testing.assert_allclose(out[0, 0, 0], (1.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD), rtol=1e-6)
    # A line at the border of a 224 view is cropped away (224 -> 256 -> centre 224).
    framed = np.zeros((1, 224, 224, 3), np.uint8)
    framed[:, :3] = 255
    black = -IMAGENET_MEAN[0] / IMAGENET_STD[0]
    assert np.asarray(preprocess(jnp.asarray(framed)))[0, :, :, 0].max() == pytest.approx(black)
