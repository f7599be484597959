"""PyTorch ReID weights -> Flax: outputs equal PyTorch's, every key accounted for, and the written
checkpoint initialises a train state through `init_from` (`load_params`).

The PyTorch networks (tests/torch_reference.py) carry the exact keys of torchvision's resnet50
and torchreid's resnet50_fc512 / osnet_ain_x1_0, with random weights and BN statistics.
"""

import importlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from zoo.convert import cli
from zoo.convert.torch_osnet import convert_osnet_ain
from zoo.convert.torch_resnet import abstract_variables, convert_resnet50
from zoo.models.reid_head import ReidModel
from zoo.train import checkpoint
from zoo.train.mesh import make_mesh
from zoo.train.step import init_train_state

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def reference(torch):
    return importlib.import_module("tests.torch_reference")


@pytest.fixture(scope="module")
def images(torch):
    """A few 64x32 images (NCHW for PyTorch); the BN statistics come from another batch."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 64, 32, generator=generator), torch.randn(8, 3, 64, 32, generator=generator)


@pytest.fixture(scope="module")
def resnet50_fc512(reference, images):
    return reference.randomise(reference.ResNet50FC512(num_classes=10), images[1])


def _nhwc(x) -> jax.Array:
    return jnp.asarray(x.permute(0, 2, 3, 1).numpy())


def _with_head(variables: dict, dim: int, num_classes: int) -> dict:
    """Converted variables plus the head leaves no PyTorch checkpoint has (fresh BNNeck)."""
    params = {"bnneck": {"scale": jnp.ones(dim)}, "classifier": {"kernel": jnp.zeros((dim, num_classes))}}
    stats = {"bnneck": {"mean": jnp.zeros(dim), "var": jnp.ones(dim)}}
    converted_params, converted_stats = variables["params"], variables["batch_stats"]
    return {
        "params": {**converted_params, "head": {**params, **converted_params.get("head", {})}},
        "batch_stats": {**converted_stats, "head": {**stats, **converted_stats.get("head", {})}},
    }


def test_resnet50_fc512_outputs_equal_pytorch(torch, images, resnet50_fc512):
    with torch.no_grad():
        want_map = resnet50_fc512.featuremaps(images[0]).permute(0, 2, 3, 1).numpy()
        want_feature = resnet50_fc512(images[0]).numpy()
    conversion = convert_resnet50(resnet50_fc512.state_dict(), num_classes=10)
    assert conversion.dropped == {"classifier.bias": "the BNNeck classifier has no bias"}
    np.testing.assert_array_equal(
        conversion.variables["params"]["head"]["classifier"]["kernel"],
        resnet50_fc512.classifier.weight.detach().numpy().T)

    model = ReidModel("resnet50", num_classes=10, reduction_dim=512, last_stride=1)
    forward = jax.jit(lambda variables, x: model.apply(  # jit: faster than op-by-op here
        variables, x, train=False, capture_intermediates=lambda module, _: module.name == "backbone"))
    outputs, intermediates = forward(_with_head(conversion.variables, 512, 10), _nhwc(images[0]))
    got_map = intermediates["intermediates"]["backbone"]["__call__"][0]
    assert got_map.shape == (2, 4, 2, 2048)  # 64x32 at output stride 16 (last stride 1)
    map_error = float(np.abs(got_map - want_map).max())
    feature_error = float(np.abs(outputs["embedding"] - want_feature).max())
    print(f"resnet50 max abs error: feature map {map_error:.2e}, fc512 feature {feature_error:.2e}")
    assert map_error < TOLERANCE and feature_error < TOLERANCE
    assert np.abs(want_map).max() > 1.0  # the comparison is not between near-zero maps


def test_osnet_ain_outputs_equal_pytorch_from_a_torchreid_checkpoint(torch, reference, images):
    network = reference.randomise(reference.OSNetAIN(num_classes=100), images[1])
    with torch.no_grad():
        want = network(images[0]).numpy()
    # torchreid's save_checkpoint form, trained under nn.DataParallel.
    saved = {"state_dict": {f"module.{k}": v for k, v in network.state_dict().items()}, "epoch": 60}
    conversion = convert_osnet_ain(saved, width="osnet_ain")
    assert sorted(conversion.dropped) == ["classifier.bias", "classifier.weight"]
    model = ReidModel("osnet_ain", num_classes=3)
    outputs = jax.jit(lambda variables, x: model.apply(variables, x, train=False))(
        _with_head(conversion.variables, 512, 3), _nhwc(images[0]))
    error = float(np.abs(outputs["embedding"] - want).max())
    print(f"osnet_ain_x1_0 max abs error: feature {error:.2e}")
    assert error < TOLERANCE
    assert np.abs(want).max() > 1.0


def test_torchvision_keys_map_totally_and_fit_reid_model(reference):
    state = reference.ResNet50(last_stride=1).state_dict()  # torchvision keys, ImageNet fc
    conversion = convert_resnet50(state)
    assert sorted(conversion.dropped) == ["fc.bias", "fc.weight"]
    # Every converted leaf exists in ReidModel with the same shape (what load_params checks),
    # and the whole backbone is covered.
    model = abstract_variables(ReidModel("resnet50", num_classes=751, last_stride=1))
    for collection in ("params", "batch_stats"):
        shapes = lambda tree: jax.tree.map(lambda x: tuple(x.shape), tree)  # noqa: E731
        assert shapes(conversion.variables[collection]["backbone"]) == shapes(model[collection]["backbone"])
    converted = sum(np.size(x) for x in jax.tree.leaves(conversion.variables))
    assert converted == sum(v.numel() for k, v in state.items()
                            if not k.startswith("fc.") and not k.endswith("num_batches_tracked"))

    extra = dict(state, **{"layer4.3.conv1.weight": state["layer4.2.conv1.weight"]})
    with pytest.raises(ValueError, match=r"unexpected layer4\.3\.conv1\.weight"):
        convert_resnet50(extra)
    missing = {k: v for k, v in state.items() if k != "layer2.0.downsample.1.running_var"}
    with pytest.raises(ValueError, match=r"missing layer2\.0\.downsample\.1\.running_var"):
        convert_resnet50(missing)
    reshaped = dict(state, **{"conv1.weight": state["conv1.weight"][:, :, :5, :5]})
    with pytest.raises(ValueError, match=r"conv1\.weight: checkpoint \(64, 3, 5, 5\)"):
        convert_resnet50(reshaped)


def test_cli_writes_a_checkpoint_that_init_from_loads(torch, resnet50_fc512, tmp_path, capsys):
    path = tmp_path / "resnet50_fc512.pth.tar"
    torch.save({"state_dict": resnet50_fc512.state_dict(), "epoch": 60, "rank1": 0.9}, path)
    assert cli.main(["--arch", "resnet50", "--input", str(path), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "dropped classifier.weight" in printed and "--config.init_from=" in printed
    assert (tmp_path / "out" / "state").is_dir()

    # A new training set: 5 identities, so the head's classifier stays fresh.
    model = ReidModel("resnet50", num_classes=5, reduction_dim=512, last_stride=1)
    mesh = make_mesh(1)
    example = np.zeros((1, 64, 32, 3), np.float32)
    state, shardings = init_train_state(model, optax.adam(1e-3), example, 0, mesh)
    loaded = checkpoint.load_params(str(tmp_path / "out"), state, shardings)

    expected = convert_resnet50(resnet50_fc512.state_dict()).variables
    for collection, tree in (("params", loaded.params), ("batch_stats", loaded.model_state["batch_stats"])):
        flat_expected = jax.tree_util.tree_flatten_with_path(expected[collection])[0]
        assert len(flat_expected) > 100
        for key_path, value in flat_expected:
            got = tree
            for key in key_path:
                got = got[key.key]
            np.testing.assert_array_equal(np.asarray(got), value, err_msg=f"{collection}{key_path}")
    for name in ("classifier", "bnneck"):  # not in the checkpoint: fresh
        fresh, now = state.params["head"][name], loaded.params["head"][name]
        jax.tree.map(np.testing.assert_array_equal, fresh, now)

    # The same folder again is refused rather than overwritten.
    assert cli.main(["--arch", "resnet50", "--input", str(path), "--output", str(tmp_path / "out")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_cli_names_the_problem_for_the_wrong_architecture(torch, reference, tmp_path, capsys):
    path = tmp_path / "osnet_ain_x0_25.pth"
    torch.save(reference.OSNetAIN(channels=(16, 64, 96, 128)).state_dict(), path)
    assert cli.main(["--arch", "osnet_ain", "--input", str(path), "--output", str(tmp_path / "a")]) == 1
    assert "is it osnet_ain_x0_25?" in capsys.readouterr().err
    assert cli.main(["--arch", "resnet50", "--input", str(path), "--output", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "missing conv1.weight" in err and "unexpected conv1.conv.weight" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_reading_pytorch_files_without_torch_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install '\.\[torch\]'"):
        cli.load_torch_checkpoint(str(tmp_path / "weights.pth"))
