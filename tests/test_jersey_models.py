"""Jersey models and their converters: full-size parameter counts, and outputs equal to PyTorch
references built with the published key names (tests/torch_jersey_reference.py) after conversion.

Full-size models are checked through `jax.eval_shape` (nothing compiled); the forward parity
runs on small widths, which exercise the same code and names.
"""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.jersey_support import SLOW
from zoo.convert import cli
from zoo.convert.torch_parseq import abstract_parseq, convert_parseq
from zoo.convert.torch_pose import convert_pose
from zoo.convert.torch_resnet import abstract_variables, convert_resnet, convert_resnet_classifier
from zoo.models.crnn import greedy_decode, number_labels
from zoo.models.parseq import CHARSET_94, DIGITS, PARSeq, decode_tokens, encode_labels, token_ids
from zoo.models.pose import HeatmapPose, decode_heatmaps
from zoo.models.resnet import ResNetClassifier, resnet

TOLERANCE = 2e-4


def count(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


@pytest.fixture(scope="module")
def ref(torch):
    return importlib.import_module("tests.torch_jersey_reference")


@pytest.fixture(scope="module")
def randomise(torch):
    return importlib.import_module("tests.torch_reference").randomise


def _nhwc(x):
    return jnp.asarray(x.permute(0, 2, 3, 1).numpy())


def test_full_size_parameter_counts():
    """The published sizes: PARSeq-S 23.8M at 32x128 (94 characters, 25 at most), the ResNet-34
    legibility classifier 21.3M, SimpleBaseline-R50 34.0M and ViTPose-B 90.0M at 256x192."""
    assert count(abstract_parseq(PARSeq(charset=CHARSET_94, max_label_length=25))["params"]) == 23_832_671
    assert count(abstract_variables(ResNetClassifier("resnet34"), (1, 224, 224, 3))["params"]) == 21_285_185
    for backbone, filters, expected in (("resnet50", (256,) * 3, 33_999_697), ("vit_base", (256,) * 2, 89_994_513)):
        model = HeatmapPose(backbone=backbone, deconv_filters=filters)
        params = jax.eval_shape(lambda m=model: m.init(jax.random.key(0), jnp.zeros((1, 256, 192, 3)), train=False))
        assert count(params["params"]) == expected


def test_remat_keeps_the_parameters():
    """`remat=True` (blocks recomputed in the backward pass) builds the same parameters, so a
    checkpoint loads either way (traced only: nothing compiled; PARSeq's encoder is the ViT of
    ViTPose)."""
    def shapes(model, inputs):
        rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
        return jax.tree.map(np.shape, jax.eval_shape(lambda: model.init(rngs, inputs, train=True)))

    text = {"images": jnp.zeros((2, 32, 32, 3)), "tokens": jnp.zeros((2, 4), jnp.int32)}
    for build, inputs in (
            (lambda r: HeatmapPose("resnet18", width=8, deconv_filters=(8, 8, 8), remat=r), jnp.zeros((1, 64, 32, 3))),
            (lambda r: ResNetClassifier("resnet18", width=8, remat=r), jnp.zeros((1, 32, 32, 3))),
            (lambda r: PARSeq(embed_dim=16, enc_num_heads=2, enc_depth=2, dec_num_heads=2, patch_size=(8, 8),
                              remat=r), text)):
        assert shapes(build(True), inputs) == shapes(build(False), inputs)


def test_resnet_basic_blocks_and_legibility_classifier_equal_torchvision(torch, ref, randomise):
    images = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(0))
    net = randomise(ref.ResNetBasic((2, 2, 2, 2)), torch.randn(6, 3, 64, 48)).eval()
    conversion = convert_resnet(net.state_dict(), depth="resnet18")
    assert set(conversion.dropped) == {"fc.weight", "fc.bias"}
    ours = jax.jit(lambda v, x: resnet("resnet18").apply(v, x, train=False))(
        {k: v["backbone"] for k, v in conversion.variables.items()}, _nhwc(images))
    with torch.no_grad():
        theirs = _nhwc(net.features(images))
    np.testing.assert_allclose(ours, theirs, atol=TOLERANCE, rtol=TOLERANCE)

    # Koshkina & Elder's legibility classifier: resnet34 under `model_ft` with a 1-output fc.
    legibility = ref.Legibility((3, 4, 6, 3))
    conversion = convert_resnet_classifier(legibility.state_dict(), depth="resnet34", num_outputs=1)
    assert conversion.dropped == {}
    expected = abstract_variables(ResNetClassifier("resnet34"))
    assert jax.tree.map(np.shape, conversion.variables) == jax.tree.map(lambda x: x.shape, expected)
    # a resnet18 file is no resnet34: the missing blocks are named
    with pytest.raises(ValueError, match="missing layer1.2.conv1.weight"):
        convert_resnet(net.state_dict(), depth="resnet34")


