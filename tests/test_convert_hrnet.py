"""The pitch heatmap networks: tiny-config shapes and parameter counts, the full-size HRNetV2-W48
count, and the converters for the published calibration checkpoints and timm's ImageNet HRNet,
checked against a PyTorch HRNet with the published key names (tests/torch_hrnet_reference.py).
"""

from __future__ import annotations

import importlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from zoo.convert import cli
from zoo.convert.torch_hrnet import TIMM_CLASSIFIER, convert_published, convert_timm_hrnet, torch_key
from zoo.models import build
from zoo.models.pitch_heatmaps import HeatmapNetwork, PitchHeatmapNet

WIDTH = 4  # tiny HRNet: branches of 4, 8, 16, 32 channels
# The forward parity runs a shallow HRNet (one module per stage, one block per branch: every
# kind of layer, a fraction of the compile time); the key and shape checks use the full depth.
SHALLOW = dict(modules=(1, 1, 1), blocks=1)
# HRNetV2-W48 with the published keypoint head (58 outputs), as PyTorch counts it.
FULL_SIZE_PARAMETERS = 65_987_658
TOLERANCE = 1e-4  # relative to the largest output


def count(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_tiny_networks_shapes_and_counts():
    images = jnp.zeros((2, 64, 96, 3))
    for backbone, width, separate in (("hrnet", WIDTH, True), ("resnet_fpn", 16, False)):
        model = PitchHeatmapNet(backbone=backbone, width=width, separate_networks=separate,
                                hrnet_modules=SHALLOW["modules"], hrnet_blocks=SHALLOW["blocks"])
        variables = jax.eval_shape(lambda m=model: m.init(jax.random.key(0), images, train=False))
        outputs = jax.eval_shape(lambda v, m=model: m.apply(v, images, train=False), variables)
        assert outputs["keypoints"].shape == (2, 32, 48, 58)
        assert outputs["lines"].shape == (2, 32, 48, 24)
        if backbone == "resnet_fpn":  # torchvision's ResNet-18 without its classifier
            assert count(variables["params"]["backbone"]["resnet"]) == 11_689_512 - 513_000
    model = build({"name": "pitch_heatmaps", "backbone": "hrnet", "width": 4, "hrnet_modules": [1, 1, 1]})
    assert model.hrnet_modules == (1, 1, 1)


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_full_size_hrnet_w48_parameter_count():
    network = HeatmapNetwork(58, backbone="hrnet", width=48)
    variables = jax.eval_shape(
        lambda: network.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)), train=False))
    assert count(variables["params"]) == FULL_SIZE_PARAMETERS


@pytest.fixture(scope="module")
def reference(torch):
    return importlib.import_module("tests.torch_hrnet_reference")


@pytest.fixture(scope="module")
def networks(torch, reference):
    """Published-style keypoint (softmax, 58) and line (sigmoid, 24) HRNets with random weights
    and BN statistics, and an image batch whose intermediate sizes are odd (68x100)."""
    randomise = importlib.import_module("tests.torch_reference").randomise
    generator = torch.Generator().manual_seed(0)
    calibration = torch.randn(4, 3, 68, 100, generator=generator)
    keypoint = randomise(reference.HRNetHeatmaps(WIDTH, 58, "softmax", **SHALLOW), calibration, seed=1)
    line = randomise(reference.HRNetHeatmaps(WIDTH, 24, "sigmoid", **SHALLOW), calibration, seed=2)
    return keypoint, line, torch.randn(2, 3, 68, 100, generator=generator)


def test_reference_has_the_published_keys(reference):
    keys = list(reference.HRNetHeatmaps(WIDTH, 58).state_dict())
    assert keys[:2] == ["conv1.weight", "bn1.weight"]
    for key in ("layer1.0.downsample.0.weight", "transition1.0.0.weight", "transition1.1.0.0.weight",
                "transition3.3.0.0.weight", "stage2.0.fuse_layers.0.1.1.running_var",
                "stage4.2.fuse_layers.3.0.2.0.weight", "stage4.2.branches.3.3.conv2.weight",
                "head.0.0.bias", "head.0.1.running_mean", "head.0.3.weight"):
        assert key in keys, key
    assert sum(p.numel() for p in reference.HRNetHeatmaps(48, 58).parameters()) == FULL_SIZE_PARAMETERS


