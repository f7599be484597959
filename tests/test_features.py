"""`zoo.features`: the official frame rule, crop and colours, the Keras ResNet and its converter
(parity with Keras 3 on its JAX backend), the PCA (parity with scikit-learn), and the command on a
video written here with OpenCV."""

from __future__ import annotations

import os
import pickle

import cv2
import jax
import numpy as np
import pytest

from zoo.convert.keras_resnet import KerasWeightsError, convert_keras_resnet
from zoo.data.video import VideoFileError
from zoo.features import frames as official
from zoo.features import pca as feature_pca
from zoo.features.__main__ import main as features_main
from zoo.models.keras_resnet import STAGE_SIZES, KerasResNet

from tests.keras_resnet_files import TINY_RESNET, flax_layout_h5, random_pca, write_keras_h5, write_video

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 is the reference, on JAX: no TensorFlow


# ----------------------------------------------------------------------------- frames


def framecv_kept(num_frames: int, fps: float) -> list[int]:
    """The official FrameCV loop, as written: 1-based count, keep when count % (fps / 2) < 1."""
    kept, i_frame = [], 0
    for index in range(num_frames):
        i_frame += 1
        if i_frame % (fps / 2.0) < 1:
            kept.append(index)
    return kept


@pytest.mark.parametrize("fps", [25.0, 25.000001, 29.97, 30.0, 50.0, 24.0])
def test_frame_rule_is_framecv(fps):
    assert official.kept_frame_indices(2000, fps).tolist() == framecv_kept(2000, fps)


def test_frame_rule_at_25_fps_keeps_12_24_37_49_not_0_12_25():
    kept = official.kept_frame_indices(25 * 60, 25.0)
    assert kept[:6].tolist() == [12, 24, 37, 49, 62, 74]
    assert len(kept) == 120  # 2 per second


def test_framecv_reads_a_short_video_again_at_the_rate_it_has():
    assert official.framecv_fps(2499, 25.0, 100.0) == 25.0  # within a frame of the expected 2500
    assert official.framecv_fps(2400, 25.0, 100.0) == pytest.approx(24.01)


def test_crop_is_resize_to_height_224_then_the_centre_columns():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    resized = cv2.resize(frame, (int(1280 * 224 / 720), 224), interpolation=cv2.INTER_AREA)  # imutils.resize
    off = int((resized.shape[1] - 224) / 2)
    np.testing.assert_array_equal(official.crop_frame(frame), resized[:, off:-off])
    small = rng.integers(0, 256, (224, 398, 3), dtype=np.uint8)  # the SoccerNet 224p videos
    np.testing.assert_array_equal(official.crop_frame(small), small[:, 87:311])
    with pytest.raises(ValueError, match="narrower than tall"):
        official.crop_frame(rng.integers(0, 256, (640, 360, 3), dtype=np.uint8))


def test_colours_are_keras_caffe_preprocessing_of_the_bgr_frames():
    from keras.applications.resnet import preprocess_input

    bgr = np.random.default_rng(1).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(official.caffe_preprocess(bgr), preprocess_input(bgr.astype(np.float32)), atol=1e-5)
    # Keras reverses the channels it is given: the BGR frames reach the network as RGB.
    np.testing.assert_allclose(official.caffe_preprocess(bgr)[..., 0], bgr[..., 2] - 103.939, atol=1e-4)


def test_official_frames_of_a_video_are_the_kept_frames_cropped(tmp_path):
    path = tmp_path / "match.mp4"
    write_video(path, 60)
    capture, decoded = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        decoded.append(read[1])
    stream = official.OfficialFrames(path, batch_size=2)
    assert stream.num_frames == 60 and stream.indices.tolist() == [12, 24, 37, 49]
    batches = list(stream)
    assert [first for first, _ in batches] == [0, 2] and len(stream) == 2
    got = np.concatenate([batch for _, batch in batches])
    np.testing.assert_array_equal(got, np.stack([official.crop_frame(decoded[i]) for i in (12, 24, 37, 49)]))