def test_parseq_published_checkpoint_layout_converts_completely(torch, ref):
    """A state dict with every key and shape of parseq-bb5792a6.pt fills PARSeq-S exactly, and
    the digits-only restriction keeps the right rows."""
    published = ref.PARSeqReference(charset_size=94, max_length=25).state_dict()
    assert len(published) == 149 + 22 + 4  # encoder, decoder, head + embedding + position queries
    full = convert_parseq({f"model.{k}": v for k, v in published.items()})  # a Lightning-style prefix
    expected = abstract_parseq(PARSeq(charset=CHARSET_94, max_label_length=25))
    assert jax.tree.map(np.shape, full.variables) == jax.tree.map(lambda x: x.shape, expected)
    digits = cli.convert("parseq_digits", published)  # what `python -m zoo.convert --arch parseq_digits` writes
    head = published["head.weight"].numpy()
    np.testing.assert_array_equal(digits.variables["params"]["head"]["kernel"].T, head[:11])  # EOS, 0-9
    embedding = digits.variables["params"]["text_embed"]["embedding"]
    np.testing.assert_array_equal(embedding[-2:], published["text_embed.embedding.weight"].numpy()[-2:])
    assert digits.variables["params"]["pos_queries"].shape == (1, 3, 384)
    with pytest.raises(ValueError, match="not in the checkpoint's charset"):
        convert_parseq(published, model=PARSeq(charset="0123456789é"))


@pytest.fixture(scope="module")
def small_parseq(torch, ref):
    """A small PARSeq in PyTorch (random weights) and the same in Flax, converted."""
    torch.manual_seed(0)
    sizes = dict(image_size=(32, 64), patch=(8, 8), dim=48, enc_depth=1, enc_heads=3, dec_depth=2,
                 dec_heads=4, mlp_ratio=2)
    net = ref.PARSeqReference(charset_size=len(CHARSET_94), max_length=3, **sizes).eval()
    for p in net.parameters():  # confident, varied outputs so that argmax decisions are stable
        p.data.add_(torch.randn_like(p) * 0.2)
    model = PARSeq(charset=CHARSET_94, max_label_length=3, patch_size=(8, 8), embed_dim=48,
                   enc_num_heads=3, enc_depth=1, enc_mlp_ratio=2, dec_num_heads=4, dec_mlp_ratio=2,
                   dec_depth=2, dropout=0.0, score_numbers=True)
    variables = convert_parseq(net.state_dict(), model=model, image_size=(32, 64)).variables
    return net, model, variables


