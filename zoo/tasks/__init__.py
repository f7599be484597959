"""The SoccerNet tasks, registered by name. Only this registry and the command lines import tasks."""

from __future__ import annotations

import importlib

from zoo.train.task import Task

# name -> module defining TASK; modules are imported on first use so that a task's dependencies
# are only needed when it runs.
_REGISTRY = {
    "action_spotting": "zoo.tasks.action_spotting",
    "ball_spotting": "zoo.tasks.ball_spotting",
    "reid": "zoo.tasks.reid",
    "caption_spotting": "zoo.tasks.caption_spotting",
    "captioning": "zoo.tasks.captioning",
}


def get_task(name: str) -> Task:
    if name not in _REGISTRY:
        raise ValueError(f"Unknown task {name!r}; known tasks: {sorted(_REGISTRY)}")
    return importlib.import_module(_REGISTRY[name]).TASK


def task_names() -> list[str]:
    return sorted(_REGISTRY)
