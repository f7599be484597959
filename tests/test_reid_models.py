"""ReID backbones and head: parameter counts of the official networks, shapes, BNNeck, GeM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.models.reid_head import GeM, ReidHead, ReidModel, make_backbone


def _count(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree))


def _abstract(module, shape=(1, 256, 128, 3)):
    return jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape), train=False))


@pytest.mark.parametrize(
    "backbone, params, batch_stats",
    [
        # torchvision resnet50 without fc: 25,557,032 - 2048 * 1000 - 1000.
        ("resnet50", 23_508_032, 53_120),
        # torchreid osnet_ain_x1_0 without classifier (fc 512 + BN included), as built in PyTorch.
        ("osnet_ain", 2_169_508, 20_096),
        ("osnet_ain_x0_25", 201_864, 5_792),
    ],
)
def test_backbone_parameter_counts_equal_the_pytorch_networks(backbone, params, batch_stats):
    variables = _abstract(make_backbone(backbone))
    assert _count(variables["params"]) == params
    assert _count(variables["batch_stats"]) == batch_stats


@pytest.mark.parametrize("last_stride, size", [(1, (16, 8)), (2, (8, 4))])
def test_resnet_feature_map_at_256x128(last_stride, size):
    module = make_backbone("resnet50", last_stride=last_stride)
    variables = _abstract(module)
    out = jax.eval_shape(lambda v: module.apply(v, jnp.zeros((2, 256, 128, 3)), train=False), variables)
    assert out.shape == (2, *size, 2048)


@pytest.mark.parametrize("backbone, dim", [("resnet50", 2048), ("osnet_ain", 512)])
def test_reid_model_outputs_and_head_parameters(backbone, dim):
    model = ReidModel(backbone, num_classes=7)
    variables = _abstract(model)
    head = variables["params"]["head"]
    # BNNeck: BN scale only (no shift, as the strong baseline's frozen zero bias), bias-free classifier.
    assert jax.tree.map(lambda x: x.shape, head) == {
        "bnneck": {"scale": (dim,)}, "classifier": {"kernel": (dim, 7)}}
    outputs = jax.eval_shape(lambda v: model.apply(v, jnp.zeros((2, 256, 128, 3)), train=False), variables)
    assert {k: v.shape for k, v in outputs.items()} == {
        "embedding": (2, dim), "embedding_bn": (2, dim), "logits": (2, 7)}


def test_bnneck_uses_batch_statistics_in_training_and_running_ones_in_evaluation():
    head = ReidHead(num_classes=7)
    features = 3.0 + jax.random.normal(jax.random.key(0), (8, 32))  # pooled: used as is
    variables = head.init(jax.random.key(1), features, train=False)
    outputs, updates = head.apply(variables, features, train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(outputs["embedding"], features)
    np.testing.assert_allclose(outputs["embedding_bn"].mean(0), 0.0, atol=1e-4)
    # PyTorch momentum 0.1: the running mean moves a tenth of the way to the batch mean.
    np.testing.assert_allclose(updates["batch_stats"]["bnneck"]["mean"], 0.1 * features.mean(0), rtol=1e-5)

    variables = {**variables, **updates}
    evaluated = head.apply(variables, features, train=False)
    stats = variables["batch_stats"]["bnneck"]
    expected = (features - stats["mean"]) / jnp.sqrt(stats["var"] + 1e-5)
    np.testing.assert_allclose(evaluated["embedding_bn"], expected, rtol=1e-5, atol=1e-5)
    kernel = variables["params"]["classifier"]["kernel"]
    np.testing.assert_allclose(evaluated["logits"], evaluated["embedding_bn"] @ kernel, rtol=1e-5, atol=1e-6)


def test_head_with_gem_pooling_and_reduction_layer():
    head = ReidHead(num_classes=5, pooling="gem", reduction_dim=16)
    feature_map = jax.nn.relu(jax.random.normal(jax.random.key(0), (3, 4, 2, 32)))
    variables = head.init(jax.random.key(1), feature_map, train=False)
    assert float(variables["params"]["gem"]["p"]) == 3.0
    assert set(variables["params"]) == {"gem", "reduction", "reduction_bn", "bnneck", "classifier"}
    outputs = head.apply(variables, feature_map, train=False)
    assert outputs["embedding"].shape == (3, 16) and outputs["logits"].shape == (3, 5)
    assert bool(jnp.all(outputs["embedding"] >= 0))  # Linear + BN + ReLU, as torchreid's fc


def test_gem_interpolates_between_average_and_max_pooling():
    x = jax.random.uniform(jax.random.key(0), (2, 3, 5, 4), minval=0.1, maxval=1.0)
    gem = GeM()
    pool = lambda p: gem.apply({"params": {"p": jnp.float32(p)}}, x)  # noqa: E731
    np.testing.assert_allclose(pool(1.0), x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(pool(3.0), jnp.mean(x**3, axis=(1, 2)) ** (1 / 3), rtol=1e-5)
    np.testing.assert_allclose(pool(200.0), x.max(axis=(1, 2)), rtol=0.02)
    grad = jax.grad(lambda p: pool(p).sum())(jnp.float32(3.0))
    assert np.isfinite(grad) and grad > 0  # a larger p moves towards the max


def test_osnet_pools_itself_so_gem_is_refused():
    model = ReidModel("osnet_ain", num_classes=3, pooling="gem")
    with pytest.raises(ValueError, match="pools inside"):
        _abstract(model, (1, 64, 32, 3))
    with pytest.raises(ValueError, match="Unknown backbone"):
        make_backbone("resnet18")
