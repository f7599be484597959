"""Runs a trained model on your own files, with no dataset: `python -m zoo.predict <task> ...`.

    python -m zoo.predict ball_spotting --checkpoint runs/tdeed --video match.mp4 \
        --out results_spotting.json [--plot timeline.png] [--step N]

`--checkpoint` is a run's workdir (train.py's `--workdir`): its saved `config.json` rebuilds the
model and the newest checkpoint (or `--step`) gives the weights. The video is decoded as it is
read, never dumped to frames; a video at another frame rate than 25 fps is read with the stride
that matches the training rate. The output is an official `results_spotting.json` (one video:
half 1; with `team` for a team model).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

SUPPORTED = ("ball_spotting",)


def _load_config(workdir: str):
    import ml_collections

    from zoo.train.loop import CONFIG_FILE

    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: not found; --checkpoint must be a workdir of train.py.")
    with open(path) as f:
        return ml_collections.ConfigDict(json.load(f))


def predict_ball_spotting(args) -> int:
    import numpy as np

    from zoo.formats import spotting as spotting_format
    from zoo.tasks import ball_spotting, get_task
    from zoo.train import mesh as mesh_lib
    from zoo.train.loop import restore_for_inference
    from zoo.train.step import make_predictor

    if not os.path.isfile(args.video):
        raise FileNotFoundError(f"{args.video}: no such video file.")
    config = _load_config(args.checkpoint)
    task = get_task("ball_spotting")
    mesh = mesh_lib.make_mesh()
    model, state, step = restore_for_inference(task, config, args.checkpoint, args.step, mesh)
    predictor = make_predictor(model, mesh, config.eval.batch_size)(state)
    spots, fps = ball_spotting.predict_video(config, predictor, args.video, progress=not args.quiet)
    classes = ball_spotting.classes(config)
    name = os.path.splitext(os.path.basename(args.video))[0]
    spotting_format.write_predictions(
        args.out, url_local=name, half=1, frame=spots.frame, class_index=spots.class_index,
        confidence=spots.confidence, framerate=fps, classes=classes, team=spots.team)
    print(f"{len(spots.frame)} actions from step {step} of {args.checkpoint} -> {args.out}")
    if args.plot:
        from zoo.plots.timeline import plot_timeline

        plot_timeline(args.plot, seconds=np.asarray(spots.frame) / fps, class_index=spots.class_index,
                      confidence=spots.confidence, classes=classes, team=spots.team,
                      title=f"{name}: {len(spots.frame)} actions", min_confidence=args.plot_min_confidence)
        print(f"timeline -> {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.predict", description=__doc__.split("\n\n")[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    ball = tasks.add_parser("ball_spotting", help="spot ball actions in a video file")
    ball.add_argument("--checkpoint", required=True, help="a run's workdir (holds config.json and checkpoints/)")
    ball.add_argument("--video", required=True, help="the video file (any container OpenCV's FFmpeg reads)")
    ball.add_argument("--out", default="results_spotting.json", help="where to write the predictions")
    ball.add_argument("--plot", default="", help="also draw a timeline of the actions to this PNG")
    ball.add_argument("--plot-min-confidence", type=float, default=0.2,
                      help="actions below this confidence are left out of the plot")
    ball.add_argument("--step", type=int, default=None, help="checkpoint step (default: the newest)")
    ball.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    from absl import flags

    flags.FLAGS.mark_as_parsed()  # grain and absl logging expect parsed flags
    from zoo.cli import quiet_libraries

    quiet_libraries()
    try:
        return {"ball_spotting": predict_ball_spotting}[args.task](args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
