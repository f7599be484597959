"""Evaluates a trained run (or runs a pipeline of trained runs) on a split and writes the official
submission files.

    python evaluate.py --workdir runs/nvpp --split test
    python evaluate.py --workdir runs/nvpp --split challenge            # zip for the server
    python evaluate.py --workdir runs/nvpp --split test --config.eval.nms_threshold=0.1
    python evaluate.py --config configs/tracking/pipeline.py --workdir runs/track --split test

The run's config comes from its workdir (config.json); `--config.<field>=...` overrides evaluation
fields on top of it. `--config FILE` is needed only for a pipeline's first evaluation; given for a
trained run, it must describe the same model and data. Uses the newest checkpoint unless --step.
"""

import os
import sys

import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

import zoo.tasks
import zoo.train
from zoo import cli
from zoo.errors import UserError
from zoo.train import runs
from zoo.train.evaluation import format_scores

REPO = os.path.dirname(os.path.abspath(__file__))
_WORKDIR = flags.DEFINE_string("workdir", None, "The run's workdir (holds config.json and checkpoints/).")
_SPLIT = flags.DEFINE_string("split", "test", "Split to evaluate: train, valid, test or challenge.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step to evaluate (default: the newest).")
flags.DEFINE_bool("verbose", False, f"Show the traceback of errors (or set {cli.VERBOSE_ENV}=1).")
flags.mark_flags_as_required(["workdir"])


def _define_config(argv) -> None:
    """--config is the given file, or else the workdir's config.json, with --config.<field> overrides."""
    if cli.config_spec(argv) is not None:
        config_flags.DEFINE_config_file("config", None, "A config file (:variant), for a pipeline's first "
                                        "evaluation.", lock_config=True)
        return
    workdir = cli.flag_value(argv, "workdir")
    saved = runs.read_config(workdir) if workdir and os.path.isdir(workdir) else None
    if saved is None and workdir and cli.config_overrides(argv):
        try:  # overrides of a config that is not there: say why, before flag parsing trips on them
            runs.require_config(workdir)
        except UserError as error:
            cli.fail(f"{error} (a pipeline's first evaluation also needs --config FILE)")
    config_flags.DEFINE_config_dict("config", saved if saved is not None else ml_collections.ConfigDict(),
                                    "The run's config.json, with --config.<field>=... overrides.", lock_config=True)


@cli.user_errors
def main(argv):
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}.")
    cli.quiet_libraries()
    workdir = _WORKDIR.value
    config = flags.FLAGS.config
    if "task" not in config:
        config = runs.require_config(workdir)  # says why the workdir has none
    logging.info(cli.describe_config(sys.argv, workdir))
    task = zoo.tasks.get_task(config.task)
    scores, output_dir = zoo.train.evaluate_checkpoint(config, workdir, task, _SPLIT.value, _STEP.value,
                                                       get_task=zoo.tasks.get_task)
    print(f"\nSubmission files: {output_dir}/ and {output_dir}.zip")
    if scores is not None:
        print(f"Metrics on {_SPLIT.value}:")
        print("\n".join(format_scores(scores)))
    else:
        print(f"No labels for split {_SPLIT.value}: nothing to score locally.")


if __name__ == "__main__":
    _define_config(sys.argv)
    app.run(main, flags_parser=lambda argv: cli.parse_flags(argv, help_text=__doc__, repo=REPO))
