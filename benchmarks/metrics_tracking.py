"""SoccerNet tracking HOTA / CLEAR / Identity: TrackEval (the official evaluator) against
`zoo.metrics.tracking`.

Writes synthetic sequences at SoccerNet density (750 frames, ~22 players per frame clustered
around the camera's focus, a tracker with jitter, missed streaks, identity switches, fragments
and false-positive tracks) in TrackEval's layout, then times, interleaved, in one process each:

  * files: TrackEval's `Evaluator.evaluate` with the SoccerNet settings (`MotChallenge2DBox`,
    DO_PREPROC=False, HOTA + CLEAR + Identity, THRESHOLD 0.5, single process; printing, result
    files and plots off) against `zoo.metrics.tracking.evaluate` on the same files: both read
    every file;
  * metric only: TrackEval's three `eval_sequence` calls and `combine_sequences` on data already
    loaded and preprocessed (its IoUs computed beforehand, not timed) against
    `evaluate_arrays` on rows already read (its IoUs included).

Every key of every sequence and of COMBINED_SEQ is checked against TrackEval (tolerance 1e-9).

    python benchmarks/metrics_tracking.py [--quick] [--sequences 49] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import tempfile
import time

import numpy as np

from zoo.formats import tracking as formats
from zoo.metrics import tracking

WIDTH, HEIGHT = 1920, 1080


def realistic_sequence(rng: np.random.Generator, frames: int = 750, players: int = 22):
    """(gt MotRows, tracker MotRows) of one clip at SoccerNet density."""
    focus = np.array([WIDTH / 2, HEIGHT / 2])
    offset = rng.normal(0, [350, 180], (players, 2))
    velocity = rng.normal(0, 2, (players, 2))
    extent = np.stack([rng.uniform(25, 60, players), rng.uniform(60, 140, players)], 1)
    gt_id = np.arange(1, players + 1)
    tracker_id = np.arange(1, players + 1) * 3 + 100
    next_gt, next_tracker = players + 1, 1000
    missing = np.zeros(players, int)  # frames left in a missed-detection streak
    false_tracks: list[list] = []  # [id, x, y, frames left]
    gt, tracker = [], []
    for frame in range(1, frames + 1):
        focus = np.clip(focus + rng.normal(0, 4, 2), [400, 250], [WIDTH - 400, HEIGHT - 250])
        velocity = 0.97 * (velocity + rng.normal(0, 0.4, velocity.shape))
        offset += velocity
        position = focus + offset
        gone = (position[:, 0] < -30) | (position[:, 0] > WIDTH - 10)
        gone |= (position[:, 1] < -60) | (position[:, 1] > HEIGHT - 20)
        for i in np.flatnonzero(gone):  # a player leaves the view, another one enters
            offset[i] = rng.normal(0, [350, 180])
            velocity[i] = rng.normal(0, 2, 2)
            gt_id[i], tracker_id[i] = next_gt, next_tracker
            next_gt, next_tracker = next_gt + 1, next_tracker + 1
        position = focus + offset
        boxes = np.round(np.concatenate([position, extent], axis=1), 2)
        gt += [(frame, int(i), box) for i, box in zip(gt_id, boxes)]
        if rng.random() < 0.004:  # identity switch
            a, b = rng.choice(players, 2, replace=False)
            tracker_id[[a, b]] = tracker_id[[b, a]]
        if rng.random() < 0.02:  # fragment: a track restarts under a new id
            tracker_id[rng.integers(players)] = next_tracker
            next_tracker += 1
        missing = np.maximum(missing - 1, 0)
        starts = (missing == 0) & (rng.random(players) < 0.01)
        missing[starts] = rng.integers(3, 16, starts.sum())
        jitter = rng.normal(0, [2.5, 2.5, 2, 3], (players, 4))
        noisy = np.round(boxes + jitter, 2)
        tracker += [(frame, int(tracker_id[i]), noisy[i]) for i in np.flatnonzero(missing == 0)]
        if rng.random() < 0.08:
            xy = rng.uniform([0, 0], [WIDTH - 50, HEIGHT - 120])
            false_tracks.append([next_tracker, *xy, int(rng.integers(5, 50))])
            next_tracker += 1
        for track in false_tracks:
            track[1:3] = np.asarray(track[1:3]) + rng.normal(0, 2, 2)
            track[3] -= 1
            tracker.append((frame, track[0], np.round([track[1], track[2], 40.0, 100.0], 2)))
        false_tracks = [t for t in false_tracks if t[3] > 0]

    def rows(entries) -> formats.MotRows:
        n = len(entries)
        return formats.MotRows(
            np.array([e[0] for e in entries]),
            np.array([e[1] for e in entries]),
            np.array([e[2] for e in entries]).reshape(n, 4),
            np.ones(n),
            np.full(n, -1.0),
        )

    return rows(gt), rows(tracker)


def write_dataset(root: pathlib.Path, num_sequences: int, seed: int) -> tuple[pathlib.Path, dict]:
    """TrackEval's SoccerNet layout under root; returns (seqmap, name -> (gt, tracker, length))."""
    rng = np.random.default_rng(seed)
    names = [f"SNMOT-{116 + i:03d}" for i in range(num_sequences)]
    sequences = {}
    for name in names:
        gt, tracker = realistic_sequence(rng)
        seq = root / "gt" / "SNMOT-test" / name
        formats.write_seqinfo(seq / "seqinfo.ini", formats.SeqInfo(750, name=name, frame_rate=25))
        formats.write_mot(seq / "gt" / "gt.txt", gt.frame, gt.track_id, gt.boxes, gt.confidence)
        data = root / "trackers" / "SNMOT-test" / "test" / "data"
        formats.write_mot(data / f"{name}.txt", tracker.frame, tracker.track_id, tracker.boxes)
        sequences[name] = (gt, tracker, 750)
    return formats.write_seqmap(root / "SNMOT-test.txt", names), sequences


