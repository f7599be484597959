"""Ball-spotting models: RegNetY sizes, temporal shifts on hand-made inputs, E2E-Spot and T-DEED
shapes, parameter counts and outputs against PyTorch references, training-mode behaviour.

Small models (a 4-stage RegNetY of widths 16-64) keep compilation short; the parameter counts of
the full-size models are checked from shapes only.
"""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from zoo.models.e2e_spot import BiGRU, E2ESpot
from zoo.models.grouped_conv import grouped_conv
from zoo.models.regnet import REGNETY, RegNetSpec, RegNetY
from zoo.models.sgp import SGPEncoderDecoder, adaptive_max_pool, linear_upsample, wide_kernel_size
from zoo.models.tdeed import TDEED, FrameHead
from zoo.models.temporal_shift import GateShift, fold_channels, tsm_shift

TINY = RegNetSpec(widths=(16, 32, 48, 64), depths=(1, 1, 1, 1), group_size=8)
BATCH, CLIP, SIZE = 2, 8, 64


def _count(tree) -> int:
    return sum(int(np.size(x)) for x in jax.tree.leaves(tree))


def _abstract(module, shape):
    return jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape), train=False))


def _random_variables(abstract, seed=0):
    """Random weights of the shapes in `abstract`, without compiling `init` (slow on CPU).

    Norm scales are 1 (also the last BN of each residual branch, which timm zero-initialises and
    which would block every gradient into the branch and its shift), biases and means 0,
    variances 1, other weights He-scaled normal.
    """
    rng = np.random.default_rng(seed)

    def leaf(path, shape):
        if path[-1] in ("scale", "var"):
            return np.ones(shape.shape, np.float32)
        if path[-1] in ("bias", "mean"):
            return np.zeros(shape.shape, np.float32)
        fan_in = int(np.prod(shape.shape[:-1])) or 1
        return (rng.normal(size=shape.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return {collection: traverse_util.unflatten_dict(
        {path: leaf(path, s) for path, s in traverse_util.flatten_dict(tree).items()})
        for collection, tree in abstract.items()}


@pytest.fixture(scope="module")
def frames():
    return jax.random.normal(jax.random.key(0), (BATCH, CLIP, SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def reference(torch):
    return importlib.import_module("tests.torch_ball_reference")


# ----------------------------------------------------------------------------- RegNetY


def test_regnety_stages_and_parameter_counts_equal_timm():
    assert REGNETY["regnety_002"] == RegNetSpec((24, 56, 152, 368), (1, 1, 4, 7), 8)
    assert REGNETY["regnety_008"] == RegNetSpec((64, 128, 320, 768), (1, 3, 8, 2), 16)
    # timm's counts with the 1000-class head (3,162,996 and 6,263,168) less the head (dim * 1000 + 1000).
    for name, total in (("regnety_002", 3_162_996), ("regnety_008", 6_263_168)):
        backbone = RegNetY(name)
        variables = _abstract(backbone, (1, 64, 64, 3))
        dim = REGNETY[name].num_features
        assert _count(variables["params"]) == total - (dim * 1000 + 1000)
        out = jax.eval_shape(lambda v, m=backbone: m.apply(v, jnp.zeros((3, 96, 160, 3)), train=False), variables)
        assert out.shape == (3, dim)


def test_shifts_sit_in_the_stages_the_originals_put_them():
    e2e = _abstract(E2ESpot(4, TINY, "gsm"), (1, 4, 32, 32, 3))["params"]["backbone"]
    tdeed = _abstract(TDEED(4, 4, TINY, "gsf"), (1, 4, 32, 32, 3))["params"]["backbone"]
    for stage, depth in zip(("s1", "s2", "s3", "s4"), TINY.depths):
        for block in range(1, depth + 1):
            assert set(e2e[stage][f"b{block}"]["shift"]) == {"bn", "gate"}  # GSM everywhere
            has_gsf = "shift" in tdeed[stage][f"b{block}"]
            assert has_gsf == (stage in ("s3", "s4"))  # GSF in the last two stages only
    assert set(tdeed["s3"]["b1"]["shift"]) == {"bn", "gate", "fuse_first", "fuse_second"}
    # The gate is a grouped Conv3d fold -> 2: one gate per half of the fold (48 // 4 = 12 channels).
    assert tdeed["s4"]["b1"]["shift"]["gate"]["kernel"].shape == (3, 3, 3, 6, 2)


# ----------------------------------------------------------------------------- temporal shifts


def _ramp(batch, clip, channels, size=2):
    """frames[b * clip + t, y, x, c] = 1000 b + 100 (t + 1) + c: each value tells where it came from."""
    b, t, c = np.meshgrid(np.arange(batch), np.arange(clip), np.arange(channels), indexing="ij")
    values = (1000 * b + 100 * (t + 1) + c).reshape(batch * clip, 1, 1, channels)
    return jnp.asarray(np.broadcast_to(values, (batch * clip, size, size, channels)), jnp.float32)


def test_tsm_takes_an_eighth_from_the_next_frame_and_one_from_the_previous():
    x = _ramp(2, 4, 16)
    out = np.asarray(tsm_shift(x, clip_len=4)).reshape(2, 4, 2, 2, 16)[:, :, 0, 0]
    want = np.asarray(x).reshape(2, 4, 2, 2, 16)[:, :, 0, 0].copy()
    source = want.copy()
    want[:, :3, 0:2], want[:, 3, 0:2] = source[:, 1:, 0:2], 0  # channels 0-1: frame t + 1
    want[:, 1:, 2:4], want[:, 0, 2:4] = source[:, :3, 2:4], 0  # channels 2-3: frame t - 1
    np.testing.assert_array_equal(out, want)  # clips never leak into each other


def _gate_shift_variables(module, x, clip, overrides):
    abstract = jax.eval_shape(lambda x: module.init(jax.random.key(0), x, clip, train=False), x)
    variables = _random_variables(abstract)
    params = variables["params"]
    for (name, leaf), value in overrides.items():
        params[name][leaf] = np.full_like(params[name][leaf], value)
    return {"params": params, "batch_stats": variables["batch_stats"]}


def _apply_jit(module, variables, x, clip):
    return jax.jit(lambda v, x: module.apply(v, x, clip, train=False))(variables, x)


def _interleaved(values):
    """The originals' channel order within each half of the fold: (a q) -> (q a)."""
    half = values.shape[-1] // 2
    return np.concatenate([
        values[..., :half].reshape(*values.shape[:-1], 2, half // 2).swapaxes(-1, -2).reshape(*values.shape[:-1], half),
        values[..., half:].reshape(*values.shape[:-1], 2, half // 2).swapaxes(-1, -2).reshape(*values.shape[:-1], half),
    ], axis=-1)


@pytest.mark.parametrize("fuse", [False, True])
def test_gate_shift_moves_the_gated_halves_of_the_fold_in_time(fuse):
    clip, channels = 4, 32
    fold = fold_channels(channels)
    assert fold == 8
    x = _ramp(2, clip, channels)
    module = GateShift(fuse=fuse)
    # Open gates (tanh(20) = 1) and, for GSF, fusion weights of 1: everything in the fold shifts.
    opened = {("gate", "kernel"): 0.0, ("gate", "bias"): 20.0}
    if fuse:
        opened |= {(f"fuse_{h}", leaf): v for h in ("first", "second") for leaf, v in (("kernel", 0.0), ("bias", 30.0))}
    out = np.asarray(_apply_jit(module, _gate_shift_variables(module, x, clip, opened), x, clip))
    source = np.asarray(x).reshape(2, clip, 2, 2, channels)[:, :, 0, 0]
    out = out.reshape(2, clip, 2, 2, channels)[:, :, 0, 0]
    shifted = np.zeros_like(source[..., :fold])
    shifted[:, :-1, :4] = source[:, 1:, :4]  # first half of the fold: from frame t + 1
    shifted[:, 1:, 4:8] = source[:, :-1, 4:8]  # second half: from frame t - 1
    np.testing.assert_allclose(out[..., :fold], _interleaved(shifted), atol=1e-3)
    np.testing.assert_array_equal(out[..., fold:], source[..., fold:])  # the rest passes unchanged

    # Closed gates (GSM's zero init), and GSF weights on the residual: nothing moves in time; only
    # the channel interleave remains.
    closed = {("gate", "kernel"): 0.0, ("gate", "bias"): 0.0}
    if fuse:
        closed |= {(f"fuse_{h}", leaf): v for h in ("first", "second") for leaf, v in (("kernel", 0.0), ("bias", -30.0))}
    out = np.asarray(_apply_jit(module, _gate_shift_variables(module, x, clip, closed), x, clip))
    np.testing.assert_allclose(out.reshape(2, clip, 2, 2, channels)[:, :, 0, 0, :fold],
                               _interleaved(source[..., :fold]), rtol=1e-6)


def test_gsf_fusion_weights_choose_between_shifted_and_residual():
    clip, channels = 4, 32
    x = _ramp(1, clip, channels)
    module = GateShift(fuse=True)
    half_gate = {("gate", "kernel"): 0.0, ("gate", "bias"): float(np.arctanh(0.5))}  # gate 0.5
    source = np.asarray(x).reshape(1, clip, 2, 2, channels)[:, :, 0, 0, :8]
    residual = 0.5 * source
    for bias, want in ((-30.0, residual), (0.0, None)):
        fused = {(f"fuse_{h}", leaf): v for h in ("first", "second") for leaf, v in (("kernel", 0.0), ("bias", bias))}
        out = np.asarray(_apply_jit(module, _gate_shift_variables(module, x, clip, half_gate | fused), x, clip))
        out = out.reshape(1, clip, 2, 2, channels)[:, :, 0, 0, :8]
        if want is None:  # weight 0.5: the mean of shifted and residual, zero-padded at the ends
            shifted = np.zeros_like(source)
            shifted[:, :-1, :4] = 0.5 * source[:, 1:, :4]
            shifted[:, 1:, 4:] = 0.5 * source[:, :-1, 4:]
            want = 0.5 * shifted + 0.5 * residual
        np.testing.assert_allclose(out, _interleaved(want), rtol=1e-5)


def test_shifts_refuse_frames_that_are_not_whole_clips():
    with pytest.raises(ValueError, match="not whole clips"):
        tsm_shift(jnp.zeros((6, 2, 2, 16)), clip_len=4)
    with pytest.raises(ValueError, match="not whole clips"):
        GateShift().init(jax.random.key(0), jnp.zeros((6, 2, 2, 16)), 4, train=False)


# ----------------------------------------------------------------------------- grouped convolutions


@pytest.mark.parametrize("method, window, strides, groups", [
    ("patches", (3, 3), (2, 2), 3),  # RegNet's strided group conv
    ("native_forward", (3, 3), (2, 1), 3),
    ("products", (3, 3, 3), (1, 1, 1), 2),  # GSM/GSF's gate
    ("products", (5,), (1,), 1),
])
def test_grouped_conv_methods_equal_xla_convolution_and_its_gradients(method, window, strides, groups):
    dims = len(window)
    x = jax.random.normal(jax.random.key(0), (2, *(7,) * dims, 6))
    kernel = jax.random.normal(jax.random.key(1), (*window, 6 // groups, 4 if groups != 3 else 3))
    padding = [(k // 2, k // 2) for k in window]
    numbers = ("N" + "DHW"[-dims:] + "C", "DHW"[-dims:] + "IO", "N" + "DHW"[-dims:] + "C")

    def xla(x, kernel):
        return jax.lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=numbers,
                                            feature_group_count=groups)

    def ours(x, kernel):
        return grouped_conv(x, kernel, strides=strides, padding=padding, groups=groups, method=method)

    @jax.jit
    def outputs_and_grads(x, kernel, probe):
        def both(conv):
            return conv(x, kernel), jax.grad(lambda x, k: jnp.sum(conv(x, k) * probe), argnums=(0, 1))(x, kernel)
        return both(ours), both(xla)

    probe = jax.random.normal(jax.random.key(2), jax.eval_shape(xla, x, kernel).shape)
    (got, got_grads), (want, want_grads) = outputs_and_grads(x, kernel, probe)
    np.testing.assert_allclose(got, want, atol=1e-5)
    for got_grad, want_grad in zip(got_grads, want_grads):
        np.testing.assert_allclose(got_grad, want_grad, atol=1e-4)


# ----------------------------------------------------------------------------- GRU and SGP pieces


def test_bigru_forward_half_sees_the_past_and_backward_half_the_future():
    gru = BiGRU(hidden=6, layers=1)
    x = jax.random.normal(jax.random.key(0), (1, 9, 5))
    variables = _random_variables(jax.eval_shape(lambda: gru.init(jax.random.key(1), x)))
    apply = jax.jit(gru.apply)
    base = np.asarray(apply(variables, x))
    changed = np.asarray(apply(variables, x.at[:, 4].add(1.0)))
    forward_moved = np.abs(changed - base)[0, :, :6].max(axis=-1)
    backward_moved = np.abs(changed - base)[0, :, 6:].max(axis=-1)
    assert (forward_moved[:4] == 0).all() and (forward_moved[4:] > 0).all()
    assert (backward_moved[5:] == 0).all() and (backward_moved[:5] > 0).all()


def test_bigru_equals_pytorch_gru(torch):
    torch_gru = torch.nn.GRU(5, 6, num_layers=3, batch_first=True, bidirectional=True)
    gru = BiGRU(hidden=6, layers=3)
    x = np.random.default_rng(0).normal(size=(2, 9, 5)).astype(np.float32)
    state = {k: v.detach().numpy() for k, v in torch_gru.state_dict().items()}
    names = {"input_kernel": "weight_ih", "input_bias": "bias_ih", "recurrent_kernel": "weight_hh",
             "recurrent_bias": "bias_hh"}
    params = {
        f"l{layer}_{direction}": {
            ours: state[f"{theirs}_l{layer}{'_reverse' if direction == 'backward' else ''}"].T
            for ours, theirs in names.items()}
        for layer in range(3) for direction in ("forward", "backward")}
    with torch.no_grad():
        want = torch_gru(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(np.asarray(gru.apply({"params": params}, jnp.asarray(x))), want, atol=1e-6)


def test_sgp_encoder_decoder_equals_pytorch(torch, reference):
    # Three levels on an odd length (10 -> 5 -> 3 -> 2 and back): skips meet the right mixers.
    torch_model = reference.SGPEncoderDecoder(32, num_layers=3, kernel=9, r=4.0)
    with torch.no_grad():
        for name, p in torch_model.named_parameters():
            if name.endswith("weight") and p.ndim == 1:  # norm scales away from 1
                p.uniform_(0.5, 1.5)
    model = SGPEncoderDecoder(num_layers=3, kernel_size=9, r=4.0)
    x = np.random.default_rng(0).normal(size=(2, 10, 32)).astype(np.float32)
    variables = reference.flax_variables(torch_model, jax.eval_shape(lambda: model.init(jax.random.key(0), x)))
    with torch.no_grad():
        want = torch_model(torch.from_numpy(x).transpose(1, 2)).transpose(1, 2).numpy()
    got = np.asarray(jax.jit(model.apply)(variables, x))
    np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())


def test_sgp_resampling_equals_pytorch(torch):
    functional = torch.nn.functional
    rng = np.random.default_rng(0)
    for length in (5, 8, 25):
        x = rng.normal(size=(2, length, 3)).astype(np.float32)
        out_len = -(-length // 2)
        want = functional.adaptive_max_pool1d(torch.from_numpy(x).transpose(1, 2), out_len).transpose(1, 2).numpy()
        np.testing.assert_array_equal(np.asarray(adaptive_max_pool(jnp.asarray(x), out_len)), want)
        up = functional.interpolate(torch.from_numpy(x).transpose(1, 2), size=2 * length + 1, mode="linear",
                                    align_corners=True).transpose(1, 2).numpy()
        np.testing.assert_allclose(np.asarray(linear_upsample(jnp.asarray(x), 2 * length + 1)), up, atol=1e-6)
    assert wide_kernel_size(9, 4) == 41 and wide_kernel_size(3, 1.5) == 7  # T-DEED's up_size rule


# ----------------------------------------------------------------------------- full models


def test_parameter_counts_of_the_full_size_models_equal_the_pytorch_references(reference):
    # E2E-Spot rny002_gsm + 1-layer biGRU (hidden 368); T-DEED rny002_gsf, clip 100, 2 levels, ks 9, r 4.
    cases = [
        (E2ESpot(12), reference.E2ESpot(12, 16), (1, 16, 32, 32, 3)),
        (E2ESpot(12, "regnety_008", "tsm", gru_layers=3),
         reference.E2ESpot(12, 16, reference.REGNETY_008, "tsm", gru_layers=3), (1, 16, 32, 32, 3)),
        (TDEED(12, 100), reference.TDEED(12, 100), (1, 100, 32, 32, 3)),
    ]
    for model, torch_model, shape in cases:
        variables = _abstract(model, shape)
        torch_params = sum(p.numel() for p in torch_model.parameters())
        torch_stats = sum(b.numel() for n, b in torch_model.named_buffers() if not n.endswith("num_batches_tracked"))
        assert (_count(variables["params"]), _count(variables["batch_stats"])) == (torch_params, torch_stats)


def _tiny_pair(reference, kind):
    """(clip length, PyTorch reference, Flax model) of a small E2E-Spot (GSM) or T-DEED (GSF)."""
    tiny = {"widths": TINY.widths, "depths": TINY.depths, "group_size": TINY.group_size}
    if kind == "e2e_spot":
        return CLIP, reference.E2ESpot(5, CLIP, tiny, "gsm"), E2ESpot(5, TINY, "gsm", dropout_rate=0.0)
    clip = 7  # odd: the encoder's max-pool has overlapping windows, the mixer upsamples 4 -> 7
    return (clip, reference.TDEED(5, clip, tiny, "gsf", n_layers=1, sgp_kernel=3, sgp_r=1.5),
            TDEED(5, clip, TINY, "gsf", n_layers=1, sgp_kernel=3, sgp_r=1.5, dropout_rate=0.0))


def _torch_grad(torch_model, key):
    grad = dict(torch_model.named_parameters())[key].grad.numpy()
    return np.transpose(grad, (*range(2, grad.ndim), 1, 0)) if grad.ndim > 2 else grad.T


@pytest.mark.parametrize("kind", ["e2e_spot", "tdeed"])
def test_training_step_equals_pytorch(torch, reference, kind):
    """Train mode, jitted: outputs (BN on batch statistics), gradients and the running-mean
    updates (momentum 0.1) equal the PyTorch reference's; dropout is off on both sides."""
    torch.manual_seed(0)  # the reference's own init and the gate weights below: the same every run
    clip, torch_model, model = _tiny_pair(reference, kind)
    frames = np.random.default_rng(1).normal(size=(BATCH, clip, 48, 48, 3)).astype(np.float32)
    with torch.no_grad():
        for name, p in torch_model.named_parameters():
            if "shift.gate" in name:  # GSM starts closed: open it so the shift matters
                p.normal_(0, 0.3)
            if name.startswith(("classifier", "class_head")):  # logits of O(1)
                p.mul_(20.0)
    reference.randomise_batch_norms(torch_model).train()
    for module in torch_model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    variables = reference.flax_variables(torch_model, _abstract(model, frames.shape))

    want = torch_model(torch.from_numpy(frames.transpose(0, 1, 4, 2, 3).copy()))
    want_loss = sum((v ** 2).mean() for v in want.values())
    want_loss.backward()

    @jax.jit
    def loss_and_grads(params, stats, frames):
        def loss(params):
            outputs, updates = model.apply({"params": params, "batch_stats": stats}, frames, train=True,
                                           rngs={"dropout": jax.random.key(0)}, mutable=["batch_stats"])
            return sum(jnp.mean(v ** 2) for v in outputs.values()), (outputs, updates)
        return jax.value_and_grad(loss, has_aux=True)(params)

    (loss, (outputs, updates)), grads = loss_and_grads(variables["params"], variables["batch_stats"], frames)
    assert set(outputs) == set(want)
    for key, value in want.items():
        value = value.detach().numpy()
        assert outputs[key].shape == value.shape and np.abs(value).max() > 0.5
        np.testing.assert_allclose(np.asarray(outputs[key]), value, atol=5e-5 * np.abs(value).max(), err_msg=key)
    np.testing.assert_allclose(float(loss), want_loss.item(), rtol=1e-4)

    assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))
    head = "classifier" if kind == "e2e_spot" else "class_head"
    checked = {
        ("backbone", "stem", "conv", "kernel"): "backbone.stem.conv.weight",
        ("backbone", "s4", "b1", "shift", "gate", "kernel"): "backbone.s4.b1.shift.gate.weight",
        ("backbone", "s2", "b1", "conv2", "conv", "kernel"): "backbone.s2.b1.conv2.conv.weight",
        (head, *(("kernel",) if kind == "e2e_spot" else ("fc", "kernel"))): f"{head}{'' if kind == 'e2e_spot' else '.fc'}.weight",
    }
    flat_grads = traverse_util.flatten_dict(grads)
    for path, key in checked.items():
        want_grad = _torch_grad(torch_model, key)
        assert np.abs(want_grad).max() > 0, key
        np.testing.assert_allclose(np.asarray(flat_grads[path]), want_grad, atol=1e-4 * np.abs(want_grad).max(),
                                   err_msg=key)

    # Running means move like PyTorch's (momentum 0.1), backbone and shift BNs alike.
    new_stats = traverse_util.flatten_dict(updates["batch_stats"])
    for path, key in ((("backbone", "stem", "bn", "mean"), "backbone.stem.bn.running_mean"),
                      (("backbone", "s4", "b1", "shift", "bn", "mean"), "backbone.s4.b1.shift.bn.running_mean")):
        want_mean = torch_model.state_dict()[key].numpy()
        assert not np.allclose(traverse_util.flatten_dict(variables["batch_stats"])[path], want_mean)
        np.testing.assert_allclose(np.asarray(new_stats[path]), want_mean, atol=1e-5, err_msg=key)


def test_team_joint_configuration_has_class_times_team_columns_and_no_team_head(frames):
    k = 12
    tdeed = TDEED(2 * k, CLIP, TINY, team_head=False)
    outputs = jax.eval_shape(lambda: tdeed.init_with_output(jax.random.key(0), frames, train=False)[0])
    assert {key: v.shape for key, v in outputs.items()} == {
        "class_logits": (BATCH, CLIP, 2 * k + 1), "displacement": (BATCH, CLIP)}
    e2e = E2ESpot(2 * k, TINY)
    outputs = jax.eval_shape(lambda: e2e.init_with_output(jax.random.key(0), frames, train=False)[0])
    assert outputs["class_logits"].shape == (BATCH, CLIP, 2 * k + 1)
    no_displacement = TDEED(k, CLIP, TINY, displacement=False, team_head=False)
    outputs = jax.eval_shape(lambda: no_displacement.init_with_output(jax.random.key(0), frames, train=False)[0])
    assert set(outputs) == {"class_logits"}


def test_models_refuse_inputs_and_options_they_do_not_support(frames):
    with pytest.raises(ValueError, match="TDEED expects frames"):
        _abstract(TDEED(3, CLIP + 1, TINY), frames.shape)
    with pytest.raises(ValueError, match="GSF is T-DEED's"):
        _abstract(E2ESpot(3, TINY, "gsf"), frames.shape)
    with pytest.raises(ValueError, match="Unknown backbone"):
        _abstract(E2ESpot(3, "regnety_004"), frames.shape)
    with pytest.raises(ValueError, match="Unknown temporal shift"):
        _abstract(E2ESpot(3, TINY, "shift"), frames.shape)


def test_heads_drop_out_in_training_with_the_dropout_rng_only():
    head = FrameHead(4, dropout_rate=0.5)
    x = jnp.ones((2, 8, 32))
    variables = _random_variables(jax.eval_shape(lambda: head.init(jax.random.key(0), x, train=False)))
    train = jax.jit(lambda rng: head.apply(variables, x, train=True, rngs={"dropout": rng}))
    first, second = train(jax.random.key(1)), train(jax.random.key(2))
    assert not np.allclose(first, second)
    evaluation = np.asarray(head.apply(variables, x, train=False))
    kernel, bias = variables["params"]["fc"]["kernel"], variables["params"]["fc"]["bias"]
    np.testing.assert_allclose(evaluation, np.ones((2, 8, 32)) @ kernel + bias, rtol=1e-5)
