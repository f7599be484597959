"""Runs a trained model (or a pipeline of them) on your own files, with no dataset.

    python -m zoo.predict <task> --checkpoint RUN_DIR [task flags]
    python -m zoo.predict ball_spotting --checkpoint runs/tdeed --video match.mp4 \
        --out results_spotting.json --plot timeline.png

`--checkpoint` is a run's workdir (train.py's `--workdir`, or evaluate.py's for a pipeline): its
saved `config.json` rebuilds the model (and names the pipeline's stage runs), and the newest
checkpoint (or `--step`) gives the weights. Each task's inputs and outputs are its own flags:
`python -m zoo.predict <task> --help`. A task may run some of its flags without a model (calibration's
`--lines`); then `--checkpoint` is optional there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zoo import cli
from zoo.errors import UserError


def _models(task, config, args, get_task):
    from zoo.train import evaluation
    from zoo.train import mesh as mesh_lib
    from zoo.train.task import Models

    mesh = mesh_lib.local_mesh()
    own = None
    if task.trainable:
        spec = args.checkpoint if args.step is None else f"{args.checkpoint}:{args.step}"
        own = evaluation.restore_stage("model", spec, get_task, mesh, config=config)
    stages = evaluation.restore_pipeline(config, task, get_task, mesh) if any(config.get("pipeline", {}).values()) else {}
    return Models(own, stages)


def _needs_checkpoint(task, args) -> bool:
    needs = task.predict_file.needs_checkpoint
    return needs is None or needs(args)


def run(args, get_task, tasks) -> str:
    from zoo.train import runs

    task = tasks[args.task]
    if args.checkpoint is None:
        if _needs_checkpoint(task, args):
            raise UserError(f"`python -m zoo.predict {args.task}` with these flags needs --checkpoint RUN_DIR "
                            "(a trained run's workdir).")
        if task.predict_file.check_args is not None:
            task.predict_file.check_args(args)
        return task.predict_file.run(None, None, args)
    config = runs.require_config(args.checkpoint, "--checkpoint")
    if config.task != args.task:
        able = ", ".join(sorted(tasks))
        raise UserError(f"--checkpoint {args.checkpoint} is a {config.task} run, not {args.task}: "
                        + (f"use `python -m zoo.predict {config.task}`." if config.task in tasks
                           else f"the {config.task} task has no zoo.predict command (those that do: {able})."))
    if task.predict_file.check_args is not None:
        task.predict_file.check_args(args)
    models = _models(task, config, args, get_task)
    summary = task.predict_file.run(config, models, args)
    step = f" (step {models.own.step})" if models.own is not None else ""
    return f"{summary} [{args.checkpoint}{step}]"


def build_parser(tasks) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.predict", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Tasks that can predict: " + ", ".join(sorted(tasks)))
    subparsers = parser.add_subparsers(dest="task", required=True, metavar="task")
    for name, task in sorted(tasks.items()):
        sub = subparsers.add_parser(name, help=task.predict_file.help, description=task.predict_file.help,
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        optional = task.predict_file.needs_checkpoint is not None
        sub.add_argument("--checkpoint", required=not optional, default=None,
                         help="a run's workdir (holds config.json and checkpoints/)"
                         + ("; not needed by every use of this task, see its flags" if optional else ""))
        sub.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument("--verbose", action="store_true", help="show the traceback of errors")
        task.predict_file.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import zoo.tasks

    tasks = zoo.tasks.predicting_tasks()
    args = build_parser(tasks).parse_args(argv)
    from absl import flags

    flags.FLAGS.mark_as_parsed()  # grain and absl logging expect parsed flags
    cli.quiet_libraries()

    @cli.user_errors
    def go():
        print(run(args, zoo.tasks.get_task, tasks))

    go()
    return 0


if __name__ == "__main__":
    sys.exit(main())
