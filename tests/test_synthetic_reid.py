"""zoo.synthetic.reid: official layout and names, the query/gallery rule, determinism, and an
identity signal that is learnable but not trivial."""

from __future__ import annotations

import collections
import os
import re

import cv2
import numpy as np
import pytest

from zoo.formats.reid import ROLES, SPLITS, bbox_info_file, list_split, read_bbox_info
from zoo.formats.splits import list_games
from zoo.synthetic import reid
from zoo.synthetic.reid import DEFAULT_ACTIONS_PER_SPLIT, write_soccernet_reid

SMALL = dict(actions_per_split={"train": 2, "valid": 1, "test": 1, "challenge": 1},
             players_per_action=(4, 6), image_scale=0.5)


@pytest.fixture(scope="module")
def default_tree(tmp_path_factory):
    """The default tree (24/4/4/2 actions): (root, counts, split -> samples)."""
    root = tmp_path_factory.mktemp("reid")
    counts = write_soccernet_reid(root)
    return root, counts, {split: list_split(root, split) for split in SPLITS}


def _files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")
        for d, _, fs in os.walk(root) for f in fs)


def test_counts_and_layout(default_tree):
    root, counts, samples = default_tree
    assert {split: c["actions"] for split, c in counts.items()} == dict(DEFAULT_ACTIONS_PER_SPLIT)
    for split, split_samples in samples.items():
        by_subset = collections.Counter(s.subset for s in split_samples)
        expected = {k: v for k, v in counts[split].items() if k in ("train", "query", "gallery")}
        assert by_subset == expected, split
        if split == "challenge":  # identities only in the (organiser-only) ground truth
            info = read_bbox_info(os.path.join(root, bbox_info_file(split)))
            uids = {e["person_uid"] for entries in info.values() for e in entries.values()}
        else:
            uids = {s.person_uid for s in split_samples}
        assert len(uids) == counts[split]["identities"]
        assert len({s.action_idx for s in split_samples}) == counts[split]["actions"]
        for s in split_samples:
            if split == "challenge":  # flat, names without annotations
                assert re.fullmatch(rf"challenge/{s.subset}/\d+-\d+-\d+x\d+\.png", s.path)
                assert s.person_uid is None and s.game is None
            else:
                prefix = "train" if split == "train" else f"{split}/{s.subset}"
                game = f"{s.league}/{s.season}/{s.game}"
                assert s.path == f"{prefix}/{game}/{s.action}/{s.filename}"
                assert game in list_games(split)  # real league/season/game folders
                assert s.action.isdigit()
                assert s.role in ROLES
                assert s.jersey == "None" or s.jersey.isdigit() or re.fullmatch("[a-z]", s.jersey)
                assert "-" not in s.uai and s.uai.isascii()
    # Nothing but the samples and the three ground-truth files.
    paths = {s.path for split_samples in samples.values() for s in split_samples}
    gt = {bbox_info_file(split) for split in ("valid", "test", "challenge")}
    assert set(_files(root)) == paths | gt
    # Several leagues, several games per split, a few actions per game.
    assert len({s.league for s in samples["train"]}) >= 3
    assert len({s.game for s in samples["valid"]}) == 2


def test_images_match_their_names(default_tree):
    root, _, samples = default_tree
    heights = []
    for split_samples in samples.values():
        for s in split_samples:
            image = cv2.imread(os.path.join(root, s.path), cv2.IMREAD_UNCHANGED)
            assert image.shape == (s.height, s.width, 3) and image.dtype == np.uint8, s.path
            heights.append(s.height)
    # Thumbnail sizes vary like real ones: small wide-shot players, bigger replay close-ups.
    assert 24 <= min(heights) < 70 and 180 < max(heights) <= 260
    roles = {s.role for split_samples in samples.values() for s in split_samples}
    assert {"Player_team_left", "Player_team_right", "Main_referee", "Side_referee"} <= roles
    assert any(role and role.startswith("Goalkeeper") for role in roles)  # challenge samples have none


def test_indices_follow_the_official_conventions(default_tree):
    _, _, samples = default_tree
    all_uids = []
    for split, split_samples in samples.items():
        for subset in ("train", "query", "gallery"):
            ids = sorted(s.bbox_idx for s in split_samples if s.subset == subset)
            assert ids == list(range(len(ids))), (split, subset)  # index within its list
        actions = sorted({s.action_idx for s in split_samples})
        assert actions == list(range(len(actions)))
        if split == "challenge":
            continue
        frames = sorted({s.frame_idx for s in split_samples})
        assert frames == list(range(len(frames)))  # frame index within the split
        uid_actions = collections.defaultdict(set)
        for s in split_samples:
            uid_actions[s.person_uid].add(s.action_idx)
        assert all(len(a) == 1 for a in uid_actions.values())  # a uid lives in one action
        all_uids += list(uid_actions)
    assert len(all_uids) == len(set(all_uids))  # unique across splits


def _frames(samples):
    """action_idx -> person_uid -> the frame_idx it is seen in."""
    seen = collections.defaultdict(lambda: collections.defaultdict(list))
    for s in samples:
        seen[s.action_idx][s.person_uid].append(s.frame_idx)
    return seen


