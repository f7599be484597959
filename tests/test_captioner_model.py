"""The captioner (NetVLAD++ encoder, LSTM or Transformer decoder): tiny-config shapes and
parameter counts, generation consistent with teacher forcing, the LSTM equal to the baseline's
PyTorch decoder, and the encoder transfer to the spotter. The default run keeps the LSTM's shapes and
the transfer's parameter mapping; the rest compiles for seconds each and runs with ZOO_SLOW_TESTS=1."""

from __future__ import annotations

import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from configs.captioning import netvlad_lstm
from configs.captioning import spotter as spotter_config
from zoo.models import build
from zoo.models.captioner import Captioner, NetVLADPlusPlusEncoder

WORDS, DIM, FRAMES, LENGTH = 20, 24, 10, 7
TINY = dict(num_words=WORDS, vocab_size=8, projection_dim=16, embed_dim=8, hidden_dim=16, num_layers=2,
            num_heads=2, mlp_dim=32, max_length=LENGTH)
BANNED = (0, 1, 3)
SLOW = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


def _count(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree))


def init(model, inputs, seed: int = 0):
    """Random variables of the model's shapes: normal / sqrt(fan-in) numpy values (compiling
    `model.init`, all those random-number generators, would take most of this module's time)."""
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), inputs, train=False))
    rng = np.random.default_rng(seed)

    def leaf(path, shape):
        name = path[-1].key
        if name in ("bias", "scale"):
            return np.full(shape.shape, float(name == "scale"), shape.dtype)
        return (rng.normal(size=shape.shape) / np.sqrt(shape.shape[0])).astype(shape.dtype)

    return jax.tree_util.tree_map_with_path(leaf, shapes)


def apply(model, variables, inputs, **kwargs):
    return jax.jit(lambda variables, inputs: model.apply(variables, inputs, train=False, **kwargs))(variables, inputs)


@pytest.fixture(scope="module")
def features():
    return jax.random.normal(jax.random.key(1), (5, FRAMES, DIM))


@pytest.fixture(scope="module", params=["lstm", pytest.param("transformer", marks=SLOW)])
def captioner(request, features):
    model = Captioner(decoder=request.param, **TINY)
    tokens = jnp.ones((1, LENGTH), jnp.int32)
    # normal / sqrt(fan-in) weights: peaky enough that greedy and beam search differ.
    return model, init(model, {"features": features[:1], "tokens": tokens})


def test_shapes_and_parameter_count(captioner, features):
    model, variables = captioner
    params = variables["params"]
    assert set(params) == {"encoder", "decoder"}
    assert set(params["encoder"]) == {"projection", "vlad_before", "vlad_after"}
    encoder = DIM * 16 + 16 + 2 * 2 * 16 * 4  # projection 24 -> 16; each half: two [16, 4] matrices
    code = 16 * 8
    if model.decoder == "lstm":
        # Initial state code -> 16 -> 16; embedding; 2 LSTM layers (input 8, then 16); classifier.
        decoder = (code * 16 + 16) + (16 * 16 + 16) + WORDS * 8 + (4 * 8 * 16 + 4 * (16 * 16 + 16)) \
            + (4 * 16 * 16 + 4 * (16 * 16 + 16)) + (16 * WORDS + WORDS)
    else:
        # Memory projection + norm + cluster positions; embedding; positions; 2 blocks (3 norms, self and
        # cross attention with 4 [16, 16] projections + biases, MLP 16 -> 32 -> 16); final norm; classifier.
        block = 3 * 32 + 2 * 4 * (16 * 16 + 16) + (16 * 32 + 32) + (32 * 16 + 16)
        decoder = (16 * 16 + 16) + 32 + 8 * 16 + WORDS * 16 + LENGTH * 16 + 2 * block + 32 + (16 * WORDS + WORDS)
    assert _count(params) == encoder + decoder
    logits = apply(model, variables, {"features": features, "tokens": jnp.ones((5, LENGTH), jnp.int32)})
    assert logits.shape == (5, LENGTH, WORDS)
    out = apply(model, variables, {"features": features})
    assert out["tokens"].shape == (5, LENGTH) and out["tokens"].dtype == jnp.int32 and out["score"].shape == (5,)
    # Initialising for generation alone creates the same parameters.
    alone = jax.eval_shape(lambda: model.init(jax.random.key(0), {"features": features[:1]}, train=False))
    assert jax.tree.map(jnp.shape, alone) == jax.tree.map(jnp.shape, variables)