def _trackeval_setup(root: pathlib.Path, seqmap: pathlib.Path):
    import trackeval

    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update(
        USE_PARALLEL=False,
        PRINT_RESULTS=False,
        PRINT_CONFIG=False,
        TIME_PROGRESS=False,
        OUTPUT_SUMMARY=False,
        OUTPUT_DETAILED=False,
        PLOT_CURVES=False,
        LOG_ON_ERROR=None,
    )
    dataset_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    dataset_config.update(
        GT_FOLDER=str(root / "gt"),
        TRACKERS_FOLDER=str(root / "trackers"),
        BENCHMARK="SNMOT",
        SPLIT_TO_EVAL="test",
        DO_PREPROC=False,
        TRACKERS_TO_EVAL=["test"],
        SEQMAP_FILE=str(seqmap),
        PRINT_CONFIG=False,
    )
    metrics_config = {
        "METRICS": ["HOTA", "CLEAR", "Identity"],
        "THRESHOLD": 0.5,
        "PRINT_CONFIG": False,
    }
    metrics = [
        trackeval.metrics.HOTA(metrics_config),
        trackeval.metrics.CLEAR(metrics_config),
        trackeval.metrics.Identity(metrics_config),
    ]
    return trackeval, eval_config, dataset_config, metrics


def official_from_files(root: pathlib.Path, seqmap: pathlib.Path) -> dict:
    trackeval, eval_config, dataset_config, metrics = _trackeval_setup(root, seqmap)
    with contextlib.redirect_stdout(io.StringIO()):
        output, _ = trackeval.Evaluator(eval_config).evaluate(
            [trackeval.datasets.MotChallenge2DBox(dataset_config)], metrics
        )
    return {seq: r["pedestrian"] for seq, r in output["MotChallenge2DBox"]["test"].items()}


def official_preprocessed(root: pathlib.Path, seqmap: pathlib.Path):
    """TrackEval's dataset and metrics, with every sequence loaded and preprocessed."""
    trackeval, _, dataset_config, metrics = _trackeval_setup(root, seqmap)
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        data = {
            seq: dataset.get_preprocessed_seq_data(
                dataset.get_raw_seq_data("test", seq), "pedestrian"
            )
            for seq in sorted(dataset.seq_list)
        }
    return metrics, data


def official_metric_only(metrics, data) -> dict:
    per_sequence = {
        seq: {m.get_name(): m.eval_sequence(d) for m in metrics} for seq, d in data.items()
    }
    combined = {
        m.get_name(): m.combine_sequences({s: r[m.get_name()] for s, r in per_sequence.items()})
        for m in metrics
    }
    return {**per_sequence, "COMBINED_SEQ": combined}


def max_difference(reference: dict, result: dict) -> float:
    worst = 0.0
    assert set(reference) == set(result), set(reference) ^ set(result)
    for seq, metrics in reference.items():
        for metric, fields in metrics.items():
            for field, value in fields.items():
                if field in tracking.HOTA_ALPHA_FIELDS:
                    mine = result[seq]["per_alpha"][field]
                    worst = max(worst, float(np.max(np.abs(mine - value))))
                    worst = max(worst, abs(result[seq][field] - float(np.mean(value))))
                elif metric != "Count":
                    worst = max(worst, abs(float(result[seq][field]) - float(value)))
    return worst


