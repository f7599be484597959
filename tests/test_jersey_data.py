"""Jersey data: the synthetic tracklets, the soccernet_jersey builder (read back, the held-out valid
split, loud errors), tracklet folders, torso crops, pose transforms and crop-label files."""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest

from zoo.data import jersey_tracklets, pose_transforms, tfds_sources
from zoo.data.torso_crops import crop_resize, jitter_box, torso_boxes, upper_body_boxes
from zoo.formats import jersey as formats
from zoo.formats.errors import FileFormatError
from zoo.synthetic import jersey as synthetic

TINY = dict(tracklets_per_split={"train": 10, "test": 4, "challenge": 2}, frames_per_tracklet=(3, 6))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("jersey")
    counts = synthetic.write_soccernet_jersey(root, **TINY)
    return root, counts


@pytest.fixture(scope="module")
def built(tree, tmp_path_factory):
    root, _ = tree
    data_dir = tmp_path_factory.mktemp("tfds")
    tfds_sources.prepare("soccernet_jersey/valid30", manual_dir=root, data_dir=data_dir, progress=False)
    return data_dir


def test_synthetic_tree_is_the_official_layout_with_consistent_truth(tree, tmp_path):
    root, counts = tree
    for split, n in TINY["tracklets_per_split"].items():
        labels = formats.read_groundtruth(root / formats.groundtruth_file(split))
        assert list(labels) == [str(i) for i in range(n)] == formats.tracklet_ids(root / split)
        truth = synthetic.read_truth(root, split)
        assert counts[split]["tracklets"] == n and counts[split]["illegible"] == sum(v == -1 for v in labels.values())
        for tracklet, number in labels.items():
            frames = formats.tracklet_frames(root / split / "images" / tracklet)
            assert [f.name for f in frames] == list(truth[tracklet]["frames"])
            assert all(formats.frame_index(f.name, tracklet) is not None for f in frames)
            main = [t for t in truth[tracklet]["frames"].values() if t["owner"] == "main"]
            # the label is the number iff it is legible in one of the tracklet's own frames
            assert (number >= 0) == any(t["legible"] for t in main)
            assert all(t["text"] == str(number) for t in main if t["legible"])
            for name, t in truth[tracklet]["frames"].items():
                image = cv2.imread(str(root / split / "images" / tracklet / name))
                assert image is not None and len(t["keypoints"]) == 17
                if t["legible"]:
                    assert len(t["digit_boxes"]) == len(t["text"]) and t["digit_height"] >= synthetic.MIN_DIGIT_HEIGHT
    # deterministic
    again = tmp_path / "again"
    synthetic.write_soccernet_jersey(again, tracklets_per_split={"test": 4}, frames_per_tracklet=(3, 6))
    for path in (again / "test" / "images").rglob("*.jpg"):
        assert path.read_bytes() == (root / path.relative_to(again)).read_bytes()


def test_builder_reads_back_with_a_reproducible_valid_split(tree, built):
    root, counts = tree
    labels = formats.read_groundtruth(root / "train" / "train_gt.json")
    from soccernet_datasets.soccernet_jersey.soccernet_jersey_dataset_builder import is_valid_tracklet

    held = [t for t in labels if is_valid_tracklet(t, 30)]
    seen = {}
    for split in ("train", "valid", "test", "challenge"):
        source = tfds_sources.data_source("soccernet_jersey/valid30", split, data_dir=built, encoded=("image",))
        view = jersey_tracklets.tracklets(source)
        assert sum(t.count for t in view) == len(source)
        truth = synthetic.read_truth(root, "train" if split == "valid" else split)
        for t in view:
            rows = [source[i] for i in range(t.first, t.first + t.count)]
            assert {r["tracklet"].decode() for r in rows} == {t.id}
            names = [r["image_path"].decode().split("/")[-1] for r in rows]
            assert names == list(truth[t.id]["frames"])  # frame order
            first = rows[0]
            folder = "train" if split == "valid" else split
            assert first["image"] == (root / first["image_path"].decode()).read_bytes()  # JPEG bytes as they are
            assert first["image_path"].decode().startswith(f"{folder}/images/{t.id}/")
            frame = truth[t.id]["frames"][names[0]]
            assert first["legible"] == int(frame["legible"]) and first["text"].decode() == frame["text"]
            np.testing.assert_allclose(first["keypoints"], frame["keypoints"], rtol=1e-6)
            assert t.label == (formats.read_groundtruth(root / formats.groundtruth_file(folder))[t.id])
        seen[split] = [t.id for t in view]
    assert seen["valid"] == held and set(seen["train"]) == set(labels) - set(held)
    assert counts["test"]["frames"] == sum(1 for _ in (root / "test" / "images").rglob("*.jpg"))