@SLOW  # compiling the unrolled decoding twice is most of this module's time
def test_parseq_decoding_and_loss_equal_the_reference(torch, small_parseq):
    net, model, variables = small_parseq
    images = torch.randn(3, 3, 32, 64, generator=torch.Generator().manual_seed(3))
    inputs = {"images": _nhwc(images), "tokens": jnp.zeros((3, 5), jnp.int32)}
    outputs = jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, inputs)
    with torch.no_grad():
        expected = net.read(images).numpy()
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-3, rtol=1e-3)
    assert decode_tokens(np.argmax(outputs["logits"], -1), CHARSET_94) == decode_tokens(expected.argmax(-1), CHARSET_94)

    # exact string probabilities: teacher-forced left-to-right decoding of "7" and "23"
    with torch.no_grad():
        memory = net.encoder(images)
        for number in (7, 23):
            tokens = torch.as_tensor(encode_labels([str(number)], CHARSET_94, 3)[:, : len(str(number)) + 2]).long()
            length = tokens.shape[1] - 1
            causal = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
            logits = net.head(net.decode(tokens[:, :-1].expand(3, -1), memory, causal, None, None, causal))
            log_p = logits.log_softmax(-1).gather(-1, tokens[:, 1:].expand(3, -1)[..., None])[..., 0].sum(-1)
            np.testing.assert_allclose(outputs["number_log_probs"][:, number], log_p.numpy(), atol=1e-3)
    assert np.all(np.exp(outputs["number_log_probs"]).sum(-1) <= 1.0 + 1e-5)  # disjoint texts

    # the permutation loss over given orderings (canonical, reverse with EOS first, one random pair)
    labels = ["7", "23", "180", "9"]
    tokens = encode_labels(labels, CHARSET_94, 3)
    perms = np.array([[0, 1, 2, 3, 4], [0, 4, 3, 2, 1], [0, 2, 3, 1, 4], [0, 1, 3, 2, 4]])
    images = torch.randn(4, 3, 32, 64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected_loss = float(net.training_loss(images, torch.as_tensor(tokens).long(), torch.as_tensor(perms)))
    from zoo.losses.text_recognition import permutation_loss

    logits = jax.jit(lambda v, x, t, p: model.apply(
        v, x, t, p, method=lambda m, x, t, p: m.permutation_logits(m.encoder(x)[0], t, False, p)))(
        variables, _nhwc(images), jnp.asarray(tokens), jnp.asarray(perms))
    ids = token_ids(CHARSET_94)
    sums, counts = permutation_loss(logits, jnp.asarray(tokens), eos=ids["eos"], pad=ids["pad"])
    np.testing.assert_allclose(float(sums.sum() / counts.sum()), expected_loss, rtol=1e-4)


def test_crnn_decoding_helpers():
    """Best-path decoding and the CTC labels of the numbers (the CRNN itself trains and reads in
    tests/test_jersey_end_to_end.py)."""
    # best path: "2 2 _ 3 _ _" -> "23"; "_ 7 7" -> "7"
    logits = np.full((2, 6, 11), -5.0)
    for row, path in enumerate([[3, 3, 0, 4, 0, 0], [0, 8, 8, 0, 0, 0]]):
        logits[row, np.arange(6), path] = 5.0
    assert greedy_decode(logits, DIGITS) == ["23", "7"]
    labels, lengths = number_labels(DIGITS)
    assert labels[7].tolist() == [8, 0] and lengths[7] == 1 and labels[23].tolist() == [3, 4]


def test_pose_models_equal_simplebaseline_and_vitpose(torch, ref, randomise):
    images = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(5))
    simple = randomise(ref.PoseResNet((2, 2, 2, 2), filters=(16, 16, 16)), torch.randn(6, 3, 64, 48)).eval()
    state = {k: v for k, v in simple.state_dict().items()}
    conversion, model = convert_pose(state, backbone="resnet18", image_size=(64, 48))
    assert model.deconv_filters == (16, 16, 16)
    with torch.no_grad():
        expected = _nhwc(simple(images))
    ours = jax.jit(lambda v, x: model.apply(v, x, train=False))(conversion.variables, _nhwc(images))
    np.testing.assert_allclose(ours["heatmaps"], expected, atol=TOLERANCE, rtol=TOLERANCE)

    vit = randomise(ref.ViTPose((64, 48), dim=32, depth=2, heads=2, filters=(16, 16)), torch.randn(6, 3, 64, 48)).eval()
    state = vit.state_dict()
    import zoo.models.pose as pose

    pose.VITPOSE["vit_test"] = (32, 2, 2)  # a tiny ViTPose with the published names
    try:
        conversion, model = convert_pose({"state_dict": state}, backbone="vit_test", image_size=(64, 48))
        with torch.no_grad():
            expected = _nhwc(vit(images))
        ours = jax.jit(lambda v, x: model.apply(v, x, train=False))(conversion.variables, _nhwc(images))
    finally:
        del pose.VITPOSE["vit_test"]
    np.testing.assert_allclose(ours["heatmaps"], expected, atol=TOLERANCE, rtol=TOLERANCE)


def test_decode_heatmaps_finds_the_peak():
    yy, xx = np.mgrid[0:16, 0:12]
    peaks = [(5.3, 9.0), (0.0, 0.0)]  # (x, y) in heatmap cells
    maps = np.stack([np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2) for x, y in peaks], -1)[None]
    keypoints = np.asarray(decode_heatmaps(jnp.asarray(maps, jnp.float32), stride=4.0))
    np.testing.assert_allclose(keypoints[0, 0, :2], [5.25 * 4, 9.0 * 4])  # a quarter cell towards 5.3
    np.testing.assert_allclose(keypoints[0, 1, :2], [0.0, 0.0])
    np.testing.assert_allclose(keypoints[0, :, 2], [maps[0, 9, 5, 0], 1.0], rtol=1e-6)