def test_published_checkpoints_convert_to_equal_outputs(torch, networks):
    keypoint, line, images = networks
    with torch.no_grad():
        want = {"keypoints": keypoint(images), "lines": line(images)}
    conversion = convert_published(keypoint.state_dict(), line.state_dict())
    model = PitchHeatmapNet(backbone="hrnet", width=WIDTH, line_activation="sigmoid",
                            hrnet_modules=SHALLOW["modules"], hrnet_blocks=SHALLOW["blocks"])
    variables = {"params": conversion.variables["params"],
                 "batch_stats": conversion.variables["batch_stats"]}
    got = jax.jit(lambda v, x: model.apply(v, x, train=False))(
        variables, jnp.asarray(images.permute(0, 2, 3, 1).numpy()))
    for name in ("keypoints", "lines"):
        reference_out = want[name].permute(0, 2, 3, 1).numpy()
        assert got[name].shape == reference_out.shape
        error = float(np.abs(np.asarray(got[name]) - reference_out).max() / np.abs(reference_out).max())
        print(f"{name}: max relative error {error:.2e}")
        assert error < TOLERANCE
    # Every tensor of both checkpoints was used: the converted leaves are the state dicts' tensors.
    used = sum(v.numel() for k, v in keypoint.state_dict().items() if not k.endswith("num_batches_tracked"))
    assert count(conversion.variables["params"]["keypoints"]) + count(
        conversion.variables["batch_stats"]["keypoints"]) == used


def timm_state(reference_network) -> dict:
    """A timm-keyed hrnet state dict: the published backbone keys plus timm's classification
    branch (incre_modules, downsamp_modules, final_layer, classifier) with its shapes."""
    state = {k: v.numpy() for k, v in reference_network.state_dict().items() if not k.startswith("head.")}
    rng = np.random.default_rng(0)
    head_channels = (32, 64, 128, 256)
    for i, planes in enumerate(head_channels):
        cin = WIDTH * 2**i
        for name, shape in (("conv1", (planes, cin, 1, 1)), ("conv2", (planes, planes, 3, 3)),
                            ("conv3", (4 * planes, planes, 1, 1)), ("downsample.0", (4 * planes, cin, 1, 1))):
            state[f"incre_modules.{i}.0.{name}.weight"] = rng.normal(size=shape).astype(np.float32)
        for name, width in (("bn1", planes), ("bn2", planes), ("bn3", 4 * planes), ("downsample.1", 4 * planes)):
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                state[f"incre_modules.{i}.0.{name}.{leaf}"] = np.ones(width, np.float32)
    for i in range(3):
        cin, cout = 4 * head_channels[i], 4 * head_channels[i + 1]
        state[f"downsamp_modules.{i}.0.weight"] = rng.normal(size=(cout, cin, 3, 3)).astype(np.float32)
        state[f"downsamp_modules.{i}.0.bias"] = np.zeros(cout, np.float32)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            state[f"downsamp_modules.{i}.1.{leaf}"] = np.ones(cout, np.float32)
    state["final_layer.0.weight"] = rng.normal(size=(2048, 1024, 1, 1)).astype(np.float32)
    state["final_layer.0.bias"] = np.zeros(2048, np.float32)
    state["classifier.weight"] = rng.normal(size=(1000, 2048)).astype(np.float32)
    state["classifier.bias"] = np.zeros(1000, np.float32)
    return state


def test_timm_imagenet_hrnet_fills_both_backbones(networks):
    keypoint, _, _ = networks
    state = timm_state(keypoint)
    conversion = convert_timm_hrnet(state)
    assert conversion.dropped and all(k.startswith(TIMM_CLASSIFIER) for k in conversion.dropped)
    for network in ("keypoints", "lines"):
        flat = traverse_util.flatten_dict(conversion.variables["params"][network])
        assert not any(path[0].startswith("head_") for path in flat)  # heads stay fresh
        kernel = flat[("stage3_0", "branches_2_0", "conv1", "kernel")]
        np.testing.assert_array_equal(
            kernel, state["stage3.0.branches.2.0.conv1.weight"].transpose(2, 3, 1, 0))
    assert torch_key(("stage3_1", "fuse_layers_2_0_1_0", "kernel")) == "stage3.1.fuse_layers.2.0.1.0.weight"


def test_wrong_checkpoints_are_refused_with_the_keys_named(networks, tmp_path):
    keypoint, line, _ = networks
    state = dict(keypoint.state_dict())
    del state["stage3.0.branches.2.0.conv1.weight"]
    state["extra.weight"] = state["conv1.weight"]
    with pytest.raises(ValueError, match=r"missing stage3\.0\.branches\.2\.0\.conv1\.weight(.|\n)*unexpected extra\.weight"):
        convert_published(state)
    with pytest.raises(ValueError, match="24 output channels; the keypoints network has 58"):
        convert_published(line.state_dict())
    with pytest.raises(ValueError, match="no 'head.0.3.weight'"):
        convert_published(timm_state(keypoint))
    # The CLI writes an orbax checkpoint that init_from reads; errors are one line.
    import torch

    path = tmp_path / "kp.pth"
    torch.save(keypoint.state_dict(), path)
    assert cli.main(["--arch", "pnlcalib", "--input", str(path), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "state").is_dir()
    assert cli.main(["--arch", "hrnet_w48", "--input", str(path), "--output", str(tmp_path / "o2"),
                     "--lines-input", str(path)]) == 1