def _teacher_forced_log_prob(model, variables, features, tokens):
    """Summed log-probabilities of generated tokens under teacher forcing (up to the end token)."""
    tokens = np.asarray(tokens)
    inputs = np.concatenate([np.ones((len(tokens), 1), np.int32), tokens[:, :-1]], axis=1)
    logits = apply(model, variables, {"features": features, "tokens": jnp.asarray(inputs)})
    logits = logits.at[:, :, jnp.asarray(BANNED)].set(-jnp.inf).at[:, 0, 2].set(-jnp.inf)
    log_probs = np.asarray(jax.nn.log_softmax(logits))
    chosen = np.take_along_axis(log_probs, tokens[:, :, None], axis=2)[:, :, 0]
    before_end = np.cumsum(np.concatenate([np.zeros((len(tokens), 1)), tokens[:, :-1] == 2], axis=1), axis=1) == 0
    return np.where(before_end, chosen, 0.0).sum(axis=1), log_probs


@SLOW
def test_generation_agrees_with_teacher_forcing(captioner, features):
    """The step-by-step decoder (LSTM carries, Transformer key/value cache) computes what teacher
    forcing computes: greedy tokens are the argmax there and scores are their log-probabilities."""
    model, variables = captioner
    greedy = apply(model, variables, {"features": features})
    log_prob, log_probs = _teacher_forced_log_prob(model, variables, features, greedy["tokens"])
    np.testing.assert_allclose(greedy["score"], log_prob, rtol=1e-4, atol=1e-4)
    tokens = np.asarray(greedy["tokens"])
    for row in range(len(tokens)):
        for i, token in enumerate(tokens[row]):
            assert token == np.argmax(log_probs[row, i])
            if token == 2:
                break
    beam = apply(model.clone(beam_width=3), variables, {"features": features})
    beam_log_prob, _ = _teacher_forced_log_prob(model, variables, features, beam["tokens"])
    np.testing.assert_allclose(beam["score"], beam_log_prob, rtol=1e-4, atol=1e-4)
    assert (beam["score"] >= greedy["score"] - 1e-4).all()  # a wider search never scores lower
    assert (np.asarray(beam["tokens"]) != tokens).any()  # and here finds other captions


@SLOW
def test_dropout_only_in_training(features):
    model = Captioner(decoder="lstm", **{**TINY, "dropout_rate": 0.5})
    inputs = {"features": features, "tokens": jnp.ones((5, LENGTH), jnp.int32)}
    variables = init(model, inputs)
    evaluation = apply(model, variables, inputs)
    train = jax.jit(lambda key: model.apply(variables, inputs, train=True, rngs={"dropout": key}))
    trained = [train(jax.random.key(i)) for i in range(2)]
    assert not np.allclose(trained[0], trained[1]) and not np.allclose(trained[0], evaluation)


