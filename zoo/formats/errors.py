"""The one error type for official files that are missing, malformed or unusable."""

from __future__ import annotations

from typing import Any

from zoo.errors import UserError


class FileFormatError(UserError, ValueError):
    """A file that does not follow its official format; the message starts with the file's path.

    Attributes: `path` (the file) and `problem` (what is wrong with it). Picklable, so it crosses
    process boundaries (grain workers, TFDS builds) intact.
    """

    def __init__(self, path: Any, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self):
        return type(self), (self.path, self.problem)
