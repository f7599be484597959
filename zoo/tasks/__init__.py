"""The SoccerNet tasks, registered by name. Only this registry and the command lines import tasks."""

from __future__ import annotations

import importlib

from zoo.errors import ConfigError
from zoo.train.task import Task

# name -> module defining TASK; modules are imported on first use so that a task's dependencies
# are only needed when it runs.
_REGISTRY = {
    "action_spotting": "zoo.tasks.action_spotting",
    "action_spotting_merged": "zoo.tasks.action_spotting_merged",
    "ball_spotting": "zoo.tasks.ball_spotting",
    "reid": "zoo.tasks.reid",
    "jersey_pose": "zoo.tasks.jersey_pose",
    "jersey_legibility": "zoo.tasks.jersey_legibility",
    "jersey_recognition": "zoo.tasks.jersey_recognition",
    "jersey": "zoo.tasks.jersey",
    "jersey_pseudo_labels": "zoo.tasks.jersey_pseudo_labels",
    "tracking": "zoo.tasks.tracking",
    "tracking_detector": "zoo.tasks.tracking_detector",
    "caption_spotting": "zoo.tasks.caption_spotting",
    "captioning": "zoo.tasks.captioning",
    "calibration": "zoo.tasks.calibration",
}


def get_task(name: str) -> Task:
    if name not in _REGISTRY:
        raise ConfigError(f"Unknown task {name!r} (config.task); known tasks: {', '.join(sorted(_REGISTRY))}.")
    return importlib.import_module(_REGISTRY[name]).TASK


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def predicting_tasks() -> dict[str, Task]:
    """The tasks that `python -m zoo.predict` can run (those with a `predict_file`)."""
    return {name: task for name in task_names() if (task := get_task(name)).predict_file is not None}
