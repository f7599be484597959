"""ASTRA, the temporal Transformer head: model, targets, loss, mixup, inference, and end to end on
synthetic SoccerNet-v2 (train a few steps, spot, write the official files, score them)."""

from __future__ import annotations

import argparse
import glob
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs.action_spotting import transformer
from zoo import models
from zoo.data import feature_chunks, feature_halves
from zoo.formats import spotting as spotting_format
from zoo.formats.validate import validate
from zoo.losses import chunk_spotting
from zoo.models.astra import ASTRA, DecoderLayer, EncoderLayer, random_switch, segment_mask
from zoo.postprocess.chunk_spots import chunk_outputs, spot_scores, vote_scores
from zoo.errors import UserError
from zoo.tasks import action_spotting, get_task
from zoo.train import train_and_evaluate
from zoo.train import mesh as mesh_lib
from zoo.train.evaluation import restore_stage
from zoo.train.task import Models

from tests.official_spotting import official_scores, written_games
from tests.keras_resnet_files import TINY_RESNET, flax_layout_h5, random_pca, write_video
from zoo.models.keras_resnet import STAGE_SIZES

K = len(spotting_format.CLASSES_V2)


# ----------------------------------------------------------------------------- model


def astra_parameters(groups, dim, input_frames, output_frames, encoder_layers, decoder_layers, classes=K):
    """ASTRA's parameter count, layer by layer, from the architecture (the module docstring)."""
    dense = lambda i, o: i * o + o  # noqa: E731
    attention = 4 * dense(dim, dim)
    norm = 2 * dim
    feed_forward = dense(dim, 4 * dim) + dense(4 * dim, dim)
    total = sum(dense(g, g) + dense(g, dim) for g in groups)  # per-group PFFNs
    total += sum(groups)  # the temporal-drop embedding
    total += input_frames * dim + len(groups) * dim + output_frames * dim  # encodings and queries
    total += encoder_layers * (attention + 2 * norm + feed_forward)
    total += decoder_layers * (2 * attention + 3 * norm + feed_forward)
    total += dense(dim, dim) + dense(dim, classes + 1)  # class head
    total += 2 * dense(dim, dim) + 2 * dense(dim, classes + 1)  # displacement trunk, mean, log-variance
    return total


def test_astra_shapes_and_parameter_count():
    groups, input_frames = (16, 8, 24), 10  # three feature groups at half the output rate, as Baidu's
    model = ASTRA(num_classes=K, feature_groups=groups, input_frames=input_frames, output_frames=20, dim=32,
                  heads=4, encoder_splits=(4, 2, 1), decoder_layers=2)
    features = jnp.ones((3, input_frames, sum(groups)))
    variables = jax.eval_shape(model.init, {"params": jax.random.key(0), "dropout": jax.random.key(1)}, features)
    outputs = jax.eval_shape(model.apply, variables, features)
    assert {k: v.shape for k, v in outputs.items()} == {
        "class_logits": (3, 20, K + 1), "displacement": (3, 20, K + 1), "log_variance": (3, 20, K + 1)}
    count = sum(x.size for x in jax.tree.leaves(variables["params"]))
    assert count == astra_parameters(groups, 32, input_frames, 20, 3, 2)
    with pytest.raises(ValueError, match=r"takes \[batch, %d, %d\] features" % (input_frames, sum(groups))):
        jax.eval_shape(model.apply, variables, jnp.ones((1, input_frames + 1, sum(groups))))


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")
def test_split_encoder_layer_is_the_layer_run_on_each_segment():
    """ASTRA cuts the tokens into pieces (n // s tokens, the last takes the rest) and runs the layer on each."""
    layer = EncoderLayer(heads=2, mlp_dim=16)
    tokens = jax.random.normal(jax.random.key(0), (2, 11, 8))
    apply = jax.jit(lambda v, x, mask: layer.apply(v, x, mask, train=False))
    variables = jax.jit(lambda x: layer.init(jax.random.key(1), x, None, train=False))(tokens)
    masked = apply(variables, tokens, segment_mask(11, 3))
    pieces = [apply(variables, tokens[:, a:b], None) for a, b in ((0, 3), (3, 6), (6, 11))]
    np.testing.assert_allclose(masked, jnp.concatenate(pieces, axis=1), atol=1e-5)


