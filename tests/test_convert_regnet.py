"""timm RegNetY weights -> Flax: outputs equal PyTorch's for regnety_002 and regnety_008, every key
is accounted for, and the written checkpoint initialises E2E-Spot and T-DEED through `init_from`.

The PyTorch network (tests/torch_ball_reference.py) has exactly timm's state-dict keys, in timm's
order, with random weights and BN statistics.
"""

import importlib
import json
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from zoo.convert import cli
from zoo.convert.timm_regnet import convert_regnet
from zoo.models.e2e_spot import E2ESpot
from zoo.models.regnet import RegNetY
from zoo.models.tdeed import TDEED
from zoo.train import checkpoint
from zoo.train.mesh import make_mesh, replicated
from zoo.train.state import TrainState

TOLERANCE = 1e-4  # relative to the largest output


@pytest.fixture(scope="module")
def reference(torch):
    return importlib.import_module("tests.torch_ball_reference")


@pytest.fixture(scope="module")
def images(torch):
    """Two 64x96 images to compare on (NCHW), and a batch that sets the BN statistics."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 64, 96, generator=generator), torch.randn(6, 3, 64, 64, generator=generator)


@pytest.fixture(scope="module")
def regnets(torch, reference, images):
    """timm-keyed RegNetY-200MF and -800MF with random weights and calibrated BN statistics."""
    randomise = importlib.import_module("tests.torch_reference").randomise
    return {
        "regnety_002": randomise(reference.RegNetY(**reference.REGNETY_002), images[1], seed=0),
        "regnety_008": randomise(reference.RegNetY(**reference.REGNETY_008), images[1], seed=1),
    }


@pytest.mark.parametrize("arch", ["regnety_002", "regnety_008"])
def test_converted_backbone_equals_pytorch(torch, images, regnets, arch):
    network = regnets[arch]
    with torch.no_grad():
        want_map = network.forward_features(images[0]).permute(0, 2, 3, 1).numpy()
        want = network(images[0], pre_logits=True).numpy()
    conversion = convert_regnet(network.state_dict(), arch=arch)
    assert sorted(conversion.dropped) == ["head.fc.bias", "head.fc.weight"]
    variables = {name: tree["backbone"] for name, tree in conversion.variables.items()}
    model = RegNetY(arch)
    forward = jax.jit(lambda v, x: model.apply(
        v, x, train=False, capture_intermediates=lambda module, _: module.name == "s4"))
    got, intermediates = forward(variables, jnp.asarray(images[0].permute(0, 2, 3, 1).numpy()))
    got_map = intermediates["intermediates"]["s4"]["__call__"][0]
    assert got_map.shape == want_map.shape == (2, 2, 3, network.num_features)  # output stride 32
    map_error = float(np.abs(got_map - want_map).max() / np.abs(want_map).max())
    error = float(np.abs(got - want).max() / np.abs(want).max())
    print(f"{arch} max relative error: s4 map {map_error:.2e}, pooled features {error:.2e}")
    assert map_error < TOLERANCE and error < TOLERANCE
    assert np.abs(want).max() > 0.5  # not a comparison of near-zero features


def test_every_key_maps_and_misfits_are_named(reference):
    state = reference.RegNetY(**reference.REGNETY_002).state_dict()
    conversion = convert_regnet(state)
    converted = sum(np.size(x) for x in jax.tree.leaves(conversion.variables))
    assert converted == sum(v.numel() for k, v in state.items()
                            if not k.startswith("head.") and not k.endswith("num_batches_tracked"))
    # SE convs [out, in, 1, 1] become Dense kernels [in, out].
    se = conversion.variables["params"]["backbone"]["s3"]["b2"]["se"]
    np.testing.assert_array_equal(se["fc1"]["kernel"], state["s3.b2.se.fc1.weight"].numpy()[:, :, 0, 0].T)

    extra = dict(state, **{"s4.b8.conv1.conv.weight": state["s4.b7.conv1.conv.weight"]})
    with pytest.raises(ValueError, match=r"unexpected s4\.b8\.conv1\.conv\.weight"):
        convert_regnet(extra)
    missing = {k: v for k, v in state.items() if k != "s2.b1.downsample.bn.running_var"}
    with pytest.raises(ValueError, match=r"missing s2\.b1\.downsample\.bn\.running_var"):
        convert_regnet(missing)
    reshaped = dict(state, **{"stem.conv.weight": state["stem.conv.weight"][:16]})
    with pytest.raises(ValueError, match=r"stem\.conv\.weight: checkpoint \(16, 3, 3, 3\)"):
        convert_regnet(reshaped)
    with pytest.raises(ValueError, match="Unknown RegNet 'regnety_004'"):
        convert_regnet(state, arch="regnety_004")


def test_the_wrong_size_is_named(reference):
    state = reference.RegNetY(**reference.REGNETY_008).state_dict()
    with pytest.raises(ValueError, match=r"stage widths \[64, 128, 320, 768\] are regnety_008's"):
        convert_regnet(state, arch="regnety_002")


def _write_safetensors(path, state: dict, bf16: frozenset = frozenset()) -> None:
    """The safetensors layout (8-byte header size, JSON header, raw little-endian data)."""
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, tensor in state.items():
        array = tensor.numpy()
        if name in bf16:  # keep the high 16 bits of each float32
            data, dtype = (array.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes(), "BF16"
        else:
            dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[array.dtype]
            data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def test_safetensors_files_read_like_torch_checkpoints(torch, regnets, tmp_path):
    state = regnets["regnety_002"].state_dict()
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, state, bf16=frozenset({"head.fc.bias"}))
    tensors = cli.read_safetensors(str(path))
    assert list(tensors) == list(state)
    for name, tensor in state.items():
        if name == "head.fc.bias":  # bfloat16: the float32 with its low 16 bits cleared
            want = (tensor.numpy().view(np.uint32) & 0xFFFF0000).view(np.float32)
            np.testing.assert_array_equal(tensors[name], want)
        else:
            np.testing.assert_array_equal(tensors[name], tensor.numpy())
            assert tensors[name].dtype == tensor.numpy().dtype

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a safetensors file"):
        cli.read_safetensors(str(broken))


def _fresh_state(model, frames_shape, seed=0) -> TrainState:
    """A train state with random weights of the model's shapes (no compiled init needed)."""
    abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(frames_shape), train=False))
    rng = np.random.default_rng(seed)
    variables = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(np.float32), abstract)
    variables = dict(variables)
    params = variables.pop("params")
    return TrainState(params=params, model_state=variables, opt_state=(), step=np.zeros((), np.int32),
                      rng=np.zeros((2,), np.uint32))