def test_a_wrong_frame_count_is_found_and_named(tmp_path):
    """extract_video reads a video again when its decoded length differs from the count it used."""
    path = tmp_path / "match.mp4"
    write_video(path, 60)
    with pytest.raises(official.FrameCountMismatch, match="decoded 60 frames where 50 were counted") as caught:
        list(official.OfficialFrames(path, batch_size=8, num_frames=50))
    assert caught.value.decoded == 60
    assert official.OfficialFrames(path, num_frames=caught.value.decoded).indices.tolist() == [12, 24, 37, 49]


def test_a_missing_or_corrupt_video_is_a_one_line_error(tmp_path):
    with pytest.raises(VideoFileError, match="missing video file"):
        official.OfficialFrames(tmp_path / "absent.mkv")
    corrupt = tmp_path / "corrupt.mkv"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(VideoFileError, match=str(corrupt)):
        official.OfficialFrames(corrupt)


# ----------------------------------------------------------------------------- Keras ResNet


def random_keras_weights(keras_model, rng) -> list:
    """Every layer of a Keras model with random weights in ranges that keep activations finite."""
    draw = {"gamma": lambda s: rng.uniform(0.2, 0.6, s), "beta": lambda s: rng.normal(0, 0.1, s),
            "moving_mean": lambda s: rng.normal(0, 0.1, s), "moving_variance": lambda s: rng.uniform(0.5, 1.5, s),
            "bias": lambda s: rng.normal(0, 0.05, s)}
    def value(weight):
        return draw.get(weight.name, lambda shape: np.asarray(weight.numpy()))(tuple(weight.shape)).astype(np.float32)

    return [(layer.name, [(w.name, value(w)) for w in layer.weights]) for layer in keras_model.layers]


def keras_resnet(stage_sizes, size: int):
    """Keras 3's own ResNet v1 (`keras.applications.resnet`): ResNet152 itself, or the same builder
    with fewer blocks per stage (its `ResNet` + `stack_residual_blocks_v1`, as ResNet152 calls them)."""
    import keras

    shape = (size, size, 3)
    if tuple(stage_sizes) == STAGE_SIZES["resnet152"]:
        return keras.applications.ResNet152(weights=None, include_top=False, pooling="avg", input_shape=shape)
    from keras.src.applications.resnet import ResNet, stack_residual_blocks_v1

    def stack_fn(x):
        for stage, blocks in enumerate(stage_sizes):
            x = stack_residual_blocks_v1(x, 64 * 2**stage, blocks, stride1=1 if stage == 0 else 2,
                                         name=f"conv{stage + 2}")
        return x

    return ResNet(stack_fn, preact=False, use_bias=True, include_top=False, weights=None, input_shape=shape,
                  pooling="avg", name="resnet_small")


def assert_keras_parity(tmp_path, stage_sizes, size: int, batch: int):
    reference = keras_resnet(stage_sizes, size)
    path = tmp_path / "resnet.h5"
    write_keras_h5(path, random_keras_weights(reference, np.random.default_rng(0)))
    reference.load_weights(str(path))  # Keras itself reads the file (by position, its legacy loader)
    images = np.random.default_rng(1).uniform(-120, 150, (batch, size, size, 3)).astype(np.float32)
    expected = np.asarray(reference.predict(images, verbose=0))
    conversion = convert_keras_resnet(path, stage_sizes=tuple(stage_sizes))
    assert conversion.dropped == {}  # a no-top file: nothing to drop
    got = np.asarray(jax.jit(KerasResNet(tuple(stage_sizes)).apply)(conversion.variables, images))
    assert got.shape == (batch, 2048)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_keras_resnet_v1_matches_keras_3_through_the_converter(tmp_path):
    """ResNet-152's blocks (down-sampling and identity), stem and head, two blocks in the first
    stage and one in the others: Keras builds 36 x fewer layers, so this runs in seconds."""
    assert_keras_parity(tmp_path, (2, 1, 1, 1), size=64, batch=2)


@pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="ResNet-152 at 224: set ZOO_SLOW_TESTS=1")
def test_keras_resnet152_matches_keras_3_through_the_converter(tmp_path):
    assert_keras_parity(tmp_path, STAGE_SIZES["resnet152"], size=224, batch=2)


def test_converter_names_what_does_not_fit(tmp_path):
    import h5py

    rng, small = np.random.default_rng(0), (1, 1, 1, 1)
    flax_layout_h5(tmp_path / "ok.h5", small, rng)
    conversion = convert_keras_resnet(tmp_path / "ok.h5", stage_sizes=small)
    assert set(conversion.dropped) == {"predictions"}
    assert conversion.variables["params"]["conv3_block1_1_conv"]["kernel"].shape == (1, 1, 256, 128)
    assert conversion.variables["batch_stats"]["conv5_block1_3_bn"]["var"].shape == (2048,)
    with pytest.raises(KerasWeightsError, match="not in the file, e.g. conv2_block1_0_bn"):
        flax_layout_h5(tmp_path / "missing.h5", small, rng, drop="conv2_block1_0_bn")
        convert_keras_resnet(tmp_path / "missing.h5", stage_sizes=small)
    with pytest.raises(KerasWeightsError, match="conv4_block2_1_conv"):  # a layer the network does not have
        flax_layout_h5(tmp_path / "extra.h5", small, rng, extra="conv4_block2_1_conv")
        convert_keras_resnet(tmp_path / "extra.h5", stage_sizes=small)
    with pytest.raises(KerasWeightsError, match="72 layer.s. of Keras resnet50 are not in the file, e.g. conv2_block2"):
        convert_keras_resnet(tmp_path / "ok.h5", arch="resnet50")  # these are not ResNet-50's weights
    with h5py.File(tmp_path / "ok.h5", "r+") as f:
        del f["conv1_conv"]["conv1_conv/kernel:0"]
        f["conv1_conv"].create_dataset("conv1_conv/kernel:0", data=np.zeros((7, 7, 3, 32), np.float32))
    with pytest.raises(KerasWeightsError, match=r"conv1_conv/conv1_conv/kernel:0: shape \(7, 7, 3, 32\) does not fit"):
        convert_keras_resnet(tmp_path / "ok.h5", stage_sizes=small)
    (tmp_path / "not.h5").write_bytes(b"not hdf5")
    with pytest.raises(KerasWeightsError, match="not an HDF5 file"):
        convert_keras_resnet(tmp_path / "not.h5")


# ----------------------------------------------------------------------------- PCA


