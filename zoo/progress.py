"""Progress bars for long work: live on a terminal, a line every 30 s in a log file, and only on
process 0 of a multi-host run (where every process does the same work)."""

from __future__ import annotations

import sys

import jax
from tqdm import tqdm

LOG_INTERVAL_S = 30.0


def bar(iterable=None, *, quiet: bool = False, **kwargs) -> tqdm:
    """A tqdm bar; when stderr is not a terminal, it updates at most every 30 s (a log file gets a
    few lines, not one per step). `quiet` (or a process other than 0) hides it."""
    interactive = sys.stderr.isatty()
    kwargs.setdefault("dynamic_ncols", interactive)
    kwargs.setdefault("mininterval", 0.1 if interactive else LOG_INTERVAL_S)
    kwargs.setdefault("maxinterval", 10.0 if interactive else 10 * LOG_INTERVAL_S)
    return tqdm(iterable, disable=quiet or jax.process_index() != 0, **kwargs)