@pytest.mark.parametrize("split", ["valid", "test"])
def test_query_gallery_rule(default_tree, split):
    """Query: action-frame boxes seen again in a replay; gallery: the rest."""
    _, _, samples = default_tree
    seen = _frames(samples[split])
    for s in samples[split]:
        action_frame = min(f for frames in seen[s.action_idx].values() for f in frames)
        in_replay = any(f != action_frame for f in seen[s.action_idx][s.person_uid])
        expected = "query" if s.frame_idx == action_frame and in_replay else "gallery"
        assert s.subset == expected, s.path
    query = [s for s in samples[split] if s.subset == "query"]
    assert query and len({s.action_idx for s in query}) == DEFAULT_ACTIONS_PER_SPLIT[split]
    gallery = {(s.action_idx, s.person_uid) for s in samples[split] if s.subset == "gallery"}
    assert all((q.action_idx, q.person_uid) in gallery for q in query)
    assert len({(q.action_idx, q.person_uid) for q in query}) == len(query)


def test_id_field(default_tree):
    """ID is "None" exactly for people seen in one frame; a number or a letter otherwise."""
    _, _, samples = default_tree
    for split in ("train", "valid", "test"):
        seen = _frames(samples[split])
        for s in samples[split]:
            once = len(set(seen[s.action_idx][s.person_uid])) == 1
            assert (s.jersey == "None") == once, s.path
    jerseys = collections.Counter(
        "None" if s.jersey == "None" else "number" if s.jersey.isdigit() else "letter"
        for s in samples["train"])
    assert min(jerseys.values()) >= 20, jerseys


@pytest.mark.parametrize("split", ["valid", "test", "challenge"])
def test_bbox_info_matches_the_files(default_tree, split):
    root, _, samples = default_tree
    info = read_bbox_info(os.path.join(root, bbox_info_file(split)))
    for subset in ("query", "gallery"):
        listed = [s for s in samples[split] if s.subset == subset]
        assert sorted(info[subset]) == [s.bbox_idx for s in listed]
        for s in listed:
            entry = info[subset][s.bbox_idx]
            assert entry["action_idx"] == s.action_idx
            assert (entry["height"], entry["width"]) == (s.height, s.width)
            if split != "challenge":
                assert entry["person_uid"] == s.person_uid
                assert (entry["frame_idx"], entry["clazz"], entry["id"], entry["UAI"]) == (
                    s.frame_idx, s.role, s.jersey, s.uai)
                assert entry["relative_path"] == s.relative_path
    if split == "challenge":  # the hidden labels obey the same query/gallery rule
        gallery = {(e["action_idx"], e["person_uid"]) for e in info["gallery"].values()}
        assert all((e["action_idx"], e["person_uid"]) in gallery for e in info["query"].values())


def test_deterministic(tmp_path):
    counts_a = write_soccernet_reid(tmp_path / "a", **SMALL)
    counts_b = write_soccernet_reid(tmp_path / "b", **SMALL)
    write_soccernet_reid(tmp_path / "c", **SMALL, seed=1)
    assert counts_a == counts_b
    files = _files(tmp_path / "a")
    assert files == _files(tmp_path / "b")
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert files != _files(tmp_path / "c")


def test_image_scale_and_only_the_asked_splits(tmp_path):
    counts = write_soccernet_reid(tmp_path, actions_per_split={"train": 3}, image_scale=0.5)
    assert list(counts) == ["train"] and sorted(os.listdir(tmp_path)) == ["train"]
    heights = [s.height for s in list_split(tmp_path, "train")]
    assert max(heights) <= 130


def test_cli(tmp_path, capsys):
    reid.main(["--root", str(tmp_path), "--actions", "valid=1,challenge=1", "--image_scale", "0.4"])
    assert sorted(os.listdir(tmp_path)) == [
        "challenge", "challenge_bbox_info.json", "valid", "valid_bbox_info.json"]
    assert "valid: actions 1" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    (dict(actions_per_split={"training": 2}), "Unknown split"),
    (dict(players_per_action=(0, 3)), "players_per_action"),
    (dict(replays_per_action=(2, 1)), "replays_per_action"),
    (dict(image_scale=0), "image_scale"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_soccernet_reid(tmp_path, **kwargs)


def _colour_histogram(image: np.ndarray) -> np.ndarray:
    """HSV histograms of four horizontal bands (head, shirt, shorts, legs), square-rooted."""
    h, w = image.shape[:2]
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    bands = []
    for top, bottom in ((0, 0.2), (0.15, 0.5), (0.45, 0.7), (0.6, 1.0)):
        region = hsv[int(top * h):int(bottom * h), int(0.2 * w):int(0.8 * w)]
        hist = cv2.calcHist([region], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
        bands.append(np.sqrt(hist / hist.sum()))
    return np.concatenate(bands)


def test_identity_is_learnable_but_not_trivial(tmp_path):
    """A colour-histogram nearest neighbour tells kits apart (well above chance) but not
    team-mates, who share a kit (far below 100%)."""
    write_soccernet_reid(tmp_path, actions_per_split={"test": 12})
    samples = list_split(tmp_path, "test")
    features = {
        (s.subset, s.bbox_idx): _colour_histogram(cv2.imread(os.path.join(tmp_path, s.path)))
        for s in samples}
    gallery = [s for s in samples if s.subset == "gallery"]
    rank1, chance = [], []
    for q in (s for s in samples if s.subset == "query"):
        candidates = [g for g in gallery if g.action_idx == q.action_idx]
        distances = [np.abs(features["query", q.bbox_idx] - features["gallery", g.bbox_idx]).sum()
                     for g in candidates]
        rank1.append(candidates[int(np.argmin(distances))].person_uid == q.person_uid)
        chance.append(np.mean([g.person_uid == q.person_uid for g in candidates]))
    queries = len(rank1)
    rank1, chance = float(np.mean(rank1)), float(np.mean(chance))
    print(f"colour-histogram rank-1 {rank1:.3f}, chance {chance:.3f}, {queries} queries")
    assert queries >= 50
    assert chance < 0.2
    assert rank1 > 2.5 * chance
    assert rank1 < 0.8
