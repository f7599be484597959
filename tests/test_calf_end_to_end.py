"""The CALF family end to end on the tiny synthetic config: chunk sampling, the core's
train_and_evaluate and evaluate_checkpoint, chunk-wise inference, official files, the official
evaluator; and the calibration paper's merged patterned + fuzzy pipeline."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from configs.action_spotting import calf as calf_configs
from configs.action_spotting import calf_calibration_gcn, calf_calibration_merged, calf_calibration_radar
from configs.action_spotting import calf_calibration_topview
from tests.official_spotting import official_scores, written_games
from zoo.data.calf_chunks import ChunkSampler, HalfChunks, far_stretches
from zoo.formats import spotting as spotting_format
from zoo.formats.validate import validate
from zoo.losses import calf as calf_loss
from zoo.postprocess.chunk_spotting import chunk_frames, chunk_starts, merge_class_subsets, stitch_spotting
from zoo.errors import UserError
from zoo.tasks import action_spotting, get_task
from zoo.tasks import action_spotting_calf as family
from zoo.train import evaluate_checkpoint, train_and_evaluate
from zoo.train.task import Models, Shard, Stage


def test_chunks_cover_a_half_as_the_official_test_does():
    # T = 240, RF = 80: stride 160, the last chunk ends at the last frame.
    assert chunk_starts(1200, 240, 80).tolist() == [0, 160, 320, 480, 640, 800, 960]
    assert chunk_starts(1000, 240, 80).tolist() == [0, 160, 320, 480, 640, 760]
    assert chunk_starts(240, 240, 80).tolist() == [0] and chunk_starts(100, 240, 80).tolist() == [0]
    frames = chunk_frames(100, 240, 80)
    assert frames.shape == (1, 240) and frames[0, -1] == 99


def test_stitching_keeps_each_chunk_middle_and_overwrites_like_the_official_loop():
    t, rf, classes = 20, 8, 3
    starts = chunk_starts(40, t, rf)  # stride 20 - 2 x 4 = 12; the last chunk ends at frame 39
    assert starts.tolist() == [0, 12, 20]
    spotting = np.zeros((3, 2, 2 + classes))
    spotting[..., 2] = 1.0  # class 0
    # chunk 0 keeps [0, 16): frame floor(0.5 x 19) = 9 stays, frame 18 is the next chunk's
    spotting[0, :, :2] = [[0.7, 0.5], [0.9, 18 / 19]]
    # chunk 1 keeps [4, 16): frame 2 goes, frame 10 -> 22 stays
    spotting[1, :, :2] = [[0.8, 2 / 19], [0.6, 10 / 19]]
    # chunk 2 (the last) keeps [4, 20): frame 19 -> 39, where the later of two vectors wins
    spotting[2, :, :2] = [[0.5, 1.0], [0.4, 1.0]]
    scores = stitch_spotting(spotting, 40, t, rf)
    found = {(int(f), float(scores[f, 0])) for f in np.flatnonzero(scores[:, 0] >= 0)}
    assert found == {(9, 0.7), (22, 0.6), (39, 0.4)}
    assert (scores[:, 1:] == -1).all()


def test_merging_class_subsets_maps_to_the_17_classes():
    patterned = (np.array([3]), np.array([4]), np.array([0.9]))  # Corner in the patterned order
    fuzzy = (np.array([5, 6]), np.array([0, 6]), np.array([0.8, 0.1]))  # Goal, Ball out of play
    frame, klass, score = merge_class_subsets(
        [patterned, fuzzy], [calf_loss.PATTERNED_CLASSES, calf_loss.FUZZY_CLASSES], spotting_format.CLASSES_V2)
    assert [spotting_format.CLASSES_V2[c] for c in klass] == ["Corner", "Goal", "Ball out of play"]
    assert frame.tolist() == [3, 5, 6] and score.tolist() == [0.9, 0.8, 0.1]
    with pytest.raises(ValueError, match="overlap"):
        merge_class_subsets([patterned, patterned], [calf_loss.PATTERNED_CLASSES] * 2, spotting_format.CLASSES_V2)


def test_sampler_draws_chunks_around_actions_and_far_from_them():
    k = calf_loss.k_parameters(("Shots on target", "Throw-in"), framerate=2)  # short context
    events = np.zeros((2000, 2), bool)
    events[[300, 330], 0] = True
    events[1500, 1] = True
    sampler = ChunkSampler(
        [HalfChunks(np.arange(2000, dtype=np.float32)[:, None], events)], k=k, chunk_size=240, receptive_field=80,
        num_detections=4, inputs_of=lambda half, start: {"features": half.features[start:start + 240]})
    assert sampler.drawn_classes == [0, 1, 2]  # both classes and "no action"
    stretches = far_stretches(sampler.shifts[0], k, 240)
    # Shots: far when the shift is <= -10 or >= 10 frames; Throw-in: <= -62 or >= 62.
    assert stretches == [(0, 291), (340, 1439), (1562, 2000)]
    rng = np.random.default_rng(0)
    border = math.ceil(80 / 2)
    for _ in range(60):
        chunk = sampler(None, rng)
        start = int(chunk["inputs"]["features"][0, 0])
        assert chunk["inputs"]["features"].shape == (240, 1)
        assert (chunk["shifts"][:border] == -1).all() and (chunk["shifts"][-border:] == -1).all()
        inside = [e for e in (300, 330, 1500) if start + border <= e < start + 240 - border]
        assert int(chunk["targets"][:, 0].sum()) == len(inside)
        np.testing.assert_allclose(sorted(chunk["targets"][chunk["targets"][:, 0] == 1, 1]),
                                   [(e - start) / 240 for e in inside])


def _tiniest(config):
    """The tiny config on the fewest, shortest games the data path accepts (seconds to train)."""
    config.data.synthetic.games_per_split = {"train": 1, "valid": 1, "test": 1, "challenge": 1}
    config.data.synthetic.half_seconds = 60
    config.data.synthetic.events_per_half = 6
    config.train.num_steps = 2
    config.train.checkpoint_every_steps = 2
    config.train.eval_every_steps = 100
    return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny CALF through the core's train_and_evaluate: (config, workdir, test scores)."""
    config = _tiniest(calf_configs.get_config("tiny"))
    workdir = str(tmp_path_factory.mktemp("calf"))
    scores = train_and_evaluate(config, workdir, action_spotting.TASK)
    return config, workdir, scores