def test_fitted_pca_is_scikit_learns(tmp_path):
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    halves = [rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40)) + 3.0 for _ in range(3)]
    fitted = feature_pca.fit_pca(halves, dim=8)
    stacked = np.concatenate(halves)
    average = stacked.mean(0)
    reference = PCA(8, svd_solver="full").fit(stacked - average)  # the official recipe
    np.testing.assert_allclose(fitted.components, reference.components_, atol=1e-8)
    np.testing.assert_allclose(fitted.explained_variance, reference.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(fitted.transform(halves[0]), reference.transform(halves[0] - average),
                               rtol=1e-5, atol=1e-5)
    fitted.save(tmp_path / "pca.npz")
    loaded = feature_pca.load_pca(tmp_path / "pca.npz")
    np.testing.assert_array_equal(loaded.transform(halves[1]), fitted.transform(halves[1]))


def test_published_pickles_convert_without_scikit_learn_code(tmp_path):
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 64)) @ rng.normal(size=(64, 64))
    average = features.mean(0)
    reference = PCA(16, svd_solver="full").fit(features - average)
    (tmp_path / "pca.pkl").write_bytes(pickle.dumps(reference))
    (tmp_path / "average.pkl").write_bytes(pickle.dumps(average))
    converted = feature_pca.convert_published(tmp_path / "pca.pkl", tmp_path / "average.pkl")
    np.testing.assert_allclose(converted.transform(features[:20]), reference.transform(features[:20] - average),
                               rtol=1e-5, atol=1e-5)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    # The command: convert the pickles once; fit one on feature files when there are none.
    assert feature_pca.main(["convert", "--pca", str(tmp_path / "pca.pkl"), "--average", str(tmp_path / "average.pkl"),
                             "--out", str(tmp_path / "converted.npz")]) == 0
    np.testing.assert_allclose(feature_pca.load_pca(tmp_path / "converted.npz").components, reference.components_)
    for i in range(2):
        np.save(tmp_path / f"{i + 1}_ResNET_TF2.npy", features[250 * i: 250 * (i + 1)])
    assert feature_pca.main(["fit", "--features", str(tmp_path / "*_ResNET_TF2.npy"), "--dim", "16",
                             "--out", str(tmp_path / "fitted.npz")]) == 0
    np.testing.assert_allclose(np.abs(feature_pca.load_pca(tmp_path / "fitted.npz").components),
                               np.abs(reference.components_), atol=1e-6)
    assert feature_pca.main(["fit", "--features", str(tmp_path / "none.npy"), "--out", str(tmp_path / "x.npz")]) == 1

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(feature_pca.PcaFileError, match="refusing to load"):
        feature_pca.convert_published(tmp_path / "evil.pkl", tmp_path / "average.pkl")


# ----------------------------------------------------------------------------- the command


def test_command_writes_official_shape_features_of_a_users_video(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(STAGE_SIZES, "resnet50", TINY_RESNET)  # the command's paths, a small network
    video = tmp_path / "match.mp4"
    write_video(video, 100)  # 4 s at 25 fps
    h5 = tmp_path / "resnet50.h5"
    flax_layout_h5(h5, "resnet50", np.random.default_rng(2))
    from zoo.convert.cli import main as convert_main

    weights = tmp_path / "converted"  # the zoo.convert output folder (the .h5 itself works too)
    assert convert_main(["--arch", "keras_resnet50", "--input", str(h5), "--output", str(weights)]) == 0
    random_pca(tmp_path / "pca.npz", np.random.default_rng(3))
    out, raw = tmp_path / "1_ResNET_TF2_PCA512.npy", tmp_path / "1_ResNET_TF2.npy"
    argv = ["--video", str(video), "--out", str(out), "--raw-out", str(raw), "--pca", str(tmp_path / "pca.npz"),
            "--weights", str(weights), "--arch", "resnet50", "--batch-size", "4", "--quiet"]
    assert features_main(argv) == 0
    features = np.load(out)
    assert features.shape == (8, 512) and features.dtype == np.float32  # 2 fps, PCA512
    assert np.load(raw).shape == (8, 2048) and np.isfinite(features).all()
    assert "8 frames at 2 fps" in capsys.readouterr().out

    assert features_main(argv) == 1  # no silent overwrite
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert features_main(["--video", str(tmp_path / "nope.mkv"), "--out", str(tmp_path / "x.npy"),
                          "--weights", str(weights)]) == 1
    assert "nope.mkv: no such video file" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.mkv"
    corrupt.write_bytes(os.urandom(2048))
    assert features_main(["--video", str(corrupt), "--out", str(tmp_path / "y.npy"), "--weights", str(weights),
                          "--arch", "resnet50"]) == 1
    assert f"error: {corrupt}: " in capsys.readouterr().err
    assert features_main(["--video", str(video), "--out", str(tmp_path / "2_ResNET_TF2_PCA512.npy")]) == 1
    assert "needs --pca" in capsys.readouterr().err
