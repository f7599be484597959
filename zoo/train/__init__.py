"""The shared training core: mesh and sharding, train state, the one train step, loop, checkpoints,
the one evaluation path, logging."""

from zoo.train.loop import evaluate_checkpoint, train_and_evaluate
from zoo.train.task import Models, PredictFile, Predictor, Scores, Shard, Stage, Task, TrainData

__all__ = ["Models", "PredictFile", "Predictor", "Scores", "Shard", "Stage", "Task", "TrainData",
           "evaluate_checkpoint", "train_and_evaluate"]