@SLOW
def test_lstm_equals_the_baseline_decoder_in_pytorch(torch, features):
    from tests import torch_caption_reference as reference

    model = Captioner(decoder="lstm", **TINY)
    variables = jax.tree.map(lambda x: 3 * x, init(model, {"features": features, "tokens": jnp.ones((5, LENGTH), jnp.int32)}))
    code = NetVLADPlusPlusEncoder(8, 16).apply({"params": variables["params"]["encoder"]}, features)
    decoder = reference.load_flax_params(reference.LSTMDecoder(code.shape[1], WORDS, 8, 16, 2),
                                         variables["params"]["decoder"])
    torch_code = torch.from_numpy(np.array(code))
    tokens = np.random.default_rng(0).integers(0, WORDS, (5, LENGTH))
    expected = decoder(torch_code, torch.from_numpy(tokens)).detach().numpy()
    logits = apply(model, variables, {"features": features, "tokens": jnp.asarray(tokens, jnp.int32)})
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
    settings = dict(start_token=1, end_token=2, max_length=LENGTH, banned=BANNED)
    greedy = apply(model, variables, {"features": features})["tokens"]
    np.testing.assert_array_equal(greedy, reference.greedy(decoder, torch_code, **settings).numpy())
    beam = apply(model.clone(beam_width=4, length_penalty=0.6), variables, {"features": features})
    expected = reference.beam_search(decoder, torch_code, beam_width=4, length_penalty=0.6, **settings)
    np.testing.assert_array_equal(beam["tokens"], expected.numpy())


@pytest.mark.parametrize("variant", ["tiny", "synthetic", "baseline"])
def test_the_captioner_encoder_initialises_the_spotter(variant):
    """The spotter config's init_from_rename / init_from_exclude map every captioner leaf that is
    kept onto a spotter leaf of the same shape, and only the classifier stays fresh; the spotter
    then pools exactly as the captioner's encoder."""
    captioner_config, spotter = netvlad_lstm.get_config(variant), spotter_config.get_config(variant)
    captioner_config.model.num_words = WORDS
    dim = 8576 if variant == "baseline" else 512
    window = np.zeros((1, 6, dim), np.float32)
    captioner_model, spotter_model = build(captioner_config.model), build(spotter.model, num_classes=1)
    captioner_params = jax.eval_shape(lambda: captioner_model.init(
        jax.random.key(0), {"features": window, "tokens": np.zeros((1, 3), np.int32)}, train=False))["params"]
    spotter_params = jax.eval_shape(lambda: spotter_model.init(jax.random.key(0), window, train=False))["params"]
    kept = {}
    for path, leaf in traverse_util.flatten_dict(captioner_params, sep="/").items():
        if any(re.search(pattern, path) for pattern in spotter.init_from_exclude):
            continue
        for pattern, replacement in spotter.init_from_rename:
            path = re.sub(pattern, replacement, path)
        kept[path] = leaf.shape
    spotter_leaves = {k: v.shape for k, v in traverse_util.flatten_dict(spotter_params, sep="/").items()}
    assert kept and all(spotter_leaves.get(path) == shape for path, shape in kept.items())
    assert {path.split("/")[0] for path in set(spotter_leaves) - set(kept)} == {"classifier"}
    assert ("projection/kernel" in kept) == (dim != spotter.model.projection_dim)


@SLOW
def test_transferred_encoder_pools_as_in_the_captioner(features):
    captioner = Captioner(decoder="lstm", **TINY)
    variables = init(captioner, {"features": features, "tokens": jnp.ones((5, 3), jnp.int32)})
    spotter = build({"name": "netvlad_pp", "vocab_size": 8, "projection_dim": 16, "dropout_rate": 0.4}, num_classes=1)
    fresh = init(spotter, features)["params"]
    params = {**variables["params"]["encoder"], "classifier": fresh["classifier"]}
    code = NetVLADPlusPlusEncoder(8, 16).apply({"params": variables["params"]["encoder"]}, features)
    expected = code @ fresh["classifier"]["kernel"] + fresh["classifier"]["bias"]
    np.testing.assert_allclose(apply(spotter, {"params": params}, features), expected, rtol=1e-5, atol=1e-6)


def test_unknown_decoder():
    with pytest.raises(ValueError, match="Unknown decoder 'gru'"):
        jax.eval_shape(lambda: Captioner(num_words=5, decoder="gru").init(
            jax.random.key(0), {"features": jnp.zeros((1, 4, 8))}, train=False))
