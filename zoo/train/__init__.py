"""The shared training core: mesh and sharding, train state, the one train step, loop, checkpoints, logging."""

from zoo.train.loop import evaluate_checkpoint, train_and_evaluate
from zoo.train.task import Predictor, Task, TrainData

__all__ = ["Predictor", "Task", "TrainData", "evaluate_checkpoint", "train_and_evaluate"]