def _torch_mha_to_flax(torch_mha, heads):
    d = torch_mha.embed_dim
    w = torch_mha.in_proj_weight.detach().numpy()
    b = torch_mha.in_proj_bias.detach().numpy()
    params = {}
    for i, name in enumerate(("query", "key", "value")):
        params[name] = {"kernel": w[i * d:(i + 1) * d].T.reshape(d, heads, d // heads),
                        "bias": b[i * d:(i + 1) * d].reshape(heads, d // heads)}
    params["out"] = {"kernel": torch_mha.out_proj.weight.detach().numpy().T.reshape(heads, d // heads, d),
                     "bias": torch_mha.out_proj.bias.detach().numpy()}
    return params


def _torch_linear(linear):
    return {"kernel": linear.weight.detach().numpy().T, "bias": linear.bias.detach().numpy()}


def _torch_norm(norm):
    return {"scale": norm.weight.detach().numpy(), "bias": norm.bias.detach().numpy()}


def test_transformer_layers_equal_pytorchs(torch):
    """ASTRA builds its encoder and decoder from torch.nn.TransformerEncoderLayer / DecoderLayer."""
    torch.manual_seed(0)
    d, heads = 16, 4
    encoder = torch.nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, batch_first=True).eval()
    decoder = torch.nn.TransformerDecoderLayer(d, heads, dim_feedforward=4 * d, batch_first=True).eval()
    x, memory = torch.randn(2, 7, d), torch.randn(2, 9, d)
    with torch.no_grad():
        expected_encoded, expected_decoded = encoder(x).numpy(), decoder(x, memory).numpy()
    encoder_params = {"self_attention": _torch_mha_to_flax(encoder.self_attn, heads),
                      "linear1": _torch_linear(encoder.linear1), "linear2": _torch_linear(encoder.linear2),
                      "norm1": _torch_norm(encoder.norm1), "norm2": _torch_norm(encoder.norm2)}
    decoder_params = {"self_attention": _torch_mha_to_flax(decoder.self_attn, heads),
                      "cross_attention": _torch_mha_to_flax(decoder.multihead_attn, heads),
                      "linear1": _torch_linear(decoder.linear1), "linear2": _torch_linear(decoder.linear2),
                      **{f"norm{i}": _torch_norm(getattr(decoder, f"norm{i}")) for i in (1, 2, 3)}}
    encoded = jax.jit(lambda p, x: EncoderLayer(heads, 4 * d).apply({"params": p}, x, None, train=False))(
        encoder_params, x.numpy())
    decoded = jax.jit(lambda p, x, m: DecoderLayer(heads, 4 * d).apply({"params": p}, x, m, train=False))(
        decoder_params, x.numpy(), memory.numpy())
    np.testing.assert_allclose(encoded, expected_encoded, atol=2e-5)
    np.testing.assert_allclose(decoded, expected_decoded, atol=2e-5)


def test_random_switch_is_astras_in_place_swap():
    features = jnp.arange(2 * 12, dtype=jnp.float32).reshape(2, 12, 1)
    key = jax.random.key(3)
    got = np.asarray(random_switch(key, features, 0.4))[..., 0]
    drawn = np.asarray(jax.random.bernoulli(key, 0.4, (2, 12)).at[:, -1].set(False))
    expected = np.asarray(features)[..., 0].copy()
    for b in range(2):  # x[i], x[i + 1] = x[i + 1], x[i] over all drawn i at once
        index = np.flatnonzero(drawn[b])
        original = expected[b].copy()
        expected[b, index] = original[index + 1]
        expected[b, index + 1] = original[index]
    np.testing.assert_array_equal(got, expected)
    assert drawn.any()


# ----------------------------------------------------------------------------- targets and loss


def test_chunk_targets_radii_displacement_and_nearest_event():
    # Chunk of steps [100, 130); events of class 3 at steps 110 and 116, class 0 at 98 (before the chunk).
    targets = chunk_spotting.chunk_targets([110, 116, 98], [3, 3, 0], start=100, steps=30, num_classes=K,
                                           class_radius=4, displacement_radius=6)
    column = 3 + 1
    assert np.flatnonzero(targets["class_targets"][:, column]).tolist() == list(range(6, 21))  # 106..120
    assert np.flatnonzero(targets["class_targets"][:, 1]).tolist() == [0, 1, 2]  # 98 reaches 100..102
    assert targets["class_targets"][:, 0].tolist() == [
        float(not (s <= 2 or 6 <= s <= 20)) for s in range(30)]  # background where no class is
    mask = targets["displacement_mask"][:, column]
    assert np.flatnonzero(mask).tolist() == list(range(4, 23))  # 104..122
    # step - nearest event: 110 owns 104..113, 116 owns 113 (tie: the later) .. 122.
    expected = [s - 110 if s < 113 else s - 116 for s in range(104, 123)]
    assert targets["displacement"][4:23, column].tolist() == expected
    assert targets["displacement"][:, 1][:6].tolist() == [2, 3, 4, 5, 6, 0] and mask[:4].sum() == 0


def test_loss_is_astras_focal_bce_and_weighted_log_likelihood():
    rng = np.random.default_rng(0)
    b, t, c = 2, 12, K + 1
    batch = {"class_targets": (rng.uniform(size=(b, t, c)) > 0.8).astype(np.float32),
             "displacement": rng.normal(size=(b, t, c)).astype(np.float32),
             "displacement_mask": (rng.uniform(size=(b, t, c)) > 0.5).astype(np.float32)}
    outputs = {k: rng.normal(size=(b, t, c)).astype(np.float32)
               for k in ("class_logits", "displacement", "log_variance")}
    loss = chunk_spotting.chunk_spotting_loss(class_weight=100.0, displacement_weight=1.0, uncertainty=True,
                                              uncertainty_alpha=0.3, dilation=5)
    total, metrics = loss(outputs, batch)
    p = 1 / (1 + np.exp(-outputs["class_logits"].astype(np.float64)))
    y = batch["class_targets"]
    focal = -(np.log(p + 7e-5) * y + np.log(1 - p + 7e-5) * (1 - y)) * np.abs(y - p)
    dilated = np.stack([[y[i, max(0, s - 2):s + 3].max(0) for s in range(t)] for i in range(b)])
    d, mu, log_var = batch["displacement"], outputs["displacement"], outputs["log_variance"]
    nll = 0.3 * (d - mu) ** 2 / np.exp(log_var) + 0.7 * log_var
    expected = 100 * focal.mean() + (nll * dilated * batch["displacement_mask"]).sum() / (b * t)
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert float(metrics["class_loss"][1]) == b * t * c


# ----------------------------------------------------------------------------- mixup and inference


def _tiny_config(root=None, data_dir=None):
    config = transformer.get_config("tiny")
    if root:
        config.data.manual_dir, config.data.data_dir = root, data_dir
    return config


def test_balanced_mixup_blends_with_a_partner_that_holds_the_drawn_class():
    config = _tiny_config()
    rng = np.random.default_rng(0)
    events = [spotting_format.Annotation(half=1, game_time_s=s, position_ms=1000 * s, label=label,
                                         visibility="visible", team="home")
              for s, label in ((3, "Goal"), (30, "Corner"), (52, "Goal"))]
    half = feature_halves.Half("g", 1, rng.normal(size=(120, 512)).astype(np.float32), tuple(events))
    source = feature_chunks.training_source(config, [half])
    mixup = feature_chunks.BalancedMixup(source, alpha=1.0, beta=0.6)
    assert {2 + 1, 13 + 1, 0} <= {i for i, c in enumerate(source.chunks_with_class()) if len(c)}
    batch = {k: np.stack([source[i][k] for i in (0, 1)]) for k in source[0]}
    mixed = mixup.random_map(batch, np.random.default_rng(1))
    assert mixed["inputs"].shape == batch["inputs"].shape
    # One weight for the batch: recover it from a class target that is 1 in the clip and 0 in the partner.
    assert ((mixed["class_targets"] >= 0) & (mixed["class_targets"] <= 1)).all()
    own = batch["displacement_mask"] > 0
    np.testing.assert_array_equal(mixed["displacement_mask"] > 0, own | (mixed["displacement_mask"] > 0))
    only_own = own & ~(mixed["displacement_mask"] - own > 0)  # kept where only the clip had one
    assert np.isfinite(mixed["displacement"]).all() and only_own.any()


def astra_snms(scores: np.ndarray, window: float, threshold: float):
    """ASTRA's soft NMS of one class (train.py get_spot_from_SNMS, pow2 decay), from its description."""
    values, kept = scores.astype(np.float64).copy(), []
    while values.max() >= threshold:
        peak = int(np.argmax(values))
        kept.append((peak, values[peak]))
        lo, hi = int(max(peak - window / 2, 0)), min(peak + int(window / 2), len(values) - 1) + 1
        weight = np.abs(np.arange(lo - peak, hi - peak)) ** 2 / (window / 2) ** 2
        values[lo:hi] *= weight
        values[lo:hi][values[lo:hi] < threshold] = -1
    return sorted(kept)


def test_votes_follow_the_displacement_and_soft_nms_is_astras():
    outputs = {"class_logits": np.full((2, 4, K + 1), -9.0), "displacement": np.zeros((2, 4, K + 1))}
    outputs["class_logits"][0, 1, 3] = 2.0  # class 2, chunk 0 (first step 0), step 1, event 1.6 steps back
    outputs["displacement"][0, 1, 3] = 1.6
    outputs["class_logits"][1, 0, 3] = 0.0  # chunk 1 (first step 8), p = 0.5 at step 8, displaced to 5.5 -> 6
    outputs["displacement"][1, 0, 3] = 2.5
    probabilities, displacement = chunk_outputs([lambda chunks: outputs], np.zeros((2, 4, 1)))
    scores = vote_scores(probabilities, displacement, np.array([0, 8]), num_steps=12, threshold=0.01)
    assert np.flatnonzero(scores[:, 2]).tolist() == [0, 6]  # round(1 - 1.6) clipped to 0; rint(5.5) = 6
    assert scores[0, 2] == pytest.approx(1 / (1 + np.exp(-2.0))) and scores[:, [0, 1, 3]].max() == 0

    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(200, 3)) ** 4
    windows_s = np.array([5, 7, 12])
    frame, klass, confidence = spot_scores(scores, windows=windows_s * 2 / 2, threshold=0.01)
    for c in range(3):
        expected = astra_snms(scores[:, c], window=windows_s[c] * 2, threshold=0.01)
        got = sorted(zip(frame[klass == c].tolist(), confidence[klass == c].tolist()))
        assert [f for f, _ in got] == [f for f, _ in expected]
        np.testing.assert_allclose([v for _, v in got], [v for _, v in expected])


def test_config_sizes_are_checked():
    config = transformer.get_config("tiny")
    feature_chunks.check_config(config)
    assert feature_chunks.model_extras(config) == {"num_classes": K, "feature_groups": (512,), "input_frames": 20,
                                                   "output_frames": 20}
    baseline = transformer.get_config("baseline")
    assert feature_chunks.model_extras(baseline)["feature_groups"] == (2048, 2048, 384, 2048, 2048)
    assert feature_chunks.model_extras(baseline)["input_frames"] == 50  # 50 s at 1 fps -> 100 outputs at 2/s
    models.build(baseline.model, **feature_chunks.model_extras(baseline))  # every config field is a model field
    config.data.features = "baidu_soccer_embeddings"
    with pytest.raises(ValueError, match="framerate=2, but baidu_soccer_embeddings features are at 1"):
        feature_chunks.check_config(config)
    config = transformer.get_config("tiny")
    config.eval.nms_window_seconds = (5, 7)
    with pytest.raises(ValueError, match="nms_window_seconds has 2 windows; one per class"):
        feature_chunks.check_config(config)


# ----------------------------------------------------------------------------- end to end


def test_trains_spots_writes_official_files_and_scores_them_as_the_official_evaluator(tmp_path, monkeypatch):
    config = _tiny_config()  # the synthetic default, on the fewest games
    config.data.synthetic.games_per_split = {"train": 1, "valid": 1, "test": 1, "challenge": 1}
    config.data.synthetic.half_seconds = 60  # the official evaluator's loops cost most of this test
    config.train.num_steps = config.train.checkpoint_every_steps = 2
    workdir = str(tmp_path / "run")
    scores = train_and_evaluate(config, workdir, action_spotting.TASK)
    out = os.path.join(workdir, "predictions", "test_step2")  # evaluate_checkpoint: test_calf_end_to_end.py
    assert validate("action_spotting", out + ".zip") == []
    written = json.load(open(glob.glob(os.path.join(out, "*", "*", "*", spotting_format.PREDICTION_FILE))[0]))
    assert written["predictions"]  # at the output rate, 2 per second: positions are multiples of 500 ms
    assert all(int(p["position"]) % 500 == 0 for p in written["predictions"])
    root = os.path.join(workdir, "synthetic_soccernet_v2")
    for metric in ("tight",):  # loose: the same code path with more tolerances, twice the time
        official = official_scores(root, out + ".zip", written_games(out), metric)
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            assert scores.headline[f"{key}_{metric}"] == pytest.approx(official[key], abs=1e-9)

    # zoo.predict action_spotting --video: the official features of a video, then the model.
    video = tmp_path / "my match.mp4"
    write_video(video, 100)  # 4 s at 25 fps -> 8 feature frames (one chunk, padded)
    monkeypatch.setitem(STAGE_SIZES, "resnet50", TINY_RESNET)  # the command's paths, a small network
    flax_layout_h5(tmp_path / "resnet.h5", "resnet50", np.random.default_rng(0))
    random_pca(tmp_path / "pca.npz", np.random.default_rng(1))
    predict_file = action_spotting.TASK.predict_file
    parser = argparse.ArgumentParser()
    predict_file.add_arguments(parser)
    args = parser.parse_args(["--video", str(video), "--out", str(tmp_path / "results_spotting.json"),
                              "--weights", str(tmp_path / "resnet.h5"), "--pca", str(tmp_path / "pca.npz"),
                              "--batch-size", "4"])
    args.arch, args.quiet = "resnet50", True
    predict_file.check_args(args)
    with pytest.raises(UserError, match="nope.mkv: no such file .--video."):
        predict_file.check_args(parser.parse_args(["--video", str(tmp_path / "nope.mkv")]))
    stage = restore_stage("model", workdir, get_task, mesh_lib.local_mesh())
    summary = predict_file.run(stage.config, Models(own=stage), args)
    found = spotting_format.read_predictions(args.out)  # the official reader's rules, unknown labels refused
    assert summary.startswith(f"{len(found.half)} actions in") and len(found.half)
    assert set(found.half.tolist()) == {1} and (found.position_ms <= 4_000).all() and (found.confidence >= 0).all()
