"""Opt-in (ZOO_SLOW_TESTS=1; about 40 CPU-minutes on 2 cores): on the synthetic default each
jersey stage learns (trained far above untrained), and the pipeline of the trained stages reads
test tracklets far above the official random baseline (3.93 %) and above an untrained pipeline.

Shortened schedules of the synthetic configs; "untrained" is one step at learning rate 0 (the
initialisation, with BatchNorm statistics of one batch).
"""

from __future__ import annotations

import os

import numpy as np

from configs.jersey import crnn as crnn_config
from configs.jersey import legibility as legibility_config
from configs.jersey import pipeline as pipeline_config
from configs.jersey import pose as pose_config
from tests.jersey_support import SLOW
from zoo.data import jersey_tracklets
from zoo.tasks import get_task
from zoo.train import mesh as mesh_lib
from zoo.train import train_and_evaluate
from zoo.train.evaluation import restore_stage
from zoo.train.task import Models, Shard

pytestmark = SLOW


def test_every_stage_learns_and_the_pipeline_reads_numbers(tmp_path):
    pose_workdir = str(tmp_path / "pose")
    configs = {"pose": (pose_config.get_config(), 400), "legibility": (legibility_config.get_config(), 400),
               "recogniser": (crnn_config.get_config(), 2000)}
    mesh = mesh_lib.local_mesh()
    trained, untrained, scores = {}, {}, {}
    for name, (config, steps) in configs.items():
        if name != "pose":
            config.data.manual_dir = jersey_tracklets.synthetic_root(pose_workdir)
            config.data.data_dir = os.path.join(pose_workdir, "tfds")
        for kind, run_steps in (("trained", steps), ("untrained", 1)):
            run = config.copy_and_resolve_references()
            run.train.num_steps = run_steps
            run.optimizer.learning_rate = run.optimizer.learning_rate if run_steps > 1 else 0.0
            run.optimizer.warmup_steps = min(run.optimizer.warmup_steps, run_steps)
            workdir = str(tmp_path / f"{name}_{kind}")
            scores[name, kind] = train_and_evaluate(run, workdir, get_task(run.task)).headline
            (trained if kind == "trained" else untrained)[name] = restore_stage(name, workdir, get_task, mesh)

    pose, pose0 = scores["pose", "trained"], scores["pose", "untrained"]
    assert pose["pck@0.1"] > pose0["pck@0.1"] + 0.3 and pose["torso_iou"] > 0.6, (pose, pose0)
    assert scores["legibility", "trained"]["auc"] > 0.85, scores
    reading, reading0 = scores["recogniser", "trained"], scores["recogniser", "untrained"]
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
