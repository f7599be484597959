"""The errors a user can cause, as opposed to bugs.

Every command line (train.py, evaluate.py, python -m zoo.*) prints a `UserError` as one line,
`error: <message>`, and exits non-zero; the traceback is shown only with `--verbose` or
`ZOO_VERBOSE=1`. Anything else is a bug and keeps its traceback. Raise a `UserError` (or one of
its subclasses) for bad input, with the file or the config field named in the message.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave: a file, a folder, a config field, a flag, a workdir."""


class ConfigError(UserError, ValueError):
    """A config that cannot run: the message names the field, its value and what it accepts."""
