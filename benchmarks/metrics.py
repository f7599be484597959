"""Every metric of the zoo against its official evaluator, timed side by side: one markdown table.

Each `benchmarks/metrics_<task>.py` (spotting, captioning, calibration, reid, tracking, jersey)
defines

    def benchmark(quick: bool = False) -> list[dict]

returning rows {"metric": str, "size": str, "official_s": float, "zoo_s": float, "note": str}:
seconds for the official evaluator and for `zoo.metrics.<task>` on the same files, file reading
included on both sides, measured in one run with the two taking turns (`time_interleaved`), and
the scores checked equal on the way. This runs each module that exists, skipping (with a line
saying why) one that is missing or whose official package cannot be imported, and prints

    metric | size | official (s) | zoo (s) | speed-up | note

with the machine it ran on. A module that fails is reported and makes the exit status 1.

    python benchmarks/metrics.py [--quick] [--only reid,jersey]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
for folder in (REPO, HERE):  # `zoo` and the sibling benchmark modules, however this is started
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

TASKS = ("spotting", "captioning", "calibration", "reid", "tracking", "jersey")
ROW_KEYS = ("metric", "size", "official_s", "zoo_s", "note")


def time_interleaved(
    runs: dict[str, Callable[[], object]], *, repeats: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function in `runs`, after `warmup` untimed rounds.

    The functions take turns call by call, so a burst of other work on shared cores slows them
    alike, and the median ignores the rounds such a burst hit.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in seconds.items()}


def load_module(task: str):
    """`benchmarks/metrics_<task>.py` as a module, or None when the file does not exist."""
    path = HERE / f"metrics_{task}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"metrics_{task}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def check_rows(task: str, rows) -> list[dict]:
    if not isinstance(rows, list) or not rows:
        raise TypeError(
            f"metrics_{task}.benchmark returned {type(rows).__name__}, not a list of rows"
        )
    for row in rows:
        if not isinstance(row, dict) or set(ROW_KEYS) - set(row):
            raise TypeError(f"metrics_{task}.benchmark: row {row!r} lacks some of {ROW_KEYS}")
    return rows


def speed_up(official_s: float, zoo_s: float) -> str:
    if zoo_s <= 0 or not np.isfinite(official_s):
        return "n/a"
    ratio = official_s / zoo_s
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def seconds(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2g}"


def format_table(rows: Sequence[dict]) -> str:
    lines = [
        "| metric | size | official (s) | zoo (s) | speed-up | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['metric']} | {row['size']} | {seconds(row['official_s'])} | "
            f"{seconds(row['zoo_s'])} | {speed_up(row['official_s'], row['zoo_s'])} | {row['note']} |"
        )
    return "\n".join(lines)


def machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.machine()} {platform.processor() or platform.system()}, "
        f"{os.cpu_count()} CPUs ({usable} usable), load average "
        f"{os.getloadavg()[0]:.1f}, Python {platform.python_version()}, numpy {np.__version__}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument(
        "--only", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}"
    )
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; expected some of {', '.join(TASKS)}")

    rows, failed = [], []
    for task in tasks:
        try:
            module = load_module(task)
            if module is None:
                print(f"skipped {task}: benchmarks/metrics_{task}.py does not exist")
                continue
            start = time.perf_counter()
            task_rows = check_rows(task, module.benchmark(quick=args.quick))
        except ModuleNotFoundError as error:  # the official evaluator (or one of its imports)
            print(f"skipped {task}: module {error.name} is not installed")
            continue
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"FAILED {task}:\n{traceback.format_exc()}")
            failed.append(task)
            continue
        print(f"ran {task} in {time.perf_counter() - start:.1f} s", flush=True)
        rows.extend(task_rows)

    print()
    print(format_table(rows))
    print()
    print(f"Machine: {machine()}.{' Quick mode.' if args.quick else ''}")
    if failed:
        print(f"Failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
