"""A complete task in a few lines: the template for a new task, and what the core's tests train.

`regression` learns y = x . (1, 2, 3) from pytree inputs; `regression_pipeline` trains nothing and
predicts with the run named by `config.pipeline.regressor`, as a detector + tracker pipeline
predicts with its detector run.
"""

import json
import os

import flax.linen as nn
import grain
import ml_collections
import numpy as np

from configs import common
from zoo.train.task import PredictFile, Scores, Task, TrainData

WEIGHTS = np.array([1.0, 2.0, 3.0], np.float32)
TEST_X = np.random.default_rng(7).normal(size=(10, 3)).astype(np.float32)


class Linear(nn.Module):
    @nn.compact
    def __call__(self, inputs, *, train):  # inputs: {"x": [batch, 3]} -> {"y": [batch]}
        return {"y": nn.Dense(1)(inputs["x"])[:, 0]}


def make_train_data(config, workdir, batch_size):
    x = np.random.default_rng(config.seed).normal(size=(512, 3)).astype(np.float32)
    examples = [{"inputs": {"x": row}, "y": row @ WEIGHTS} for row in x]
    dataset = grain.MapDataset.source(examples).seed(config.seed).shuffle().repeat().batch(batch_size, drop_remainder=True)
    return TrainData(dataset=dataset, num_examples=len(examples))


def loss(outputs, batch):
    error = (outputs["y"] - batch["y"]) ** 2
    return error.mean(), {"mse": (error.sum(), np.float32(error.shape[0]))}


def predict_split(config, workdir, models, split, shard):  # one record per test example of this shard
    stage = models.own or models["regressor"]
    return [(int(i), float(stage.predictor({"x": TEST_X[i : i + 1]})["y"][0])) for i in shard.take(range(len(TEST_X)))]


def write_submission(config, records, output_dir):
    with open(os.path.join(output_dir, "predictions.json"), "w") as f:
        json.dump(dict(sorted(records)), f)


def score(config, workdir, split, output_dir, records):
    if split == "challenge":
        return None
    with open(os.path.join(output_dir, "predictions.json")) as f:
        predicted = {int(k): v for k, v in json.load(f).items()}
    return Scores({"mse": float(np.mean([(predicted[i] - TEST_X[i] @ WEIGHTS) ** 2 for i in range(len(TEST_X))]))})


def predict_file(config, models, args):  # python -m zoo.predict regression --checkpoint RUN --x 1,2,3
    stage = models.own or models["regressor"]
    x = np.array([[float(v) for v in args.x.split(",")]], np.float32)
    return f"y = {float(stage.predictor({'x': x})['y'][0]):.3f}"


PREDICT = PredictFile(add_arguments=lambda parser: parser.add_argument("--x", required=True), run=predict_file,
                      help="y of one x")
TASK = Task(name="regression", make_model=lambda config: Linear(), example_inputs=lambda config: {"x": np.zeros((1, 3), np.float32)},
            make_loss=lambda config: loss, make_train_data=make_train_data, predict_split=predict_split,
            write_submission=write_submission, score=score, predict_file=PREDICT)
PIPELINE = Task(name="regression_pipeline", make_model=None, example_inputs=None, make_loss=None, make_train_data=None,
                predict_split=predict_split, write_submission=write_submission, score=score, stages=("regressor",),
                predict_file=PREDICT)
TASKS = {"regression": TASK, "regression_pipeline": PIPELINE}


def get_config(task: str = "regression") -> ml_collections.ConfigDict:
    config = common.base()
    config.task = task
    config.model = ml_collections.ConfigDict({"name": "linear"})
    config.train.batch_size, config.train.num_steps = 16, 60
    config.train.log_every_steps, config.train.checkpoint_every_steps = 20, 20
    config.optimizer.learning_rate = 0.1
    config.eval.split, config.eval.batch_size = "test", 4
    return config