def test_cli_checkpoint_initialises_the_backbone_of_both_models(torch, regnets, tmp_path, capsys):
    state = regnets["regnety_002"].state_dict()
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, state)
    assert cli.main(["--arch", "regnety_002", "--input", str(path), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "2,793,996 parameters" in printed and "dropped head.fc.weight" in printed
    want = convert_regnet(state).variables

    mesh = make_mesh()
    for model, shape in ((E2ESpot(12, temporal_shift="gsm"), (1, 4, 32, 32, 3)),
                         (TDEED(24, 4, team_head=False), (1, 4, 32, 32, 3))):
        fresh = _fresh_state(model, shape)
        shardings = jax.tree.map(lambda _: replicated(mesh), fresh)
        loaded = checkpoint.load_params(str(tmp_path / "out"), fresh, shardings)
        for collection, got_tree, fresh_tree in (
            ("params", loaded.params, fresh.params),
            ("batch_stats", loaded.model_state["batch_stats"], fresh.model_state["batch_stats"]),
        ):
            got, before = traverse_util.flatten_dict(got_tree), traverse_util.flatten_dict(fresh_tree)
            converted = traverse_util.flatten_dict(want[collection])
            assert set(converted) < set(got)
            for key, value in got.items():
                expected = converted.get(key, before[key])  # shifts, temporal model, heads stay fresh
                np.testing.assert_array_equal(np.asarray(value), expected, err_msg="/".join(key))


def test_cli_names_the_problem(torch, reference, regnets, tmp_path, capsys):
    path = tmp_path / "regnety_008.pth"
    torch.save(reference.RegNetY(**reference.REGNETY_008).state_dict(), path)
    assert cli.main(["--arch", "regnety_002", "--input", str(path), "--output", str(tmp_path / "a")]) == 1
    assert "are regnety_008's" in capsys.readouterr().err
    assert cli.main(["--arch", "regnety_008", "--input", str(path), "--output", str(tmp_path / "b"),
                     "--num-classes", "1000"]) == 1
    assert "--num-classes does not apply to regnety_008" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