def benchmark(
    quick: bool = False, *, sequences: int | None = None, repeats: int | None = None, seed: int = 0
) -> list[dict]:
    """Rows {"metric", "size", "official_s", "zoo_s", "note"}: the best of `repeats` interleaved
    runs each, in CPU seconds of this process (both sides run single-threaded, so this is their
    run time, unaffected by other processes on a shared machine; wall times are in the note).
    quick: 4 sequences instead of the 49 of the SoccerNet test split."""
    num_sequences = sequences or (4 if quick else 49)
    repeats = repeats or (2 if quick else 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        seqmap, data = write_dataset(root, num_sequences, seed)
        gt_dir = root / "gt" / "SNMOT-test"
        tracker_dir = root / "trackers" / "SNMOT-test" / "test" / "data"
        gt_boxes = sum(len(g.frame) for g, _, _ in data.values()) / (750 * num_sequences)
        tracker_boxes = sum(len(t.frame) for _, t, _ in data.values()) / (750 * num_sequences)
        size = (
            f"{num_sequences} seq x 750 frames, {gt_boxes:.1f} GT / {tracker_boxes:.1f} tracker "
            "boxes per frame"
        )
        arrays = {
            name: (
                formats.read_mot(gt_dir / name / "gt" / "gt.txt", groundtruth=True),
                formats.read_mot(tracker_dir / f"{name}.txt"),
                750,
            )
            for name in data
        }
        metrics, preprocessed = official_preprocessed(root, seqmap)

        times = {
            key: [] for key in ("official_files", "zoo_files", "official_metric", "zoo_metric")
        }
        walls = {key: [] for key in times}

        def timed(key, fn):
            wall, cpu = time.perf_counter(), time.process_time()
            out = fn()
            times[key].append(time.process_time() - cpu)
            walls[key].append(time.perf_counter() - wall)
            return out

        for _ in range(repeats):  # interleaved
            reference = timed("official_files", lambda: official_from_files(root, seqmap))
            result = timed(
                "zoo_files", lambda: tracking.evaluate(gt_dir, tracker_dir, seqmap=seqmap)
            )
            reference_metric = timed(
                "official_metric", lambda: official_metric_only(metrics, preprocessed)
            )
            result_metric = timed("zoo_metric", lambda: tracking.evaluate_arrays(arrays))
        files_difference = max_difference(reference, result)
        metric_difference = max_difference(reference_metric, result_metric)
        assert files_difference <= 1e-9 and metric_difference <= 1e-9, (
            files_difference,
            metric_difference,
        )
        hota = result[tracking.COMBINED]["HOTA"]
    return [
        {
            "metric": "HOTA+CLEAR+Identity from files",
            "size": size,
            "official_s": min(times["official_files"]),
            "zoo_s": min(times["zoo_files"]),
            "note": f"both read every file; HOTA {hota:.4f}; max |diff| over all keys "
            f"{files_difference:.1e}; wall {min(walls['official_files']):.2f} s vs "
            f"{min(walls['zoo_files']):.3f} s",
        },
        {
            "metric": "HOTA+CLEAR+Identity, data in memory",
            "size": size,
            "official_s": min(times["official_metric"]),
            "zoo_s": min(times["zoo_metric"]),
            "note": "TrackEval's IoUs precomputed (not timed), zoo's included; "
            f"max |diff| {metric_difference:.1e}; wall {min(walls['official_metric']):.2f} s vs "
            f"{min(walls['zoo_metric']):.3f} s",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 sequences, 2 repeats")
    parser.add_argument("--sequences", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = benchmark(args.quick, sequences=args.sequences, repeats=args.repeats, seed=args.seed)
    print(
        f"{os.cpu_count()} CPU cores, numpy {np.__version__}; single process on both sides; "
        "times in CPU seconds of the process"
    )
    print()
    print("| metric | size | TrackEval (CPU s) | zoo (CPU s) | speed-up | note |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['metric']} | {row['size']} | {row['official_s']:.2f} | {row['zoo_s']:.3f} "
            f"| {row['official_s'] / row['zoo_s']:.1f}x | {row['note']} |"
        )


if __name__ == "__main__":
    main()
