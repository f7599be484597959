"""CALF and its calibration branches: shapes, parameter counts of the published networks, outputs
equal to a PyTorch reference with the official layer layout (through the checkpoint converter),
and the DeeperGCN over padded graphs."""

from __future__ import annotations

import os
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.convert.torch_calf import convert_calf
from zoo.models import build
from zoo.models.calf import CALF
from zoo.models.deeper_gcn import DeeperGCN

TINY = {"num_classes": 5, "chunk_size": 48, "receptive_field": 12, "dim_capsule": 4, "num_detections": 3}
GRAPH = {"graph_layers": 3, "graph_hidden": 8}


def _inputs(context: str, batch: int = 2, frames: int = 48, dim: int = 24, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    inputs = {"features": rng.normal(size=(batch, frames, dim)).astype(np.float32)}
    if context == "topview_features":
        inputs["topview_features"] = rng.normal(size=(batch, frames, 512)).astype(np.float32)
    elif context == "topview_images":
        inputs["topview_images"] = rng.normal(size=(batch, frames, 28, 28, 3)).astype(np.float32)
    elif context == "player_graph":
        inputs["graph_nodes"] = rng.normal(size=(batch, frames, 6, 8)).astype(np.float32)
        inputs["graph_positions"] = rng.uniform(-40, 40, (batch, frames, 6, 2)).astype(np.float32)
        inputs["graph_mask"] = rng.uniform(size=(batch, frames, 6)) < 0.7
        inputs["graph_mask"][0, 0] = False  # a graph without nodes
    return inputs


def _count(tree) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_published_networks_have_the_published_parameter_counts():
    """CALF (official benchmark) and the resGCN-14 run's log: 741828 parameters, 576 of them in an
    edge encoder the official forward never uses."""
    calf = build({"name": "calf"}, num_classes=17)
    shapes = jax.eval_shape(lambda: calf.init(jax.random.key(0), {"features": jnp.zeros((1, 240, 512))}, train=False))
    assert _count(shapes["params"]) == 578_245
    assert jax.tree.map(lambda x: x.shape, shapes["batch_stats"]) == {"batch_seg": {"mean": (240,), "var": (240,)}}
    gcn = CALF(num_classes=8, feature_multiplier=2, context="player_graph")
    inputs = {"features": jnp.zeros((1, 240, 512)), "graph_nodes": jnp.zeros((1, 240, 30, 8)),
              "graph_positions": jnp.zeros((1, 240, 30, 2)), "graph_mask": jnp.zeros((1, 240, 30), bool)}
    assert _count(jax.eval_shape(lambda: gcn.init(jax.random.key(0), inputs, train=False))["params"]) == 741_828 - 576


@pytest.mark.parametrize("context", ["none", "topview_features", "topview_images", "player_graph"])
def test_output_shapes(context):
    model = CALF(**TINY, feature_multiplier=1 if context == "none" else 2, context=context, **GRAPH)
    inputs = _inputs(context)
    out = jax.eval_shape(lambda: model.init_with_output(jax.random.key(0), inputs, train=False)[0])
    assert out["segmentation"].shape == (2, 48, 5) and out["spotting"].shape == (2, 3, 7)
    with pytest.raises(ValueError, match="chunks of 48 frames"):
        jax.eval_shape(lambda: model.init(jax.random.key(0), {k: v[:, :40] for k, v in inputs.items()}, train=False))


@pytest.mark.parametrize("context", ["none", "topview_features", "topview_images", "player_graph"])
def test_equals_the_pytorch_reference_with_converted_weights(torch, context):
    from tests.torch_calf_reference import TorchCALF

    torch.manual_seed(0)
    multiplier = 1 if context == "none" else 2
    reference = TorchCALF(**TINY, input_size=24, feature_multiplier=multiplier, context=context,
                          image_size=(28, 28), **GRAPH).eval()
    with torch.no_grad():  # running statistics that matter
        reference.batch_seg.running_mean.normal_()
        reference.batch_seg.running_var.uniform_(0.5, 2.0)
    inputs = _inputs(context, seed=1)
    with torch.no_grad():
        segmentation, spotting = reference({k: torch.from_numpy(v) for k, v in inputs.items()})
    model = CALF(**TINY, feature_multiplier=multiplier, context=context, **GRAPH)
    conversion = convert_calf({"state_dict": reference.state_dict(), "epoch": 3}, model, inputs)
    if context == "player_graph":
        assert set(conversion.dropped) == {"edge_encoder.weight", "edge_encoder.bias"}
    out = jax.jit(lambda v, x: model.apply(v, x, train=False))(conversion.variables, inputs)
    np.testing.assert_allclose(np.asarray(out["segmentation"]), segmentation.numpy(), atol=2e-6)
    np.testing.assert_allclose(np.asarray(out["spotting"]), spotting.numpy(), atol=2e-6)
    assert np.ptp(spotting.numpy()[..., 2:]) > 0.01  # not a degenerate output


def test_converter_names_what_does_not_fit(torch):
    from tests.torch_calf_reference import TorchCALF

    state = TorchCALF(**TINY, input_size=24).state_dict()
    model = CALF(**TINY)
    inputs = _inputs("none")
    state.pop("conv_p_3.weight")
    state["conv_class.weight"] = state["conv_class.weight"][:4]
    state["extra.weight"] = torch.zeros(2)
    with pytest.raises(ValueError, match=r"(?s)conv_class.weight.*missing conv_p_3.weight.*unexpected extra.weight"):
        convert_calf(state, model, inputs)


def test_convert_cli_reads_the_network_from_a_config(torch, tmp_path, capsys):
    """`python -m zoo.convert --arch calf --config calf.py:tiny`: an official-layout checkpoint for
    the tiny config's network (17 classes, 60-frame chunks) converts and gives the reference's
    outputs; one for another network, or no --config, is a one-line error."""
    from tests.torch_calf_reference import TorchCALF
    from zoo.cli import load_config
    from zoo.convert import cli
    from zoo.tasks import action_spotting_calf

    torch.manual_seed(0)
    reference = TorchCALF(num_classes=17, input_size=512, chunk_size=60, receptive_field=20, dim_capsule=4,
                          num_detections=5).eval()
    torch.save({"epoch": 1, "state_dict": reference.state_dict()}, tmp_path / "model.pth.tar")
    spec = "configs/action_spotting/calf.py:tiny"
    assert cli.main(["--arch", "calf", "--input", str(tmp_path / "model.pth.tar"), "--output", str(tmp_path / "w"),
                     "--config", spec]) == 0
    assert os.path.isdir(tmp_path / "w" / "state")
    config = load_config(spec)  # the converted network is the one the config builds
    conversion = cli.convert_calf_file(str(tmp_path / "model.pth.tar"), spec)
    inputs = {"features": np.random.default_rng(0).normal(size=(2, 60, 512)).astype(np.float32)}
    out = action_spotting_calf.make_model(config).apply(conversion.variables, inputs, train=False)
    with torch.no_grad():
        _, spotting = reference({"features": torch.from_numpy(inputs["features"])})
    np.testing.assert_allclose(np.asarray(out["spotting"]), spotting.numpy(), atol=2e-6)

    assert cli.main(["--arch", "calf", "--input", str(tmp_path / "model.pth.tar"), "--output", str(tmp_path / "x"),
                     "--config", "configs/action_spotting/calf_calibration_gcn.py:tiny"]) == 1
    assert "missing layers.1.conv.mlp.3.bias" in capsys.readouterr().err  # an official key it lacks
    assert cli.main(["--arch", "calf", "--input", str(tmp_path / "model.pth.tar"), "--output", str(tmp_path / "y")]) == 1
    assert "needs --config" in capsys.readouterr().err


def _random_graphs(rng, graphs: int, slots: int, sizes) -> tuple:
    nodes = rng.normal(size=(graphs, slots, 8)).astype(np.float32)
    positions = rng.uniform(-30, 30, (graphs, slots, 2)).astype(np.float32)
    mask = np.arange(slots)[None] < np.asarray(sizes)[:, None]
    return nodes, positions, mask


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_deeper_gcn_dense_and_segment_aggregations_agree():
    rng = np.random.default_rng(0)
    nodes, positions, mask = _random_graphs(rng, 6, 10, [0, 1, 2, 5, 9, 10])
    dense = DeeperGCN(12, hidden=8, num_layers=4, aggregation="dense")
    segment = DeeperGCN(12, hidden=8, num_layers=4, aggregation="segment")
    variables = jax.jit(lambda: dense.init(jax.random.key(0), nodes, positions, mask, train=False))()
    # A temperature far from 1 makes the softmax weights matter.
    variables = jax.tree_util.tree_map_with_path(
        lambda p, x: x * 3.0 if p[-1].key == "t" else x, variables)
    both = jax.jit(lambda v: (dense.apply(v, nodes, positions, mask, train=False),
                              segment.apply(v, nodes, positions, mask, train=False)))
    a, b = both(variables)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    assert (np.asarray(a)[0] == 0).all()  # no node, no graph vector
    assert not (np.asarray(a)[1:] == 0).all(axis=-1).any()


def test_deeper_gcn_runs_every_graph_size_with_one_compilation():
    rng = np.random.default_rng(1)
    model = DeeperGCN(12, hidden=8, num_layers=2)
    traces = []

    @jax.jit
    def apply(variables, nodes, positions, mask):
        traces.append(1)
        return model.apply(variables, nodes, positions, mask, train=False)

    nodes, positions, mask = _random_graphs(rng, 31, 30, range(31))  # 0, 1, ..., 30 players
    variables = jax.jit(lambda: model.init(jax.random.key(0), nodes, positions, mask, train=False))()
    together = np.asarray(apply(variables, nodes, positions, mask))
    for size in (0, 7, 30):  # a batch of one size at a time: the same program
        one = np.asarray(apply(variables, nodes[size:size + 1], positions[size:size + 1], mask[size:size + 1]))
        np.testing.assert_allclose(one[0], together[size], rtol=1e-5, atol=1e-6)
    assert len(traces) == 2  # one per batch shape, none per graph size
    # Whatever the padding slots hold does not change a graph's vector.
    padded = np.asarray(apply(variables, np.where(mask[..., None], nodes, 99.0), positions, mask))
    np.testing.assert_array_equal(padded, together)


def test_deeper_gcn_drops_out_once_before_its_output_as_the_published_release():
    """PyTorch Geometric 1.6.3 (the official pin) applies no dropout in DeepGCNLayer "res" blocks."""
    import flax.linen as nn

    rng = np.random.default_rng(2)
    model = DeeperGCN(12, hidden=8, num_layers=4, dropout_rate=0.5)
    nodes, positions, mask = _random_graphs(rng, 2, 5, [3, 5])
    variables = model.init(jax.random.key(0), nodes, positions, mask, train=False)
    dropouts = []

    def count(next_fun, args, kwargs, context):
        if isinstance(context.module, nn.Dropout) and context.method_name == "__call__":
            dropouts.append(context.module.deterministic)
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(count):
        model.apply(variables, nodes, positions, mask, train=True, rngs={"dropout": jax.random.key(1)})
    assert dropouts == [False]
