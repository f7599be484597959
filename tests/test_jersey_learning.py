"""Opt-in (ZOO_SLOW_TESTS=1; about 40 CPU-minutes on 2 cores): on the synthetic default each
jersey stage learns (trained far above untrained), and the pipeline of the trained stages reads
test tracklets far above the official random baseline (3.93 %) and above an untrained pipeline.

Shortened schedules of the synthetic configs (the README's numbers come from the full ones).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from configs.jersey import crnn as crnn_config
from configs.jersey import legibility as legibility_config
from configs.jersey import pipeline as pipeline_config
from configs.jersey import pose as pose_config
from tests.jersey_support import train_stage
from zoo.data import jersey_tracklets
from zoo.tasks import get_task
from zoo.tasks.jersey_legibility import sam_optimizer
from zoo.train.task import Models, Shard

pytestmark = pytest.mark.skipif(not os.environ.get("ZOO_SLOW_TESTS"), reason="slow: set ZOO_SLOW_TESTS=1")


def _score(stage, split="valid"):
    task = get_task(stage.config.task)
    records = task.predict_split(stage.config, stage.workdir, Models(own=stage), split, Shard())
    out = os.path.join(stage.workdir, f"out_{stage.step}")
    task.write_submission(stage.config, records, out)
    return task.score(stage.config, stage.workdir, split, out, records).headline


def test_every_stage_learns_and_the_pipeline_reads_numbers(tmp_path):
    pose_workdir = str(tmp_path / "pose")
    configs = {"pose": (pose_config.get_config(), 400), "legibility": (legibility_config.get_config(), 400),
               "recogniser": (crnn_config.get_config(), 2000)}
    trained, untrained = {}, {}
    for name, (config, steps) in configs.items():
        if name != "pose":
            config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
            config.data.data_dir = os.path.join(pose_workdir, "tfds")
        task = get_task(config.task)
        tx = sam_optimizer(config, steps) if name == "legibility" else None
        workdir = str(tmp_path / name)
        trained[name], _ = train_stage(task, config, workdir, steps=steps, name=name, tx=tx)
        untrained[name], _ = train_stage(task, config, workdir + "_untrained", steps=0, name=name, tx=tx)

    pose, pose0 = _score(trained["pose"]), _score(untrained["pose"])
    assert pose["pck@0.1"] > pose0["pck@0.1"] + 0.3 and pose["torso_iou"] > 0.6, (pose, pose0)
    legibility = _score(trained["legibility"])
    assert legibility["auc"] > 0.85, legibility
    reading, reading0 = _score(trained["recogniser"]), _score(untrained["recogniser"])
    assert reading["number_accuracy"] > 0.1 and reading0["number_accuracy"] < 0.05, (reading, reading0)

    config = pipeline_config.get_config()
    config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
    config.data.data_dir = os.path.join(pose_workdir, "tfds")
    task = get_task("jersey")
    accuracy = {}
    for kind, stages in (("trained", trained), ("untrained", untrained)):
        records = task.predict_split(config, pose_workdir, Models(own=None, stages=stages), "test", Shard())
        out = str(tmp_path / f"pipeline_{kind}")
        task.write_submission(config, records, out)
        accuracy[kind] = task.score(config, pose_workdir, "test", out, records).headline
    legible = accuracy["trained"]["legible_accuracy"]
    assert accuracy["trained"]["Accuracy"] > 0.0393 * 5, accuracy
    assert legible > accuracy["untrained"]["legible_accuracy"] + 0.05 and np.isfinite(legible), accuracy