def test_trains_and_the_written_files_score_as_the_official_evaluator(trained):
    config, workdir, scores = trained
    lines = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [l["step"] for l in lines if l["split"] == "train"] == [2]
    assert all(np.isfinite(l["loss"]) for l in lines if l["split"] == "train")
    again, out = evaluate_checkpoint(config, workdir, action_spotting.TASK, "test")
    assert again.headline == pytest.approx(scores.headline, abs=1e-9)
    assert validate("action_spotting", out + ".zip") == []
    labels = os.path.join(workdir, "synthetic_soccernet_v2")
    for metric in ("tight",):  # loose: the same code path with more tolerances, twice the time
        official = official_scores(labels, out + ".zip", written_games(out), metric)
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            np.testing.assert_allclose(scores.headline[f"{key}_{metric}"], official[key], atol=1e-9)
        per_class = official["a_mAP_per_class"]
        patterned = np.mean([per_class[spotting_format.CLASSES_V2.index(c)] for c in calf_loss.PATTERNED_CLASSES])
        np.testing.assert_allclose(scores.headline[f"a_mAP_patterned_{metric}"], patterned, atol=1e-9)


@pytest.mark.parametrize("module", [
    calf_calibration_gcn, calf_calibration_radar,
    pytest.param(calf_calibration_topview, marks=pytest.mark.skipif(  # a ResNet over every frame's top view
        not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1"))])
def test_calibration_configs_feed_their_branch(module, tmp_path):
    """Each representation's data path gives the model the inputs its example_inputs promise."""
    config = module.get_config("tiny")
    config.data.synthetic.games_per_split = {"train": 1, "valid": 1, "test": 1, "challenge": 1}
    config.data.synthetic.half_seconds = 40
    half = family.read_halves(config, str(tmp_path), "test")[0]
    expected = {k: v.shape[2:] for k, v in family.example_inputs(config).items()}
    inputs = family.half_inputs(config, half)
    chunks = len(chunk_starts(len(half.features), family.chunk_size(config), family.receptive_field(config)))
    assert {k: v.shape for k, v in inputs.items()} == {k: (chunks, 60, *s) for k, s in expected.items()}
    chunk = family.chunk_inputs(config, half, start=7)
    assert {k: v.shape for k, v in chunk.items()} == {k: (60, *s) for k, s in expected.items()}
    for name in inputs:  # a training chunk is the same cut of the half as an inference chunk
        np.testing.assert_allclose(family.chunk_inputs(config, half, start=0)[name], inputs[name][0])
    if module is calf_calibration_gcn:
        assert (inputs["graph_mask"].sum(-1) >= 1).all()  # every frame has a node (maybe the empty-frame one)
    if module is calf_calibration_radar:
        assert inputs["topview_images"].min() == -1.0 and inputs["topview_images"].max() > 0.9


def test_the_merged_model_spots_patterned_classes_with_one_run_and_fuzzy_with_the_other(trained, tmp_path):
    """The calibration paper's final model: predict_split over the two stages of a pipeline config.
    The stages' predictors stand for trained networks: they put one confident action in the middle
    of every chunk, of the first class of their subset."""
    _, workdir, _ = trained

    def predictor_of(stage_config):
        def predict(inputs):
            chunks = inputs["features"].shape[0]
            if stage_config.model.context == "player_graph":
                assert inputs["graph_nodes"].shape[:2] == inputs["features"].shape[:2]
            classes = len(family.classes_of(stage_config))
            spotting = np.zeros((chunks, stage_config.model.num_detections, 2 + classes), np.float32)
            spotting[:, 0, :3] = [0.9, 0.5, 1.0]
            return {"spotting": spotting}
        return predict

    patterned = calf_calibration_gcn.get_config("tiny")
    fuzzy = calf_configs.get_config("tiny")
    fuzzy.data.classes = "fuzzy"
    stages = {}
    for name, stage_config in (("patterned", patterned), ("fuzzy", fuzzy)):
        stage_workdir = str(tmp_path / name)
        stage_config.data.manual_dir = os.path.join(workdir, "synthetic_soccernet_v2")
        stages[name] = Stage(name=name, config=stage_config, workdir=stage_workdir, step=1,
                             predictors=(predictor_of(stage_config),))
    merged = calf_calibration_merged.get_config("tiny")
    merged.pipeline.patterned, merged.pipeline.fuzzy = str(tmp_path / "patterned"), str(tmp_path / "fuzzy")
    task = get_task(merged.task)
    assert not task.trainable and task.stages == ("patterned", "fuzzy")
    records = task.predict_split(merged, workdir, Models(own=None, stages=stages), "test", Shard())
    assert [r.half for r in records] == [1, 2]
    folder = os.path.join(workdir, "synthetic_soccernet_v2", records[0].game)
    for record in records:
        classes = np.array(spotting_format.CLASSES_V2)[record.class_index]
        frames = len(np.load(os.path.join(folder, f"{record.half}_ResNET_TF2_PCA512.npy")))
        middles = set((chunk_starts(frames, 60, 20) + 29).tolist())  # floor(0.5 x 59) in each chunk
        for label in ("Penalty", "Goal"):  # the first class of each subset
            confident = record.confidence > 0.5  # the other slots are spots too, with confidence 0
            spotted = set(record.frame[(classes == label) & confident].tolist())
            assert spotted and spotted <= middles and len(spotted) >= len(middles) - 1  # NMS may merge the last
        assert set(classes) == {"Penalty", "Goal"}
    with pytest.raises(UserError, match="config.pipeline.fuzzy is empty"):
        task.predict_split(merged, workdir, Models(own=None, stages={"patterned": stages["patterned"]}), "test",
                           Shard())


def test_the_layouts_benchmark_counts_the_set_pieces_a_network_names():
    """`benchmarks/action_spotting.py layouts`: an oracle segmentation names every layout frame, one
    that always says "Corner" names the corners' frames only; the best spot near an action counts
    when its class is the action's."""
    from benchmarks import action_spotting as bench

    config = calf_configs.get_config("tiny")
    config.data.classes = "patterned"
    classes = family.classes_of(config)
    actions = [(300, "Corner"), (500, "Penalty"), (700, "Throw-in"), (800, "Corner"), (1000, "Goal")]
    annotations = tuple(spotting_format.Annotation(1, f // 2, f * 500, label, "visible", "home") for f, label in actions)
    num_frames = 1200
    features = np.zeros((num_frames, 512), np.float32)
    features[:, 0] = np.arange(num_frames)  # the fake networks below read the frame index here
    truth = np.zeros((num_frames, len(classes)), np.float32)
    for frame, label in actions:
        if label in classes:
            truth[frame - 30:frame + 20, classes.index(label)] = 1.0
    half = family.Half("game", 1, features, annotations)

    def network(segmentation_of):
        def predict(inputs):
            frames = inputs["features"][..., 0].astype(int)  # [chunks, T]
            spotting = np.zeros((len(frames), config.model.num_detections, 2 + len(classes)), np.float32)
            spotting[:, 0, :2] = [0.9, 0.5]  # one confident spot mid-chunk, of the commonest class there
            middle = frames[:, frames.shape[1] // 2]
            spotting[np.arange(len(frames)), 0, 2 + segmentation_of(middle).argmax(-1)] = 1.0
            return {"segmentation": segmentation_of(frames), "spotting": spotting}
        return predict

    oracle = bench.layout_reading(config, network(lambda frames: truth[frames]), [half])
    corner = np.zeros(len(classes), np.float32)
    corner[classes.index("Corner")] = 1.0
    always_corner = bench.layout_reading(config, network(lambda frames: np.broadcast_to(corner, frames.shape + corner.shape)), [half])
    lead, tail = bench.LAYOUT_LEAD_S, bench.LAYOUT_TAIL_S
    lengths = {label: int(2 * lead[label]) + int(2 * tail[label]) + 1 for label in ("Corner", "Penalty", "Throw-in")}
    assert oracle["events"] == always_corner["events"] == 4  # the goal is no set piece
    assert oracle["frames"] == always_corner["frames"] == 2 * lengths["Corner"] + lengths["Penalty"] + lengths["Throw-in"]
    assert oracle["right_frames"] == oracle["frames"]
    assert always_corner["right_frames"] == 2 * lengths["Corner"]
    assert always_corner["events_of"].tolist() == [1, 0, 1, 0, 2]  # in bench.SET_PIECES order
    assert 0 <= always_corner["right_spots"] <= 2 and oracle["right_spots"] >= always_corner["right_spots"]


def test_the_comparison_table_averages_the_set_pieces_of_each_seeds_final_evaluation(tmp_path, capsys):
    """`benchmarks/action_spotting.py table`: the set-piece columns are the mean per-class
    Average-mAP of the five set pieces in each seed's last test evaluation, then over seeds."""
    import argparse

    from benchmarks import action_spotting as bench

    classes = list(spotting_format.CLASSES_V2)
    headline = {key: 0.5 for key, _ in bench.COLUMNS}
    for seed, value in (("0", 0.2), ("1", 0.4)):
        for folder, per_class_value in (("untrained", 0.0), ("test_step10", 0.9), ("test_step20", value)):
            per_class = [per_class_value if c in bench.SET_PIECES else 1.0 for c in classes]
            os.makedirs(tmp_path / f"seed{seed}" / "predictions" / folder)
            with open(tmp_path / f"seed{seed}" / "predictions" / folder / "metrics.json", "w") as f:
                json.dump({"classes": classes, "tight": {"a_mAP_per_class": [v / 2 for v in per_class]},
                           "loose": {"a_mAP_per_class": per_class}}, f)
    with open(tmp_path / "learning.json", "w") as f:
        json.dump({s: {"trained": headline, "untrained": headline} for s in ("0", "1")}, f)
    bench.table(argparse.Namespace(workdirs=[str(tmp_path)]))
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows[0][-2:] == ["0.0 ± 0.0", "0.0 ± 0.0 |"]  # untrained
    assert rows[1][-2:] == ["15.0 ± 7.1", "30.0 ± 14.1 |"]  # step 20, not step 10: 20 and 40 %, halved tight