def _copy(tree, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tree[0], root)
    return root


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "test" / "test_gt.json").write_text('{"0": 5, "1": "7", "2": 1, "3": 2}'),
     "test_gt.json: tracklet '1': '7' is a string"),
    (lambda r: (r / "test" / "test_gt.json").write_text('{"0": 5, "1": 100, "2": 1, "3": 2}'),
     "test_gt.json: tracklet '1': 100 is not a jersey number"),
    (lambda r: [p.unlink() for p in (r / "test" / "images" / "2").iterdir()],
     "test/images/2: a tracklet folder with no image"),
    (lambda r: next((r / "test" / "images" / "3").iterdir()).write_bytes(b"\xff\xd8broken"),
     "not a readable JPEG image"),
    (lambda r: shutil.rmtree(r / "test" / "images" / "1"), "no folder for 1"),
])
def test_builder_fails_naming_the_file(tree, tmp_path, damage, message):
    root = _copy(tree, tmp_path)
    damage(root)
    with pytest.raises(FileFormatError, match=message.replace("(", r"\(")):
        tfds_sources.prepare("soccernet_jersey/valid30", manual_dir=root, data_dir=tmp_path / "tfds", progress=False)


def test_user_folders_of_tracklets(tmp_path):
    (tmp_path / "clip" / "player a").mkdir(parents=True)
    for name in ("frame_10.png", "frame_2.jpg", "notes.txt"):
        (tmp_path / "clip" / "player a" / name).write_bytes(b"x")
    (tmp_path / "clip" / "7").mkdir()
    for name in ("7_12.jpg", "7_3.jpg"):
        (tmp_path / "clip" / "7" / name).write_bytes(b"x")
    found = dict(jersey_tracklets.folder_tracklets(tmp_path / "clip"))
    assert [p.name for p in found["7"]] == ["7_3.jpg", "7_12.jpg"]  # official names by frame number
    assert [p.name for p in found["player a"]] == ["frame_10.png", "frame_2.jpg"]
    (tmp_path / "clip" / "empty").mkdir()
    with pytest.raises(FileFormatError, match="clip/empty: a tracklet folder with no image"):
        jersey_tracklets.folder_tracklets(tmp_path / "clip")
    with pytest.raises(FileFormatError, match="nowhere: no such folder"):
        jersey_tracklets.folder_tracklets(tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.jpg").write_bytes(b"x")
    with pytest.raises(FileFormatError, match="flat: no tracklet folder in it"):
        jersey_tracklets.folder_tracklets(tmp_path / "flat")
    with pytest.raises(FileFormatError, match="frame_2.jpg: not a readable image"):
        jersey_tracklets.read_image(tmp_path / "clip" / "player a" / "frame_2.jpg")


def test_torso_boxes_follow_the_published_rule():
    keypoints = np.zeros((3, 17, 3))
    keypoints[:, [5, 6, 11, 12], 2] = 0.9
    keypoints[:, [5, 6, 11, 12], :2] = [[40, 30], [20, 31], [38, 70], [22, 69]]  # shoulders, hips
    keypoints[1, 11, 2] = 0.3  # an unreliable hip: the crop is not read
    keypoints[2, :, :2] -= 19  # near the left/top edge: clipped
    boxes, valid = torso_boxes(keypoints, np.array([[100, 60]] * 3), min_score=0.4, padding=5)
    np.testing.assert_allclose(boxes[0], [15, 25, 45, 70])  # padded left, right, above; not below
    assert valid.tolist() == [True, False, True]
    np.testing.assert_allclose(boxes[2], [0, 6, 26, 51])
    np.testing.assert_allclose(upper_body_boxes(np.array([[100, 40]])), [[6, 12, 34, 55]])
    image = np.arange(20 * 10 * 3, dtype=np.uint8).reshape(20, 10, 3)
    np.testing.assert_array_equal(crop_resize(image, np.array([2, 4, 6, 12]), (8, 4)), image[4:12, 2:6])
    box = jitter_box(np.array([10.0, 10, 20, 30]), np.random.default_rng(0), scale=0.1, shift=0.05)
    assert np.all(np.abs(box - [10, 10, 20, 30]) < 3)


def test_pose_transforms_round_trip_and_targets():
    image = np.zeros((100, 40, 3), np.uint8)
    boxed, scale, offset = pose_transforms.letterbox(image, (64, 32))
    assert boxed.shape == (64, 32, 3) and scale == pytest.approx(0.64) and offset.tolist() == pytest.approx([3.2, 0])
    keypoints = np.zeros((17, 3))
    keypoints[5] = [30, 20, 2]  # left shoulder, on the image's right
    keypoints[6] = [10, 21, 1]
    inside = pose_transforms.to_input(keypoints, scale, offset)
    back = pose_transforms.to_thumbnail(inside[None], np.array([scale]), offset[None])[0]
    np.testing.assert_allclose(back, keypoints)
    flipped_image, flipped = pose_transforms.flip(boxed, inside)
    assert flipped[6, 0] == pytest.approx(31 - inside[5, 0]) and flipped[5, 2] == 1  # left <-> right
    maps, weights = pose_transforms.gaussian_heatmaps(inside, (16, 8), stride=4.0, sigma=1.0)
    assert maps.shape == (16, 8, 17) and weights[[5, 6]].tolist() == [1, 1] and weights.sum() == 2
    peak = np.unravel_index(np.argmax(maps[..., 5]), maps.shape[:2])
    assert peak == (round(inside[5, 1] / 4), round(inside[5, 0] / 4))


def test_crop_label_files(tmp_path, built):
    source = tfds_sources.data_source("soccernet_jersey/valid30", "train", data_dir=built, encoded=("image",))
    first = source[0]["image_path"].decode()
    path = jersey_tracklets.write_crop_labels(
        tmp_path / "labels.json", {first: {"legible": 1, "text": "7", "torso_box": [1, 2, 3, 4]}}, split="train")
    columns = jersey_tracklets.crop_label_columns(source, path)
    assert columns["legible"][0] == 1 and columns["text"][0] == "7" and columns["legible"][1:].max() == -1
    np.testing.assert_allclose(columns["box"][0], [1, 2, 3, 4])
    # what the stages learn from: the file's labels and box, else the synthetic truth's
    truth, from_file = jersey_tracklets.crop_truth(source), jersey_tracklets.crop_truth(source, path)
    assert from_file["legible"][0] == 1 and (from_file["legible"][1:] == -1).all()
    np.testing.assert_allclose(from_file["box"][0], [1, 2, 3, 4])
    legible = truth["legible"] == 1
    assert legible.any() and truth["has_box"][legible].all() and all(truth["text"][legible])
    assert set(truth["legible"]) <= {0, 1}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": jersey_tracklets.LABELS_FORMAT, "crops": {first: {"legible": 2}}}))
    with pytest.raises(FileFormatError, match="bad.json: crop .* expected"):
        jersey_tracklets.read_crop_labels(bad)
    other = jersey_tracklets.write_crop_labels(tmp_path / "other.json", {"x/y.jpg": {"legible": 0, "text": ""}})
    with pytest.raises(FileFormatError, match="none of its crops is in the training split"):
        jersey_tracklets.crop_label_columns(source, other)
    assert os.path.basename(path) == "labels.json"


def test_recognisers_read_their_own_input_normalisation():
    """PARSeq's inputs are scaled to [-1, 1] as the published model's (strhub: Normalize(0.5, 0.5)),
    in training batches and at inference, so converted weights read what they were trained on;
    the CRNN (the zoo's own) keeps ImageNet's statistics."""
    from configs.jersey import crnn as crnn_config
    from configs.jersey import parseq as parseq_config
    from zoo.data.image_transforms import IMAGENET_MEAN, IMAGENET_STD
    from zoo.postprocess import jersey_reading
    from zoo.tasks.jersey_recognition import LoadTextBatch

    thumbnail = np.zeros((40, 20, 3), np.uint8)
    thumbnail[:, 10:] = 255  # left half black, right half white
    ok, jpeg = cv2.imencode(".png", thumbnail)
    source = [{"image": jpeg.tobytes(), "image_path": b"0/0_0.png"}]
    box = np.array([[0.0, 0.0, 20.0, 40.0]])
    still = {"box_scale": 0.0, "box_shift": 0.0, "blur": 0.0, "brightness": 0.0, "contrast": 0.0,
             "saturation": 0.0, "hue": 0.0, "channel_shuffle": 0.0, "invert": 0.0, "grey": 0.0}
    for module, black, white in ((parseq_config, -1.0, 1.0),
                                 (crnn_config, -IMAGENET_MEAN / IMAGENET_STD, (1 - IMAGENET_MEAN) / IMAGENET_STD)):
        config = module.get_config("tiny")
        size = tuple(config.data.crop_size)
        read = jersey_reading.recogniser_crops([thumbnail], box, config)[0]
        loader = LoadTextBatch(source, {"index": np.array([0]), "text": np.array(["7"]), "box": box}, [[0]], size,
                               config.model.charset, 2, still, 0,
                               jersey_reading.RECOGNISER_NORMALISATION[config.model.name])
        trained_on = loader(0)["inputs"]["images"][0]
        for images in (read, trained_on):
            np.testing.assert_allclose(images[:, 0], np.broadcast_to(black, (size[0], 3)), atol=1e-5)
            np.testing.assert_allclose(images[:, -1], np.broadcast_to(white, (size[0], 3)), atol=1e-5)
